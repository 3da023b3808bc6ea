"""Who is on call when: a schedule's layers and overrides resolved into one timeline.

Every question about on-call time is answered here, once: the routing (``on_call_ids``), the JSON
API's now/next, the dashboard's calendars and the iCal feeds all read ``timeline``.

Rotation turns are counted in wall-clock days of the layer's time zone, not in hours: a weekly
hand-off at 09:00 Europe/Berlin stays at 09:00 when the clocks change, so that week is an hour
shorter or longer in UTC. A wall time that a change skips (02:30 on the spring-forward night)
falls an hour later; one that happens twice (autumn) means its first occurrence.
"""
from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from app.extensions import db
from app.models import Developer, OnCallLayer, OnCallOverride, OnCallSchedule, Service
from app.models.types import utcnow

UTC = dt.timezone.utc
PERIOD_DAYS = {"daily": 1, "weekly": 7, "days": 1}
ALL_DAYS = (0, 1, 2, 3, 4, 5, 6)
LOOKAHEAD = dt.timedelta(days=400)  # "next shift" looks this far ahead at most
_CHUNK = dt.timedelta(days=35)


@dataclass(frozen=True)
class Slot:
    """A stretch of time during which the same people are on call for one schedule, for one reason."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    people: tuple[int, ...]
    layer_id: int | None = None
    override_ids: tuple[int, ...] = ()

    @property
    def overridden(self) -> bool:
        return bool(self.override_ids)


def zone(name: str | None) -> ZoneInfo:
    """The IANA time zone ``name``; ``ValueError`` when there is none by that name."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown time zone {name!r}") from None


def parse_clock(value: str) -> dt.time:
    """``"HH:MM"`` (00:00 to 23:59) as a time; ``ValueError`` otherwise."""
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":" or not (value[:2] + value[3:]).isdigit():
        raise ValueError("a time of day is written HH:MM")
    hour, minute = int(value[:2]), int(value[3:])
    if hour > 23 or minute > 59:
        raise ValueError("a time of day is between 00:00 and 23:59")
    return dt.time(hour, minute)


def wall_time(day: dt.date, clock: dt.time, tz: ZoneInfo) -> dt.datetime:
    """The UTC moment of a wall-clock time in ``tz`` (fold 0: the first of twice, an hour on if skipped)."""
    return dt.datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def layer_turns(layer: OnCallLayer, since: dt.datetime, until: dt.datetime):
    """The layer's turns that overlap [since, until): (start, end, group, turn index), in order."""
    groups = [tuple(g) for g in (layer.participants or [])]
    if not groups:
        return
    tz = zone(layer.timezone)
    clock = parse_clock(layer.handoff_time)
    period = PERIOD_DAYS[layer.frequency] * max(1, layer.every)
    local_days = (since.astimezone(tz).date() - layer.starts_on).days
    k = max(0, local_days // period - 1)
    while True:
        start = wall_time(layer.starts_on + dt.timedelta(days=k * period), clock, tz)
        if start >= until:
            return
        end = wall_time(layer.starts_on + dt.timedelta(days=(k + 1) * period), clock, tz)
        if end > since:
            yield start, end, groups[k % len(groups)], k
        k += 1


def _restricted(layer: OnCallLayer) -> bool:
    return bool(layer.window_start or layer.window_end) or (layer.days is not None and set(layer.days) != set(ALL_DAYS))


def layer_pieces(layer: OnCallLayer, since: dt.datetime, until: dt.datetime) -> list[tuple]:
    """Where the layer covers time within [since, until): (start, end, group), sorted, not overlapping.
    A restricted layer covers only its weekdays' windows (a window ending at or before its start ends
    the next day; 00:00 to 00:00 is the whole day)."""
    pieces = []
    restricted = _restricted(layer)
    if restricted:
        tz = zone(layer.timezone)
        days = set(ALL_DAYS if layer.days is None else layer.days)
        w_start = parse_clock(layer.window_start or "00:00")
        w_end = parse_clock(layer.window_end or "00:00")
        overnight = w_end <= w_start
    for start, end, group, _ in layer_turns(layer, since, until):
        if not group:
            continue
        if not restricted:
            pieces.append((max(start, since), min(end, until), group))
            continue
        day = start.astimezone(tz).date() - dt.timedelta(days=1)
        last = end.astimezone(tz).date()
        while day <= last:
            if day.weekday() in days:
                lo = wall_time(day, w_start, tz)
                hi = wall_time(day + dt.timedelta(days=1 if overnight else 0), w_end, tz)
                lo, hi = max(lo, start, since), min(hi, end, until)
                if lo < hi:
                    pieces.append((lo, hi, group))
            day += dt.timedelta(days=1)
    return pieces


def overrides_between(schedule: OnCallSchedule, since: dt.datetime, until: dt.datetime) -> list[OnCallOverride]:
    """The schedule's overrides that overlap [since, until), by start."""
    return list(db.session.execute(
        select(OnCallOverride).where(OnCallOverride.schedule_id == schedule.id, OnCallOverride.starts_at < until,
                                     OnCallOverride.ends_at > since)
        .order_by(OnCallOverride.starts_at, OnCallOverride.id)).scalars())


def timeline(schedule: OnCallSchedule, since: dt.datetime, until: dt.datetime,
             overrides: list[OnCallOverride] | None = None) -> list[Slot]:
    """The schedule's on-call slots that cover [since, until), in order, gaps (nobody) included.

    At each moment the last layer (by position) whose turn there has people wins; every override
    covering the moment then applies in start order: its developer instead of the layers' people, or
    instead of ``replaces`` only when it names someone."""
    since, until = _aware(since), _aware(until)
    if until <= since:
        return []
    layers = sorted(schedule.layers, key=lambda layer: (layer.position, layer.id))
    per_layer = [(layer.id, layer_pieces(layer, since, until)) for layer in layers]
    if overrides is None:
        overrides = overrides_between(schedule, since, until)
    cuts = {since, until}
    for _, pieces in per_layer:
        for start, end, _ in pieces:
            cuts.update((start, end))
    for override in overrides:
        cuts.update(t for t in (override.starts_at, override.ends_at) if since < t < until)
    cuts = sorted(cuts)
    starts = [[p[0] for p in pieces] for _, pieces in per_layer]
    slots: list[Slot] = []
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        people: tuple[int, ...] = ()
        layer_id = None
        for (candidate, pieces), piece_starts in zip(reversed(per_layer), reversed(starts), strict=False):
            i = bisect.bisect_right(piece_starts, lo) - 1
            if i >= 0 and pieces[i][1] > lo:
                people, layer_id = pieces[i][2], candidate
                break
        applied = []
        for override in overrides:
            if override.starts_at <= lo < override.ends_at:
                if override.replaces_id is None:
                    people = (override.developer_id,)
                else:
                    people = tuple(p for p in people if p != override.replaces_id)
                    people += () if override.developer_id in people else (override.developer_id,)
                applied.append(override.id)
        slot = Slot(lo, hi, people, layer_id, tuple(applied))
        previous = slots[-1] if slots else None
        if previous and (previous.people, previous.layer_id, previous.override_ids) == (people, layer_id, slot.override_ids):
            slots[-1] = Slot(previous.starts_at, hi, people, layer_id, previous.override_ids)
        else:
            slots.append(slot)
    return slots


def slot_at(schedule: OnCallSchedule, at: dt.datetime | None = None) -> Slot:
    """The slot covering ``at`` (now by default); its ``people`` may be empty."""
    at = _aware(at or utcnow())
    slot = timeline(schedule, at, at + dt.timedelta(microseconds=1))[0]
    return _extend(schedule, slot, at)


def _extend(schedule: OnCallSchedule, slot: Slot, at: dt.datetime) -> Slot:
    """``slot`` with its true start and end, looked up beyond the window it was computed in."""
    before = timeline(schedule, at - _CHUNK, at + dt.timedelta(microseconds=1))
    after = timeline(schedule, at, at + _CHUNK)
    start = before[-1].starts_at if before else slot.starts_at
    end = after[0].ends_at if after else slot.ends_at
    return Slot(start, end, slot.people, slot.layer_id, slot.override_ids)


def next_slot(schedule: OnCallSchedule, after: dt.datetime | None = None) -> Slot | None:
    """The first slot starting after ``after`` in which someone else (or someone at all) is on call."""
    after = _aware(after or utcnow())
    current = slot_at(schedule, after).people
    since = after
    while since < after + LOOKAHEAD:
        for slot in timeline(schedule, since, since + _CHUNK):
            if slot.starts_at > after and slot.people and slot.people != current:
                return _extend(schedule, slot, slot.starts_at)
        since += _CHUNK
    return None


# --- which schedule, and who among developers ---------------------------------------------------

def default_schedule() -> OnCallSchedule | None:
    return db.session.execute(select(OnCallSchedule).where(OnCallSchedule.is_default.is_(True))
                              .order_by(OnCallSchedule.id)).scalars().first()


def switch_layer() -> OnCallLayer | None:
    """The default schedule's switch layer: the group the developers' on-call switches edit."""
    schedule = default_schedule()
    return next((layer for layer in schedule.layers if layer.kind == "switch"), None) if schedule else None


def switched_on_ids() -> set[int]:
    """Developers whose on-call switch is on."""
    layer = switch_layer()
    return {i for group in (layer.participants or []) for i in group} if layer is not None else set()


def schedule_for_service(service_id: int) -> OnCallSchedule | None:
    """The service's own schedule, else the default schedule (None when there is neither)."""
    service = db.session.get(Service, service_id)
    if service is not None and service.oncall_schedule is not None:
        return service.oncall_schedule
    return default_schedule()


def _active(ids: set[int]) -> set[int]:
    if not ids:
        return set()
    return set(db.session.execute(select(Developer.id).where(Developer.id.in_(ids), Developer.active.is_(True)))
               .scalars())


def on_call_ids(developer_ids: list[int] | None = None, at: dt.datetime | None = None, *,
                service_id: int | None = None) -> set[int]:
    """Active developers on call at ``at`` (now by default), among ``developer_ids``: for the service's
    schedule when ``service_id`` is given, else in any schedule."""
    if developer_ids is not None and not developer_ids:
        return set()
    at = _aware(at or utcnow())
    if service_id is not None:
        schedule = schedule_for_service(service_id)
        schedules = [schedule] if schedule is not None else []
    else:
        schedules = list(db.session.execute(select(OnCallSchedule)).scalars())
    people: set[int] = set()
    for schedule in schedules:
        people.update(timeline(schedule, at, at + dt.timedelta(microseconds=1))[0].people)
    if developer_ids is not None:
        people &= set(developer_ids)
    return _active(people)


def is_on_call(developer: Developer, at: dt.datetime | None = None, *, service_id: int | None = None) -> bool:
    """Whether the developer is on call (for the service's schedule, or any)."""
    return developer.id in on_call_ids([developer.id], at, service_id=service_id)


def shifts_of(developer_id: int, since: dt.datetime, until: dt.datetime) -> list[tuple[OnCallSchedule, Slot]]:
    """Every slot of every schedule in which the developer is on call within [since, until), by start."""
    found = []
    for schedule in db.session.execute(select(OnCallSchedule).order_by(OnCallSchedule.name)).scalars():
        found.extend((schedule, slot) for slot in timeline(schedule, since, until) if developer_id in slot.people)
    found.sort(key=lambda pair: (pair[1].starts_at, pair[0].name))
    return found
