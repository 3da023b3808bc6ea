"""On-call schedules: rotation layers, overrides on top, and the secret calendar feeds.

A schedule answers for the services that name it (``Service.oncall_schedule_id``); services that
name none fall back to the default schedule. A schedule's layers are rotations: every day, week
or N days at a hand-off time in the layer's time zone the next group of participants takes over,
optionally only on some weekdays and between two times of day (follow-the-sun). Later layers win
over earlier ones where they cover a moment; overrides win over every layer. The rules live in
app/triage/schedules.py (who is on call when) and app/triage/oncall.py (changes).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import JSONType, UTCDateTime, utcnow

FREQUENCIES = ("daily", "weekly", "days")
# "rotation": planned turns; "switch": the one group the developers' on-call switches edit (default schedule).
LAYER_KINDS = ("rotation", "switch")


class OnCallSchedule(db.Model):
    __tablename__ = "oncall_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str | None] = mapped_column(String(255))
    # The schedule of every service that names no schedule of its own; at most one.
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    layers = relationship("OnCallLayer", back_populates="schedule", order_by="OnCallLayer.position",
                          cascade="all, delete-orphan", lazy="selectin")
    services = relationship("Service", back_populates="oncall_schedule")


class OnCallLayer(db.Model):
    """One rotation: turn ``k`` starts at ``handoff_time`` on ``starts_on + k * period`` (wall clock of
    ``timezone``, so a hand-off stays at 09:00 across daylight-saving changes) and belongs to
    ``participants[k % len(participants)]``, a group of developer ids."""

    __tablename__ = "oncall_layers"
    __table_args__ = (CheckConstraint("every >= 1", name="every"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("oncall_schedules.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16), default="rotation")
    frequency: Mapped[str] = mapped_column(String(8), default="weekly")
    every: Mapped[int] = mapped_column(Integer, default=1)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    handoff_time: Mapped[str] = mapped_column(String(5), default="09:00")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # [[developer id, ...], ...]: the groups in turn order (usually one developer each).
    participants: Mapped[list] = mapped_column(JSONType, default=list)
    # Weekdays (0 = Monday) and a daily window of wall-clock times the layer covers; None: always.
    days: Mapped[list | None] = mapped_column(JSONType)
    window_start: Mapped[str | None] = mapped_column(String(5))
    window_end: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    schedule = relationship("OnCallSchedule", back_populates="layers")


class OnCallOverride(db.Model):
    """``developer`` is on call for the schedule from ``starts_at`` to ``ends_at``, instead of whoever
    its layers give; with ``replaces`` set, instead of that one developer only."""

    __tablename__ = "oncall_overrides"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="window"),
        Index("ix_oncall_overrides_window", "starts_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("oncall_schedules.id", ondelete="CASCADE"), index=True)
    developer_id: Mapped[int] = mapped_column(ForeignKey("developers.id", ondelete="CASCADE"), index=True)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(255))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    schedule = relationship("OnCallSchedule")
    developer = relationship("Developer", foreign_keys=[developer_id])
    replaces = relationship("Developer", foreign_keys=[replaces_id])


class OnCallFeed(db.Model):
    """The secret address of one iCal feed: a schedule's, or one developer's across schedules.
    Only the token's SHA-256 is kept; rotating it replaces the row, and the old address stops working."""

    __tablename__ = "oncall_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("oncall_schedules.id", ondelete="CASCADE"),
                                                    unique=True)
    developer_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


SWAP_STATUSES = ("pending", "accepted", "declined", "cancelled")


class OnCallSwap(db.Model):
    """``requester`` asks ``colleague`` to take their on-call time of a schedule from ``starts_at`` to
    ``ends_at``; accepted, it becomes an override (the colleague instead of the requester)."""

    __tablename__ = "oncall_swaps"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="window"),
        Index("ix_oncall_swaps_colleague_status", "colleague_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("oncall_schedules.id", ondelete="CASCADE"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("developers.id", ondelete="CASCADE"), index=True)
    colleague_id: Mapped[int] = mapped_column(ForeignKey("developers.id", ondelete="CASCADE"))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    override_id: Mapped[int | None] = mapped_column(ForeignKey("oncall_overrides.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    schedule = relationship("OnCallSchedule")
    requester = relationship("Developer", foreign_keys=[requester_id])
    colleague = relationship("Developer", foreign_keys=[colleague_id])
