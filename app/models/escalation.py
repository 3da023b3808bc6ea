"""Escalations of unresolved errors to leads, managers and admins."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class ErrorEscalation(db.Model):
    __tablename__ = "error_escalations"
    __table_args__ = (
        # Automatic escalations never repeat a level within one open stretch of an error.
        UniqueConstraint("error_id", "level", "automatic", "open_since", name="uq_error_escalations_error_level"),
        Index("ix_error_escalations_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    error_id: Mapped[str] = mapped_column(ForeignKey("error_logs.id", ondelete="CASCADE"), index=True)
    escalated_from_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    level: Mapped[int] = mapped_column(Integer, default=1)
    reason: Mapped[str] = mapped_column(Text)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(255))
    # When the error's open stretch that this escalation belongs to began (app/triage/escalation.py
    # open_since: first seen, its last regression or its last rise in severity).
    open_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    error = relationship("ErrorLog")
    escalated_from = relationship("Developer", foreign_keys=[escalated_from_id])
    escalated_to = relationship("Developer", foreign_keys=[escalated_to_id])


class ErrorAcknowledgement(db.Model):
    """Someone on call has the error (app/triage/acknowledge.py): while it holds, the escalation chain of
    the error's current open stretch waits. One row per error, the latest acknowledgement; not a status
    (an acknowledged error is still open). Every acknowledgement is also an audit row."""

    __tablename__ = "error_acknowledgements"

    error_id: Mapped[str] = mapped_column(ForeignKey("error_logs.id", ondelete="CASCADE"), primary_key=True)
    developer_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    acknowledged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # dashboard, api, email, slack or sms
    via: Mapped[str] = mapped_column(String(16))

    developer = relationship("Developer")
