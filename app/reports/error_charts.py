"""An error's events over time, from the hourly counts (app/recording/rollups.py): its chart over 24 hours
(by hour), 14 or 90 days (by UTC day), and the 24-hour sparkline of each error of a list page."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.extensions import db
from app.models import ErrorHourlyCount
from app.models.types import utcnow
from app.reports import hourly
from app.reports.overview import bucket_label, truncated

CHART_PERIODS = {"24h": ("hour", 24), "14d": ("day", 14), "90d": ("day", 90)}
CHART_WORDS = {"24h": "24 hours", "14d": "14 days", "90d": "90 days"}


def _starts(period: str, now: dt.datetime) -> tuple[str, list[dt.datetime]]:
    unit, size = CHART_PERIODS[period]
    step = dt.timedelta(hours=1) if unit == "hour" else dt.timedelta(days=1)
    current = now.replace(minute=0, second=0, microsecond=0)
    if unit == "day":
        current = current.replace(hour=0)
    return unit, [current - step * n for n in range(size - 1, -1, -1)]


def _counts(error_ids: list[str], unit: str, since: dt.datetime) -> dict[tuple[str, str], int]:
    """(error id, label) -> events, by hour or UTC day from ``since`` (a whole hour) on: one query."""
    rows = ErrorHourlyCount
    bucket = rows.hour if unit == "hour" else truncated("day", rows.hour)
    return {(error_id, bucket_label(label, unit)): int(count) for error_id, label, count in db.session.execute(
        select(rows.error_id, bucket, func.sum(rows.events))
        .where(rows.error_id.in_(error_ids), hourly.in_window(rows, since)).group_by(rows.error_id, bucket)).all()}


def error_chart(error_id: str, period: str, now: dt.datetime | None = None) -> dict:
    """An error's events over ``period`` (a key of CHART_PERIODS): 24 hourly buckets, or 14 or 90 daily
    (UTC) buckets, the current one included and every bucket listed, empty ones as 0."""
    unit, starts = _starts(period, now or utcnow())
    counts = _counts([error_id], unit, starts[0])
    buckets = [{"start": start, "events": counts.get((error_id, bucket_label(start, unit)), 0)} for start in starts]
    return {"error_id": error_id, "period": period, "interval": unit, "buckets": buckets,
            "total": sum(b["events"] for b in buckets)}


def sparklines(error_ids: list[str], now: dt.datetime | None = None) -> dict[str, list[int]]:
    """Each error's events per hour over the last 24 hours, oldest first (the error list's column)."""
    if not error_ids:
        return {}
    unit, starts = _starts("24h", now or utcnow())
    counts = _counts(error_ids, unit, starts[0])
    labels = [bucket_label(start, unit) for start in starts]
    return {error_id: [counts.get((error_id, label), 0) for label in labels] for error_id in error_ids}
