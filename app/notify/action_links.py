"""One-click links in notification e-mails: acknowledge, resolve or snooze the error for an hour without
signing in.

A link carries a token signed with SECRET_KEY (itsdangerous, its own salt) naming the error, the
recipient and the action, with a random id. It expires after ACTION_LINK_HOURS and works once: the id
is stored when it is used (``used_action_tokens``, a primary key, so of two clicks at once one wins).
Opening a link (GET) changes nothing and shows a page with a button; only that button's POST acts, so
mail scanners that follow links do nothing. The snooze link snoozes for an hour (app/triage/answers.py);
other conditions (a count, a rate) are for the dashboard and the JSON API.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Developer, ErrorLog, UsedActionToken
from app.platform.refusal import Refused
from app.triage import answers

SALT = "heartwatch.action-link"
LINK_ACTIONS = {"acknowledge": "Acknowledge", "resolve": "Resolve", "snooze_hour": "Snooze for an hour"}
MAX_TOKEN_LENGTH = 512


class LinkRefused(Refused):
    """A link that does not act: unknown, expired, used, or for something gone."""


@dataclass
class ActionLink:
    token_id: str
    error: ErrorLog
    developer: Developer
    action: str

    @property
    def label(self) -> str:
        return LINK_ACTIONS[self.action]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def link_url(error_id: str, developer_id: int, action: str) -> str:
    token = _serializer().dumps({"e": error_id, "d": developer_id, "a": action, "j": secrets.token_hex(16)})
    return f"{current_app.config['BASE_URL']}/act/{token}"


def links_for(error: dict | None, developer: Developer) -> list[dict]:
    """The links of one e-mail to ``developer`` about an open error (none for anything else)."""
    if not error or error.get("status") not in ("new", "assigned", "in_progress"):
        return []
    return [{"action": action, "label": label, "url": link_url(error["id"], developer.id, action)}
            for action, label in LINK_ACTIONS.items()]


def read_link(token: str) -> ActionLink:
    """What an unused, unexpired link is for; raises LinkRefused (with the HTTP status) otherwise."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise LinkRefused("this is not a Heartwatch link", status=404)
    max_age = int(current_app.config.get("ACTION_LINK_HOURS") or 72) * 3600
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkRefused("this link has expired: open the error in Heartwatch instead", status=410) from None
    except BadSignature:
        raise LinkRefused("this is not a Heartwatch link", status=404) from None
    if not isinstance(data, dict) or data.get("a") not in LINK_ACTIONS or not isinstance(data.get("j"), str):
        raise LinkRefused("this is not a Heartwatch link", status=404)
    if db.session.get(UsedActionToken, data["j"][:32]) is not None:
        raise LinkRefused("this link was used already", status=409)
    error = db.session.get(ErrorLog, str(data.get("e")))
    developer = db.session.get(Developer, int(data.get("d") or 0))
    if error is None or developer is None or not developer.active:
        raise LinkRefused("what this link was for is gone", status=410)
    return ActionLink(data["j"][:32], error, developer, data["a"])


def use_link(token: str) -> tuple[ActionLink, str]:
    """Act on a link once: its id is stored first (committed), then the action runs as its recipient.
    Returns the link and the sentence to show; raises LinkRefused or TriageError."""
    link = read_link(token)
    db.session.add(UsedActionToken(id=link.token_id, action=link.action, error_id=link.error.id))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise LinkRefused("this link was used already", status=409) from None
    return link, answers.answer(link.error, link.developer, link.action, via="email")
