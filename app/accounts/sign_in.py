"""Signing in to the dashboard: password check, and a limit on failed attempts.

Failures are counted per e-mail and client address in a fixed window, in ``app.platform.kv``: in
Redis when ``REDIS_URL`` is set (every web process sees the same count), in process otherwise (the
embedded default runs one web process). A pause after a few failures makes guessing a password by
the thousand useless without locking the real owner out for long.
"""
from __future__ import annotations

import hashlib
import logging

from flask import current_app

from app.models import Developer
from app.accounts import developers as accounts
from app.platform import kv
from app.platform.audit import record_audit

log = logging.getLogger("heartwatch.auth")

KEY_PREFIX = "heartwatch:login:"


class SignInRefused(Exception):
    """Too many failed attempts; ``retry_after`` is in seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"too many failed sign-ins; try again in {retry_after} seconds")
        self.retry_after = retry_after


def _key(email: str, address: str | None) -> str:
    digest = hashlib.sha256(f"{(email or '').strip().lower()}|{address or ''}".encode()).hexdigest()[:32]
    return KEY_PREFIX + digest


def _settings() -> tuple[int, int]:
    return current_app.config["LOGIN_MAX_ATTEMPTS"], current_app.config["LOGIN_LOCKOUT_SECONDS"]


def _failures(key: str) -> tuple[int, int]:
    """(failures in the current window, seconds until it ends)."""
    _, window = _settings()
    store = kv.store()
    try:
        count, left = store.get(key), store.ttl(key)
    except Exception:
        log.warning("sign-in limiter could not reach Redis", exc_info=True)
        return 0, window
    return int(count or 0), max(1, int(left)) if left else window


def _count_failure(key: str) -> None:
    _, window = _settings()
    try:
        kv.store().incr(key, 1, window)
    except Exception:
        log.warning("sign-in limiter could not reach Redis", exc_info=True)


def _clear(key: str) -> None:
    try:
        kv.store().delete(key)
    except Exception:
        log.warning("sign-in limiter could not reach Redis", exc_info=True)


def authenticate(email: str, password: str, address: str | None) -> Developer | None:
    """The active developer with this e-mail and password, or None.

    Raises ``SignInRefused`` once ``LOGIN_MAX_ATTEMPTS`` attempts have failed for this e-mail and
    address within ``LOGIN_LOCKOUT_SECONDS``; the password is then not even checked.
    """
    limit, _ = _settings()
    key = _key(email, address)
    failures, remaining = _failures(key)
    if limit > 0 and failures >= limit:
        raise SignInRefused(remaining)
    # A NUL byte cannot be in an address, and PostgreSQL would refuse the query.
    developer = accounts.developer_by_email(email) if "\x00" not in (email or "") else None
    if developer is not None and developer.active and accounts.verify_password(developer, password or ""):
        _clear(key)
        record_audit(developer, "developer.signed_in", "developer", developer.id,
                     details={"address": address})
        from app.extensions import db

        db.session.commit()
        return developer
    _count_failure(key)
    if developer is not None:
        from app.extensions import db

        record_audit(None, "developer.sign_in_failed", "developer", developer.id, details={"address": address})
        db.session.commit()
    return None


def reset_local_state() -> None:
    """Forget failure counts (between tests)."""
    kv.store().delete_prefix(KEY_PREFIX)
