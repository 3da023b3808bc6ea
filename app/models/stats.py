"""Daily rollups per service."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Integer, String, UniqueConstraint
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
