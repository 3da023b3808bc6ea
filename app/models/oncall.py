"""On-call shifts and overrides: who answers for their services, and when.

A developer is on call when a shift covers the moment, when an override puts them on call
(covering for someone), or when a lead set their on-call flag. An override can also take the
covered developer off call for its window, even though their shift says otherwise.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class OnCallShift(db.Model):
    __tablename__ = "oncall_shifts"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="window"),
        Index("ix_oncall_shifts_window", "starts_at", "ends_at"),
        Index("ix_oncall_shifts_developer_starts", "developer_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    developer_id: Mapped[int] = mapped_column(ForeignKey("developers.id", ondelete="CASCADE"))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The rotation a shift was generated from, so a rotation can be listed or replaced as a whole.
    rotation: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(String(255))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    developer = relationship("Developer", foreign_keys=[developer_id])


class OnCallOverride(db.Model):
    """``developer`` is on call from ``starts_at`` to ``ends_at``; ``replaces`` (if set) is not."""

    __tablename__ = "oncall_overrides"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="window"),
        Index("ix_oncall_overrides_window", "starts_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    developer_id: Mapped[int] = mapped_column(ForeignKey("developers.id", ondelete="CASCADE"), index=True)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(255))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    developer = relationship("Developer", foreign_keys=[developer_id])
    replaces = relationship("Developer", foreign_keys=[replaces_id])
