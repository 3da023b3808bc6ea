"""The team and its workload: who carries how many open errors, who is on call, who could take more.

One query counts the load (``open_loads``), and every view of it is built from that: the JSON API's
developer list and workload, the dashboard's developers page and assign form, and routing's
candidates. On-call state comes from ``app.triage.schedules`` (every schedule's layers and overrides), once
per view.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select

from app.extensions import db
from app.models import OPEN_STATUSES, SEVERITIES, Developer, ErrorLog, OnCallSchedule
from app.models.types import utcnow
from app.triage import schedules

SEVERITY_ORDER = tuple(reversed(SEVERITIES))  # critical first
SCHEDULE_DAYS = 14


@dataclass(frozen=True)
class Load:
    """A developer's open errors (assigned to them, not resolved or ignored) by severity."""

    by_severity: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEVERITY_ORDER, 0))

    @property
    def total(self) -> int:
        return sum(self.by_severity.values())


def open_loads(developer_ids: list[int] | None = None) -> dict[int, Load]:
    """The load of each developer in ``developer_ids`` (of every developer with open errors when
    None); a developer with none has an empty load. Derived from the errors, so always exact."""
    if developer_ids is not None and not developer_ids:
        return {}
    stmt = (select(ErrorLog.assigned_to_id, ErrorLog.severity, func.count())
            .where(ErrorLog.assigned_to_id.is_not(None), ErrorLog.status.in_(OPEN_STATUSES))
            .group_by(ErrorLog.assigned_to_id, ErrorLog.severity))
    if developer_ids is not None:
        stmt = stmt.where(ErrorLog.assigned_to_id.in_(developer_ids))
    loads = {developer_id: Load() for developer_id in developer_ids or ()}
    for developer_id, severity, count in db.session.execute(stmt).all():
        load = loads.setdefault(developer_id, Load())
        if severity in load.by_severity:
            load.by_severity[severity] += int(count)
    return loads


def load_of(developer_id: int) -> int:
    """One developer's current load: their open errors."""
    return open_loads([developer_id])[developer_id].total


def team(developers: list[Developer] | None = None) -> list[dict]:
    """Every developer (active first, by name) with their load, on-call state and availability:
    on call, active and under their max load."""
    if developers is None:
        developers = list(db.session.execute(
            select(Developer).order_by(Developer.active.desc(), Developer.name)).scalars())
    loads = open_loads([d.id for d in developers])
    answering = schedules.on_call_ids([d.id for d in developers])
    switched = schedules.switched_on_ids()
    rows = []
    for developer in developers:
        load = loads[developer.id]
        on_call = developer.id in answering
        rows.append({"developer": developer, "load": load.total, "by_severity": load.by_severity,
                     "on_call": on_call, "switched_on": developer.id in switched, "over": load.total > developer.max_load,
                     "available": developer.active and on_call and load.total < developer.max_load})
    return rows


def workload() -> list[dict]:
    """Per developer, by name: current load, max load, on call, available, open errors by severity."""
    developers = list(db.session.execute(select(Developer).order_by(Developer.name)).scalars())
    return [{"developer_id": r["developer"].id, "name": r["developer"].name, "role": r["developer"].role,
             "on_call": r["on_call"], "current_load": r["load"], "max_load": r["developer"].max_load,
             "available": r["available"], "open_by_severity": dict(r["by_severity"])}
            for r in team(developers)]


def workload_chart(rows: list[dict]) -> dict:
    """The workload chart's data: open errors per developer by severity, against their max load."""
    shown = [r for r in rows if r["developer"].active]
    return {"labels": [r["developer"].name for r in shown],
            "series": {s: [r["by_severity"][s] for r in shown] for s in SEVERITY_ORDER},
            "max_load": [r["developer"].max_load for r in shown]}


def assignable_developers(error: ErrorLog) -> list[dict]:
    """Active developers for the assign form: those who know the error's service first, each with
    their current load and max load."""
    developers = list(db.session.execute(
        select(Developer).where(Developer.active.is_(True)).order_by(Developer.name)
    ).scalars())
    loads = open_loads([d.id for d in developers])
    answering = schedules.on_call_ids([d.id for d in developers], service_id=error.service_id)
    rows = []
    for developer in developers:
        knows = any(s.id == error.service_id for s in developer.services)
        rows.append({"developer": developer, "knows_service": knows, "load": loads[developer.id].total,
                     "on_call": developer.id in answering})
    rows.sort(key=lambda r: (not r["knows_service"], r["load"] >= r["developer"].max_load, r["load"],
                             r["developer"].name))
    return rows


# --- on-call schedule ------------------------------------------------------------------------------

def shift_notes(now: dt.datetime | None = None) -> dict[int, str]:
    """A short line per developer about their on-call schedule: the slot they are on now (the switch,
    a turn of a layer, or an override), or their next one within two weeks."""
    now = now or utcnow()
    until = now + dt.timedelta(days=SCHEDULE_DAYS)
    notes: dict[int, tuple[int, str]] = {}  # developer: (0 now, 1 later; the line)
    for plan in db.session.execute(select(OnCallSchedule).order_by(OnCallSchedule.name)).scalars():
        switches = {layer.id for layer in plan.layers if layer.kind == "switch"}
        for slot in schedules.timeline(plan, now, until):
            for person in slot.people:
                if slot.starts_at <= now:
                    if slot.layer_id in switches and not slot.overridden:
                        line = f"on call ({plan.name}, switched on)"
                    else:
                        kind = "covering" if slot.overridden else "on call"
                        line = f"{kind} ({plan.name}) until {slot.ends_at:%a %d %b %H:%M} UTC"
                    rank = 0
                else:
                    line, rank = f"next on call ({plan.name}) {slot.starts_at:%a %d %b %H:%M} UTC", 1
                if person not in notes or rank < notes[person][0]:
                    notes[person] = (rank, line)
    return {person: line for person, (_, line) in notes.items()}
