"""Escalation of unresolved errors to leads, managers and admins."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Developer, ErrorEscalation, ErrorLog, Service
from app.services.audit import record_audit
from app.services.triage import TriageError, hand_off


def escalation_target(error: ErrorLog, level: int) -> Developer | None:
    """Level 1 goes to the service's lead (else a manager); level 2 and above to an admin."""
    if level <= 1:
        service = db.session.get(Service, error.service_id)
        if service is not None and service.lead is not None and service.lead.active:
            return service.lead
        roles = ("manager", "admin")
    else:
        roles = ("admin",)
    return db.session.execute(
        select(Developer).where(Developer.role.in_(roles), Developer.active.is_(True))
        .order_by(Developer.role.desc(), Developer.id).limit(1)
    ).scalar_one_or_none()


def escalate_error(error: ErrorLog, actor: Developer | None, reason: str, *, to: Developer | None = None,
                   automatic: bool = False, level: int | None = None) -> ErrorEscalation:
    """Escalate an error one level up (or to ``to``), record it and notify after commit."""
    reason = (reason or "").strip()
    if not reason:
        raise TriageError("an escalation needs a reason", "reason")
    if actor is not None and not actor.is_supervisor and error.assigned_to_id not in (None, actor.id):
        raise TriageError("only the assignee, leads, managers and admins escalate this error", status=403)
    if not error.is_open:
        raise TriageError("only open errors can be escalated", "status", status=409)
    if level is None:
        current = db.session.execute(
            select(func.max(ErrorEscalation.level)).where(ErrorEscalation.error_id == error.id)
        ).scalar_one()
        level = (current or 0) + 1
    target = to or escalation_target(error, level)
    if target is not None and not target.active:
        raise TriageError("that developer's account is inactive", "to")
    escalation = ErrorEscalation(error_id=error.id, escalated_from_id=error.assigned_to_id,
                                 escalated_to_id=target.id if target else None, level=level, reason=reason[:4000],
                                 automatic=automatic, created_by_id=actor.id if actor else None)
    db.session.add(escalation)
    db.session.flush()
    record_audit(actor, "error.escalated", "error", error.id, error_id=error.id,
                 details={"level": level, "to": target.id if target else None, "reason": reason[:500],
                          "automatic": automatic})
    db.session.commit()
    hand_off(error, "error.escalated")
    return escalation
