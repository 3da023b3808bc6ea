"""Ingest keys: which service an event belongs to, answered from a short-lived in-process cache."""
from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import or_, select

from app.extensions import db
from app.ingest.settings import DEFAULT_SETTINGS, IngestSettings, stored_settings
from app.models import Service
from app.models.types import utcnow
from app.platform.refusal import Unavailable
from app.platform.sql import database_unavailable


@dataclass(frozen=True)
class IngestService:
    """The little the ingest path needs to know about a service."""

    id: int
    slug: str
    platform: str
    rate_limit_per_minute: int | None
    settings: IngestSettings = DEFAULT_SETTINGS  # scrubbing and in-app rules


# Generated keys are hex; allowing any visible ASCII up to the column's 64 characters refuses what no
# stored key can be (NUL, which PostgreSQL will not even take as a parameter, control characters,
# spaces, non-ASCII) without a lookup, whichever route the key came by.
_WELL_FORMED = re.compile(r"[!-~]{1,64}")

RETRY_UNKNOWN_KEY_SECONDS = 10
# Kept past their time to live: while the database is down an expired entry still answers.
_cache: dict[str, tuple[float, IngestService | None]] = {}
_cache_lock = threading.Lock()


def generate_ingest_key() -> str:
    return secrets.token_hex(16)  # 32 hex characters, like a Sentry public key


def is_well_formed_key(key: str | None) -> bool:
    """Whether ``key`` could be an ingest key at all (anything else is refused without a lookup)."""
    return isinstance(key, str) and _WELL_FORMED.fullmatch(key) is not None


def resolve_ingest_key(key: str | None) -> IngestService | None:
    """The active service whose current key, or previous key within its grace period, is ``key``."""
    if not is_well_formed_key(key):
        return None
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    # A connection of its own, given back at once: through the request's session it would stay checked
    # out while the request waits for the group-commit writer, and a burst of misses (a cold cache,
    # every key expiring together) could then hold the whole pool.
    try:
        with db.engine.connect() as conn:
            service = conn.execute(
                select(Service.id, Service.slug, Service.platform, Service.rate_limit_per_minute, Service.active,
                       Service.ingest_key, Service.previous_key_expires_at, Service.ingest_settings)
                .where(or_(Service.ingest_key == key, Service.previous_ingest_key == key))
            ).one_or_none()
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        # The database is down: a key known a moment ago still is, so its events can go to the spool.
        if hit is not None:
            return hit[1]
        raise Unavailable("the database is unreachable and this key has not been seen since it went down; "
                          f"retry in {RETRY_UNKNOWN_KEY_SECONDS} s", retry_after=RETRY_UNKNOWN_KEY_SECONDS) from None
    found = None
    if service is not None and service.active:
        if service.ingest_key == key or (service.previous_key_expires_at and
                                         service.previous_key_expires_at > utcnow()):
            found = IngestService(service.id, service.slug, service.platform, service.rate_limit_per_minute,
                                  stored_settings(service.ingest_settings))
    ttl = current_app.config.get("INGEST_KEY_CACHE_SECONDS", 30)
    with _cache_lock:
        _cache[key] = (now + ttl, found)
    return found


def forget_cached_keys() -> None:
    """Drop the cache (after a rotation in this process, and between tests)."""
    with _cache_lock:
        _cache.clear()
