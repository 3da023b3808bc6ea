"""Escalation of unresolved errors to leads, managers and admins.

By hand (the API's and the dashboard's escalate action) and automatically
(``escalate_unresolved``, the scheduled job): a critical error open for more than an hour goes
to the service's lead (else a manager) at level 1, then to the admins at level 2 when it is still
open the same time later; a high error likewise after four hours (both times are settings). Levels
count within the error's current open stretch (``open_since``): a regression or a rise in severity
starts the waits again at level 1. An error is never escalated twice at the same level in one
stretch, nor while someone's acknowledgement holds (app/triage/acknowledge.py), nor to the person it
escalates from; every escalation is an error_escalations row and is notified after commit
(app/notify/planning.py picks the channels).
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import OPEN_STATUSES, SEVERITY_LEVEL, Developer, ErrorEscalation, ErrorLog, Service
from app.models.types import utcnow
from app.platform import outbox
from app.platform.audit import record_audit
from app.triage import acknowledge, kinds, permissions
from app.triage.snoozed import is_snoozed, snoozed_clause
from app.triage.changes import TriageError, hand_off, queue_event

log = logging.getLogger("heartwatch.escalation")
AUTOMATIC_LEVELS = (1, 2)
SWEEP_LIMIT = 500


def escalation_target(error: ErrorLog, level: int, *, escalated_from: int | None = None) -> Developer | None:
    """Level 1 goes to the service's lead (else a manager); level 2 and above to an admin. Never to the
    person the escalation comes from (``escalated_from``, the assignee): the step moves on to the next
    target (a lead assigned to their own service's error goes to a manager or an admin)."""
    if level <= 1:
        service = db.session.get(Service, error.service_id)
        if service is not None and service.lead is not None and service.lead.active \
                and service.lead.id != escalated_from:
            return service.lead
        roles = ("manager", "admin")
    else:
        roles = ("admin",)
    stmt = select(Developer).where(Developer.role.in_(roles), Developer.active.is_(True))
    if escalated_from is not None:
        stmt = stmt.where(Developer.id != escalated_from)
    return db.session.execute(stmt.order_by(Developer.role.desc(), Developer.id).limit(1)).scalar_one_or_none()


def escalate_error(error: ErrorLog, actor: Developer | None, reason: str, *, to: Developer | None = None,
                   automatic: bool = False, level: int | None = None) -> ErrorEscalation:
    """Escalate an error one level up (or to ``to``, which only leads, managers and admins
    choose), record it and notify after commit."""
    reason = (reason or "").strip()
    if not reason:
        raise TriageError("an escalation needs a reason", "reason")
    if actor is not None and not permissions.can_escalate(actor, error):
        raise TriageError("only the assignee, leads, managers and admins escalate this error", status=403)
    if actor is not None and not permissions.can_escalate_to(actor, error, to):
        raise TriageError("only leads, managers and admins choose whom an escalation goes to; leave 'to' out "
                          "to escalate to the next level", "to", status=403)
    if not kinds.is_routable(error):
        raise TriageError(f"a {error.kind} report is not escalated", "kind", status=409)
    if not error.is_open:
        raise TriageError("only open errors can be escalated", "status", status=409)
    if is_snoozed(error):
        raise TriageError("the error is snoozed: unsnooze it to escalate it", "status", status=409)
    stretch = open_since(error)
    if level is None:
        current = db.session.execute(
            select(func.max(ErrorEscalation.level)).where(ErrorEscalation.error_id == error.id,
                                                         ErrorEscalation.open_since == stretch)
        ).scalar_one()
        level = (current or 0) + 1
    target = to or escalation_target(error, level, escalated_from=error.assigned_to_id)
    if target is not None and not target.active:
        raise TriageError("that developer's account is inactive", "to")
    if target is not None and target.id == error.assigned_to_id:
        raise TriageError("an escalation goes past the person it escalates from: they are the assignee", "to")
    escalation = ErrorEscalation(error_id=error.id, escalated_from_id=error.assigned_to_id,
                                 escalated_to_id=target.id if target else None, level=level, reason=reason[:4000],
                                 automatic=automatic, open_since=stretch, created_by_id=actor.id if actor else None)
    db.session.add(escalation)
    db.session.flush()
    record_audit(actor, "error.escalated", "error", error.id, error_id=error.id,
                 details={"level": level, "to": target.id if target else None, "reason": reason[:500],
                          "automatic": automatic})
    queue_event(error, "error.escalated", outbox.escalated_marker(escalation.id))
    db.session.commit()
    hand_off(error, "error.escalated")
    return escalation


def open_since(error: ErrorLog) -> dt.datetime:
    """Since when the error has been open at its current severity: first seen, or the later of
    its last regression and its last rise in severity (``ErrorLog.open_since``)."""
    return error.open_since


def _lock_for_escalation(error_id: str) -> ErrorLog | None:
    """The error row locked for this transaction, or None when another worker holds it."""
    if db.engine.dialect.name == "postgresql":
        return db.session.execute(select(ErrorLog).where(ErrorLog.id == error_id)
                                  .with_for_update(skip_locked=True)
                                  .execution_options(populate_existing=True)).scalar_one_or_none()
    from app.triage.routing import lock_error

    return lock_error(error_id)


def _level_exists(error: ErrorLog, level: int, created_before: dt.datetime | None = None) -> bool:
    """Whether the error's current open stretch has reached ``level`` (by ``created_before``)."""
    stmt = select(ErrorEscalation.id).where(ErrorEscalation.error_id == error.id, ErrorEscalation.level == level,
                                            ErrorEscalation.open_since == open_since(error))
    if created_before is not None:
        stmt = stmt.where(ErrorEscalation.created_at <= created_before)
    return db.session.execute(stmt.limit(1)).first() is not None


def _escalate_once(error_id: str, level: int, severity: str, after: dt.timedelta, now: dt.datetime) -> ErrorEscalation | None:
    cutoff = now - after
    error = _lock_for_escalation(error_id)
    if error is None or not error.is_open or not kinds.is_routable(error) or error.severity != severity \
            or is_snoozed(error) or _level_exists(error, level):
        db.session.rollback()
        return None
    if level == 1 and open_since(error) > cutoff:
        db.session.rollback()
        return None
    if level > 1 and not _level_exists(error, level - 1, created_before=cutoff):
        db.session.rollback()
        return None
    if acknowledge.holds(error, now):
        db.session.rollback()
        return None
    acknowledge.note_lapse(error, now)
    hours = after.total_seconds() / 3600
    span = f"{hours:g} h" if hours >= 1 else f"{after.total_seconds() / 60:g} min"
    reason = (f"{severity} error unresolved for more than {span}" if level == 1
              else f"{severity} error still unresolved {span} after the level {level - 1} escalation")
    try:
        return escalate_error(error, None, reason, automatic=True, level=level)
    except (IntegrityError, TriageError):
        db.session.rollback()  # another worker escalated it at this level first
        return None


def _escalated_at(level: int, before: dt.datetime | None = None):
    """SQL: the error has an escalation at ``level`` (made by ``before``) since its current open stretch
    began; a superset test (rows are checked one by one under their lock)."""
    clause = exists().where(ErrorEscalation.error_id == ErrorLog.id, ErrorEscalation.level == level,
                            ErrorEscalation.open_since >= ErrorLog.first_seen,
                            ErrorEscalation.open_since >= func.coalesce(ErrorLog.regressed_at, ErrorLog.first_seen),
                            ErrorEscalation.open_since >= func.coalesce(ErrorLog.severity_raised_at,
                                                                         ErrorLog.first_seen))
    return clause.where(ErrorEscalation.created_at <= before) if before is not None else clause


def escalate_unresolved(now: dt.datetime | None = None) -> list[int]:
    """The scheduled escalation: every open critical or high error past its time, one level at a
    time; safe with several workers (row locks with SKIP LOCKED, a unique level per error)."""
    from app.platform import settings

    now = now or utcnow()
    values = settings.current()
    rules = (("critical", values["escalate_critical_after_minutes"]), ("high", values["escalate_high_after_minutes"]))
    created: list[int] = []
    for severity, minutes in rules:
        after = dt.timedelta(minutes=int(minutes))
        cutoff = now - after
        # An acknowledged error waits while its acknowledgement holds (app/triage/acknowledge.py).
        base = select(ErrorLog.id).where(ErrorLog.severity_level == SEVERITY_LEVEL[severity],
                                         ErrorLog.status.in_(OPEN_STATUSES), kinds.routable_clause(),
                                         ~snoozed_clause(), ~acknowledge.held_clause(now))
        # Level 1: open long enough (first seen is a superset: regressions are checked row by row).
        # Level 2: level 1 is that old. Neither when the stretch has reached the level already.
        due = {
            1: base.where(ErrorLog.first_seen <= cutoff, ~_escalated_at(1)),
            2: base.where(_escalated_at(1, cutoff), ~_escalated_at(2)),
        }
        for level in AUTOMATIC_LEVELS:
            error_ids = list(db.session.execute(due[level].order_by(ErrorLog.first_seen).limit(SWEEP_LIMIT)).scalars())
            db.session.commit()
            for error_id in error_ids:
                escalation = _escalate_once(error_id, level, severity, after, now)
                if escalation is not None:
                    created.append(escalation.id)
                    log.info("error %s escalated automatically to level %d", error_id, level)
    return created
