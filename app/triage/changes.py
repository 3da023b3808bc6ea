"""Changes of state of an error: assign, change status or severity, resolve, or several at once.

Each is one function that the JSON API, the dashboard forms and the jobs all call; each writes
an audit row and the event's outbox row (``queue_event``) in the same transaction, and hands
follow-up work (notifications) off after commit.
"""
from __future__ import annotations

from sqlalchemy import update

from app.extensions import db
from app.models import OPEN_STATUSES, SEVERITIES, SEVERITY_LEVEL, STATUSES, Developer, ErrorEscalation, ErrorLog
from app.models.types import utcnow
from app.platform import outbox
from app.platform.audit import record_audit
from app.platform.refusal import Refused
from app.triage import kinds, permissions, snoozed


class TriageError(Refused):
    """A change that is not allowed or not valid; ``status`` is the HTTP status to answer with."""


def _require(actor: Developer | None, error: ErrorLog) -> None:
    if actor is not None and not permissions.can_work_on(actor, error):
        raise TriageError("this error is assigned to someone else; ask a lead to reassign it", status=403)


KEEP = object()
"""``update_error``'s ``assignee`` when the assignment is not to change (``None`` unassigns)."""


def _check_assignment(error: ErrorLog, developer: Developer | None, actor: Developer | None) -> None:
    if actor is not None and not permissions.can_assign(actor, error, developer):
        raise TriageError("only leads, managers and admins assign errors to others or unassign them", status=403)
    if developer is not None and not developer.active:
        raise TriageError("that developer's account is inactive", "developer_id")


def _assign(error: ErrorLog, developer: Developer | None, actor: Developer | None, reason: str | None) -> str:
    previous = error.assigned_to_id
    error.assigned_to_id = developer.id if developer else None
    error.assigned_at = utcnow() if developer else None
    if developer is not None:
        developer.last_assigned_at = error.assigned_at
        if error.status == "new":
            error.status = "assigned"
    elif error.status == "assigned":
        error.status = "new"
    action = "error.assigned" if developer else "error.unassigned"
    record_audit(actor, action, "error", error.id, error_id=error.id,
                 details={"from": previous, "to": developer.id if developer else None, "reason": reason})
    return action


def assign_error(error: ErrorLog, developer: Developer | None, actor: Developer | None,
                 *, reason: str | None = None, commit: bool = True) -> ErrorLog:
    """Assign (or, with None, unassign) an error. A developer may take an unassigned error for
    themselves; assigning anyone else needs a lead, manager or admin."""
    _check_assignment(error, developer, actor)
    _assign(error, developer, actor, reason)
    if commit:  # routing's own assignment (commit=False) is told with the event routed
        event = "error.assigned" if developer else None
        queue_event(error, event)
        db.session.commit()
        hand_off(error, event)
    return error


def update_error(error: ErrorLog, actor: Developer | None, *, assignee: Developer | None | object = KEEP,
                 severity: str | None = None, status: str | None = None, note: str | None = None,
                 reason: str | None = None, in_next_release: bool = False) -> ErrorLog:
    """Change an error's assignee, severity and status at once: all of it or nothing.

    Every rule is checked against the error as it stands before anything changes; then the changes
    are applied in that order with their audit rows, committed once, and handed off after the commit
    (a refused status must not leave a new severity or assignee behind). ``None`` leaves severity and
    status as they are; ``assignee`` is ``KEEP`` unless it changes. ``note`` goes with ``status="resolved"``,
    and so does ``in_next_release``: the error then stays resolved until an event comes from a release newer
    than the service's newest now (app/recording/releases.py). An error that is no longer open is no longer
    snoozed (app/triage/snoozed.py).
    """
    if severity is not None and severity not in SEVERITIES:
        raise TriageError(f"severity must be one of {', '.join(SEVERITIES)}", "severity")
    if status is not None and status not in STATUSES:
        raise TriageError(f"status must be one of {', '.join(STATUSES)}", "status")
    if assignee is not KEEP:
        _check_assignment(error, assignee, actor)
    if severity is not None or status is not None:
        _require(actor, error)
    if status == "resolved" and error.status == "resolved":
        raise TriageError("the error is resolved already", "status", status=409)
    release = None
    if in_next_release:
        from app.recording.releases import latest_release

        if status != "resolved":
            raise TriageError("in_next_release goes with resolving the error", "in_next_release")
        release = latest_release(error.service_id)
        if release is None:
            raise TriageError("no release of this service has been seen yet: resolve it without in_next_release",
                              "in_next_release", status=409)

    events: list[str] = []
    if assignee is not KEEP:
        if _assign(error, assignee, actor, reason) == "error.assigned":
            events.append("error.assigned")
    if severity is not None and severity != error.severity:
        previous = error.severity
        rises = SEVERITY_LEVEL[severity] > error.severity_level
        error.severity, error.severity_level = severity, SEVERITY_LEVEL[severity]
        if rises:
            error.severity_raised_at = utcnow()
            events.append("error.severity_raised")
        record_audit(actor, "error.severity_changed", "error", error.id, error_id=error.id,
                     details={"from": previous, "to": severity})
    if status == "resolved":
        error.status, error.resolved_at = "resolved", utcnow()
        error.resolved_by_id = actor.id if actor else None
        error.resolution_note = (note or "").strip()[:4000] or None
        error.resolved_in_release_id = release.id if release else None
        details = {"note": error.resolution_note}
        if release is not None:
            details["in_next_release"] = release.version
        record_audit(actor, "error.resolved", "error", error.id, error_id=error.id, details=details)
        _close_escalations(error, f"resolved: {error.resolution_note}" if error.resolution_note else "resolved")
        events.append("error.resolved")
    elif status is not None and status != error.status:
        previous = error.status
        error.status = status
        if status not in OPEN_STATUSES:
            _close_escalations(error, status)
        if previous == "resolved":
            error.resolved_at, error.resolved_by_id, error.resolved_in_release_id = None, None, None
        record_audit(actor, "error.status_changed", "error", error.id, error_id=error.id,
                     details={"from": previous, "to": status})
    if error.status not in OPEN_STATUSES:
        snoozed.clear(error)
    for event in events:
        queue_event(error, event)
    db.session.commit()
    for event in events:
        hand_off(error, event)
    return error


def _close_escalations(error: ErrorLog, note: str) -> None:
    """An error that is no longer open closes its open escalations, saying why."""
    db.session.execute(update(ErrorEscalation).where(ErrorEscalation.error_id == error.id,
                                                     ErrorEscalation.resolved_at.is_(None))
                       .values(resolved_at=utcnow(), note=note[:255]).execution_options(synchronize_session=False))


def resolve_error(error: ErrorLog, actor: Developer | None, note: str | None = None, *,
                  in_next_release: bool = False) -> ErrorLog:
    """Mark an error resolved; a later occurrence reopens it as a regression (with ``in_next_release``,
    only one from a release newer than the service's newest now)."""
    return update_error(error, actor, status="resolved", note=note, in_next_release=in_next_release)


def set_status(error: ErrorLog, status: str, actor: Developer | None, note: str | None = None) -> ErrorLog:
    """Change the status; 'resolved' resolves (with the note), reopening clears the resolution."""
    if status is None:
        raise TriageError(f"status must be one of {', '.join(STATUSES)}", "status")
    return update_error(error, actor, status=status, note=note)


def set_severity(error: ErrorLog, severity: str, actor: Developer | None) -> ErrorLog:
    """Change the severity; raising it notifies again."""
    if severity is None:
        raise TriageError(f"severity must be one of {', '.join(SEVERITIES)}", "severity")
    return update_error(error, actor, severity=severity)


def queue_event(error: ErrorLog, event: str | None, marker: str | None = None) -> None:
    """Before the commit of a change: the event's outbox row (app/platform/outbox.py), in the change's
    transaction, for an error that is told to anyone; ``marker`` when the error's row does not show it
    (an escalation's id)."""
    if event is not None and kinds.is_routable(error):
        outbox.add(error.id, event, marker or outbox.current_marker(error, event))


def hand_off(error: ErrorLog, event: str | None) -> None:
    """After the commit: announce a change of an error (live feed, notification job)."""
    if event is not None:
        from app.recording.record import announce

        announce(event, error.id, error.service_id, error.severity, error.status)
