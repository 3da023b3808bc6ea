"""Comments on an error: plain text by a developer, listed in the error's timeline, and the @mentions in them.

A comment is stored as written (stripped, at most ``error_comments.body``'s 4,000 characters, no NUL: the
``column_text`` rule) and always rendered escaped, its line breaks kept. ``@name`` mentions an active
developer when ``name`` (letters, digits and ``. _ + -``; case does not matter) is the local part of their
e-mail address (``@ada`` for ada@example.com), or their name written without its spaces or with dots for
them (``@AdaLovelace``, ``@ada.lovelace``). A name that fits several developers mentions each of them; the
author is never told of their own comment. Whoever is mentioned hears of it on their own channels
(app/notify/mentions.py), after the commit. The JSON API and the dashboard's form both call ``add_comment``.
"""
from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import Developer, ErrorComment, ErrorLog
from app.platform import hooks
from app.platform.audit import actor_label
from app.platform.refusal import Refused, column_text

# Not inside a word or an e-mail address (mail@ada is no mention); a trailing dot ends a sentence.
MENTION = re.compile(r"(?<![\w@.+-])@([A-Za-z0-9][\w.+-]*)")
MAX_MENTIONS = 20
LIST_LIMIT = 200


class CommentError(Refused):
    """A comment that cannot be stored."""


def mention_names(body: str) -> list[str]:
    """The names ``@``-mentioned in a text, lowercased, in order, each once."""
    names = [match.group(1).rstrip(".-+").lower() for match in MENTION.finditer(body)]
    return list(dict.fromkeys(name for name in names if name))[:MAX_MENTIONS]


def _handles(developer: Developer) -> set[str]:
    name = " ".join((developer.name or "").lower().split())
    handles = {name.replace(" ", ""), name.replace(" ", ".")}
    if developer.email and "@" in developer.email:
        handles.add(developer.email.rsplit("@", 1)[0].lower())
    return {handle for handle in handles if handle}


def mentioned(body: str, author: Developer | None) -> list[Developer]:
    """The active developers a text mentions, but its author."""
    names = set(mention_names(body))
    if not names:
        return []
    people = db.session.execute(select(Developer).where(Developer.active.is_(True)).order_by(Developer.id)).scalars()
    return [d for d in people if (author is None or d.id != author.id) and names & _handles(d)]


def add_comment(error: ErrorLog, author: Developer, body) -> ErrorComment:
    """Store a comment on ``error`` and commit; then the developers it mentions are told. Raises
    CommentError naming ``body`` when it is empty, too long or holds a NUL."""
    if body is not None and not isinstance(body, str):
        raise CommentError("body must be text", "body")
    text = column_text(body, ErrorComment.body, "body", refusal=CommentError, required="write a comment first")
    people = mentioned(text, author)
    comment = ErrorComment(error_id=error.id, author_id=author.id, author_label=actor_label(author), body=text,
                           mentions=[d.id for d in people] or None)
    db.session.add(comment)
    db.session.flush()
    from app.notify import mentions  # planning reads the developers' preferences and the channels

    ids = mentions.plan_mentions(comment, error, people)
    db.session.commit()
    for notification_id in ids:
        hooks.after_commit("notice_queued", notification_id=notification_id)
    return comment


def comments_of(error: ErrorLog, limit: int = LIST_LIMIT) -> list[ErrorComment]:
    """An error's comments, newest first."""
    return list(db.session.execute(select(ErrorComment).where(ErrorComment.error_id == error.id)
                                   .order_by(ErrorComment.created_at.desc(), ErrorComment.id.desc())
                                   .limit(limit)).scalars())
