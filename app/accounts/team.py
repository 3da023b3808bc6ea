"""Changes to developers made by someone else: leads edit the developers of their services,
admins manage user accounts (role, active, password).

Each change checks the actor's role here (``app/triage/permissions.py``), writes an audit row
and commits; a refused change raises ``TeamError`` with the HTTP status to answer and changes nothing.
"""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import ROLES, Developer, Service
from app.accounts import developers as accounts
from app.accounts import passwords, sessions
from app.triage import permissions
from app.platform.audit import record_audit
from app.accounts.preferences import PreferenceError, normalise_phone, normalise_slack_member
from app.platform.refusal import Refused, column_text

MAX_LOAD_LIMIT = 1000


class TeamError(Refused):
    """A change to a developer that is not allowed (403) or not valid (400, 409)."""


def _parse_max_load(value) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise TeamError("max load must be a whole number", "max_load") from None
    if not 0 <= number <= MAX_LOAD_LIMIT:
        raise TeamError(f"max load must be between 0 and {MAX_LOAD_LIMIT}", "max_load")
    return number


def update_developer(developer: Developer, actor: Developer, *, name: str | None = None,
                     phone: str | None = None, slack_member_id: str | None = None, max_load=None,
                     service_ids: list[int] | None = None) -> Developer:
    """A lead's (or admin's) edit of a developer: name, contact details, max load, services.

    A lead may only add or remove services they know or lead; the developer keeps the others.
    """
    if not permissions.can_edit_developer(actor, developer):
        raise TeamError("only admins and the leads of this developer's services edit them", status=403)
    changes: dict = {}
    if name is not None:
        changes["name"] = column_text(name, Developer.name, "name", refusal=TeamError, required="a name is required")
    if phone is not None:
        try:
            changes["phone"] = normalise_phone(phone)
        except PreferenceError as exc:
            raise TeamError(exc.message, exc.field) from None
    if slack_member_id is not None:
        try:
            changes["slack_member_id"] = normalise_slack_member(slack_member_id)
        except PreferenceError as exc:
            raise TeamError(exc.message, exc.field) from None
    if max_load is not None:
        changes["max_load"] = _parse_max_load(max_load)
    if service_ids is not None:
        wanted = set(service_ids)
        known = {s.id: s for s in db.session.execute(select(Service).where(Service.id.in_(wanted))).scalars()}
        if wanted - set(known):
            raise TeamError("unknown service", "services")
        editable = permissions.editable_service_ids(actor)
        current = {s.id: s for s in developer.services}
        if editable is not None and (wanted ^ set(current)) - editable:
            raise TeamError("leads change only the services they know or lead", "services", status=403)
        developer.services = [*(s for sid, s in current.items() if sid in wanted), *(
            known[sid] for sid in wanted if sid not in current)]
        changes["services"] = sorted(wanted)
    for key, value in changes.items():
        if key != "services":
            setattr(developer, key, value)
    record_audit(actor, "developer.updated", "developer", developer.id, details=changes)
    db.session.commit()
    return developer


def create_user(actor: Developer, *, name: str, email: str, role: str, password: str,
                service_ids: list[int] | None = None) -> Developer:
    """A new dashboard account (admins only)."""
    if not permissions.is_admin(actor):
        raise TeamError("only admins create users", status=403)
    services = []
    if service_ids:
        services = list(db.session.execute(select(Service).where(Service.id.in_(service_ids))).scalars())
    try:
        passwords.check_new_password(password)
        return accounts.create_developer(name, email, role=role, password=password, services=services, actor=actor)
    except accounts.AccountError as exc:
        raise TeamError(exc.message, exc.field) from None


def set_role(developer: Developer, role: str, actor: Developer) -> Developer:
    """Change a user's role (admins only; the last active admin keeps theirs)."""
    if not permissions.is_admin(actor):
        raise TeamError("only admins change roles", status=403)
    if role not in ROLES:
        raise TeamError(f"role must be one of {', '.join(ROLES)}", "role")
    if developer.role == "admin" and role != "admin" and _last_admin(developer):
        raise TeamError("Heartwatch needs at least one active admin", "role", status=409)
    if developer.role != role:
        record_audit(actor, "developer.role_changed", "developer", developer.id,
                     details={"from": developer.role, "to": role})
        developer.role = role
    db.session.commit()
    return developer


def set_active(developer: Developer, active: bool, actor: Developer) -> Developer:
    """Enable or disable an account; a disabled account cannot sign in or be assigned, and its
    sessions end (enabling it again does not bring them back)."""
    if not permissions.is_admin(actor):
        raise TeamError("only admins enable or disable users", status=403)
    if not active and developer.id == actor.id:
        raise TeamError("you cannot disable your own account", "active", status=409)
    if not active and developer.role == "admin" and _last_admin(developer):
        raise TeamError("Heartwatch needs at least one active admin", "active", status=409)
    if developer.active != active:
        developer.active = active
        if not active:
            sessions.end_sessions(developer, actor, "disabled")
        record_audit(actor, "developer.enabled" if active else "developer.disabled", "developer", developer.id)
    db.session.commit()
    return developer


def end_sessions_of(developer: Developer, actor: Developer) -> Developer:
    """Sign a user out everywhere, their account left as it is (admins only): a lost laptop, a
    shared browser."""
    if not permissions.is_admin(actor):
        raise TeamError("only admins end other users' sessions", status=403)
    sessions.end_sessions(developer, actor, "ended by an admin")
    db.session.commit()
    return developer


def _last_admin(developer: Developer) -> bool:
    others = db.session.execute(
        select(Developer.id).where(Developer.role == "admin", Developer.active.is_(True), Developer.id != developer.id)
        .limit(1)
    ).first()
    return others is None
