"""iCal feeds of on-call: one per schedule, one per developer (every schedule they answer in), each at
a secret address that can be rotated. Calendar apps cannot send a token header, so the secret is in the
URL; only its SHA-256 is stored, the address is shown once, and rotating it ends the old one.

The events are the slots of app/triage/schedules.py's timeline, in UTC, so a calendar shows each turn
at the wall time of the layer's zone whatever the daylight-saving changes.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import icalendar
from sqlalchemy import select

from app.extensions import db
from app.models import Developer, OnCallFeed, OnCallSchedule
from app.models.types import utcnow
from app.platform.audit import record_audit
from app.triage import permissions, schedules
from app.triage.oncall import OnCallError

PAST = dt.timedelta(days=30)
AHEAD = dt.timedelta(days=180)
TOKEN_BYTES = 32


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def rotate_feed(actor: Developer | None, *, schedule: OnCallSchedule | None = None,
                developer: Developer | None = None) -> str:
    """A new secret token for the schedule's (or the developer's) feed, replacing the previous one; the
    token is returned once. A schedule's feed: leads, managers and admins; a developer's: themselves or they."""
    if (schedule is None) == (developer is None):
        raise ValueError("a feed is a schedule's or a developer's")
    if actor is not None and not (permissions.can_plan_rotations(actor)
                                  or (developer is not None and actor.id == developer.id)):
        raise OnCallError("only leads, managers and admins rotate another's calendar address", status=403)
    owner = OnCallFeed.schedule_id == schedule.id if schedule is not None else OnCallFeed.developer_id == developer.id
    for old in db.session.execute(select(OnCallFeed).where(owner)).scalars():
        db.session.delete(old)
    db.session.flush()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    db.session.add(OnCallFeed(schedule_id=schedule.id if schedule else None,
                              developer_id=developer.id if developer else None, token_hash=_digest(token)))
    record_audit(actor, "oncall.feed_rotated", "schedule" if schedule else "developer",
                 schedule.id if schedule else developer.id)
    db.session.commit()
    return token


def feed_for_token(token: str) -> OnCallFeed | None:
    if not token or len(token) > 128:
        return None
    return db.session.execute(select(OnCallFeed).where(OnCallFeed.token_hash == _digest(token))).scalar_one_or_none()


def _names(ids) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(Developer.id, Developer.name).where(Developer.id.in_(ids))).all())


def _event(uid: str, summary: str, slot: schedules.Slot, description: str, stamp: dt.datetime) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", slot.starts_at)
    event.add("dtend", slot.ends_at)
    event.add("summary", summary)
    event.add("description", description)
    return event


def calendar(feed: OnCallFeed, now: dt.datetime | None = None) -> bytes:
    """The feed's VCALENDAR: its slots with someone on call from 30 days ago to 180 days ahead."""
    now = now or utcnow()
    since, until = now - PAST, now + AHEAD
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Heartwatch//On-call//EN")
    cal.add("version", "2.0")
    if feed.schedule_id is not None:
        plan = db.session.get(OnCallSchedule, feed.schedule_id)
        cal.add("x-wr-calname", f"On call: {plan.name}")
        slots = [(plan, slot) for slot in schedules.timeline(plan, since, until) if slot.people]
    else:
        person = db.session.get(Developer, feed.developer_id)
        cal.add("x-wr-calname", f"On call: {person.name}")
        slots = schedules.shifts_of(person.id, since, until)
    names = _names({i for _, slot in slots for i in slot.people})
    for plan, slot in slots:
        people = ", ".join(names.get(i, f"#{i}") for i in slot.people)
        summary = f"On call: {people}" if feed.schedule_id is not None else f"On call: {plan.name}"
        description = f"{plan.name}: {people}" + (" (override)" if slot.overridden else "")
        uid = f"{plan.id}-{int(slot.starts_at.timestamp())}-{'-'.join(map(str, slot.people))}@heartwatch"
        cal.add_component(_event(uid, summary, slot, description, now))
    return cal.to_ical()
