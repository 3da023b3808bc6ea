"""Runtime settings (thresholds, intervals, retention) and the state of the scheduled jobs."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JSONType, UTCDateTime, utcnow


class Setting(db.Model):
    """A value changed at run time; a setting without a row has its default from app/config.py."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[object] = mapped_column(JSONType)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))


# The row of the worker's minute tick: its last start is the last time a worker was seen alive.
WORKER_TICK = "run_scheduled_work"


class ScheduledJob(db.Model):
    """When a scheduled job last ran, and a lease while it runs, so that several consumers
    start each run once and never run one job twice at the same time."""

    __tablename__ = "scheduled_jobs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    running_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(String(16))  # ok, failed
    last_error: Mapped[str | None] = mapped_column(Text)
    last_result: Mapped[dict | None] = mapped_column(JSONType)
    run_count: Mapped[int] = mapped_column(Integer, default=0)
    # The run holding the lease, and when its heartbeat last moved running_until on.
    holder: Mapped[str | None] = mapped_column(String(32))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
