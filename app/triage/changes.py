"""Changes of state of an error: assign, change status or severity, resolve.

Each is one function that the JSON API, the dashboard forms and the jobs all call; each writes
an audit row in the same transaction and hands follow-up work (notifications) off after commit.
"""
from __future__ import annotations

from app.extensions import db
from app.models import SEVERITIES, SEVERITY_LEVEL, STATUSES, Developer, ErrorLog
from app.models.types import utcnow
from app.platform.audit import record_audit
from app.platform.refusal import Refused


class TriageError(Refused):
    """A change that is not allowed or not valid; ``status`` is the HTTP status to answer with."""


def may_work_on(actor: Developer, error: ErrorLog) -> bool:
    """Developers work on errors assigned to them or to nobody; leads, managers and admins on any."""
    return actor.is_supervisor or error.assigned_to_id in (None, actor.id)


def _require(actor: Developer | None, error: ErrorLog) -> None:
    if actor is not None and not may_work_on(actor, error):
        raise TriageError("this error is assigned to someone else; ask a lead to reassign it", status=403)


def assign_error(error: ErrorLog, developer: Developer | None, actor: Developer | None,
                 *, reason: str | None = None, commit: bool = True) -> ErrorLog:
    """Assign (or, with None, unassign) an error. A developer may take an unassigned error for
    themselves; assigning anyone else needs a lead, manager or admin."""
    if actor is not None and not actor.is_supervisor:
        if developer is None or developer.id != actor.id or error.assigned_to_id not in (None, actor.id):
            raise TriageError("only leads, managers and admins assign errors to others", status=403)
    if developer is not None and not developer.active:
        raise TriageError("that developer's account is inactive", "developer_id")
    previous = error.assigned_to_id
    error.assigned_to_id = developer.id if developer else None
    error.assigned_at = utcnow() if developer else None
    if developer is not None:
        developer.last_assigned_at = error.assigned_at
        if error.status == "new":
            error.status = "assigned"
    elif error.status == "assigned":
        error.status = "new"
    record_audit(actor, "error.assigned" if developer else "error.unassigned", "error", error.id,
                 error_id=error.id, details={"from": previous, "to": developer.id if developer else None,
                                             "reason": reason})
    if commit:
        db.session.commit()
        hand_off(error, "error.assigned" if developer else None)
    return error


def resolve_error(error: ErrorLog, actor: Developer | None, note: str | None = None) -> ErrorLog:
    """Mark an error resolved; a later occurrence reopens it as a regression."""
    _require(actor, error)
    if error.status == "resolved":
        raise TriageError("the error is resolved already", "status", status=409)
    now = utcnow()
    error.status, error.resolved, error.resolved_at = "resolved", True, now
    error.resolved_by_id = actor.id if actor else None
    error.resolution_note = (note or "").strip()[:4000] or None
    record_audit(actor, "error.resolved", "error", error.id, error_id=error.id,
                 details={"note": error.resolution_note})
    db.session.commit()
    hand_off(error, "error.resolved")
    return error


def set_status(error: ErrorLog, status: str, actor: Developer | None, note: str | None = None) -> ErrorLog:
    """Change the status; 'resolved' goes through ``resolve_error``, reopening clears the resolution."""
    if status not in STATUSES:
        raise TriageError(f"status must be one of {', '.join(STATUSES)}", "status")
    if status == "resolved":
        return resolve_error(error, actor, note)
    _require(actor, error)
    if status == error.status:
        return error
    previous = error.status
    error.status = status
    if previous == "resolved":
        error.resolved, error.resolved_at, error.resolved_by_id = False, None, None
    record_audit(actor, "error.status_changed", "error", error.id, error_id=error.id,
                 details={"from": previous, "to": status})
    db.session.commit()
    return error


def set_severity(error: ErrorLog, severity: str, actor: Developer | None) -> ErrorLog:
    if severity not in SEVERITIES:
        raise TriageError(f"severity must be one of {', '.join(SEVERITIES)}", "severity")
    _require(actor, error)
    if severity == error.severity:
        return error
    previous = error.severity
    rises = SEVERITY_LEVEL[severity] > error.severity_level
    error.severity, error.severity_level = severity, SEVERITY_LEVEL[severity]
    if rises:
        error.severity_raised_at = utcnow()
    record_audit(actor, "error.severity_changed", "error", error.id, error_id=error.id,
                 details={"from": previous, "to": severity})
    db.session.commit()
    if rises:
        hand_off(error, "error.severity_raised")
    return error


def hand_off(error: ErrorLog, event: str | None) -> None:
    """Announce a committed change of an error (live feed, notification job)."""
    if event is not None:
        from app.recording.record import announce

        announce(event, error.id, error.service_id, error.severity, error.status)
