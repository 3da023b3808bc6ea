"""What the dashboard's overview shows: counters, chart series, top services and errors; an error's
and a pattern's small charts. (The team is ``app.reports.team``, timelines ``app.reports.activity``.)

Every count of events here is read from the hourly rollups (app/reports/hourly.py: the charts' hours
and days exactly, "the last 24 hours" with its first hour pro rata), not from error_occurrences, so it
stays exact when old events are deleted or an error's events are thinned to its budget.

The overview's figures are cached for ``DASHBOARD_CACHE_SECONDS`` in ``app.platform.kv`` (in Redis
when ``REDIS_URL`` is set, so every web process shares one computation; in process otherwise): a
page that many people keep open must not cost an aggregate per visit. The 30-day series is split: each past
day is cached on its own for much longer (it changes only by late events), today is
counted with the short cache. docs/PERFORMANCE.md (Dashboard) has the measurements behind this.
"""
from __future__ import annotations

import datetime as dt
import logging
import random
from typing import Callable

import orjson
from flask import current_app
from sqlalchemy import and_, func, select

from app.extensions import db
from app.models import OPEN_STATUSES, SEVERITIES, SEVERITY_LEVEL, ErrorHourlyCount, ErrorLog, Service, ServiceHourlyCount
from app.reports import hourly
from app.triage.kinds import routable_clause
from app.models.types import utcnow
from app.platform import kv

log = logging.getLogger("heartwatch.dashboard")
CACHE_PREFIX = "heartwatch:dashboard:"
HISTORY_CACHE_SECONDS = 600
OLD_DAY_SECONDS = 86400
SEVERITY_ORDER = tuple(reversed(SEVERITIES))  # critical first


# --- the cache -----------------------------------------------------------------------------------

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
    """A cached value, or None (also when Redis cannot be reached: the figures are computed)."""
    try:
        hit = kv.store().get(CACHE_PREFIX + name)
    except Exception:
        log.warning("dashboard cache could not reach Redis", exc_info=True)
        return None
    return orjson.loads(hit) if hit is not None else None


def store_value(name: str, value, ttl: float) -> None:
    try:
        kv.store().set(CACHE_PREFIX + name, orjson.dumps(value), ttl)
    except Exception:
        log.warning("dashboard cache could not reach Redis", exc_info=True)


def clear_cache(*names: str) -> None:
    """Forget cached figures: the named ones, or all (after a bulk load, and between tests)."""
    store = kv.store()
    if names:
        store.delete(*(CACHE_PREFIX + n for n in names))
    else:
        store.delete_prefix(CACHE_PREFIX)


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
    of the open errors serves the counters and the top services). Security reports are not errors here,
    as in the error list they link to."""
    rows = db.session.execute(
        select(ErrorLog.service_id, func.count(),
               func.count().filter(ErrorLog.severity_level == SEVERITY_LEVEL["critical"]),
               func.count().filter(ErrorLog.assigned_to_id.is_(None)))
        .where(ErrorLog.status.in_(OPEN_STATUSES), routable_clause()).group_by(ErrorLog.service_id)
    ).all()
    return {service_id: (int(n), int(critical), int(unassigned)) for service_id, n, critical, unassigned in rows}


def counters(now: dt.datetime | None = None, open_by_service: dict | None = None) -> dict:
    """Open, critical open, new in the last hour, unassigned (open and nobody's)."""
    now = now or utcnow()
    per_service = open_by_service if open_by_service is not None else _open_by_service()
    new_last_hour = db.session.execute(
        select(func.count()).select_from(ErrorLog).where(ErrorLog.first_seen >= now - dt.timedelta(hours=1),
                                                         routable_clause())
    ).scalar_one()
    return {"open": sum(v[0] for v in per_service.values()),
            "critical_open": sum(v[1] for v in per_service.values()),
            "new_last_hour": new_last_hour, "unassigned": sum(v[2] for v in per_service.values())}


def truncated(unit: str, column):
    """The timestamp truncated to the UTC hour or day. PostgreSQL's date_trunc is several times
    cheaper than formatting every row as text (measured in bench/dashboard.py); labels are made in
    Python from the few groups instead."""
    if db.engine.dialect.name == "postgresql":
        return func.date_trunc(unit, func.timezone("UTC", column))
    return func.strftime("%Y-%m-%dT%H:00" if unit == "hour" else "%Y-%m-%d", column)


def bucket_label(value, unit: str) -> str:
    if isinstance(value, str):
        return value
    return value.strftime("%Y-%m-%dT%H:00" if unit == "hour" else "%Y-%m-%d")


def _counts(unit: str, since: dt.datetime, until: dt.datetime | None = None) -> list[list]:
    """[label, severity, count] of the events from ``since`` to ``until`` (whole hours) by hour or day."""
    rows = ServiceHourlyCount
    bucket = rows.hour if unit == "hour" else truncated("day", rows.hour)
    stmt = (select(bucket, rows.severity, func.sum(rows.events)).where(hourly.in_window(rows, since, until))
            .group_by(bucket, rows.severity))
    return [[bucket_label(label, unit), severity, int(count)] for label, severity, count in db.session.execute(stmt)]


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
    since, rows = now - dt.timedelta(hours=24), ServiceHourlyCount
    event_rows = {service_id: hourly.count(events) for service_id, events in db.session.execute(
        select(rows.service_id, hourly.window_sum(rows, since, None, now))
        .where(hourly.window_where(rows, since)).group_by(rows.service_id)
    ).all()}
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
    since, rows = now - dt.timedelta(hours=24), ErrorHourlyCount
    events = hourly.window_sum(rows, since, None, now)
    counts = [(error_id, hourly.count(n)) for error_id, n in db.session.execute(
        select(rows.error_id, events).where(hourly.window_where(rows, since))
        .group_by(rows.error_id).order_by(events.desc(), rows.error_id).limit(limit)
    ).all()]
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
        select(ErrorLog).where(routable_clause()).order_by(ErrorLog.last_seen.desc(), ErrorLog.id).limit(limit)
    ).scalars())


# --- one error -----------------------------------------------------------------------------------

# --- patterns ------------------------------------------------------------------------------------

def pattern_sparklines(pattern_ids: list[int], days: int = 14, now: dt.datetime | None = None) -> dict[int, list[int]]:
    """Occurrences per day of each pattern's errors over the last ``days`` days."""
    if not pattern_ids:
        return {}
    now = now or utcnow()
    first = now.replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=days - 1)
    labels = [(first + dt.timedelta(days=d)).strftime("%Y-%m-%d") for d in range(days)]
    index = {label: i for i, label in enumerate(labels)}
    bucket = truncated("day", ErrorHourlyCount.hour)
    rows = db.session.execute(
        select(ErrorLog.pattern_id, bucket, func.sum(ErrorHourlyCount.events))
        .join(ErrorLog, and_(ErrorLog.id == ErrorHourlyCount.error_id, ErrorLog.pattern_id.in_(pattern_ids)))
        .where(hourly.in_window(ErrorHourlyCount, first)).group_by(ErrorLog.pattern_id, bucket)
    ).all()
    result = {pid: [0] * days for pid in pattern_ids}
    for pid, day, count in rows:
        label = bucket_label(day, "day")
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


# --- the error list's choices -------------------------------------------------------------------------

ENVIRONMENTS_CACHE_SECONDS = 60


def environments() -> list[str]:
    """The environments errors were seen in, for the list's filter (a minute old at most: finding them
    means reading every error, and new environments are rare)."""
    def compute() -> list[str]:
        return sorted(db.session.execute(
            select(ErrorLog.environment).where(ErrorLog.environment.is_not(None)).distinct().limit(50)).scalars())

    return cached("environments", ENVIRONMENTS_CACHE_SECONDS if _ttl() > 0 else 0, compute)
