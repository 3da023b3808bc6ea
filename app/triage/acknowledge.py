"""Acknowledging an error: "I have it" from the person on call, from any channel.

An acknowledgement is a state of the error's current open stretch (an ``error_acknowledgements`` row:
when, by whom, by which channel), not a status: the error stays open and routed as before. While it
holds, the automatic escalation (app/triage/escalation.py) fires no further level. It holds
``ack_timeout_minutes`` (a runtime setting); progress within that time (an assignment, a status change,
the resolution: audit rows of the error) makes it hold for the rest of the stretch. Without progress it
lapses and the chain goes on at its next sweep: every level whose wait has passed meanwhile is due at
once. A regression or a rise in severity starts a new stretch, which an older acknowledgement does not
cover.

The dashboard, the JSON API, the one-click e-mail links, the Slack buttons and command and the SMS
replies all call ``acknowledge_error``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import exists, func, select

from app.extensions import db
from app.models import AuditEvent, Developer, ErrorAcknowledgement, ErrorLog
from app.models.types import utcnow
from app.platform.audit import record_audit
from app.platform.sql import dialect_insert
from app.triage import kinds, permissions
from app.triage.changes import TriageError

# What counts as someone working on an acknowledged error (audit actions of app/triage/changes.py).
PROGRESS_ACTIONS = ("error.assigned", "error.status_changed", "error.resolved")
CHANNELS = ("dashboard", "api", "email", "slack", "sms")


def _timeout() -> dt.timedelta:
    from app.platform import settings

    return dt.timedelta(minutes=int(settings.get("ack_timeout_minutes")))


def acknowledge_error(error: ErrorLog, actor: Developer | None, *, via: str = "dashboard") -> ErrorLog:
    """Acknowledge an open error for its current stretch; the escalation chain waits. Acknowledging
    again renews the acknowledgement (and who holds it). Audited with the channel it came by."""
    if actor is not None and not permissions.can_acknowledge(actor, error):
        raise TriageError("only the assignee, whoever an escalation went to, leads, managers and admins "
                          "acknowledge this error", status=403)
    if not kinds.is_routable(error):
        raise TriageError(f"a {error.kind} report is not escalated", "kind", status=409)
    if not error.is_open:
        raise TriageError(f"the error is {error.status}: only open errors are acknowledged", "status", status=409)
    via = via if via in CHANNELS else "dashboard"
    current = acknowledgement(error)
    renewed = current is not None and current.holds
    # A settled acknowledgement keeps its moment: renewing it must not make it lapse again.
    at = current.at if current is not None and current.settled else utcnow()
    values = {"developer_id": actor.id if actor else None, "acknowledged_at": at, "via": via}
    # An upsert: of two acknowledgements at once, the later one is kept, and neither fails.
    db.session.execute(dialect_insert()(ErrorAcknowledgement).values(error_id=error.id, **values)
                       .on_conflict_do_update(index_elements=["error_id"], set_=values))
    record_audit(actor, "error.acknowledged", "error", error.id, error_id=error.id,
                 details={"via": via, "renewed": renewed})
    db.session.commit()
    return error


def _progress_after(error_id: str, since: dt.datetime, until: dt.datetime) -> bool:
    return db.session.execute(
        select(AuditEvent.id).where(AuditEvent.error_id == error_id, AuditEvent.action.in_(PROGRESS_ACTIONS),
                                    AuditEvent.created_at > since, AuditEvent.created_at <= until).limit(1)
    ).first() is not None


@dataclass
class Acknowledgement:
    """An error's acknowledgement as every page and answer shows it."""

    by: Developer | None
    via: str
    at: dt.datetime
    holds: bool
    settled: bool  # progress followed in time: it holds for the rest of the stretch
    until: dt.datetime


def acknowledgement(error: ErrorLog, now: dt.datetime | None = None) -> Acknowledgement | None:
    """The acknowledgement of the error's current open stretch, or None (never, or an older stretch's)."""
    row = db.session.execute(select(ErrorAcknowledgement).where(ErrorAcknowledgement.error_id == error.id)
                             .execution_options(populate_existing=True)).scalar_one_or_none()
    if row is None or not error.is_open or row.acknowledged_at < error.open_since:
        return None
    at, now = row.acknowledged_at, now or utcnow()
    until = at + _timeout()
    settled = _progress_after(error.id, at, min(now, until))
    return Acknowledgement(by=row.developer, via=row.via, at=at, holds=settled or now < until, settled=settled,
                           until=until)


def holds(error: ErrorLog, now: dt.datetime | None = None) -> bool:
    """Whether an acknowledgement keeps the error's escalation chain waiting now."""
    ack = acknowledgement(error, now)
    return ack is not None and ack.holds


def held_clause(now: dt.datetime):
    """SQL: the error's acknowledgement holds at ``now`` by its time alone (the sweep's filter, which may
    only leave out rows that ``holds``; an acknowledgement settled by progress is found row by row)."""
    at = ErrorAcknowledgement.acknowledged_at
    return exists().where(ErrorAcknowledgement.error_id == ErrorLog.id, at > now - _timeout(),
                          at >= ErrorLog.first_seen, at >= func.coalesce(ErrorLog.regressed_at, ErrorLog.first_seen),
                          at >= func.coalesce(ErrorLog.severity_raised_at, ErrorLog.first_seen))


def note_lapse(error: ErrorLog, now: dt.datetime) -> None:
    """Before the sweep escalates an error whose acknowledgement lapsed: say so in its timeline (in the
    escalation's transaction) and let the acknowledgement go."""
    row = db.session.get(ErrorAcknowledgement, error.id)
    if row is None or holds(error, now):
        return
    if row.acknowledged_at >= error.open_since:
        record_audit(None, "error.acknowledgement_lapsed", "error", error.id, error_id=error.id,
                     details={"acknowledged_at": row.acknowledged_at.isoformat(), "by": row.developer_id,
                              "minutes": int(_timeout().total_seconds() // 60)})
    db.session.delete(row)
