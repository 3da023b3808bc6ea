"""Escalation of unresolved errors along their escalation chains (app/triage/chains.py, chain_plans.py).

By hand (the API's and the dashboard's escalate action: one level up, to the service's lead and then
an admin) and automatically (``escalate_unresolved``, the scheduled job), which walks each candidate
error's chain (its service's, else the default of its severity): every notifying step of the chain
is a level, and the step an error is at follows from the highest level its current open stretch
(``open_since``) has reached, and when; a step fires once the waits before it have passed since the
step before it fired (or since the stretch began). A regression or a rise in severity starts a new
stretch, at level 1. A level never fires twice in one stretch (a unique row per level, under the
error's row lock), nor while someone's acknowledgement holds (app/triage/acknowledge.py); a step
that would only reach the person it escalates from (the assignee) is passed over for the next one.
Every escalation is an error_escalations row, audited, and notified after commit
(app/notify/planning.py reads the channels and recipients the step chose).

Which errors are candidates at all is ``escalation_candidates``, the one place that says so.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import OPEN_STATUSES, SEVERITY_LEVEL, Developer, ErrorEscalation, ErrorLog, OnCallSchedule, Service
from app.models.types import utcnow
from app.platform import outbox
from app.platform.audit import record_audit
from app.triage import acknowledge, chain_plans, chains, kinds, permissions, schedules
from app.triage.snoozed import is_snoozed, snoozed_clause
from app.triage.changes import TriageError, hand_off, queue_event

log = logging.getLogger("heartwatch.escalation")


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
                   automatic: bool = False, level: int | None = None, fired: dict | None = None) -> ErrorEscalation:
    """Escalate an error one level up (or to ``to``, which only leads, managers and admins
    choose), record it and notify after commit. ``fired``: the chain step the sweep fires (its
    ``chain_id``, ``step_index``, ``repeat_round`` and ``plan``); its target is ``to``, or nobody."""
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
    target = to if fired is not None else to or escalation_target(error, level, escalated_from=error.assigned_to_id)
    if target is not None and not target.active:
        raise TriageError("that developer's account is inactive", "to")
    if target is not None and target.id == error.assigned_to_id:
        raise TriageError("an escalation goes past the person it escalates from: they are the assignee", "to")
    escalation = ErrorEscalation(error_id=error.id, escalated_from_id=error.assigned_to_id,
                                 escalated_to_id=target.id if target else None, level=level, reason=reason[:4000],
                                 automatic=automatic, open_since=stretch, created_by_id=actor.id if actor else None,
                                 **(fired or {}))
    db.session.add(escalation)
    db.session.flush()
    record_audit(actor, "error.escalated", "error", error.id, error_id=error.id,
                 details={"level": level, "to": target.id if target else None, "reason": reason[:500],
                          "automatic": automatic, **({"chain_id": fired["chain_id"], "step": fired["step_index"] + 1,
                                                      "round": fired["repeat_round"]} if fired else {})})
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


def escalation_candidates(now: dt.datetime):
    """SQL: the ids of the errors the sweep may escalate at ``now``: open, routable, of a severity some
    chain escalates, not snoozed, and not held by an acknowledgement (by its time; one settled by progress is found
    row by row). The sweep lists them with it and checks each again with it under the row's lock."""
    levels = [SEVERITY_LEVEL[s] for s in chain_plans.escalating_severities()]
    return select(ErrorLog.id).where(ErrorLog.status.in_(OPEN_STATUSES), ErrorLog.severity_level.in_(levels),
                                     kinds.routable_clause(), ~snoozed_clause(), ~acknowledge.held_clause(now))


def _reached(error: ErrorLog) -> tuple[int, dt.datetime]:
    """The highest level the error's open stretch has reached (0: none) and when it last did."""
    stretch = open_since(error)
    row = db.session.execute(
        select(ErrorEscalation.level, ErrorEscalation.created_at).where(ErrorEscalation.error_id == error.id,
                                                                        ErrorEscalation.open_since == stretch)
        .order_by(ErrorEscalation.level.desc(), ErrorEscalation.created_at.desc()).limit(1)).first()
    return (row.level, row.created_at) if row is not None else (0, stretch)


def _active(stmt) -> list[Developer]:
    return list(db.session.execute(stmt.where(Developer.active.is_(True)).order_by(Developer.id)).scalars())


def step_targets(error: ErrorLog, step: dict, now: dt.datetime) -> list[Developer] | None:
    """Whom a notifying step reaches now (the assignee, whom it escalates from, left out); None when it
    reaches nobody but them, or its target is gone: the walk passes it over. The service's lead falls
    back to a manager or an admin, as the fixed rule did; everyone with a role may be nobody (the
    escalation is then recorded to nobody, as the fixed rule's level 2 was without admins)."""
    source = error.assigned_to_id
    kind = step["kind"]
    if kind in ("slack", "webhook"):
        if kind == "webhook" and step.get("webhook_id") is None:
            return None
        return []
    if kind == "lead":
        target = escalation_target(error, 1, escalated_from=source)
        return [target] if target is not None else []
    if kind == "role":
        people = _active(select(Developer).where(Developer.role == step.get("role")))
        chosen = [p for p in people if p.id != source]
        return chosen if chosen or not people else None
    if kind == "person":
        people = _active(select(Developer).where(Developer.id == step.get("developer_id"))) \
            if step.get("developer_id") else []
    else:
        schedule = db.session.get(OnCallSchedule, step["schedule_id"]) if step.get("schedule_id") else None
        ids = schedules.slot_at(schedule, now).people if schedule is not None else ()
        people = _active(select(Developer).where(Developer.id.in_(list(ids)))) if ids else []
    chosen = [p for p in people if p.id != source]
    return chosen or None


def next_step(error: ErrorLog, plan: chain_plans.Plan, now: dt.datetime, values: dict | None = None):
    """The chain step due for the error at ``now`` with its targets, or None (not yet, or the chain is done)."""
    reached, since = _reached(error)
    for entry in chain_plans.walk(plan, values):
        if entry.level <= reached:
            continue
        due = since + dt.timedelta(minutes=entry.wait_before)
        if due > now:
            return None
        targets = step_targets(error, entry.step, now)
        if targets is not None:
            return entry, targets, reached
        since = due  # passed over: the next step's wait counts from when this one was due
    return None


def _span(minutes: int) -> str:
    return f"{minutes / 60:g} h" if minutes >= 60 else f"{minutes:g} min"


def _reason(error: ErrorLog, plan: chain_plans.Plan, entry: chain_plans.Entry, reached: int) -> str:
    minutes = entry.wait_before
    if reached == 0:
        text = f"{error.severity} error unresolved for more than {_span(minutes)}" if minutes \
            else f"{error.severity} error unresolved"
    elif minutes:
        text = f"{error.severity} error still unresolved {_span(minutes)} after the level {reached} escalation"
    else:
        text = f"{error.severity} error still unresolved after the level {reached} escalation"
    where = f"; {plan.name}, step {entry.index + 1}"
    if entry.round:
        where += f", repeat {entry.round} of {plan.repeat_times}"
    return text + where


def advance_error(error_id: str, now: dt.datetime, values: dict | None = None) -> list[ErrorEscalation]:
    """Fire every step of the error's chain that is due at ``now``, one transaction each, under the
    error's row lock (a second worker skips the row on PostgreSQL, waits on SQLite and then finds the
    level taken)."""
    fired: list[ErrorEscalation] = []
    for _ in range(chains.MAX_STEPS * (chains.MAX_REPEATS + 1)):
        error = _lock_for_escalation(error_id)
        if error is None or db.session.execute(escalation_candidates(now).where(ErrorLog.id == error_id)).first() \
                is None or acknowledge.holds(error, now):
            db.session.rollback()
            break
        plan = chain_plans.chain_for(error.service_id, error.severity)
        due = next_step(error, plan, now, values) if plan is not None else None
        if due is None:
            db.session.rollback()
            break
        entry, targets, reached = due
        acknowledge.note_lapse(error, now)
        step = dict(entry.step, recipients=[t.id for t in targets])
        try:
            fired.append(escalate_error(error, None, _reason(error, plan, entry, reached), automatic=True,
                                        level=entry.level, to=targets[0] if targets else None,
                                        fired={"chain_id": plan.id, "step_index": entry.index,
                                               "repeat_round": entry.round, "plan": step, "created_at": now}))
        except (IntegrityError, TriageError):
            db.session.rollback()  # another worker fired this level first
            break
    return fired


def escalate_unresolved(now: dt.datetime | None = None) -> list[int]:
    """The scheduled escalation: every candidate error advanced along its chain; safe with several
    workers (row locks with SKIP LOCKED, a unique level per error and open stretch)."""
    from app.platform import settings

    now = now or utcnow()
    values = settings.current()
    created: list[int] = []
    error_ids = list(db.session.execute(escalation_candidates(now).order_by(ErrorLog.first_seen)).scalars())
    db.session.commit()
    for error_id in error_ids:
        for escalation in advance_error(error_id, now, values):
            created.append(escalation.id)
            log.info("error %s escalated automatically to level %d", error_id, escalation.level)
    return created
