"""Error patterns: similar errors across services (same type and normalised message)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JSONType, UTCDateTime, utcnow


class ErrorPattern(db.Model):
    __tablename__ = "error_patterns"

    id: Mapped[int] = mapped_column(primary_key=True)
    signature: Mapped[str] = mapped_column(String(64), unique=True)
    error_type: Mapped[str] = mapped_column(String(255))
    normalised_message: Mapped[str] = mapped_column(Text)
    occurrence_count: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    affected_services: Mapped[list | None] = mapped_column(JSONType)
    common_endpoints: Mapped[list | None] = mapped_column(JSONType)
    severity_distribution: Mapped[dict | None] = mapped_column(JSONType)
    first_occurrence: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_occurrence: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    detected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    trend: Mapped[str | None] = mapped_column(String(16))  # rising, falling, stable, new
    trend_ratio: Mapped[float | None] = mapped_column(Float)
    last_24h: Mapped[int] = mapped_column(Integer, default=0)
    previous_24h: Mapped[int] = mapped_column(Integer, default=0)
