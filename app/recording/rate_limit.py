"""Per-service ingest rate limits, and the count of events dropped by them.

A fixed one-minute window: in Redis when ``REDIS_URL`` is set (shared by every web process),
in process otherwise (the embedded default runs one web process).

With Redis, a process takes its share of the window in leases rather than one event at a time (a
round trip per event was about a tenth of the ingest path's CPU): a lease is a block of the window's
count, at most LEASE_MAX events and an eighth of what is left, so near the limit leases shrink to
single events. The limit holds exactly (every accepted event is a unit of the shared count, which
never passes the limit); at worst, near the end of a busy window, a process is refused while
another still holds a few unused units.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import update

from app.extensions import db
from app.models import Service

log = logging.getLogger("heartwatch.ingest")
WINDOW = 60
DROP_FLUSH_SECONDS = 1.0

_local_counts: dict[tuple[int, int], int] = {}
_local_lock = threading.Lock()
_dropped: dict[int, int] = {}
_dropped_flushed_at: dict[int, float] = {}


def check_rate(service_id: int, limit: int | None) -> int | None:
    """Count one event; None when allowed, else the seconds until the window reopens."""
    limit = limit or current_app.config["RATE_LIMIT_PER_MINUTE"]
    if limit <= 0:
        return None
    now = time.time()
    window = int(now // WINDOW)
    retry_after = max(1, int((window + 1) * WINDOW - now))
    url = current_app.config.get("REDIS_URL")
    if url:
        try:
            allowed = _take_from_window(url, service_id, limit, window)
        except Exception:
            log.warning("rate limiter could not reach Redis; letting the event through", exc_info=True)
            return None
        return None if allowed else retry_after
    else:
        with _local_lock:
            count = _local_counts.get((service_id, window), 0) + 1
            _local_counts[(service_id, window)] = count
            if len(_local_counts) > 10000:
                for stale in [k for k in _local_counts if k[1] < window]:
                    del _local_counts[stale]
    return None if count <= limit else retry_after


LEASE_MAX = 50
LEASE_SHARE = 8


@dataclass
class _Lease:
    """This process's part of one service's window."""

    window: int
    limit: int
    left: int = 0  # units taken from the shared count and not used yet
    seen: int = 0  # the shared count at this process's last lease


_leases: dict[tuple[str, int], _Lease] = {}
_leases_lock = threading.Lock()


def _take_from_window(url: str, service_id: int, limit: int, window: int) -> bool:
    """One event against the shared count of the window: True when it is within the limit."""
    with _leases_lock:
        lease = _leases.get((url, service_id))
        if lease is None or lease.window != window or lease.limit != limit:
            lease = _leases[(url, service_id)] = _Lease(window, limit)
        if lease.left > 0:
            lease.left -= 1
            return True
        if lease.seen >= limit:
            return False  # the count only grows within a window: refused without asking
        block = max(1, min(LEASE_MAX, (limit - lease.seen) // LEASE_SHARE))
    count = int(_window_counter(url)(keys=[f"heartwatch:rate:{service_id}:{window}"], args=[WINDOW * 2, block]))
    granted = min(block, limit - (count - block))  # the units of this block that are within the limit
    with _leases_lock:
        lease.seen = max(lease.seen, count)
        if granted > 1:
            lease.left += granted - 1
    return granted >= 1


# Take a block of the window's count and set its expiry in one round trip (a MULTI/EXEC pipeline took
# four commands per event); the key outlives its one-minute window either way.
_COUNT_IN_WINDOW = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
_counters: dict[str, object] = {}
_counters_lock = threading.Lock()


def _window_counter(url: str):
    counter = _counters.get(url)
    if counter is None:
        # Under a lock: a client built twice by racing threads and one dropped closes the other's
        # connections when it is collected.
        with _counters_lock:
            counter = _counters.get(url)
            if counter is None:
                import redis

                client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
                counter = _counters[url] = client.register_script(_COUNT_IN_WINDOW)
    return counter


def record_dropped(service_id: int) -> None:
    """Count an event refused by the rate limit, so drops are visible, never silent.

    Counts are added to the service row at most once a second per service and process, so a
    flood of refused events does not become a flood of writes.
    """
    now = time.monotonic()
    with _local_lock:
        _dropped[service_id] = _dropped.get(service_id, 0) + 1
        if now - _dropped_flushed_at.get(service_id, 0.0) < DROP_FLUSH_SECONDS:
            return
        count = _dropped.pop(service_id)
        _dropped_flushed_at[service_id] = now
    db.session.execute(update(Service).where(Service.id == service_id)
                       .values(dropped_events=Service.dropped_events + count))
    db.session.commit()


def reset_local_state() -> None:
    with _local_lock:
        _local_counts.clear()
        _dropped.clear()
        _dropped_flushed_at.clear()
    with _leases_lock:
        _leases.clear()
