"""A snoozed error's state, as every part asks it: whether it is snoozed (``is_snoozed``, ``snoozed_clause``),
ending a snooze in the session (``clear``), why it woke (the reasons, the ``error.woke`` audit row's details,
``woke_reason`` for the notification), and the ingest writer's wake (``wake_at_ingest``). The rules and the
changes (snoozing, unsnoozing, the scheduled wake) are app/triage/snooze.py's, which builds on this module;
this one imports no change of state, so the ingest, the planning and the read side can ask it.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, func, select, update

from app.extensions import db
from app.models import AuditEvent, ErrorLog, ErrorOccurrence
from app.models.types import UTCDateTime
from app.platform import outbox

HOUR = dt.timedelta(hours=1)
SNOOZE_COLUMNS = ("snoozed_at", "snoozed_until", "snooze_events", "snooze_wake_count", "snooze_per_hour")


def is_snoozed(error: ErrorLog) -> bool:
    """Whether the error is snoozed: it tells nobody and escalates no further until it wakes."""
    return error.snoozed_at is not None


def snoozed_clause():
    """``is_snoozed`` as a WHERE clause on error_logs."""
    return ErrorLog.snoozed_at.is_not(None)


def clear(error: ErrorLog) -> None:
    """End the snooze in the session (the caller audits and commits)."""
    for name in SNOOZE_COLUMNS:
        setattr(error, name, None)


def until_reason(until: dt.datetime) -> str:
    return f"snoozed until {until.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"


def events_reason(events: int) -> str:
    return f"{events} more event{'s' if events != 1 else ''} since snoozed"


def rate_reason(per_hour: int) -> str:
    return f"more than {per_hour} event{'s' if per_hour != 1 else ''} in an hour"


def woke_details(reason: str, regression_count: int) -> dict:
    """The ``error.woke`` audit row's details: why, and the marker of the regression event that tells it."""
    return {"reason": reason, "marker": outbox.regressed_marker(regression_count)}


def woke_reason(error_id: str, marker: str) -> str | None:
    """Why the error woke, when the regression event of ``marker`` is a wake (for the notification)."""
    rows = db.session.execute(select(AuditEvent.details).where(AuditEvent.error_id == error_id,
                                                               AuditEvent.action == "error.woke")
                              .order_by(AuditEvent.id.desc()).limit(20)).scalars()
    for details in rows:
        if (details or {}).get("marker") == marker:
            return details.get("reason")
    return None


ERRORS = ErrorLog.__table__
OCCURRENCES = ErrorOccurrence.__table__
_RULES = select(ERRORS.c.id, ERRORS.c.snoozed_at, ERRORS.c.snooze_events, ERRORS.c.snooze_wake_count,
                ERRORS.c.snooze_per_hour).where(ERRORS.c.id.in_(bindparam("ids", expanding=True)))
_RECENT = select(func.count()).select_from(
    select(OCCURRENCES.c.id).where(OCCURRENCES.c.error_id == bindparam("error"),
                                   OCCURRENCES.c.timestamp >= bindparam("since", type_=UTCDateTime()))
    .limit(bindparam("cap")).subquery())
_WAKE = (update(ERRORS).where(ERRORS.c.id == bindparam("error"), ERRORS.c.snoozed_at.is_not(None))
         .values(**{name: None for name in SNOOZE_COLUMNS}, regressed_at=bindparam("woke_at", type_=UTCDateTime()),
                 regression_count=ERRORS.c.regression_count + 1)
         .returning(ERRORS.c.regression_count))


def wake_at_ingest(conn, rows: list, marker: dt.datetime) -> dict[str, tuple[int, str]]:
    """In the ingest writer's transaction, after its upsert and occurrences: wake those of ``rows`` (the
    upsert's rows of errors that are snoozed, each with its new ``occurrence_count``) whose event count or
    rate has come. Returns error id -> (new regression count, reason) of the errors woken. Costs nothing
    for an error that is not snoozed: the writer calls it with the snoozed rows only."""
    counts = {row.id: row.occurrence_count for row in rows}
    woken: dict[str, tuple[int, str]] = {}
    for error_id, snoozed_at, events, wake_count, per_hour in conn.execute(_RULES, {"ids": list(counts)}):
        reason = None
        if wake_count is not None and counts[error_id] >= wake_count:
            reason = events_reason(events or 0)
        elif per_hour is not None:
            since = max(marker - HOUR, snoozed_at)
            recent = conn.execute(_RECENT, {"error": error_id, "since": since, "cap": per_hour + 1}).scalar_one()
            if recent > per_hour:
                reason = rate_reason(per_hour)
        if reason is None:
            continue
        regression_count = conn.execute(_WAKE, {"error": error_id, "woke_at": marker}).scalar()
        if regression_count is not None:
            woken[error_id] = (regression_count, reason)
    return woken
