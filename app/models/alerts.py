"""What Heartwatch has alerted about: error events handled, threshold alerts, measured figures."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JSONType, UTCDateTime, utcnow


class ErrorEventDispatch(db.Model):
    """One error event (created, regressed, assigned ...) and whether its notifications were planned:
    the outbox (app/platform/outbox.py), written pending in the transaction of the change.

    ``marker`` tells repeated events of one kind apart (the regression number, the assignment time,
    the escalation id); the unique key makes handling an event twice harmless, and the drain finds
    events whose hand-off was lost (a queue outage, a worker killed) by the row still pending (the
    index on status and created_at). ``outcome`` keeps each step's result: the routing decision,
    then the plan.
    """

    __tablename__ = "error_event_dispatches"
    __table_args__ = (
        UniqueConstraint("error_id", "event", "marker", name="uq_error_event_dispatches_event"),
        Index("ix_error_event_dispatches_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    error_id: Mapped[str] = mapped_column(ForeignKey("error_logs.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(32))
    marker: Mapped[str] = mapped_column(String(96))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, done
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AlertState(db.Model):
    """The state of one threshold (errors per hour, critical per hour ...), for the cool-down."""

    __tablename__ = "alert_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    breached: Mapped[bool] = mapped_column(Boolean, default=False)
    last_value: Mapped[float | None] = mapped_column(Float)
    first_breached_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_alerted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cleared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    alert_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class MetricSnapshot(db.Model):
    """What one threshold check measured, and which thresholds it found breached."""

    __tablename__ = "metric_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    errors_last_hour: Mapped[int] = mapped_column(Integer, default=0)
    critical_last_hour: Mapped[int] = mapped_column(Integer, default=0)
    errors_previous_hour: Mapped[int] = mapped_column(Integer, default=0)
    unresolved_escalations: Mapped[int] = mapped_column(Integer, default=0)
    breaches: Mapped[list | None] = mapped_column(JSONType)
    alerted: Mapped[list | None] = mapped_column(JSONType)
    # The thresholds in force and the services and errors behind the figures.
    details: Mapped[dict | None] = mapped_column(JSONType)
