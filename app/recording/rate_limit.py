"""Per-service ingest rate limits, and the count of events dropped by them.

A fixed one-minute window, counted in ``app.platform.kv``: in Redis when ``REDIS_URL`` is set
(shared by every web process), in process otherwise (the embedded default runs one web process).
Refused events are counted on the service row (``record_dropped``).

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
from app.platform import kv
from app.platform.outage import OutageLog

log = logging.getLogger("heartwatch.ingest")
redis_outage = OutageLog(log, "the rate limiter's Redis")
WINDOW = 60
DROP_WAIT_SECONDS = 10.0


def check_rate(service_id: int, limit: int | None) -> int | None:
    """Count one event; None when allowed, else the seconds until the window reopens."""
    limit = limit or current_app.config["RATE_LIMIT_PER_MINUTE"]
    if limit <= 0:
        return None
    now = time.time()
    window = int(now // WINDOW)
    retry_after = max(1, int((window + 1) * WINDOW - now))
    store = kv.store()
    if not store.remote:
        return None if store.incr(_window_key(service_id, window), 1, WINDOW * 2) <= limit else retry_after
    if redis_outage.skip_for_now():
        return None
    try:
        allowed = _take_from_window(store, service_id, limit, window)
    except Exception:
        redis_outage.failed("events are let through without a rate limit")
        return None
    redis_outage.succeeded()
    return None if allowed else retry_after


def _window_key(service_id: int, window: int) -> str:
    return f"heartwatch:rate:{service_id}:{window}"


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


def _take_from_window(store, service_id: int, limit: int, window: int) -> bool:
    """One event against the shared count of the window: True when it is within the limit."""
    with _leases_lock:
        lease = _leases.get((store.url, service_id))
        if lease is None or lease.window != window or lease.limit != limit:
            lease = _leases[(store.url, service_id)] = _Lease(window, limit)
        if lease.left > 0:
            lease.left -= 1
            return True
        if lease.seen >= limit:
            return False  # the count only grows within a window: refused without asking
        block = max(1, min(LEASE_MAX, (limit - lease.seen) // LEASE_SHARE))
    # The block and the key's expiry in one round trip; the key outlives its one-minute window.
    count = store.incr(_window_key(service_id, window), block, WINDOW * 2)
    granted = min(block, limit - (count - block))  # the units of this block that are within the limit
    with _leases_lock:
        lease.seen = max(lease.seen, count)
        if granted > 1:
            lease.left += granted - 1
    return granted >= 1


@dataclass
class _Drops:
    """Refused events of one service in this process: ``counted`` so far, ``written`` to its row."""

    counted: int = 0
    written: int = 0
    writing: bool = False


_drops: dict[int, _Drops] = {}
_drops_changed = threading.Condition()


def record_dropped(service_id: int) -> None:
    """Count an event refused by the rate limit on its service, so drops are visible, never silent.

    The count on the service row is exact once the refusal is answered. Refusals that arrive while
    this process is writing that service's count wait for the write and are added together by the
    next one, so a flood of refused events costs one write in flight per service, not one each.
    """
    # A refused request does nothing else with the database: end its transaction before waiting, so
    # it holds no connection state another thread's write could wait for.
    db.session.commit()
    with _drops_changed:
        drops = _drops.setdefault(service_id, _Drops())
        drops.counted += 1
        mine = drops.counted
        deadline = time.monotonic() + DROP_WAIT_SECONDS
        while drops.writing and drops.written < mine and time.monotonic() < deadline:
            _drops_changed.wait(deadline - time.monotonic())
        if drops.written >= mine or drops.writing:
            return
        drops.writing = True
        upto = drops.counted
        count = upto - drops.written
    written = False
    try:
        db.session.execute(update(Service).where(Service.id == service_id)
                           .values(dropped_events=Service.dropped_events + count))
        db.session.commit()
        written = True
    except Exception:
        db.session.rollback()
        log.warning("could not count %d dropped events of service %s; the next refusal adds them",
                    count, service_id, exc_info=True)
    finally:
        with _drops_changed:
            drops.writing = False
            if written:
                drops.written = max(drops.written, upto)
            _drops_changed.notify_all()


def reset_local_state() -> None:
    with _drops_changed:
        _drops.clear()
    with _leases_lock:
        _leases.clear()
