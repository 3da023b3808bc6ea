"""Who may do what, by role: the one home of every rule of that kind.

- developer: reads everything, works on errors assigned to them or to nobody, escalates those (to
  the next level only), sets their own preferences, on-call status and shifts, manages their own
  API tokens, uploads source maps of the services they work on (or lead);
- lead and manager: besides, assign anyone, escalate any error to anyone, change anyone's on-call
  and shifts, edit the developers of their services, retry notifications;
- admin: everything, including settings, users, service keys and anyone's API tokens.

The services (app/triage/changes.py, escalation.py, oncall.py, app/accounts/*, app/notify) ask
these functions and raise their own refusals; the views ask them only to decide what to show.
An actor of None is Heartwatch itself (a job, the CLI): the services do not ask about it.

This module imports no service, so any of them may import it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from app.models import Developer, ErrorLog, ErrorNotification

if TYPE_CHECKING:
    from app.models import ApiToken, OnCallOverride

__all__ = [
    "can_acknowledge", "can_assign", "can_assign_others", "can_change_on_call", "can_direct_escalations", "can_edit_developer",
    "can_escalate", "can_escalate_to", "can_manage_escalation_chain", "can_manage_settings", "can_manage_token", "can_override_on_call",
    "can_plan_rotations", "can_remove_override", "can_retry_notifications",
    "can_see_receiver_answer", "can_upload_artifacts", "can_work_on", "editable_service_ids", "is_admin",
]


def is_admin(actor: Developer | None) -> bool:
    return actor is not None and actor.role == "admin"


def can_manage_settings(actor: Developer | None) -> bool:
    """Services and their keys, thresholds, intervals, webhooks and user accounts: admins only."""
    return is_admin(actor)


# --- errors ------------------------------------------------------------------------------------

def can_delete_errors(actor: Developer | None) -> bool:
    """Delete an error with all its events, notifications and history: admins only."""
    return is_admin(actor)


def can_work_on(actor: Developer, error: ErrorLog) -> bool:
    """Change status, severity or resolve (the rule ``changes.update_error`` enforces): developers on
    errors assigned to them or to nobody; leads, managers and admins on any."""
    return actor.is_supervisor or error.assigned_to_id in (None, actor.id)


def can_merge(actor: Developer, errors: list[ErrorLog]) -> bool:
    """Merge errors into one, or unmerge them (app/triage/merge.py): whoever may work on every one."""
    return all(can_work_on(actor, error) for error in errors)


def can_acknowledge(actor: Developer, error: ErrorLog) -> bool:
    """Acknowledge an error (``acknowledge.acknowledge_error``): whoever may work on it, and whoever one
    of its open escalations went to."""
    if can_work_on(actor, error):
        return True
    from sqlalchemy import select

    from app.extensions import db
    from app.models import ErrorEscalation

    return db.session.execute(select(ErrorEscalation.id).where(
        ErrorEscalation.error_id == error.id, ErrorEscalation.escalated_to_id == actor.id,
        ErrorEscalation.resolved_at.is_(None)).limit(1)).first() is not None


def can_assign_others(actor: Developer) -> bool:
    """Assign or unassign anyone: leads, managers and admins."""
    return actor.is_supervisor


def can_assign(actor: Developer, error: ErrorLog, developer: Developer | None) -> bool:
    """The rule ``changes.assign_error`` enforces: supervisors assign (and unassign) anyone; a
    developer takes an error that is unassigned or already theirs, for themselves."""
    return can_assign_others(actor) or (developer is not None and developer.id == actor.id
                                        and can_work_on(actor, error))


def can_escalate(actor: Developer, error: ErrorLog) -> bool:
    """Escalate to the next level: whoever may work on the error."""
    return can_work_on(actor, error)


def can_escalate_to(actor: Developer, error: ErrorLog, target: Developer | None) -> bool:
    """The rule ``escalation.escalate_error`` enforces: whoever may escalate sends it to the next
    level (``target`` None); only leads, managers and admins direct it at someone they choose."""
    if not can_escalate(actor, error):
        return False
    return target is None or can_direct_escalations(actor)


def can_direct_escalations(actor: Developer) -> bool:
    """Choose whom an escalation goes to: leads, managers and admins."""
    return actor.is_supervisor


def can_manage_escalation_chain(actor: Developer, service) -> bool:
    """Create, change or remove an escalation chain: admins any (the default chains, ``service`` None,
    only they); a lead or manager the chains of their services (``editable_service_ids``)."""
    if is_admin(actor):
        return True
    return service is not None and service.id in editable_service_ids(actor)


def can_retry_notifications(actor: Developer) -> bool:
    return actor.is_supervisor


def can_see_receiver_answer(actor: Developer | None, notification: ErrorNotification) -> bool:
    """Read what a receiver said to a delivery (the short excerpt kept with each attempt): whoever
    may see where it went. Webhook subscriptions, like every setting, are the admins'
    (``can_manage_settings``); a delivery to a developer is also theirs (their own Slack
    webhook is set on their preferences). Everyone else sees the outcome and the reason only."""
    if actor is None or can_manage_settings(actor):
        return True
    return notification.channel != "webhook" and notification.recipient_id == actor.id


# --- on call -----------------------------------------------------------------------------------

def can_change_on_call(actor: Developer, developer: Developer) -> bool:
    """Developers switch their own on-call status; leads, managers and admins anyone's."""
    return actor.is_supervisor or actor.id == developer.id


def can_plan_rotations(actor: Developer) -> bool:
    """Schedules and their rotation layers span several people: leads, managers and admins."""
    return actor.is_supervisor


def can_override_on_call(actor: Developer, developer: Developer, replaces: Developer | None) -> bool:
    """Put ``developer`` on call (instead of ``replaces``): supervisors always; a developer puts
    themselves on call, or hands their own on-call over to someone."""
    if actor.is_supervisor:
        return True
    if replaces is None:
        return actor.id == developer.id
    return actor.id == replaces.id


def can_remove_override(actor: Developer, override: OnCallOverride) -> bool:
    """Supervisors remove any override; a developer one that puts them on call or covers for them."""
    return actor.is_supervisor or actor.id in (override.developer_id, override.replaces_id)


# --- developers and tokens ---------------------------------------------------------------------

def editable_service_ids(actor: Developer) -> set[int] | None:
    """The services whose developers ``actor`` may edit: None means all (admins); a lead or manager
    the services they know or lead; a developer none."""
    if is_admin(actor):
        return None
    if not actor.is_supervisor:
        return set()
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Service

    theirs = {s.id for s in actor.services}
    theirs.update(db.session.execute(select(Service.id).where(Service.lead_id == actor.id)).scalars())
    return theirs


def can_edit_developer(actor: Developer, developer: Developer) -> bool:
    """Admins edit anyone; leads and managers the developers of the services they know or lead."""
    if is_admin(actor):
        return True
    if not actor.is_supervisor or developer.role == "admin":
        return False
    return bool(editable_service_ids(actor) & {s.id for s in developer.services})


def can_upload_artifacts(actor: Developer, service) -> bool:
    """Upload a service's source maps (a build's sentry-cli, with a personal token): admins, the
    service's lead and its developers."""
    return is_admin(actor) or service.lead_id == actor.id or any(s.id == service.id for s in actor.services)


def can_manage_token(actor: Developer, token: ApiToken) -> bool:
    """See and revoke a personal API token: its owner, or an admin."""
    return is_admin(actor) or token.developer_id == actor.id
