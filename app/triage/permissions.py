"""Who may do what in the dashboard, by role.

- developer: reads everything, works on errors assigned to them or to nobody, sets their own
  preferences and on-call status;
- lead and manager: besides, assign anyone, escalate, change anyone's on-call and shifts, edit the
  developers of their services, retry notifications;
- admin: everything, including settings, users and service keys.

The rules about errors live in ``app/triage/changes.py`` (``may_work_on``, ``assign_error``) and
``app/triage/escalation.py``; they are re-exported here so the dashboard asks one module.
"""
from __future__ import annotations

from app.models import Developer, ErrorLog
from app.accounts.developers import can_change_on_call
from app.triage.changes import may_work_on

__all__ = [
    "can_assign", "can_assign_others", "can_change_on_call", "can_edit_developer", "can_escalate", "can_manage_settings",
    "can_retry_notifications", "can_work_on", "is_admin",
]


def is_admin(actor: Developer | None) -> bool:
    return actor is not None and actor.role == "admin"


def can_manage_settings(actor: Developer | None) -> bool:
    """Services and their keys, thresholds, intervals, webhooks and user accounts: admins only."""
    return is_admin(actor)


def can_work_on(actor: Developer, error: ErrorLog) -> bool:
    """Change status, severity or resolve: see ``triage.may_work_on``."""
    return may_work_on(actor, error)


def can_assign_others(actor: Developer) -> bool:
    return actor.is_supervisor


def can_assign(actor: Developer, error: ErrorLog, developer: Developer | None) -> bool:
    """The rule ``triage.assign_error`` enforces: supervisors assign anyone; a developer takes an
    error that is unassigned or already theirs, for themselves."""
    return actor.is_supervisor or (developer is not None and developer.id == actor.id and may_work_on(actor, error))


def can_escalate(actor: Developer, error: ErrorLog) -> bool:
    """The rule ``escalation.escalate_error`` enforces: the assignee, or a lead, manager or admin."""
    return actor.is_supervisor or error.assigned_to_id in (None, actor.id)


def can_retry_notifications(actor: Developer) -> bool:
    return actor.is_supervisor


def can_edit_developer(actor: Developer, developer: Developer) -> bool:
    """Admins edit anyone; leads and managers the developers of the services they know or lead."""
    if is_admin(actor):
        return True
    if not actor.is_supervisor:
        return False
    if developer.role == "admin":
        return False
    theirs = {s.id for s in actor.services}
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Service

    theirs.update(db.session.execute(select(Service.id).where(Service.lead_id == actor.id)).scalars())
    return bool(theirs & {s.id for s in developer.services})
