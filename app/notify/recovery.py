"""What the sweeps catch up on: deliveries that are due (hourly), and error events whose hand-off was
lost or cut short (every minute, from the outbox: app/platform/outbox.py).

A provider that received a message whose sending was never recorded gets it again with the same
identity (Message-ID, webhook delivery id), so it can recognise the repeat.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select, update

from app.extensions import db
from app.models import ErrorEventDispatch, ErrorLog, ErrorNotification
from app.models.types import utcnow
from app.notify.delivery import deliver, due_clause, handle_dispatch
from app.platform import outbox
from app.triage import kinds

log = logging.getLogger("heartwatch.notify")

SWEEP_BATCH = 200


def retry_due(now: dt.datetime | None = None, limit: int = SWEEP_BATCH) -> dict:
    """The sweep: deliver every row that is due (a retry whose time came, a lease that expired
    because its worker died, a row whose send was never started). Rows are taken with
    ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so several sweeps share the work."""
    now = now or utcnow()
    counts: dict[str, int] = {}
    seen: set[int] = set()
    while True:
        stmt = select(ErrorNotification.id).where(due_clause(now)).order_by(ErrorNotification.id).limit(limit)
        if seen:
            stmt = stmt.where(ErrorNotification.id.notin_(seen))
        if db.engine.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        ids = list(db.session.execute(stmt).scalars())
        db.session.commit()
        if not ids:
            break
        for notification_id in ids:
            seen.add(notification_id)
            status = deliver(notification_id, now)
            key = status or "skipped"
            counts[key] = counts.get(key, 0) + 1
        if len(ids) < limit:
            break
    return counts


def recover_lost_events(now: dt.datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """Handle every error event whose outbox row is still pending one lease after it was written
    (the hand-off job was never enqueued because the queue was down, or a worker was killed at some
    step), however old its error: each row resumes at the step where it stopped (``handle_dispatch``),
    so a race with the original job is harmless. Returns the number of rows taken up."""
    now = now or utcnow()
    handled = 0
    seen: set[int] = set()
    while True:
        stmt = (select(ErrorEventDispatch.id, ErrorEventDispatch.error_id, ErrorEventDispatch.event,
                       ErrorEventDispatch.marker, ErrorLog.kind)
                .join(ErrorLog, ErrorLog.id == ErrorEventDispatch.error_id)
                .where(outbox.overdue_clause(now)).order_by(ErrorEventDispatch.created_at, ErrorEventDispatch.id)
                .limit(limit))
        if seen:
            stmt = stmt.where(ErrorEventDispatch.id.notin_(seen))
        rows = db.session.execute(stmt).all()
        db.session.commit()
        for dispatch_id, error_id, event, marker, kind in rows:
            seen.add(dispatch_id)
            try:
                if (kind or "error") not in kinds.ROUTED_KINDS:
                    _skip(dispatch_id, f"a {kind} report is not told to anyone")
                else:
                    handle_dispatch(error_id, event, marker, now)
                handled += 1
            except Exception:
                db.session.rollback()  # left pending: the next drain tries it again
                log.exception("the hand-off of %s %s of error %s failed; it stays in the outbox", event, marker,
                              error_id)
        if len(rows) < limit:
            return handled


def _skip(dispatch_id: int, reason: str) -> None:
    db.session.execute(update(ErrorEventDispatch).where(ErrorEventDispatch.id == dispatch_id,
                                                        ErrorEventDispatch.status == "pending")
                       .values(status="done", handled_at=utcnow(), outcome={"skipped": reason})
                       .execution_options(synchronize_session=False))
    db.session.commit()


def send_unstarted(now: dt.datetime | None = None, limit: int = SWEEP_BATCH) -> dict:
    """Send the deliveries that were planned but never taken one lease later (a worker killed between
    planning an event and sending it); the hourly ``retry_due`` covers retries and expired leases."""
    now = now or utcnow()
    ids = list(db.session.execute(
        select(ErrorNotification.id).where(ErrorNotification.status == "queued",
                                           ErrorNotification.next_retry_at.is_(None),
                                           ErrorNotification.created_at <= now - outbox.lease())
        .order_by(ErrorNotification.id).limit(limit)).scalars())
    db.session.commit()
    counts: dict[str, int] = {}
    for notification_id in ids:
        key = deliver(notification_id, now) or "skipped"
        counts[key] = counts.get(key, 0) + 1
    return counts


def drain_outbox(now: dt.datetime | None = None) -> dict:
    """The frequent drain (every minute, ``drain_outbox`` in app/jobs/scheduled.py): the outbox's overdue
    rows, then the deliveries planned and never started; after a Redis outage this is what catches up."""
    now = now or utcnow()
    return {"events": recover_lost_events(now), "deliveries": send_unstarted(now)}
