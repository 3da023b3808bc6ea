"""Retention: delete what is older than the retention settings, in small batches.

Occurrences after ``retention_days`` (by received time), resolved errors ``retention_resolved_days``
after their resolution (with everything that hangs off them), and the notification audit trail,
handled error events and threshold snapshots after ``retention_notification_days`` (deliveries
still pending are kept whatever their age), and the ids of used one-click links once the links have
expired (ACTION_LINK_HOURS: an expired link is refused by its signature alone), and the hourly rollups
(app/recording/rollups.py) after ``retention_rollup_days`` by their hour, never before the events they
count (at least ``retention_days``). Each batch is its own short transaction, so ingest
never waits long on a lock; on PostgreSQL the batches are taken with SKIP LOCKED, so two workers
share the work instead of queueing behind each other.

On PostgreSQL occurrences are partitioned by day (app/models/partitions.py): a day whose whole
partition is past retention is detached and dropped at once, and only the events that landed in the
DEFAULT partition are deleted in batches. So an event stays until its whole day is past retention,
up to a day longer than ``retention_days``.
"""
from __future__ import annotations

import datetime as dt
import logging

from flask import current_app
from sqlalchemy import Column, MetaData, String, Table, delete, select, tuple_

from app.extensions import db
from app.models import (
    ErrorEventDispatch, ErrorHourlyCount, ErrorLog, ErrorNotification, ErrorOccurrence, MetricSnapshot,
    ServiceHourlyCount, UsedActionToken, partitions,
)
from app.models.types import UTCDateTime, utcnow
from app.platform import settings

log = logging.getLogger("heartwatch.retention")
BATCH = 1000
ERROR_BATCH = 100  # an error takes its occurrences, notifications and audit rows with it
# The events of the DEFAULT partition, deleted apart from the day partitions.
DEFAULT_OCCURRENCES = Table(partitions.DEFAULT, MetaData(), Column("id", String(36), primary_key=True),
                            Column(partitions.KEY, UTCDateTime()))


def _delete_in_batches(model, condition, batch: int) -> int:
    table = getattr(model, "__table__", model)
    key = table.primary_key.columns.values()[0]
    total = 0
    while True:
        stmt = select(key).where(condition).limit(batch)
        if db.engine.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        ids = list(db.session.execute(stmt).scalars())
        if not ids:
            db.session.commit()
            return total
        result = db.session.execute(delete(table).where(key.in_(ids)).execution_options(synchronize_session=False))
        db.session.commit()
        total += result.rowcount or 0
        if len(ids) < batch:
            return total


def _delete_rollups(model, before: dt.datetime, batch: int) -> int:
    """Rollup rows of the hours before ``before``, by their composite keys, a batch per transaction."""
    keys = tuple_(*model.__table__.primary_key.columns)
    total = 0
    while True:
        chosen = select(*model.__table__.primary_key.columns).where(model.hour < before).limit(batch)
        result = db.session.execute(delete(model).where(keys.in_(chosen)).execution_options(synchronize_session=False))
        db.session.commit()
        total += result.rowcount or 0
        if (result.rowcount or 0) < batch:
            return total


def _purge_occurrences(before: dt.datetime, batch: int) -> dict[str, int]:
    """Occurrences received before ``before``: on PostgreSQL whole days (their partitions dropped),
    then in batches the old ones of DEFAULT; on SQLite all in batches."""
    db.session.commit()  # nothing of this session's may hold the table while a partition is detached
    with db.engine.connect() as connection:
        partitioned = partitions.is_partitioned(connection)
    if not partitioned:
        return {"occurrence_days": 0, "occurrences": _delete_in_batches(
            ErrorOccurrence, ErrorOccurrence.received_at < before, batch)}
    dropped = partitions.drop_days_before(db.engine, before.astimezone(dt.timezone.utc).date())
    if dropped:
        log.info("retention: partitions dropped: %s", ", ".join(dropped))
    return {"occurrence_days": len(dropped), "occurrences": _delete_in_batches(
        DEFAULT_OCCURRENCES, DEFAULT_OCCURRENCES.c.received_at < before, batch)}


def purge(now: dt.datetime | None = None, batch: int = BATCH) -> dict[str, int]:
    """Delete everything past retention; returns the number of rows deleted per kind."""
    now = now or utcnow()
    values = settings.current()
    occurrences_before = now - dt.timedelta(days=int(values["retention_days"]))
    resolved_before = now - dt.timedelta(days=int(values["retention_resolved_days"]))
    trail_before = now - dt.timedelta(days=int(values["retention_notification_days"]))
    # A day's margin past the links' own expiry, so a clock a little behind still refuses a replay.
    links_before = now - dt.timedelta(hours=int(current_app.config.get("ACTION_LINK_HOURS") or 72) + 24)
    rollups_before = now - dt.timedelta(days=max(int(values["retention_rollup_days"]), int(values["retention_days"])))
    counts = {
        **_purge_occurrences(occurrences_before, batch),
        "resolved_errors": _delete_in_batches(
            ErrorLog, (ErrorLog.status == "resolved") & (ErrorLog.resolved_at < resolved_before), min(batch, ERROR_BATCH)),
        "notifications": _delete_in_batches(
            ErrorNotification, (ErrorNotification.created_at < trail_before)
            & ErrorNotification.status.in_(("sent", "failed", "dead")), batch),
        "error_events": _delete_in_batches(ErrorEventDispatch, ErrorEventDispatch.created_at < trail_before, batch),
        "metric_snapshots": _delete_in_batches(MetricSnapshot, MetricSnapshot.taken_at < trail_before, batch),
        "used_action_links": _delete_in_batches(UsedActionToken, UsedActionToken.used_at < links_before, batch),
        "error_hourly_counts": _delete_rollups(ErrorHourlyCount, rollups_before, batch),
        "service_hourly_counts": _delete_rollups(ServiceHourlyCount, rollups_before, batch),
    }
    if any(counts.values()):
        log.info("retention: %s", ", ".join(f"{n} {kind}" for kind, n in counts.items() if n))
    return counts
