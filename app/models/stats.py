"""Rollups: events per hour (per error, and per service and severity) and the daily rollup per service."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JSONType, UTCDateTime, utcnow


class ErrorStat(db.Model):
    __tablename__ = "error_stats"
    __table_args__ = (UniqueConstraint("day", "service_id", name="uq_error_stats_day_service"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    total: Mapped[int] = mapped_column(Integer, default=0)
    by_severity: Mapped[dict | None] = mapped_column(JSONType)
    by_status: Mapped[dict | None] = mapped_column(JSONType)
    avg_resolution_seconds: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClientDiscard(db.Model):
    """What a service's Sentry SDKs dropped before sending, per day, reason and category, as their
    ``client_report`` envelope items count it (``queue_overflow``/``error``, ``sample_rate``/``transaction`` ...)."""

    __tablename__ = "client_discards"
    __table_args__ = (UniqueConstraint("service_id", "day", "reason", "category", name="uq_client_discards_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ErrorHourlyCount(db.Model):
    """An error's events of one severity whose time (the event's timestamp, UTC) falls in one hour. Kept
    at ingest (app/recording/rollups.py), so the counts stay exact when old events are deleted or an
    error's events are thinned to its budget; the charts, stats, thresholds and patterns read these."""

    __tablename__ = "error_hourly_counts"
    __table_args__ = (Index("ix_error_hourly_counts_hour", "hour"),)

    error_id: Mapped[str] = mapped_column(ForeignKey("error_logs.id", ondelete="CASCADE"), primary_key=True)
    hour: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    severity: Mapped[str] = mapped_column(String(16), primary_key=True)
    events: Mapped[int] = mapped_column(Integer, default=0)


class ServiceHourlyCount(db.Model):
    """A service's events of one severity in one hour, as ``ErrorHourlyCount`` (the overview's charts
    and the daily rollup read this smaller table). An error's deletion leaves these counts alone: the
    service did send those events."""

    __tablename__ = "service_hourly_counts"

    hour: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), primary_key=True)
    severity: Mapped[str] = mapped_column(String(16), primary_key=True)
    events: Mapped[int] = mapped_column(Integer, default=0)
