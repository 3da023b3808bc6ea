"""One-click links from notification e-mails (app/notify/action_links.py): GET shows what the link
will do and a button, POST does it. No sign-in: the signed, single-use token is the authority, so
the form carries no CSRF token either (a forged POST would need the token it is for)."""
from __future__ import annotations

from flask import Blueprint, render_template

from app.notify import action_links
from app.triage.changes import TriageError

bp = Blueprint("actions", __name__)


@bp.after_request
def _private(response):
    # The token is in the address: keep it out of referrers and shared caches.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/act/<token>")
def confirm(token: str):
    try:
        link = action_links.read_link(token)
    except action_links.LinkRefused as exc:
        return render_template("actions/done.html", problem=exc.message), exc.status
    return render_template("actions/confirm.html", link=link, error=link.error)


@bp.post("/act/<token>")
def act(token: str):
    try:
        link, message = action_links.use_link(token)
    except action_links.LinkRefused as exc:
        return render_template("actions/done.html", problem=exc.message), exc.status
    except TriageError as exc:
        return render_template("actions/done.html", problem=exc.message), exc.status
    return render_template("actions/done.html", message=message, error=link.error)
