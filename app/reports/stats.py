"""Daily rollups per service (``error_stats``) and the figures of the daily summary.

A day is a calendar day in HEARTWATCH_TIMEZONE. At the configured time (08:00 by default) the day
before is rolled up; ``summary_details`` gives what the summary shows (counts by service and
severity, the top errors, the unresolved critical errors, the mean time to resolve) and
app/notify/alerts.py sends it to every active lead, manager and admin. Events are counted from the
hourly rollups (app/reports/hourly.py): a day is its hours, exact for every time zone whose offset is
whole hours.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    OPEN_STATUSES, SEVERITIES, SEVERITY_LEVEL, ErrorHourlyCount, ErrorLog, ErrorStat, Service, ServiceHourlyCount,
)
from app.models.types import utcnow
from app.platform.sql import dialect_insert
from app.reports.hourly import in_window

TOP_ERRORS = 10


def zone() -> ZoneInfo:
    try:
        return ZoneInfo(current_app.config.get("TIMEZONE") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC start and end of a local calendar day (23 or 25 hours long on clock changes)."""
    tz = zone()
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.timezone.utc)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz).astimezone(dt.timezone.utc)
    return start, end


def local_today(now: dt.datetime | None = None) -> dt.date:
    return (now or utcnow()).astimezone(zone()).date()


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "no errors resolved"
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"


def _resolution_seconds(start: dt.datetime, end: dt.datetime, service_id: int | None = None) -> list[float]:
    stmt = select(ErrorLog.first_seen, ErrorLog.resolved_at).where(ErrorLog.resolved_at >= start,
                                                                   ErrorLog.resolved_at < end)
    if service_id is not None:
        stmt = stmt.where(ErrorLog.service_id == service_id)
    return [max(0.0, (resolved - first).total_seconds()) for first, resolved in db.session.execute(stmt)]


def rollup_day(day: dt.date) -> int:
    """Write (or rewrite) the rollup of one day for every service that had errors or resolutions."""
    start, end = day_bounds(day)
    by_severity: dict[int, dict[str, int]] = {}
    for service_id, severity, count in db.session.execute(
            select(ServiceHourlyCount.service_id, ServiceHourlyCount.severity, func.sum(ServiceHourlyCount.events))
            .where(in_window(ServiceHourlyCount, start, end))
            .group_by(ServiceHourlyCount.service_id, ServiceHourlyCount.severity)):
        by_severity.setdefault(service_id, {})[severity] = int(count)
    seen = select(ErrorHourlyCount.error_id).where(in_window(ErrorHourlyCount, start, end)).distinct().subquery()
    by_status: dict[int, dict[str, int]] = {}
    for service_id, status, count in db.session.execute(
            select(ErrorLog.service_id, ErrorLog.status, func.count()).join(seen, seen.c.error_id == ErrorLog.id)
            .group_by(ErrorLog.service_id, ErrorLog.status)):
        by_status.setdefault(service_id, {})[status] = int(count)
    resolved_services = set(db.session.execute(select(ErrorLog.service_id).where(
        ErrorLog.resolved_at >= start, ErrorLog.resolved_at < end).distinct()).scalars())
    services = sorted(set(by_severity) | resolved_services)
    for service_id in services:
        durations = _resolution_seconds(start, end, service_id)
        values = {"total": sum(by_severity.get(service_id, {}).values()),
                  "by_severity": by_severity.get(service_id, {}), "by_status": by_status.get(service_id, {}),
                  "avg_resolution_seconds": sum(durations) / len(durations) if durations else None}
        _upsert_stat(day, service_id, values)
    db.session.commit()
    return len(services)


def _upsert_stat(day: dt.date, service_id: int, values: dict) -> None:
    """One row per day and service; a rerun (or a second worker) rewrites it with the same figures."""
    stmt = dialect_insert()(ErrorStat).values(day=day, service_id=service_id, created_at=utcnow(), **values)
    db.session.execute(stmt.on_conflict_do_update(index_elements=["day", "service_id"], set_=values))


def summary_details(day: dt.date) -> dict:
    """Everything the summary e-mail shows for one day."""
    start, end = day_bounds(day)
    base = current_app.config["BASE_URL"]
    services = {s.id: s for s in db.session.execute(select(Service)).scalars()}
    stats = db.session.execute(select(ErrorStat).where(ErrorStat.day == day)).scalars().all()
    by_service = sorted(({"service": services[s.service_id].name if s.service_id in services else str(s.service_id),
                          "total": s.total, "by_severity": s.by_severity or {}} for s in stats if s.total),
                        key=lambda row: (-row["total"], row["service"]))
    events = func.sum(ErrorHourlyCount.events)
    top = db.session.execute(
        select(ErrorHourlyCount.error_id, events).where(in_window(ErrorHourlyCount, start, end))
        .group_by(ErrorHourlyCount.error_id).order_by(events.desc(), ErrorHourlyCount.error_id)
        .limit(TOP_ERRORS)).all()
    top_errors = []
    for error_id, count in top:
        error = db.session.get(ErrorLog, error_id)
        if error is not None:
            top_errors.append({"title": f"{error.error_type}: {(error.message or '')[:120]}",
                               "service": services[error.service_id].name if error.service_id in services else "",
                               "severity": error.severity, "count": int(count), "status": error.status,
                               "url": f"{base}/errors/{error.id}"})
    critical = db.session.execute(
        select(ErrorLog).where(ErrorLog.severity_level == SEVERITY_LEVEL["critical"], ErrorLog.status.in_(OPEN_STATUSES))
        .order_by(ErrorLog.first_seen).limit(25)).scalars()
    unresolved = [{"title": f"{e.error_type}: {(e.message or '')[:120]}",
                   "service": services[e.service_id].name if e.service_id in services else "",
                   "first_seen": f"{e.first_seen:%Y-%m-%d %H:%M} UTC", "assignee": e.assigned_to.name if e.assigned_to else None,
                   "url": f"{base}/errors/{e.id}"} for e in critical]
    durations = _resolution_seconds(start, end)
    mean = sum(durations) / len(durations) if durations else None
    return {"day": day.isoformat(), "timezone": str(zone()), "severities": list(reversed(SEVERITIES)),
            "total": sum(row["total"] for row in by_service), "by_service": by_service, "top_errors": top_errors,
            "unresolved_critical": unresolved, "mttr": format_duration(mean), "mttr_seconds": mean,
            "resolved_count": len(durations)}


def generate_daily_summary(now: dt.datetime | None = None, day: dt.date | None = None) -> dict:
    """Roll up the day before (local time); app.notify.alerts then sends the summary of that day."""
    day = day or local_today(now) - dt.timedelta(days=1)
    rollup_day(day)
    return {"day": day.isoformat()}
