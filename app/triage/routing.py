"""Routing: who gets a new, regressed or graver error, and on which channels.

The decision tree (DESIGN section 5): developers whose services include the error's service, on
call in the schedule of the error's service (else the default schedule: app/triage/schedules.py), with current_load < max_load, least loaded first, ties to the one
assigned least recently (round robin); the first is assigned. Nobody available: the error stays
unassigned, the reason goes into its timeline, and the service's lead (else the managers and
admins) is told instead.

Routing runs in the notification job right after the ingest commit, not inside the record
transaction: the ingest path stays one upsert and one insert per event (the measured hot path),
while routing needs several reads (memberships, shifts, loads) and row locks; it only runs for
new, regressed or graver errors, and the job starts well within a second. The ingest commits the
event's outbox row (app/platform/outbox.py); an event whose hand-off was lost is routed by the
worker's drain of it (``app.notify.recovery.drain_outbox``). Routing locks the error
row first, so two workers routing the same error agree, and re-counts a candidate's load under its
row lock, so two errors routed at once cannot push a developer past max_load.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy import select, update

from app.extensions import db
from app.models import OPEN_STATUSES, Developer, ErrorLog, Service, developer_services
from app.models.types import utcnow
from app.triage import kinds, oncall
from app.accounts.preferences import DEFAULT_CHANNELS, channels_for
from app.reports import team
from app.triage.changes import assign_error

SEVERITY_CHANNELS = DEFAULT_CHANNELS


@dataclass
class RoutingDecision:
    """What routing did for one error event."""

    assignee_id: int | None
    assigned_now: bool
    reason: str
    notify_ids: list[int] = field(default_factory=list)
    fallback: bool = False

    def as_json(self) -> dict:
        return {"assignee": self.assignee_id, "assigned_now": self.assigned_now, "reason": self.reason,
                "notify": self.notify_ids, "fallback": self.fallback}

    @classmethod
    def from_json(cls, saved: dict) -> RoutingDecision:
        """The decision ``as_json`` saved (on the event's dispatch row)."""
        return cls(saved.get("assignee"), bool(saved.get("assigned_now")), saved.get("reason") or "",
                   list(saved.get("notify") or []), bool(saved.get("fallback")))


def lock_error(error_id: str) -> ErrorLog | None:
    """Lock an error's row for the rest of the transaction and read it fresh.

    A no-op UPDATE takes the row lock on PostgreSQL and the write lock on SQLite alike, so a
    second worker routing the same error waits here and then sees the first one's assignment.
    """
    db.session.execute(update(ErrorLog).where(ErrorLog.id == error_id).values(assigned_to_id=ErrorLog.assigned_to_id)
                       .execution_options(synchronize_session=False))
    return db.session.execute(select(ErrorLog).where(ErrorLog.id == error_id)
                              .execution_options(populate_existing=True)).scalar_one_or_none()


def _loads(developer_ids: list[int]) -> dict[int, int]:
    # The team read model's count, so routing ranks by the numbers the API and dashboard show.
    return {developer_id: load.total for developer_id, load in team.open_loads(developer_ids).items()}


def candidates(service_id: int, at: dt.datetime | None = None) -> list[tuple[Developer, int]]:
    """Available developers for a service, in the order routing tries them, with their loads."""
    members = list(db.session.execute(
        select(Developer).join(developer_services, developer_services.c.developer_id == Developer.id)
        .where(developer_services.c.service_id == service_id, Developer.active.is_(True))
    ).scalars())
    on_call = oncall.on_call_ids([d.id for d in members], at, service_id=service_id)
    loads = _loads([d.id for d in members])
    available = [(d, loads[d.id]) for d in members if d.id in on_call and loads[d.id] < d.max_load]
    never = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    available.sort(key=lambda pair: (pair[1], pair[0].last_assigned_at or never, pair[0].id))
    return available


def why_nobody(service_id: int, at: dt.datetime | None = None) -> str:
    """The reason no developer could take an error of this service, in words for the timeline."""
    members = list(db.session.execute(
        select(Developer).join(developer_services, developer_services.c.developer_id == Developer.id)
        .where(developer_services.c.service_id == service_id, Developer.active.is_(True))
    ).scalars())
    if not members:
        return "no active developer knows this service"
    on_call = oncall.on_call_ids([d.id for d in members], at, service_id=service_id)
    if not on_call:
        return "none of the service's developers is on call"
    return "every developer on call for this service is at their max load"


def fallback_recipients(service_id: int) -> list[Developer]:
    """Who is told when nobody can be assigned: the service's lead, else the managers and admins."""
    service = db.session.get(Service, service_id)
    if service is not None and service.lead is not None and service.lead.active:
        return [service.lead]
    return list(db.session.execute(
        select(Developer).where(Developer.role.in_(("manager", "admin")), Developer.active.is_(True))
        .order_by(Developer.id)
    ).scalars())


def _lock_developer(developer_id: int) -> None:
    if db.engine.dialect.name == "postgresql":
        db.session.execute(select(Developer.id).where(Developer.id == developer_id).with_for_update())


def route_error(error_id: str, event: str, at: dt.datetime | None = None, *,
                commit: bool = True) -> RoutingDecision | None:
    """Assign an open error to the first available developer (see the module docstring); commits,
    unless ``commit`` is false: then the caller commits the assignment with what it keeps of the
    decision (the notification job saves it on the event's dispatch row, in the same transaction).

    An error that has an assignee already keeps them when the event is ``error.created`` (a person
    or an earlier run assigned it). On a regression or a rise in severity the assignee keeps it when
    still active and on call; otherwise the error is routed again.
    """
    at = at or utcnow()
    error = lock_error(error_id)
    if error is None:
        db.session.rollback()
        return None
    decision = _decide(error, event, at)
    if commit:
        db.session.commit()
    return decision


def _decide(error: ErrorLog, event: str, at: dt.datetime) -> RoutingDecision:
    """``route_error``'s decision for the locked error, its assignment made in the session."""
    if not kinds.is_routable(error):
        return RoutingDecision(None, False, f"a {error.kind} report is not routed")
    if error.status not in OPEN_STATUSES:
        return RoutingDecision(None, False, f"the error is {error.status}")
    current = db.session.get(Developer, error.assigned_to_id) if error.assigned_to_id else None
    if current is not None and event == "error.created":
        return RoutingDecision(current.id, False, "assigned already", [current.id])
    if current is not None and current.active and oncall.is_on_call(current, at, service_id=error.service_id):
        reason = "back to its assignee, who is on call" if event == "error.regressed" else "its assignee keeps it"
        if error.status == "new":
            assign_error(error, current, None, reason=f"routing: {reason}", commit=False)
            return RoutingDecision(current.id, True, reason, [current.id])
        return RoutingDecision(current.id, False, reason, [current.id])
    for developer, _ in candidates(error.service_id, at):
        _lock_developer(developer.id)
        load = _loads([developer.id])[developer.id]
        if load >= developer.max_load:
            continue  # someone else's routing took the last slot meanwhile
        reason = f"on call for the service, {load} open of {developer.max_load}, least loaded"
        assign_error(error, developer, None, reason=f"routing: {reason}", commit=False)
        return RoutingDecision(developer.id, True, reason, [developer.id])
    reason = why_nobody(error.service_id, at)
    from app.platform.audit import record_audit

    record_audit(None, "error.unrouted", "error", error.id, error_id=error.id, details={"reason": reason,
                                                                                       "event": event})
    people = fallback_recipients(error.service_id)
    return RoutingDecision(current.id if current else None, False, reason, [p.id for p in people], fallback=True)


def in_quiet_hours(developer: Developer, at: dt.datetime) -> bool:
    """Whether ``at`` falls in the developer's quiet hours (their time zone; windows may span midnight)."""
    start, end = developer.quiet_hours_start, developer.quiet_hours_end
    if not start or not end:
        return False
    try:
        zone = ZoneInfo(developer.timezone or current_app.config.get("TIMEZONE") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = at.astimezone(zone).strftime("%H:%M")
    return start <= local < end if start < end else (local >= start or local < end)


def personal_channels(developer: Developer, severity: str, reachable, at: dt.datetime | None = None) -> list[str]:
    """The channels for one developer and severity: the severity's channels intersected with the
    developer's preferences, without SMS and Slack in their quiet hours (e-mail waits in the inbox).

    ``reachable(developer, channel)`` says whether a channel is configured and has an address for
    them. A critical error always keeps at least one reachable channel: when the intersection is
    empty, the developer's first reachable critical channel (else the defaults') is used.
    """
    at = at or utcnow()
    chosen = channels_for(developer).get(severity, [])
    wanted = [c for c in SEVERITY_CHANNELS.get(severity, ()) if c in chosen]
    if in_quiet_hours(developer, at):
        wanted = [c for c in wanted if c == "email"]
    result = [c for c in wanted if reachable(developer, c)]
    if severity == "critical" and not result:
        order = list(channels_for(developer).get("critical", [])) + list(SEVERITY_CHANNELS["critical"])
        for channel in order:
            if reachable(developer, channel):
                return [channel]
    return result
