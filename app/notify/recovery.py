"""What the hourly sweep catches up on: rows that are due, and error events whose hand-off was lost.

A provider that received a message whose sending was never recorded gets it again with the same
identity (Message-ID, webhook delivery id), so it can recognise the repeat.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import ErrorEscalation, ErrorEventDispatch, ErrorLog, ErrorNotification
from app.models.types import utcnow
from app.notify.delivery import due_clause, deliver, handle_error_event
from app.notify.planning import LOOKBACK, event_markers
from app.triage.kinds import routable_clause

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


def recover_lost_events(now: dt.datetime | None = None) -> int:
    """Handle error events of the last 24 hours whose hand-off never ran or never finished
    (the queue was down, a worker was killed); handling is idempotent, so a race is harmless.
    Security reports are never handed off, so the sweep does not look for them."""
    now = now or utcnow()
    since = now - LOOKBACK
    stuck_before = now - dt.timedelta(seconds=int(current_app.config.get("NOTIFY_LEASE_SECONDS") or 120))
    wanted: list[tuple[str, str]] = []
    candidates = [
        # New errors only: an old error's first hand-off record may have gone with retention.
        ("error.created", select(ErrorLog).where(ErrorLog.first_seen >= since)),
        ("error.regressed", select(ErrorLog).where(ErrorLog.regressed_at >= since)),
        ("error.severity_raised", select(ErrorLog).where(ErrorLog.severity_raised_at >= since)),
        ("error.assigned", select(ErrorLog).where(ErrorLog.assigned_at >= since)),
        ("error.resolved", select(ErrorLog).where(ErrorLog.resolved_at >= since)),
        ("error.escalated", select(ErrorLog).join(ErrorEscalation, ErrorEscalation.error_id == ErrorLog.id)
         .where(ErrorEscalation.created_at >= since).distinct()),
    ]
    for event, stmt in candidates:
        errors = list(db.session.execute(stmt.where(routable_clause()).limit(5000)).scalars())
        if not errors:
            continue
        known = {(d.error_id, d.marker): d for d in db.session.execute(
            select(ErrorEventDispatch).where(ErrorEventDispatch.event == event,
                                             ErrorEventDispatch.error_id.in_([e.id for e in errors]))).scalars()}
        for error in errors:
            for marker in event_markers(error, event, now):
                dispatch = known.get((error.id, marker))
                if dispatch is None or (dispatch.status != "done" and dispatch.created_at <= stuck_before):
                    wanted.append((error.id, event))
                    break
    for error_id, event in dict.fromkeys(wanted):
        try:
            handle_error_event(error_id, event, now)
        except IntegrityError:
            db.session.rollback()
    return len(set(wanted))
