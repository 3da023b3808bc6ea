"""The dashboard's on-call calendars: a schedule's week or month as days, each with the slots that fall
in it (app/triage/schedules.py's timeline, cut at local midnight of the viewer's time zone)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models import Developer, OnCallSchedule
from app.triage import schedules

VIEWS = ("week", "month")


@dataclass
class Entry:
    starts_at: dt.datetime  # local to the viewer
    ends_at: dt.datetime
    names: list[str]
    overridden: bool
    slot: schedules.Slot


@dataclass
class Day:
    date: dt.date
    in_range: bool = True
    entries: list[Entry] = field(default_factory=list)


def first_day(view: str, anchor: dt.date) -> dt.date:
    """Where the view that shows ``anchor`` starts: its Monday, or the Monday on or before the 1st."""
    start = anchor.replace(day=1) if view == "month" else anchor
    return start - dt.timedelta(days=start.weekday())


def days_of(view: str, anchor: dt.date) -> tuple[dt.date, int]:
    start = first_day(view, anchor)
    if view == "week":
        return start, 7
    following = (anchor.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    end = following + dt.timedelta(days=(7 - following.weekday()) % 7)
    return start, (end - start).days


def shift_view(view: str, anchor: dt.date, steps: int) -> dt.date:
    """The anchor of the previous (-1) or next (+1) week or month."""
    if view == "week":
        return anchor + dt.timedelta(weeks=steps)
    month = anchor.month - 1 + steps
    return dt.date(anchor.year + month // 12, month % 12 + 1, 1)


def _names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(Developer.id, Developer.name).where(Developer.id.in_(ids))).all())


def calendar(schedule: OnCallSchedule, view: str, anchor: dt.date, tz: ZoneInfo) -> list[Day]:
    """The days of the week or month showing ``anchor``, in ``tz``, with who is on call in each."""
    start, count = days_of(view, anchor)
    bounds = [schedules.wall_time(start + dt.timedelta(days=i), dt.time(0), tz) for i in range(count + 1)]
    slots = schedules.timeline(schedule, bounds[0], bounds[-1])
    names = _names({i for slot in slots for i in slot.people})
    days = []
    for i in range(count):
        date = start + dt.timedelta(days=i)
        day = Day(date, in_range=view == "week" or date.month == anchor.month)
        lo, hi = bounds[i], bounds[i + 1]
        for slot in slots:
            if slot.ends_at <= lo or slot.starts_at >= hi or not slot.people:
                continue
            day.entries.append(Entry(max(slot.starts_at, lo).astimezone(tz), min(slot.ends_at, hi).astimezone(tz),
                                     [names.get(p, f"#{p}") for p in slot.people], slot.overridden, slot))
        days.append(day)
    return days
