"""Dashboard sessions that the server can end.

A signed session cookie cannot be recalled once it is out, so each one carries the developer's
*session version* (``Developer.get_id``: ``"<id>.<version>"``), and so does the remember-me cookie.
Every request loads the developer by that value; raising the version ends every session and
remember-me cookie the developer has, wherever they were copied. Signing out, signing out
everywhere, a password change or reset, and disabling the account raise it.
"""
from __future__ import annotations

from app.extensions import db
from app.models import Developer
from app.platform.audit import record_audit


def developer_for_session(user_id: str) -> Developer | None:
    """The active developer a session or remember-me cookie names, or None when the cookie was
    made before the developer's sessions were ended (or names no one)."""
    ident, dot, version = (user_id or "").partition(".")
    if not dot or not ident.isdigit() or not version.isdigit() or len(ident) > 12 or len(version) > 12:
        return None
    developer = db.session.get(Developer, int(ident))
    if developer is None or not developer.active or (developer.session_version or 0) != int(version):
        return None
    return developer


def end_sessions(developer: Developer, actor: Developer | None, reason: str) -> None:
    """End every session and remember-me cookie of the developer (the caller commits)."""
    developer.session_version = (developer.session_version or 0) + 1
    record_audit(actor, "developer.sessions_ended", "developer", developer.id, details={"reason": reason})
