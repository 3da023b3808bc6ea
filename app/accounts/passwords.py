"""Dashboard passwords: the rules a new one must meet, and changing it.

Every way a password is chosen (a new user, the change-password page, the ``set-password``
command, a reset by e-mail) checks it with ``check_new_password``. A new password ends every
session of the developer (``app/accounts/sessions.py``).
"""
from __future__ import annotations

from app.extensions import db
from app.models import Developer
from app.accounts import sessions
from app.accounts.developers import AccountError, hash_password, verify_password
from app.platform.audit import record_audit

MIN_LENGTH = 10
# Hashing is deliberately slow: bound what one request can ask it to hash.
MAX_LENGTH = 1024


def check_new_password(password: str | None) -> str:
    """The password when it meets the rules; raises AccountError (field ``password``)."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        raise AccountError(f"a password of at least {MIN_LENGTH} characters", "password")
    if len(password) > MAX_LENGTH:
        raise AccountError(f"a password of at most {MAX_LENGTH} characters", "password")
    if not password.strip():
        raise AccountError("a password cannot be only spaces", "password")
    return password


def set_password(developer: Developer, password: str, actor: Developer | None, *, reason: str) -> Developer:
    """Store a new password (checked here), end every session and clear a pending change; audited."""
    check_new_password(password)
    developer.password_hash = hash_password(password)
    developer.must_change_password = False
    sessions.end_sessions(developer, actor, reason)
    record_audit(actor, "developer.password_changed", "developer", developer.id, details={"how": reason})
    db.session.commit()
    return developer


def change_own_password(developer: Developer, current: str, new: str, confirm: str) -> Developer:
    """The change-password page: the current password, then the new one twice."""
    if not verify_password(developer, current or ""):
        raise AccountError("the current password is wrong", "current_password")
    if (new or "") != (confirm or ""):
        raise AccountError("the new password and its repetition differ", "confirm")
    if new == current:
        raise AccountError("choose a password other than the current one", "password")
    return set_password(developer, new, developer, reason="changed")
