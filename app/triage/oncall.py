"""On-call: shifts, weekly rotations and overrides, and who is on call at a given moment.

A developer is on call when their flag is set (by a lead, or by themselves through the API), when
one of their shifts covers the moment and no override takes them off it, or when an override puts
them on call. Routing asks ``on_call_ids`` once per decision; nothing here runs on the ingest path.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, or_, select

from app.extensions import db
from app.models import Developer, OnCallOverride, OnCallShift
from app.models.types import utcnow
from app.platform.audit import record_audit
from app.platform.refusal import Refused, column_text
from app.triage import permissions

MAX_SHIFT = dt.timedelta(days=31)
MAX_ROTATION_SHIFTS = 520  # ten years of weekly shifts


class OnCallError(Refused):
    """A shift or override that cannot be saved; ``status`` is the HTTP status to answer with."""


def _aware(value: dt.datetime, name: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise OnCallError("a date and time is required", name)
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def _window(starts_at: dt.datetime, ends_at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start, end = _aware(starts_at, "starts_at"), _aware(ends_at, "ends_at")
    if end <= start:
        raise OnCallError("the end must be after the start", "ends_at")
    if end - start > MAX_SHIFT:
        raise OnCallError("a shift or override lasts 31 days at most; enter a rotation as several shifts", "ends_at")
    return start, end


def on_call_ids(developer_ids: list[int] | None = None, at: dt.datetime | None = None) -> set[int]:
    """The ids of active developers on call at ``at`` (now by default), among ``developer_ids``."""
    at = at or utcnow()
    flag = select(Developer.id).where(Developer.on_call.is_(True), Developer.active.is_(True))
    shifts = select(OnCallShift.developer_id).where(OnCallShift.starts_at <= at, OnCallShift.ends_at > at)
    overrides = select(OnCallOverride.developer_id, OnCallOverride.replaces_id).where(
        OnCallOverride.starts_at <= at, OnCallOverride.ends_at > at)
    if developer_ids is not None:
        if not developer_ids:
            return set()
        flag = flag.where(Developer.id.in_(developer_ids))
        shifts = shifts.where(OnCallShift.developer_id.in_(developer_ids))
        overrides = overrides.where(or_(OnCallOverride.developer_id.in_(developer_ids),
                                        OnCallOverride.replaces_id.in_(developer_ids)))
    flagged = set(db.session.execute(flag).scalars())
    on_shift = set(db.session.execute(shifts).scalars())
    covering, covered = set(), set()
    for developer_id, replaces_id in db.session.execute(overrides).all():
        covering.add(developer_id)
        if replaces_id is not None:
            covered.add(replaces_id)
    # A lead's flag wins over a schedule: they said this person answers now.
    scheduled = (on_shift - covered) | covering
    if developer_ids is not None:
        scheduled &= set(developer_ids)
    unflagged = scheduled - flagged
    if unflagged:
        unflagged = set(db.session.execute(
            select(Developer.id).where(Developer.id.in_(unflagged), Developer.active.is_(True))
        ).scalars())
    return flagged | unflagged


def is_on_call(developer: Developer, at: dt.datetime | None = None) -> bool:
    """Whether this developer is on call now (flag, shift or override)."""
    return developer.id in on_call_ids([developer.id], at)


def add_shift(developer: Developer, starts_at: dt.datetime, ends_at: dt.datetime, actor: Developer | None, *,
              note: str | None = None, rotation: str | None = None, commit: bool = True) -> OnCallShift:
    """A shift for one developer; they plan their own, leads, managers and admins anyone's."""
    if actor is not None and not permissions.can_plan_on_call(actor, developer):
        raise OnCallError("only leads, managers and admins plan another developer's shifts", status=403)
    if not developer.active:
        raise OnCallError("that developer's account is inactive", "developer_id")
    start, end = _window(starts_at, ends_at)
    shift = OnCallShift(developer_id=developer.id, starts_at=start, ends_at=end, note=column_text(note, OnCallShift.note, "note", refusal=OnCallError),
                        rotation=rotation, created_by_id=actor.id if actor else None)
    db.session.add(shift)
    db.session.flush()
    record_audit(actor, "oncall.shift_added", "developer", developer.id,
                 details={"shift_id": shift.id, "starts_at": start.isoformat(), "ends_at": end.isoformat(),
                          "rotation": rotation})
    if commit:
        db.session.commit()
    return shift


def add_rotation(developers: list[Developer], starts_at: dt.datetime, actor: Developer | None, *,
                 shifts: int, shift_hours: int = 168, name: str | None = None) -> list[OnCallShift]:
    """A rotation entered as shifts: ``developers`` take turns, one shift each in order
    (weekly by default), ``shifts`` shifts in all, back to back from ``starts_at``."""
    if actor is not None and not permissions.can_plan_rotations(actor):
        raise OnCallError("only leads, managers and admins plan rotations", status=403)
    if not developers:
        raise OnCallError("a rotation needs at least one developer", "developer_ids")
    if not 1 <= shifts <= MAX_ROTATION_SHIFTS:
        raise OnCallError(f"a rotation has between 1 and {MAX_ROTATION_SHIFTS} shifts", "shifts")
    if not 1 <= shift_hours <= MAX_SHIFT.days * 24:
        raise OnCallError("a shift lasts between 1 hour and 31 days", "shift_hours")
    start = _aware(starts_at, "starts_at")
    length = dt.timedelta(hours=shift_hours)
    label = column_text(name, OnCallShift.rotation, "name", refusal=OnCallError) or f"rotation from {start:%Y-%m-%d}"
    created = [add_shift(developers[i % len(developers)], start + i * length, start + (i + 1) * length, actor,
                         rotation=label, commit=False) for i in range(shifts)]
    db.session.commit()
    return created


def add_override(developer: Developer, starts_at: dt.datetime, ends_at: dt.datetime, actor: Developer | None, *,
                 replaces: Developer | None = None, reason: str | None = None) -> OnCallOverride:
    """Put ``developer`` on call for a window, optionally instead of ``replaces``.

    Leads, managers and admins set any override; a developer may cover for someone only with
    that person's own hand-over (the actor is the replaced developer) or put themselves on call.
    """
    if actor is not None and not permissions.can_override_on_call(actor, developer, replaces):
        raise OnCallError("only leads, managers and admins override someone else's on-call", status=403)
    if not developer.active:
        raise OnCallError("that developer's account is inactive", "developer_id")
    if replaces is not None and replaces.id == developer.id:
        raise OnCallError("a developer cannot cover for themselves", "replaces_id")
    start, end = _window(starts_at, ends_at)
    override = OnCallOverride(developer_id=developer.id, replaces_id=replaces.id if replaces else None,
                              starts_at=start, ends_at=end, reason=column_text(reason, OnCallOverride.reason, "reason", refusal=OnCallError),
                              created_by_id=actor.id if actor else None)
    db.session.add(override)
    db.session.flush()
    record_audit(actor, "oncall.override_added", "developer", developer.id,
                 details={"override_id": override.id, "replaces": override.replaces_id,
                          "starts_at": start.isoformat(), "ends_at": end.isoformat()})
    db.session.commit()
    return override


def remove_shift(shift: OnCallShift, actor: Developer | None) -> None:
    if actor is not None and not permissions.can_remove_shift(actor, shift):
        raise OnCallError("only leads, managers and admins remove another developer's shifts", status=403)
    record_audit(actor, "oncall.shift_removed", "developer", shift.developer_id, details={"shift_id": shift.id})
    db.session.delete(shift)
    db.session.commit()


def remove_override(override: OnCallOverride, actor: Developer | None) -> None:
    if actor is not None and not permissions.can_remove_override(actor, override):
        raise OnCallError("only leads, managers and admins remove someone else's override", status=403)
    record_audit(actor, "oncall.override_removed", "developer", override.developer_id,
                 details={"override_id": override.id})
    db.session.delete(override)
    db.session.commit()


def schedule(since: dt.datetime, until: dt.datetime, developer_id: int | None = None) -> dict[str, list]:
    """Shifts and overrides that overlap a window, in start order (for the on-call page)."""
    shift_q = select(OnCallShift).where(and_(OnCallShift.starts_at < until, OnCallShift.ends_at > since))
    override_q = select(OnCallOverride).where(and_(OnCallOverride.starts_at < until, OnCallOverride.ends_at > since))
    if developer_id is not None:
        shift_q = shift_q.where(OnCallShift.developer_id == developer_id)
        override_q = override_q.where(or_(OnCallOverride.developer_id == developer_id,
                                          OnCallOverride.replaces_id == developer_id))
    return {
        "shifts": list(db.session.execute(shift_q.order_by(OnCallShift.starts_at, OnCallShift.id)).scalars()),
        "overrides": list(db.session.execute(override_q.order_by(OnCallOverride.starts_at, OnCallOverride.id)).scalars()),
    }


def on_call_for(service) -> list[Developer]:
    """Who is on call now among the developers who know ``service`` (flag, shift or override), by name."""
    known = [d for d in service.developers if d.active]
    ids = on_call_ids([d.id for d in known])
    return sorted((d for d in known if d.id in ids), key=lambda d: d.name.lower())
