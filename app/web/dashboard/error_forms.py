"""The error page's comment and unmerge forms (the list's bulk merge is app/web/dashboard/errors.py). The
rules are app/triage/comments.py and app/triage/merge.py, which the JSON API calls too."""
from __future__ import annotations

from flask import flash, redirect, request, url_for

from app.models import ErrorLog
from app.triage import comments, merge
from app.triage.changes import TriageError
from app.web.dashboard import errors
from app.web.dashboard.base import bp
from app.web.dashboard.common import actor, error_or_404, looks_like_id


def _page_answer(error: ErrorLog, message: str, status: int, anchor: str):
    if status >= 400:
        return errors._triage_answer(error, message, status)
    flash(message, "ok")
    return redirect(url_for("dashboard.error_detail", error_id=error.id) + anchor, code=303)


@bp.post("/errors/<error_id>/comments")
def add_comment(error_id: str):
    error = error_or_404(error_id)
    try:
        comment = comments.add_comment(error, actor(), request.form.get("body"))
    except comments.CommentError as exc:
        return _page_answer(error, f"The comment was not saved: {exc.message}.", exc.status, "#comments")
    told = len(comment.mentions or [])
    return _page_answer(error, "Comment added" + (f"; {told} mentioned developer{'s' if told != 1 else ''} told."
                                                  if told else "."), 200, f"#comment-{comment.id}")


@bp.post("/errors/<error_id>/unmerge")
def unmerge(error_id: str):
    error = error_or_404(error_id)
    chosen = [i for i in request.form.getlist("error_id") if i]
    if not all(looks_like_id(i) for i in chosen):
        return _page_answer(error, "Unknown error ids.", 400, "")
    try:
        given = merge.unmerge_error(error, actor(), chosen or None)
    except TriageError as exc:
        return _page_answer(error, exc.message[:1].upper() + exc.message[1:] + ".", exc.status, "")
    return _page_answer(error, f"Unmerged {len(given)} error{'s' if len(given) != 1 else ''}.", 200, "")
