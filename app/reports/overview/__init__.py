"""What the dashboard's overview and team pages show: counters, chart series, top services and errors.

The overview's figures are cached for ``DASHBOARD_CACHE_SECONDS`` (in Redis when ``REDIS_URL`` is set,
so every web process shares one computation; in process otherwise): a page that many people keep open
must not cost aggregates over a million occurrences per visit. The 30-day series is split: each past
day is cached on its own for much longer (it changes only by late events and retention), today is
counted with the short cache. docs/PERFORMANCE.md (Dashboard) has the measurements behind this.
"""
from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from typing import Callable

import orjson
from flask import current_app
from sqlalchemy import and_, func, select

from app.extensions import db
from app.models import (
    OPEN_STATUSES, SEVERITIES, SEVERITY_LEVEL, AuditEvent, Developer, ErrorEscalation, ErrorLog, ErrorNotification,
    ErrorOccurrence, Service,
)
from app.models.types import utcnow
from app.triage.oncall import on_call_ids
from app.reports.errors import open_errors_by_assignee

log = logging.getLogger("heartwatch.dashboard")
CACHE_PREFIX = "heartwatch:dashboard:"
HISTORY_CACHE_SECONDS = 600
OLD_DAY_SECONDS = 86400
SEVERITY_ORDER = tuple(reversed(SEVERITIES))  # critical first
_local_lock = threading.Lock()


# --- the cache -----------------------------------------------------------------------------------

def _local_cache() -> dict:
    return current_app.extensions.setdefault("heartwatch.dashboard_cache", {})


def cached(name: str, ttl: float, compute: Callable[[], object]):
    """``compute()``'s JSON-serialisable result, at most ``ttl`` seconds old (0: not cached)."""
    if ttl <= 0:
        return compute()
    hit = cached_value(name)
    if hit is not None:
        return hit
    value = compute()
    store_value(name, value, ttl)
    return value


def cached_value(name: str):
    """A cached value, or None."""
    url = current_app.config.get("REDIS_URL")
    if url:
        from app.platform.feed import _redis

        try:
            hit = _redis(url).get(CACHE_PREFIX + name)
        except Exception:
            log.warning("dashboard cache could not reach Redis", exc_info=True)
            return None
        return orjson.loads(hit) if hit is not None else None
    hit = _local_cache().get(name)
    return hit[1] if hit is not None and hit[0] > time.monotonic() else None


def store_value(name: str, value, ttl: float) -> None:
    url = current_app.config.get("REDIS_URL")
    if url:
        from app.platform.feed import _redis

        try:
            _redis(url).set(CACHE_PREFIX + name, orjson.dumps(value), px=int(ttl * 1000))
        except Exception:
            log.warning("dashboard cache could not reach Redis", exc_info=True)
        return
    with _local_lock:
        _local_cache()[name] = (time.monotonic() + ttl, value)


def clear_cache(*names: str) -> None:
    """Forget cached figures: the named ones, or all (after a bulk load, and between tests)."""
    url = current_app.config.get("REDIS_URL")
    if url:
        from app.platform.feed import _redis

        client = _redis(url)
        keys = [CACHE_PREFIX + n for n in names] if names else list(client.scan_iter(CACHE_PREFIX + "*"))
        if keys:
            client.delete(*keys)
    with _local_lock:
        store = _local_cache()
        if names:
            for name in names:
                store.pop(name, None)
        else:
            store.clear()


def _ttl() -> float:
    return float(current_app.config.get("DASHBOARD_CACHE_SECONDS", 5))


# --- the overview --------------------------------------------------------------------------------

def overview() -> dict:
    """Counters, the 24-hour series, top services and top errors (cached; see the module docstring).
    The 30-day series is ``daily()``: the page asks for it when it is shown."""
    return cached("overview", _ttl(), _compute_overview)


def daily() -> dict:
    """The 30-day series, cached like the overview (its past days much longer, see ``_past_days``)."""
    return cached("daily", _ttl(), lambda: daily_series(utcnow()))


def _compute_overview() -> dict:
    now = utcnow()
    open_by_service = _open_by_service()
    return {
        "computed_at": now.isoformat(),
        "counters": counters(now, open_by_service),
        "hourly": hourly_series(now),
        "top_services": top_services(now, open_by_service=open_by_service),
        "top_errors": top_errors(now),
    }


def _open_by_service() -> dict[int, tuple[int, int, int]]:
    """Per service: open errors, critical open errors, open errors nobody is assigned to (one scan
    of the open errors serves the counters and the top services)."""
    rows = db.session.execute(
        select(ErrorLog.service_id, func.count(),
               func.count().filter(ErrorLog.severity_level == SEVERITY_LEVEL["critical"]),
               func.count().filter(ErrorLog.assigned_to_id.is_(None)))
        .where(ErrorLog.status.in_(OPEN_STATUSES)).group_by(ErrorLog.service_id)
    ).all()
    return {service_id: (int(n), int(critical), int(unassigned)) for service_id, n, critical, unassigned in rows}


def counters(now: dt.datetime | None = None, open_by_service: dict | None = None) -> dict:
    """Open, critical open, new in the last hour, unassigned (open and nobody's)."""
    now = now or utcnow()
    per_service = open_by_service if open_by_service is not None else _open_by_service()
    new_last_hour = db.session.execute(
        select(func.count()).select_from(ErrorLog).where(ErrorLog.first_seen >= now - dt.timedelta(hours=1))
    ).scalar_one()
    return {"open": sum(v[0] for v in per_service.values()),
            "critical_open": sum(v[1] for v in per_service.values()),
            "new_last_hour": new_last_hour, "unassigned": sum(v[2] for v in per_service.values())}


def _truncated(unit: str, column):
    """The timestamp truncated to the UTC hour or day. PostgreSQL's date_trunc is several times
    cheaper than formatting every row as text (measured in bench/dashboard.py); labels are made in
    Python from the few groups instead."""
    if db.engine.dialect.name == "postgresql":
        return func.date_trunc(unit, func.timezone("UTC", column))
    return func.strftime("%Y-%m-%dT%H:00" if unit == "hour" else "%Y-%m-%d", column)


def _label(value, unit: str) -> str:
    if isinstance(value, str):
        return value
    return value.strftime("%Y-%m-%dT%H:00" if unit == "hour" else "%Y-%m-%d")


def _counts(unit: str, since: dt.datetime, until: dt.datetime | None = None) -> list[list]:
    """[label, severity, count] of the occurrences from ``since`` to ``until`` by hour or day."""
    bucket = _truncated(unit, ErrorOccurrence.timestamp)
    stmt = select(bucket, ErrorOccurrence.severity, func.count()).where(ErrorOccurrence.timestamp >= since)
    if until is not None:
        stmt = stmt.where(ErrorOccurrence.timestamp < until)
    return [[_label(label, unit), severity, int(count)]
            for label, severity, count in db.session.execute(stmt.group_by(bucket, ErrorOccurrence.severity))]


def _stacked(labels: list[str], rows) -> dict:
    """{"labels": [...], "series": {severity: [count per label]}} from (label, severity, count) rows."""
    index = {label: i for i, label in enumerate(labels)}
    series = {severity: [0] * len(labels) for severity in SEVERITY_ORDER}
    for label, severity, count in rows:
        if label in index and severity in series:
            series[severity][index[label]] += int(count)
    return {"labels": labels, "series": series}


def hourly_series(now: dt.datetime | None = None, hours: int = 24) -> dict:
    """Occurrences per hour over the last ``hours`` hours (the current hour included), by severity."""
    now = now or utcnow()
    current = now.replace(minute=0, second=0, microsecond=0)
    starts = [current - dt.timedelta(hours=h) for h in range(hours - 1, -1, -1)]
    return _stacked([s.strftime("%Y-%m-%dT%H:00") for s in starts], _counts("hour", starts[0]))


def _past_days(days: list[dt.datetime], today: dt.datetime) -> list[list]:
    """Counts of past days, each cached on its own: yesterday for DASHBOARD_HISTORY_CACHE_SECONDS
    (late events still arrive), older days for half a day to a day, at random, so they do not all
    expire in the same request. A cold cache costs one range query for the days missing, usually
    none or one."""
    ttl = float(current_app.config.get("DASHBOARD_HISTORY_CACHE_SECONDS", HISTORY_CACHE_SECONDS))
    if _ttl() <= 0:
        return _counts("day", days[0], today)
    rows: list[list] = []
    missing = []
    for day in days:
        hit = cached_value(f"day:{day:%Y-%m-%d}")
        if hit is None:
            missing.append(day)
        else:
            rows.extend(hit)
    if missing:
        fresh = _counts("day", missing[0], missing[-1] + dt.timedelta(days=1))
        yesterday = today - dt.timedelta(days=1)
        for day in missing:
            label = f"{day:%Y-%m-%d}"
            own = [row for row in fresh if row[0] == label]
            store_value(f"day:{label}", own, ttl if day >= yesterday else OLD_DAY_SECONDS * random.uniform(0.5, 1.0))
            rows.extend(own)
    return rows


def daily_series(now: dt.datetime | None = None, days: int = 30) -> dict:
    """Occurrences per day (UTC) over the last ``days`` days (today included), by severity."""
    now = now or utcnow()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    first = today - dt.timedelta(days=days - 1)
    past = [first + dt.timedelta(days=d) for d in range(days - 1)]
    labels = [f"{d:%Y-%m-%d}" for d in past] + [f"{today:%Y-%m-%d}"]
    return _stacked(labels, [*_past_days(past, today), *_counts("day", today)])


def top_services(now: dt.datetime | None = None, limit: int = 6, open_by_service: dict | None = None) -> list[dict]:
    """Services by open errors, with their critical open errors and their events in the last 24 hours."""
    now = now or utcnow()
    per_service = open_by_service if open_by_service is not None else _open_by_service()
    event_rows = dict(db.session.execute(
        select(ErrorOccurrence.service_id, func.count())
        .where(ErrorOccurrence.timestamp >= now - dt.timedelta(hours=24)).group_by(ErrorOccurrence.service_id)
    ).all())
    services = db.session.execute(select(Service.id, Service.name, Service.slug)).all()
    items = [{"id": sid, "name": name, "slug": slug, "open": per_service.get(sid, (0, 0, 0))[0],
              "critical_open": per_service.get(sid, (0, 0, 0))[1], "events_24h": event_rows.get(sid, 0)}
             for sid, name, slug in services]
    items = [i for i in items if i["open"] or i["events_24h"]]
    items.sort(key=lambda i: (-i["open"], -i["events_24h"], i["name"]))
    return items[:limit]


def top_errors(now: dt.datetime | None = None, limit: int = 6) -> list[dict]:
    """The errors with the most events in the last 24 hours."""
    now = now or utcnow()
    counts = db.session.execute(
        select(ErrorOccurrence.error_id, func.count().label("events"))
        .where(ErrorOccurrence.timestamp >= now - dt.timedelta(hours=24))
        .group_by(ErrorOccurrence.error_id).order_by(func.count().desc(), ErrorOccurrence.error_id).limit(limit)
    ).all()
    if not counts:
        return []
    errors = {e.id: e for e in db.session.execute(
        select(ErrorLog).where(ErrorLog.id.in_([c[0] for c in counts]))).scalars()}
    slugs = dict(db.session.execute(select(Service.id, Service.slug)).all())
    result = []
    for error_id, events in counts:
        error = errors.get(error_id)
        if error is None:
            continue
        result.append({"id": error.id, "error_type": error.error_type, "message": error.message[:200],
                       "severity": error.severity, "status": error.status,
                       "service": slugs.get(error.service_id), "events_24h": events,
                       "occurrence_count": error.occurrence_count})
    return result


def recent_errors(limit: int = 15) -> list[ErrorLog]:
    """The errors seen last: what the live feed shows before new events arrive."""
    return list(db.session.execute(
        select(ErrorLog).order_by(ErrorLog.last_seen.desc(), ErrorLog.id).limit(limit)
    ).scalars())


# --- one error -----------------------------------------------------------------------------------

def occurrence_series(error_id: str, days: int = 14, now: dt.datetime | None = None) -> dict:
    """An error's occurrences per day over the last ``days`` days (for its small chart)."""
    now = now or utcnow()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    first = today - dt.timedelta(days=days - 1)
    bucket = _truncated("day", ErrorOccurrence.timestamp)
    rows = {_label(day, "day"): count for day, count in db.session.execute(
        select(bucket, func.count()).where(ErrorOccurrence.error_id == error_id, ErrorOccurrence.timestamp >= first)
        .group_by(bucket)
    ).all()}
    labels = [(first + dt.timedelta(days=d)).strftime("%Y-%m-%d") for d in range(days)]
    return {"labels": labels, "values": [int(rows.get(label, 0)) for label in labels]}


def timeline(error: ErrorLog, limit: int = 200) -> list[dict]:
    """What happened to an error, newest first: audit events (assigned, escalated, resolved, regressed,
    ...) and notification attempts, with the people named."""
    events = list(db.session.execute(
        select(AuditEvent).where(AuditEvent.error_id == error.id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit)
    ).scalars())
    notifications = list(db.session.execute(
        select(ErrorNotification).where(ErrorNotification.error_id == error.id)
        .order_by(ErrorNotification.created_at.desc(), ErrorNotification.id.desc()).limit(limit)
    ).scalars())
    ids = set()
    for event in events:
        details = event.details or {}
        for key in ("from", "to"):
            if isinstance(details.get(key), int) and event.action in ("error.assigned", "error.unassigned",
                                                                       "error.escalated"):
                ids.add(details[key])
    names = dict(db.session.execute(select(Developer.id, Developer.name).where(Developer.id.in_(ids))).all()) \
        if ids else {}
    items = [{"kind": "audit", "at": e.created_at, "action": e.action, "actor": e.actor_label,
              "details": e.details or {}, "names": names} for e in events]
    items += [{"kind": "notification", "at": n.created_at, "action": "notified", "notification": n}
              for n in notifications]
    items.append({"kind": "first_seen", "at": error.first_seen, "action": "first_seen"})
    items.sort(key=lambda item: item["at"], reverse=True)
    return items[:limit]


def assignable_developers(error: ErrorLog) -> list[dict]:
    """Active developers for the assign form: those who know the error's service first, each with
    their current load (open errors assigned) and max load."""
    developers = list(db.session.execute(
        select(Developer).where(Developer.active.is_(True)).order_by(Developer.name)
    ).scalars())
    loads = dict(db.session.execute(
        select(ErrorLog.assigned_to_id, func.count())
        .where(ErrorLog.assigned_to_id.is_not(None), ErrorLog.status.in_(OPEN_STATUSES))
        .group_by(ErrorLog.assigned_to_id)
    ).all())
    rows = []
    for developer in developers:
        knows = any(s.id == error.service_id for s in developer.services)
        rows.append({"developer": developer, "knows_service": knows, "load": loads.get(developer.id, 0)})
    rows.sort(key=lambda r: (not r["knows_service"], r["load"] >= r["developer"].max_load, r["load"],
                             r["developer"].name))
    return rows


def escalations_of(error_id: str) -> list[ErrorEscalation]:
    return list(db.session.execute(
        select(ErrorEscalation).where(ErrorEscalation.error_id == error_id).order_by(ErrorEscalation.created_at.desc())
    ).scalars())


# --- team ----------------------------------------------------------------------------------------

def team() -> list[dict]:
    """Every developer with services, role, on-call state, open errors by severity, current and max load."""
    counts = open_errors_by_assignee()
    answering = on_call_ids()
    result = []
    for developer in db.session.execute(
            select(Developer).order_by(Developer.active.desc(), Developer.name)).scalars():
        by_severity = {s: counts.get(developer.id, {}).get(s, 0) for s in SEVERITY_ORDER}
        load = sum(by_severity.values())
        on_call = developer.id in answering
        result.append({"developer": developer, "load": load, "by_severity": by_severity,
                       "over": load >= developer.max_load,
                       "available": developer.active and on_call and load < developer.max_load})
    return result


def workload_chart(rows: list[dict]) -> dict:
    """The workload chart's data: open errors per developer by severity, against their max load."""
    shown = [r for r in rows if r["developer"].active]
    return {"labels": [r["developer"].name for r in shown],
            "series": {s: [r["by_severity"][s] for r in shown] for s in SEVERITY_ORDER},
            "max_load": [r["developer"].max_load for r in shown]}


# --- patterns ------------------------------------------------------------------------------------

def pattern_sparklines(pattern_ids: list[int], days: int = 14, now: dt.datetime | None = None) -> dict[int, list[int]]:
    """Occurrences per day of each pattern's errors over the last ``days`` days."""
    if not pattern_ids:
        return {}
    now = now or utcnow()
    first = now.replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=days - 1)
    labels = [(first + dt.timedelta(days=d)).strftime("%Y-%m-%d") for d in range(days)]
    index = {label: i for i, label in enumerate(labels)}
    bucket = _truncated("day", ErrorOccurrence.timestamp)
    rows = db.session.execute(
        select(ErrorLog.pattern_id, bucket, func.count())
        .join(ErrorLog, and_(ErrorLog.id == ErrorOccurrence.error_id, ErrorLog.pattern_id.in_(pattern_ids)))
        .where(ErrorOccurrence.timestamp >= first).group_by(ErrorLog.pattern_id, bucket)
    ).all()
    result = {pid: [0] * days for pid in pattern_ids}
    for pid, day, count in rows:
        label = _label(day, "day")
        if label in index:
            result[pid][index[label]] = int(count)
    return result


def sparkline_points(values: list[int], width: int = 120, height: int = 28) -> str:
    """SVG polyline points for a sparkline (drawn on the server: it shows without JavaScript)."""
    if not values:
        return ""
    top = max(values) or 1
    step = width / max(1, len(values) - 1)
    return " ".join(f"{round(i * step, 1)},{round(height - 2 - (v / top) * (height - 4), 1)}"
                    for i, v in enumerate(values))


# --- notifications and escalations ---------------------------------------------------------------

def notifications_page(channel: str | None, status: str | None, recipient: str | None, page: int,
                       per_page: int = 50) -> tuple[list[ErrorNotification], int]:
    """The notification audit trail, newest first, filtered by channel, status and recipient
    (an address, number or name fragment)."""
    from app.reports.errors import notifications_query, paged
    from app.platform.sql import contains_ci

    stmt = notifications_query(channel or None, status or None)
    if recipient:
        developer_ids = select(Developer.id).where(contains_ci(Developer.name, recipient))
        stmt = stmt.where(contains_ci(ErrorNotification.recipient, recipient)
                          | ErrorNotification.recipient_id.in_(developer_ids))
    return paged(stmt, page, per_page)


def escalations_page(page: int, per_page: int = 50) -> tuple[list[ErrorEscalation], list[ErrorEscalation], int]:
    """Open escalations (the error still open, the escalation not closed) and one page of past ones."""
    from app.reports.errors import paged

    is_open = and_(ErrorEscalation.resolved_at.is_(None), ErrorLog.status.in_(OPEN_STATUSES))
    base = select(ErrorEscalation).join(ErrorLog, ErrorLog.id == ErrorEscalation.error_id)
    open_items = list(db.session.execute(
        base.where(is_open).order_by(ErrorEscalation.level.desc(), ErrorEscalation.created_at.desc()).limit(200)
    ).scalars())
    past, total = paged(base.where(~is_open).order_by(ErrorEscalation.created_at.desc(), ErrorEscalation.id.desc()),
                        page, per_page)
    return open_items, past, total


# --- on-call schedule ------------------------------------------------------------------------------

SCHEDULE_DAYS = 14


def shift_notes(now: dt.datetime | None = None) -> dict[int, str]:
    """A short line per developer about their on-call schedule: the shift or cover they are on now,
    or their next shift within two weeks."""
    from app.triage import oncall

    now = now or utcnow()
    plan = oncall.schedule(now, now + dt.timedelta(days=SCHEDULE_DAYS))
    notes: dict[int, str] = {}
    for override in plan["overrides"]:
        if override.starts_at <= now < override.ends_at:
            notes[override.developer_id] = f"covering until {override.ends_at:%a %d %b %H:%M} UTC"
            if override.replaces_id is not None:
                notes.setdefault(override.replaces_id, f"covered until {override.ends_at:%a %d %b %H:%M} UTC")
    for shift in plan["shifts"]:
        if shift.developer_id in notes:
            continue
        if shift.starts_at <= now < shift.ends_at:
            notes[shift.developer_id] = f"on shift until {shift.ends_at:%a %d %b %H:%M} UTC"
        else:
            notes[shift.developer_id] = f"next shift {shift.starts_at:%a %d %b %H:%M} UTC"
    return notes


def on_call_now() -> set[int]:
    """Who is on call at this moment: the flag, a shift or an override (the routing's own rule)."""
    from app.triage import oncall

    return oncall.on_call_ids()


def schedule(days: int = SCHEDULE_DAYS, now: dt.datetime | None = None) -> dict:
    """Shifts and overrides from a day ago to ``days`` ahead, for the shift page."""
    from app.triage import oncall

    now = now or utcnow()
    return oncall.schedule(now - dt.timedelta(days=1), now + dt.timedelta(days=days))


# --- the error list's choices -------------------------------------------------------------------------

ENVIRONMENTS_CACHE_SECONDS = 60


def environments() -> list[str]:
    """The environments errors were seen in, for the list's filter (a minute old at most: finding them
    means reading every error, and new environments are rare)."""
    def compute() -> list[str]:
        return sorted(db.session.execute(
            select(ErrorLog.environment).where(ErrorLog.environment.is_not(None)).distinct().limit(50)).scalars())

    return cached("environments", ENVIRONMENTS_CACHE_SECONDS if _ttl() > 0 else 0, compute)
