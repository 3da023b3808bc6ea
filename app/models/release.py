"""Releases: each version a service's events came with, in the order Heartwatch first saw them."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class Release(db.Model):
    """One release of a service. ``id`` grows in the order Heartwatch first saw the releases: that order,
    not the version's spelling, decides which release is newer ("resolve in next release")."""

    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("service_id", "version", name="uq_releases_service_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(128))
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
