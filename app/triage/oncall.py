"""On-call changes: schedules, their rotation layers and overrides, and the developers' on-call switch.

Who is on call at a moment is answered by app/triage/schedules.py; this module changes what it
reads. Every change checks its permission (app/triage/permissions.py), validates each field
(a refusal names it) and writes an audit row.

The on-call switch of a developer is membership of the "switch" layer of the default schedule: one
group, always on, that a lead (or the developer) edits by switching. It sits where its position puts
it among the default schedule's layers, like any other layer.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from app.extensions import db
from app.models import FREQUENCIES, Developer, OnCallLayer, OnCallOverride, OnCallSchedule, Service
from app.models.types import utcnow
from app.platform.audit import record_audit
from app.platform.refusal import Refused, column_text
from app.triage import permissions, schedules
from app.triage.schedules import is_on_call, on_call_ids  # noqa: F401  (the questions routing asks here)

MAX_OVERRIDE = dt.timedelta(days=31)
MAX_GROUPS = 100
MAX_EVERY = 365
SWITCH_LAYER_NAME = "On-call switch"


class OnCallError(Refused):
    """A schedule, layer or override that cannot be saved; ``status`` is the HTTP status to answer with."""


def _aware(value, name: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise OnCallError("a date and time is required", name)
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def window(starts_at, ends_at) -> tuple[dt.datetime, dt.datetime]:
    start, end = _aware(starts_at, "starts_at"), _aware(ends_at, "ends_at")
    if end <= start:
        raise OnCallError("the end must be after the start", "ends_at")
    if end - start > MAX_OVERRIDE:
        raise OnCallError("an override lasts 31 days at most; plan longer turns as a layer", "ends_at")
    return start, end


def _check_planner(actor: Developer | None) -> None:
    if actor is not None and not permissions.can_plan_rotations(actor):
        raise OnCallError("only leads, managers and admins change schedules and their layers", status=403)


# --- schedules ---------------------------------------------------------------------------------

def _services(service_ids) -> list[Service]:
    if not isinstance(service_ids, list) or not all(isinstance(i, int) and not isinstance(i, bool)
                                                     for i in service_ids):
        raise OnCallError("service_ids is a list of service ids", "service_ids")
    found = list(db.session.execute(select(Service).where(Service.id.in_(service_ids))).scalars()) if service_ids else []
    missing = set(service_ids) - {s.id for s in found}
    if missing:
        raise OnCallError(f"no service with id {min(missing)}", "service_ids")
    return found


def _apply_schedule(schedule: OnCallSchedule, changes: dict) -> None:
    if "name" in changes:
        name = column_text(changes["name"], OnCallSchedule.name, "name", refusal=OnCallError,
                           required="a schedule needs a name")
        clash = db.session.execute(select(OnCallSchedule.id).where(func.lower(OnCallSchedule.name) == name.lower(),
                                                                   OnCallSchedule.id != (schedule.id or 0))).first()
        if clash:
            raise OnCallError(f"a schedule named {name} exists already", "name", status=409)
        schedule.name = name
    if "description" in changes:
        schedule.description = column_text(changes["description"], OnCallSchedule.description, "description",
                                           refusal=OnCallError)
    if "is_default" in changes:
        if not isinstance(changes["is_default"], bool):
            raise OnCallError("is_default is true or false", "is_default")
        if changes["is_default"]:
            db.session.execute(update(OnCallSchedule).where(OnCallSchedule.is_default.is_(True))
                               .values(is_default=False).execution_options(synchronize_session="fetch"))
        schedule.is_default = changes["is_default"]
    if "service_ids" in changes:
        schedule.services = _services(changes["service_ids"])


def create_schedule(actor: Developer | None, **fields) -> OnCallSchedule:
    """A schedule: ``name`` (required), ``description``, ``is_default``, ``service_ids`` (the services
    it answers for; a service answers to one schedule, so they leave their previous one)."""
    _check_planner(actor)
    if "name" not in fields:
        raise OnCallError("a schedule needs a name", "name")
    schedule = OnCallSchedule(is_default=False)
    with db.session.no_autoflush:
        _apply_schedule(schedule, fields)
    db.session.add(schedule)
    db.session.flush()
    record_audit(actor, "oncall.schedule_created", "schedule", schedule.id, details={"name": schedule.name})
    db.session.commit()
    return schedule


def update_schedule(schedule: OnCallSchedule, actor: Developer | None, **changes) -> OnCallSchedule:
    _check_planner(actor)
    _apply_schedule(schedule, changes)
    record_audit(actor, "oncall.schedule_changed", "schedule", schedule.id, details={"fields": sorted(changes)})
    db.session.commit()
    return schedule


def ensure_default_schedule() -> OnCallSchedule:
    schedule = schedules.default_schedule()
    if schedule is None:
        name = "Default"
        if db.session.execute(select(OnCallSchedule.id).where(OnCallSchedule.name == name)).first():
            name = f"Default {utcnow():%Y%m%d%H%M%S}"
        schedule = OnCallSchedule(name=name, is_default=True)
        db.session.add(schedule)
        db.session.flush()
    return schedule


# --- layers ------------------------------------------------------------------------------------

def _participants(value) -> list[list[int]]:
    if not isinstance(value, list) or len(value) > MAX_GROUPS:
        raise OnCallError(f"participants is a list of at most {MAX_GROUPS} developer ids (or groups of ids)",
                          "participants")
    groups = []
    for entry in value:
        group = entry if isinstance(entry, list) else [entry]
        if not group or not all(isinstance(i, int) and not isinstance(i, bool) for i in group) or len(group) > 50:
            raise OnCallError("each participant is a developer id or a list of 1 to 50 ids", "participants")
        groups.append(list(dict.fromkeys(group)))
    wanted = {i for g in groups for i in g}
    found = set(db.session.execute(select(Developer.id).where(Developer.id.in_(wanted))).scalars()) if wanted else set()
    if wanted - found:
        raise OnCallError(f"no developer with id {min(wanted - found)}", "participants")
    return groups


def _clock(value, field: str) -> str:
    try:
        return schedules.parse_clock(value).strftime("%H:%M")
    except ValueError as exc:
        raise OnCallError(f"{field}: {exc}", field) from None


def _apply_layer(layer: OnCallLayer, changes: dict) -> None:
    if "name" in changes:
        layer.name = column_text(changes["name"], OnCallLayer.name, "name", refusal=OnCallError,
                                 required="a layer needs a name")
    if "frequency" in changes:
        if changes["frequency"] not in FREQUENCIES:
            raise OnCallError(f"frequency is one of {', '.join(FREQUENCIES)}", "frequency")
        layer.frequency = changes["frequency"]
    if "every" in changes:
        every = changes["every"]
        if not isinstance(every, int) or isinstance(every, bool) or not 1 <= every <= MAX_EVERY:
            raise OnCallError(f"every is a whole number from 1 to {MAX_EVERY}", "every")
        layer.every = every
    if "starts_on" in changes:
        value = changes["starts_on"]
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                value = None
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise OnCallError("starts_on is a date (YYYY-MM-DD)", "starts_on")
        layer.starts_on = value
    if "handoff_time" in changes:
        layer.handoff_time = _clock(changes["handoff_time"], "handoff_time")
    if "timezone" in changes:
        name = column_text(changes["timezone"], OnCallLayer.timezone, "timezone", refusal=OnCallError) or "UTC"
        try:
            schedules.zone(name)
        except ValueError as exc:
            raise OnCallError(str(exc), "timezone") from None
        layer.timezone = name
    if "participants" in changes:
        layer.participants = _participants(changes["participants"])
    if "days" in changes:
        days = changes["days"]
        if days is not None and (not isinstance(days, list) or not days or not all(
                isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in days)):
            raise OnCallError("days is null or a list of weekdays, 0 (Monday) to 6 (Sunday)", "days")
        layer.days = sorted(set(days)) if days is not None else None
    for field in ("window_start", "window_end"):
        if field in changes:
            setattr(layer, field, None if changes[field] is None else _clock(changes[field], field))
    if (layer.window_start is None) != (layer.window_end is None):
        raise OnCallError("a daily window needs both window_start and window_end", "window_end")
    if "position" in changes:
        position = changes["position"]
        if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position <= 1000:
            raise OnCallError("position is a whole number from 0 to 1000 (higher wins)", "position")
        layer.position = position


def add_layer(schedule: OnCallSchedule, actor: Developer | None, **fields) -> OnCallLayer:
    """A rotation layer on top of the schedule's others (unless ``position`` says where). Required:
    ``name``, ``starts_on``, ``participants``; defaults: weekly, every 1, 09:00, UTC, always."""
    _check_planner(actor)
    for required in ("name", "starts_on", "participants"):
        if required not in fields:
            raise OnCallError(f"'{required}' is required", required)
    top = max((layer.position for layer in schedule.layers), default=-1)
    layer = OnCallLayer(kind="rotation", frequency="weekly", every=1, handoff_time="09:00", timezone="UTC",
                        position=top + 1)
    with db.session.no_autoflush:
        _apply_layer(layer, fields)
    schedule.layers.append(layer)
    db.session.flush()
    record_audit(actor, "oncall.layer_added", "schedule", schedule.id, details={"layer_id": layer.id})
    db.session.commit()
    return layer


def update_layer(layer: OnCallLayer, actor: Developer | None, **changes) -> OnCallLayer:
    _check_planner(actor)
    with db.session.no_autoflush:
        _apply_layer(layer, changes)
    record_audit(actor, "oncall.layer_changed", "schedule", layer.schedule_id,
                 details={"layer_id": layer.id, "fields": sorted(changes)})
    db.session.commit()
    return layer


def remove_layer(layer: OnCallLayer, actor: Developer | None) -> None:
    _check_planner(actor)
    record_audit(actor, "oncall.layer_removed", "schedule", layer.schedule_id, details={"layer_id": layer.id})
    db.session.delete(layer)
    db.session.commit()


# --- overrides ---------------------------------------------------------------------------------

def add_override(schedule: OnCallSchedule, developer: Developer, starts_at: dt.datetime, ends_at: dt.datetime,
                 actor: Developer | None, *, replaces: Developer | None = None,
                 reason: str | None = None) -> OnCallOverride:
    """Put ``developer`` on call for the schedule during a window: instead of everyone its layers give,
    or instead of ``replaces`` only. Leads, managers and admins set any override; a developer puts
    themselves on call, or hands their own turn over (the actor is the replaced developer)."""
    if actor is not None and not permissions.can_override_on_call(actor, developer, replaces):
        raise OnCallError("only leads, managers and admins override someone else's on-call", status=403)
    if not developer.active:
        raise OnCallError("that developer's account is inactive", "developer_id")
    if replaces is not None and replaces.id == developer.id:
        raise OnCallError("a developer cannot cover for themselves", "replaces_id")
    start, end = window(starts_at, ends_at)
    override = OnCallOverride(schedule_id=schedule.id, developer_id=developer.id,
                              replaces_id=replaces.id if replaces else None, starts_at=start, ends_at=end,
                              reason=column_text(reason, OnCallOverride.reason, "reason", refusal=OnCallError),
                              created_by_id=actor.id if actor else None)
    db.session.add(override)
    db.session.flush()
    record_audit(actor, "oncall.override_added", "developer", developer.id,
                 details={"override_id": override.id, "schedule_id": schedule.id, "replaces": override.replaces_id,
                          "starts_at": start.isoformat(), "ends_at": end.isoformat()})
    db.session.commit()
    return override


def update_override(override: OnCallOverride, actor: Developer | None, *, starts_at=None, ends_at=None,
                    reason: str | None = None, reason_given: bool = False) -> OnCallOverride:
    """Move an override's window or change its reason (whoever may remove it may change it)."""
    if actor is not None and not permissions.can_remove_override(actor, override):
        raise OnCallError("only leads, managers and admins change someone else's override", status=403)
    start, end = window(starts_at or override.starts_at, ends_at or override.ends_at)
    override.starts_at, override.ends_at = start, end
    if reason_given:
        override.reason = column_text(reason, OnCallOverride.reason, "reason", refusal=OnCallError)
    record_audit(actor, "oncall.override_changed", "developer", override.developer_id,
                 details={"override_id": override.id, "starts_at": start.isoformat(), "ends_at": end.isoformat()})
    db.session.commit()
    return override


def remove_override(override: OnCallOverride, actor: Developer | None) -> None:
    if actor is not None and not permissions.can_remove_override(actor, override):
        raise OnCallError("only leads, managers and admins remove someone else's override", status=403)
    record_audit(actor, "oncall.override_removed", "developer", override.developer_id,
                 details={"override_id": override.id})
    db.session.delete(override)
    db.session.commit()


# --- the on-call switch ------------------------------------------------------------------------

def _switch_layer() -> OnCallLayer:
    layer = schedules.switch_layer()
    if layer is None:
        schedule = ensure_default_schedule()
        layer = OnCallLayer(schedule=schedule, kind="switch", name=SWITCH_LAYER_NAME, frequency="daily", every=1,
                            starts_on=dt.date(2000, 1, 1), handoff_time="00:00", timezone="UTC", participants=[],
                            position=max((entry.position for entry in schedule.layers), default=-1) + 1)
        db.session.add(layer)
        db.session.flush()
    return layer


def switch(developer: Developer, on: bool) -> bool:
    """Turn a developer's on-call switch on or off (no permission check, no commit); whether it changed."""
    if (developer.id in schedules.switched_on_ids()) == on:
        return False
    layer = _switch_layer()
    members = [i for group in (layer.participants or []) for i in group if i != developer.id]
    if on:
        members.append(developer.id)
    layer.participants = [members] if members else []
    return True


def on_call_for(service) -> list[Developer]:
    """Who is on call now for ``service`` among the developers who know it (its schedule), by name."""
    known = [d for d in service.developers if d.active]
    ids = on_call_ids([d.id for d in known], service_id=service.id)
    return sorted((d for d in known if d.id in ids), key=lambda d: d.name.lower())
