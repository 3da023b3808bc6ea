"""Services: the applications that send errors to Heartwatch."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.developer import developer_services
from app.models.types import JSONType, UTCDateTime, utcnow

PLATFORMS = ("python", "php", "java", "javascript", "dart", "other")


class Service(db.Model):
    """A service and its ingest key.

    The ingest key works like a Sentry DSN's public key: it can only post errors and is embedded
    in browser and mobile apps, so it is kept in clear (the dashboard always shows the DSN).
    Rotating it keeps the previous key valid until ``previous_key_expires_at``.
    ``ingest_settings`` holds its data scrubbing and in-app rules (read by app/ingest/settings.py).
    """

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    platform: Mapped[str] = mapped_column(String(32), default="other")
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    ingest_key: Mapped[str] = mapped_column(String(64), unique=True)
    previous_ingest_key: Mapped[str | None] = mapped_column(String(64), index=True)
    previous_key_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer)
    dropped_events: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Data scrubbing and in-app rules (app/ingest/settings.py); None: the defaults.
    ingest_settings: Mapped[dict | None] = mapped_column(JSONType)
    # Who is on call for it; None: the default schedule.
    oncall_schedule_id: Mapped[int | None] = mapped_column(ForeignKey("oncall_schedules.id", ondelete="SET NULL"),
                                                           index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    lead = relationship("Developer", foreign_keys=[lead_id])
    developers = relationship("Developer", secondary=developer_services, back_populates="services")
    oncall_schedule = relationship("OnCallSchedule", back_populates="services")

    def __repr__(self) -> str:
        return f"<Service {self.id} {self.slug}>"
