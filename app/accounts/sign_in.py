"""Signing in to the dashboard: password check, and a limit on failed attempts.

Failures are counted per e-mail and client address in a fixed window: in Redis when ``REDIS_URL``
is set (every web process sees the same count), in process otherwise (the embedded default runs
one web process). A pause after a few failures makes guessing a password by the thousand useless
without locking the real owner out for long.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time

from flask import current_app

from app.models import Developer
from app.accounts import developers as accounts
from app.platform.audit import record_audit

log = logging.getLogger("heartwatch.auth")

_local_failures: dict[str, tuple[float, int]] = {}
_local_lock = threading.Lock()


class SignInRefused(Exception):
    """Too many failed attempts; ``retry_after`` is in seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"too many failed sign-ins; try again in {retry_after} seconds")
        self.retry_after = retry_after


def _key(email: str, address: str | None) -> str:
    digest = hashlib.sha256(f"{(email or '').strip().lower()}|{address or ''}".encode()).hexdigest()[:32]
    return f"heartwatch:login:{digest}"


def _settings() -> tuple[int, int]:
    return current_app.config["LOGIN_MAX_ATTEMPTS"], current_app.config["LOGIN_LOCKOUT_SECONDS"]


def _failures(key: str) -> tuple[int, int]:
    """(failures in the current window, seconds until it ends)."""
    _, window = _settings()
    url = current_app.config.get("REDIS_URL")
    if url:
        from app.platform.feed import _redis

        try:
            client = _redis(url)
            count, ttl = client.get(key), client.ttl(key)
            return int(count or 0), max(1, int(ttl)) if ttl and ttl > 0 else window
        except Exception:
            log.warning("sign-in limiter could not reach Redis", exc_info=True)
            return 0, window
    now = time.monotonic()
    with _local_lock:
        started, count = _local_failures.get(key, (now, 0))
        if now - started >= window:
            return 0, window
        return count, max(1, int(window - (now - started)))


def _count_failure(key: str) -> None:
    _, window = _settings()
    url = current_app.config.get("REDIS_URL")
    if url:
        from app.platform.feed import _redis

        try:
            pipe = _redis(url).pipeline()
            pipe.incr(key)
            pipe.expire(key, window, nx=True)
            pipe.execute()
        except Exception:
            log.warning("sign-in limiter could not reach Redis", exc_info=True)
        return
    now = time.monotonic()
    with _local_lock:
        started, count = _local_failures.get(key, (now, 0))
        if now - started >= window:
            started, count = now, 0
        _local_failures[key] = (started, count + 1)
        if len(_local_failures) > 10000:
            for stale in [k for k, (t, _) in _local_failures.items() if now - t >= window]:
                del _local_failures[stale]


def _clear(key: str) -> None:
    url = current_app.config.get("REDIS_URL")
    if url:
        from app.platform.feed import _redis

        try:
            _redis(url).delete(key)
        except Exception:
            log.warning("sign-in limiter could not reach Redis", exc_info=True)
        return
    with _local_lock:
        _local_failures.pop(key, None)


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
    """Forget in-process failure counts (between tests)."""
    with _local_lock:
        _local_failures.clear()
