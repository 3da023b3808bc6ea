"""Threshold checks: errors per hour, critical errors per hour, a rising rate, the escalation backlog.

Every run records what it measured (a ``metric_snapshots`` row) and which breaches are due an
alert: the same threshold is not alerted again until its cool-down has passed (``alert_states``,
claimed with one conditional UPDATE, so two workers never both send). This module only measures;
app/notify/alerts.py e-mails the admins (and ``threshold.breached`` webhook subscribers) with the
figures, the services and errors behind them and what to do.

Events are counted by their time (the event's timestamp, which is never later than its arrival) from
the hourly rollups (app/reports/hourly.py): "the last hour" is exact when a check runs on the hour,
and in between takes the hour it cuts pro rata, so a check a quarter past counts the quarter hour
gone by and three quarters of the hour before.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass

from flask import current_app
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import (
    OPEN_STATUSES, AlertState, ErrorEscalation, ErrorHourlyCount, ErrorLog, MetricSnapshot, Service, ServiceHourlyCount,
)
from app.models.types import utcnow
from app.platform import settings
from app.platform.sql import dialect_insert
from app.reports import hourly
from app.triage.kinds import routable_clause

log = logging.getLogger("heartwatch.thresholds")
HOUR = dt.timedelta(hours=1)
LABELS = {
    "errors_per_hour": "Errors in the last hour",
    "critical_per_hour": "Critical errors in the last hour",
    "rate_rising": "Error rate rising against the hour before",
    "escalation_backlog": "Unresolved escalations",
}
ACTIONS = [
    "Review the errors listed above: assign the unassigned ones and look for a common cause.",
    "Add resources: put more developers on call for the services named, or raise their max load.",
    "Escalate to the team: tell the leads of these services and agree who takes what.",
]


@dataclass
class Figures:
    errors_last_hour: int
    critical_last_hour: int
    errors_previous_hour: int
    unresolved_escalations: int


def measure(now: dt.datetime) -> Figures:
    """Events in the last hour and the hour before (security reports left out), and the escalation backlog."""
    last, previous = now - HOUR, now - 2 * HOUR
    rows = ErrorHourlyCount
    critical = rows.severity == "critical"
    row = db.session.execute(
        select(hourly.window_sum(rows, last, now, now), hourly.window_sum(rows, last, now, now, only=critical),
               hourly.window_sum(rows, previous, last, now))
        .join(ErrorLog, ErrorLog.id == rows.error_id).where(hourly.window_where(rows, previous, now), routable_clause())
    ).one()
    backlog = db.session.execute(
        select(func.count()).select_from(ErrorEscalation).join(ErrorLog, ErrorLog.id == ErrorEscalation.error_id)
        .where(ErrorEscalation.resolved_at.is_(None), ErrorLog.status.in_(OPEN_STATUSES))
    ).scalar_one()
    return Figures(hourly.count(row[0]), hourly.count(row[1]), hourly.count(row[2]), int(backlog))


def find_breaches(figures: Figures, values: dict) -> list[dict]:
    """The thresholds the figures exceed, each with its value, threshold and a sentence."""
    found = []
    if figures.errors_last_hour > values["threshold_errors_per_hour"]:
        found.append({"key": "errors_per_hour", "value": figures.errors_last_hour,
                      "threshold": values["threshold_errors_per_hour"],
                      "description": f"{figures.errors_last_hour} errors arrived in the last hour, more than "
                                     f"{values['threshold_errors_per_hour']}."})
    if figures.critical_last_hour > values["threshold_critical_per_hour"]:
        found.append({"key": "critical_per_hour", "value": figures.critical_last_hour,
                      "threshold": values["threshold_critical_per_hour"],
                      "description": f"{figures.critical_last_hour} of them critical, more than "
                                     f"{values['threshold_critical_per_hour']}."})
    rise = values["threshold_rate_rise_percent"]
    if figures.errors_last_hour >= max(1, values["threshold_rate_min_errors"]) and \
            figures.errors_last_hour * 100 > figures.errors_previous_hour * (100 + rise):
        found.append({"key": "rate_rising", "value": figures.errors_last_hour,
                      "threshold": f"+{rise}% over {figures.errors_previous_hour}",
                      "description": f"{figures.errors_last_hour} errors in the last hour against "
                                     f"{figures.errors_previous_hour} in the hour before."})
    if figures.unresolved_escalations > values["threshold_escalation_backlog"]:
        found.append({"key": "escalation_backlog", "value": figures.unresolved_escalations,
                      "threshold": values["threshold_escalation_backlog"],
                      "description": f"{figures.unresolved_escalations} escalated errors are still open, more than "
                                     f"{values['threshold_escalation_backlog']}."})
    for breach in found:
        breach["label"] = LABELS[breach["key"]]
    return found


def behind(now: dt.datetime, limit: int = 10) -> tuple[list[dict], list[dict]]:
    """The services and errors with the most events in the last hour."""
    since, by_service, by_error = now - HOUR, ServiceHourlyCount, ErrorHourlyCount
    events = hourly.window_sum(by_service, since, now, now)
    critical = hourly.window_sum(by_service, since, now, now, only=by_service.severity == "critical")
    services = [{"service": slug, "count": hourly.count(n), "critical": hourly.count(crit)}
                for slug, n, crit in db.session.execute(
                    select(Service.slug, events, critical).join(Service, Service.id == by_service.service_id)
                    .where(hourly.window_where(by_service, since, now))
                    .group_by(Service.slug).order_by(events.desc(), Service.slug).limit(limit))
                if hourly.count(n)]
    events = hourly.window_sum(by_error, since, now, now)
    top = [(error_id, n) for error_id, n in db.session.execute(
        select(by_error.error_id, events).where(hourly.window_where(by_error, since, now))
        .group_by(by_error.error_id).order_by(events.desc(), by_error.error_id).limit(limit)).all()
        if hourly.count(n)]
    errors = []
    base = current_app.config["BASE_URL"]
    for error_id, count in top:
        error = db.session.get(ErrorLog, error_id)
        if error is not None:
            errors.append({"id": error.id, "title": f"{error.error_type}: {(error.message or '')[:120]}",
                           "service": error.service.slug if error.service else str(error.service_id),
                           "count": hourly.count(count), "status": error.status, "url": f"{base}/errors/{error.id}"})
    return services, errors


def _escalated_errors(limit: int = 10) -> list[dict]:
    base = current_app.config["BASE_URL"]
    rows = db.session.execute(
        select(ErrorLog).join(ErrorEscalation, ErrorEscalation.error_id == ErrorLog.id)
        .where(ErrorEscalation.resolved_at.is_(None), ErrorLog.status.in_(OPEN_STATUSES))
        .order_by(ErrorEscalation.created_at).limit(limit * 3)).scalars().unique()
    result, seen = [], set()
    for error in rows:
        if error.id in seen:
            continue
        seen.add(error.id)
        result.append({"id": error.id, "title": f"{error.error_type}: {(error.message or '')[:120]} (escalated)",
                       "service": error.service.slug if error.service else str(error.service_id),
                       "count": error.occurrence_count, "status": error.status, "url": f"{base}/errors/{error.id}"})
    return result[:limit]


def _claim_alert(key: str, now: dt.datetime, cooldown: dt.timedelta) -> bool:
    """Take the right to mail this breach now: true once per cool-down, whatever the number of workers."""
    result = db.session.execute(
        update(AlertState).where(AlertState.key == key,
                                 AlertState.last_alerted_at.is_(None) | (AlertState.last_alerted_at <= now - cooldown))
        .values(last_alerted_at=now, alert_count=AlertState.alert_count + 1, updated_at=now)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def check_thresholds(now: dt.datetime | None = None) -> MetricSnapshot:
    """Measure, record the snapshot and update each threshold's state; the snapshot's ``alerted``
    lists the breaches whose alert is due now (app.notify.alerts sends it)."""
    now = now or utcnow()
    values = settings.current()
    figures = measure(now)
    found = find_breaches(figures, values)
    services, errors = behind(now)
    if any(b["key"] == "escalation_backlog" for b in found):
        errors = (errors + _escalated_errors())[:20]
    cooldown = dt.timedelta(minutes=int(values["alert_cooldown_minutes"]))
    breached = {b["key"]: b for b in found}
    for key in LABELS:
        db.session.execute(dialect_insert()(AlertState).values(key=key, breached=False, alert_count=0, updated_at=now)
                           .on_conflict_do_nothing(index_elements=["key"]))
    alerted = []
    for key in LABELS:
        state = db.session.execute(select(AlertState).where(AlertState.key == key)
                                   .execution_options(populate_existing=True)).scalar_one()
        if key in breached:
            if not state.breached:
                state.breached, state.first_breached_at = True, now
            state.last_value = float(breached[key]["value"])
            state.updated_at = now
            db.session.flush()
            if _claim_alert(key, now, cooldown):
                alerted.append(key)
        elif state.breached:
            state.breached, state.cleared_at, state.updated_at = False, now, now
    thresholds = {k: values[k] for k in ("threshold_errors_per_hour", "threshold_critical_per_hour",
                                         "threshold_rate_rise_percent", "threshold_rate_min_errors",
                                         "threshold_escalation_backlog", "alert_cooldown_minutes")}
    snapshot = MetricSnapshot(taken_at=now, breaches=[b["key"] for b in found], alerted=alerted,
                              details={"thresholds": thresholds, "breaches": found, "services": services,
                                       "errors": errors}, **asdict(figures))
    db.session.add(snapshot)
    db.session.commit()
    if alerted:
        log.warning("thresholds breached: %s", ", ".join(alerted))
    return snapshot
