"""The audit trail of notifications: one row per delivery, one ``NotificationAttempt`` per try of it."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, utcnow

NOTIFICATION_STATUSES = ("queued", "sent", "failed", "retrying", "dead")
CHANNELS = ("email", "slack", "sms", "webhook")


class ErrorNotification(db.Model):
    __tablename__ = "error_notifications"
    __table_args__ = (
        Index("ix_error_notifications_status_next_retry", "status", "next_retry_at"),
        Index("ix_error_notifications_error_created", "error_id", "created_at"),
        Index("ix_error_notifications_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    error_id: Mapped[str | None] = mapped_column(ForeignKey("error_logs.id", ondelete="CASCADE"))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"),
                                                     index=True)
    recipient: Mapped[str] = mapped_column(String(512))  # address, number, channel or URL
    channel: Mapped[str] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(32), default="error.created")
    status: Mapped[str] = mapped_column(String(16), default="queued")
    subject: Mapped[str | None] = mapped_column(String(512))
    body: Mapped[str | None] = mapped_column(Text)
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    next_retry_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # One delivery per recipient, channel and event: a retried or doubled task cannot send twice.
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    error = relationship("ErrorLog")
    recipient_developer = relationship("Developer")
    # Every try, first first; lists load them with selectinload (``app.reports.errors``).
    attempts = relationship("NotificationAttempt", order_by="NotificationAttempt.number", back_populates="notification",
                            cascade="all, delete-orphan", passive_deletes=True)


ATTEMPT_OUTCOMES = ("sent", "retrying", "failed", "dead")
ANSWER_EXCERPT_LIMIT = 200


class NotificationAttempt(db.Model):
    """One try of a delivery, as ``app.notify.delivery`` recorded it: when, what came of it (the
    delivery's status it led to), the receiver's answer status (an HTTP status or SMTP reply code,
    None without an answer) and the reason. ``answer`` is a short excerpt of what the receiver
    said, shown only to those who may see where the delivery went
    (``permissions.can_see_receiver_answer``)."""

    __tablename__ = "notification_attempts"
    __table_args__ = (Index("ix_notification_attempts_notification_number", "notification_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("error_notifications.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1 for the first try
    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))
    answer_status: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(500))
    answer: Mapped[str | None] = mapped_column(String(ANSWER_EXCERPT_LIMIT))

    notification = relationship("ErrorNotification", back_populates="attempts")
