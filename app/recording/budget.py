"""The per-error event budget: past ``events_per_error`` stored events, an error keeps its first events, its
latest ones and a uniform sample of those between; the rest are deleted by a worker job, never at ingest.

With a budget of N, in the order of the error's event pages (time, then id: app/reports/events.py):

- the first N/10 events (how the error began),
- the latest 4N/10 events (what it does now),
- and of the events between, the N/2 whose ids hash lowest (BLAKE2b of the id): a uniform sample, and
  the same sample however often the job runs, because the lowest hashes of a set are the lowest among
  the lowest of one part and the rest, so thinning in many small runs keeps what one large run would.

What ingest keeps for every event stays exact: the error's ``occurrence_count``, its hourly counts
(app/recording/rollups.py), its tag, release and user breakdowns (app/recording/facets.py). The event
navigation's "Event N of M" counts from the newest (app/reports/events.py): the latest events keep their
numbers, older ones are numbered as if the thinned events had not been.

The job (``trim_error_events``, every ``interval_event_budget_minutes``) looks at the errors counted past
the budget that changed since its last complete run, deletes in batches of ``BATCH`` (each its own short
transaction) and stops after ``MAX_DELETES`` in one run; the next run carries on where it stopped.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import logging

from sqlalchemy import delete, func, literal, select, tuple_

from app.extensions import db
from app.models import ErrorLog, ErrorOccurrence, ScheduledJob
from app.platform import settings
from app.platform.sql import database_now

log = logging.getLogger("heartwatch.retention")
JOB_NAME = "trim_error_events"
BATCH = 1000
MAX_DELETES = 50_000
# Errors changed this long before a complete run are looked at again by the next one (an ingest
# transaction that began before the run may commit after it).
OVERLAP = dt.timedelta(minutes=10)
ORDER = (ErrorOccurrence.timestamp, ErrorOccurrence.id)


def shares(budget: int) -> tuple[int, int, int]:
    """How a budget is shared: (first events, latest events, sampled events between)."""
    first, latest = budget // 10, budget * 4 // 10
    return first, latest, budget - first - latest


def _rank(occurrence_id: str) -> bytes:
    return hashlib.blake2b(occurrence_id.encode(), digest_size=8).digest()


def _bound(error_id: str, descending: bool, skip: int):
    """The (time, id) of the event ``skip`` places from the start (or the end) of the error's events."""
    order = [c.desc() for c in ORDER] if descending else list(ORDER)
    return db.session.execute(select(*ORDER).where(ErrorOccurrence.error_id == error_id)
                              .order_by(*order).offset(skip).limit(1)).one_or_none()


def _key(row):
    # Bound with the columns' own types, so a time compares as stored on both databases.
    return tuple_(literal(row[0], ErrorOccurrence.timestamp.type), literal(row[1], ErrorOccurrence.id.type))


def _thin(error_id: str, budget: int, room: int) -> int:
    """Delete up to ``room`` of one error's events past its budget; how many were deleted."""
    stored = db.session.execute(select(func.count()).select_from(
        select(ErrorOccurrence.id).where(ErrorOccurrence.error_id == error_id).limit(budget + 1).subquery())
    ).scalar_one()
    if stored <= budget:
        return 0
    first, latest, sampled = shares(budget)
    middle = ErrorOccurrence.error_id == error_id
    head, tail = _bound(error_id, False, first - 1) if first else None, _bound(error_id, True, latest - 1)
    if head is not None:
        middle &= tuple_(*ORDER) > _key(head)
    if tail is not None:
        middle &= tuple_(*ORDER) < _key(tail)
    ids = select(ErrorOccurrence.id).where(middle).execution_options(yield_per=5000)
    kept = heapq.nsmallest(sampled, ((_rank(i), i) for i in db.session.execute(ids).scalars()))
    if len(kept) < sampled:
        return 0
    last_kept, doomed = kept[-1], []
    result = db.session.execute(ids).scalars()
    try:
        for occurrence_id in result:
            if (_rank(occurrence_id), occurrence_id) > last_kept:
                doomed.append(occurrence_id)
                if len(doomed) >= room:
                    break
    finally:
        result.close()
    db.session.commit()
    for start in range(0, len(doomed), BATCH):
        db.session.execute(delete(ErrorOccurrence).where(ErrorOccurrence.id.in_(doomed[start:start + BATCH]))
                           .execution_options(synchronize_session=False))
        db.session.commit()
    return len(doomed)


def last_complete() -> dt.datetime | None:
    """Up to when the last run looked at every error (kept in its scheduled-job result)."""
    job = db.session.get(ScheduledJob, JOB_NAME)
    value = ((job.last_result or {}) if job else {}).get("complete_until")
    return dt.datetime.fromisoformat(value) if value else None


def trim_to_budget(since: dt.datetime | None = None, max_deletes: int = MAX_DELETES) -> dict:
    """Thin the errors past the budget that changed (``error_logs.updated_at``, the database's clock)
    since ``since`` (default: the last complete run; every such error on the first run).
    ``complete_until`` tells the next run where to start."""
    started = database_now()
    since = since or last_complete()
    budget = int(settings.get("events_per_error"))
    candidates = select(ErrorLog.id).where(ErrorLog.occurrence_count > budget).order_by(ErrorLog.id)
    if since is not None:
        candidates = candidates.where(ErrorLog.updated_at >= since - OVERLAP)
    deleted, errors = 0, 0
    for error_id in list(db.session.execute(candidates).scalars()):
        removed = _thin(error_id, budget, max_deletes - deleted)
        deleted += removed
        errors += 1 if removed else 0
        if deleted >= max_deletes:
            break
    if deleted:
        log.info("event budget: %d events of %d errors deleted", deleted, errors)
    # A run cut short leaves the next one to look again from where this one started.
    until = started if deleted < max_deletes else since
    return {"deleted": deleted, "errors": errors, "budget": budget,
            "complete_until": until.isoformat() if until is not None else None}
