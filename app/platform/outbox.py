"""The outbox: the row that says an error event must be routed and told, written in the change's transaction.

``error_event_dispatches`` (``ErrorEventDispatch``) is the outbox. The ingest (app/recording/record.py,
one multi-row insert per batch), an assignment, a change of severity, a resolution (app/triage/changes.py)
and an escalation (app/triage/escalation.py) write their event's row, ``pending``, in the transaction
that makes the change, before it commits: a change committed is a change whose hand-off is recorded,
whatever happens to Redis or the worker afterwards. The job enqueued after commit (app/platform/hooks.py)
is only the fast path; the worker's drain (``app.notify.recovery.drain_outbox``, every minute) takes
every row still pending one lease after it was written, however old its error.

One row per occurrence of an event: ``marker`` tells repeated events of one kind apart, spelt here
(the markers below) for every writer and for the planning (app/notify/planning.py ``event_markers``);
the unique key (error, event, marker) makes a second writer add nothing. The worker takes a row
through its steps, each committed with what it did (app/notify/delivery.py ``handle_dispatch``).

Only errors that are routed (app/triage/kinds.py) get rows: the callers ask, this module writes.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.models import ErrorEventDispatch
from app.models.types import utcnow
from app.platform.sql import dialect_insert

DISPATCHES = ErrorEventDispatch.__table__
UNIQUE_KEY = ["error_id", "event", "marker"]
DEFAULT_LEASE_SECONDS = 120


def stamp(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")


def created_marker() -> str:
    return "1"


def regressed_marker(regression_count: int) -> str:
    return f"r{regression_count}"


def raised_marker(severity_level: int, raised_at: dt.datetime) -> str:
    return f"s{severity_level}@{stamp(raised_at)}"


def assigned_marker(developer_id: int, assigned_at: dt.datetime) -> str:
    return f"a{developer_id}@{stamp(assigned_at)}"


def resolved_marker(resolved_at: dt.datetime) -> str:
    return f"x@{stamp(resolved_at)}"


def escalated_marker(escalation_id: int) -> str:
    return f"e{escalation_id}"


def current_marker(error, event: str) -> str | None:
    """The marker of the event the error's row shows last (None when it shows none), for every event
    but ``error.escalated``, whose marker is its escalation's id."""
    if event == "error.created":
        return created_marker()
    if event == "error.regressed":
        return regressed_marker(error.regression_count) if error.regression_count else None
    if event == "error.severity_raised":
        return raised_marker(error.severity_level, error.severity_raised_at) if error.severity_raised_at else None
    if event == "error.assigned":
        return assigned_marker(error.assigned_to_id, error.assigned_at) \
            if error.assigned_to_id and error.assigned_at else None
    if event == "error.resolved":
        return resolved_marker(error.resolved_at) if error.status == "resolved" and error.resolved_at else None
    return None


def pending_row(error_id: str, event: str, marker: str, now: dt.datetime) -> dict:
    """An outbox row as the statements insert it."""
    return {"error_id": error_id, "event": event, "marker": marker, "status": "pending", "attempts": 0,
            "created_at": now}


def insert_statement(insert):
    """INSERT .. ON CONFLICT DO NOTHING of outbox rows, with ``insert`` the dialect's construct. RETURNING
    lets SQLAlchemy send a list of rows as one multi-row INSERT rather than one statement per row."""
    return insert(DISPATCHES).on_conflict_do_nothing(index_elements=UNIQUE_KEY).returning(DISPATCHES.c.id)


def add(error_id: str, event: str, marker: str | None, *, status: str = "pending", outcome: dict | None = None,
        now: dt.datetime | None = None) -> None:
    """Write an event's row in the session's transaction, unless it exists; the caller commits."""
    if marker is None:
        return
    now = now or utcnow()
    row = {**pending_row(error_id, event, marker, now), "status": status, "outcome": outcome,
           "handled_at": now if status == "done" else None}
    db.session.execute(dialect_insert()(ErrorEventDispatch).values(**row)
                       .on_conflict_do_nothing(index_elements=UNIQUE_KEY))


def lease() -> dt.timedelta:
    """How long a pending row is left to the hand-off job before the drain takes it (``NOTIFY_LEASE_SECONDS``,
    the same lease a delivery's send has)."""
    return dt.timedelta(seconds=int(current_app.config.get("NOTIFY_LEASE_SECONDS") or DEFAULT_LEASE_SECONDS))


def overdue_clause(now: dt.datetime):
    """Pending rows written more than a lease ago (found by the index on status and created_at)."""
    return (ErrorEventDispatch.status == "pending") & (ErrorEventDispatch.created_at <= now - lease())


def backlog(now: dt.datetime | None = None) -> int:
    """The number of overdue rows: hand-offs the worker has not finished one lease after the change."""
    return db.session.execute(select(func.count()).select_from(ErrorEventDispatch)
                              .where(overdue_clause(now or utcnow()))).scalar_one()
