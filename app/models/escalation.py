"""Escalations of unresolved errors to leads, managers and admins."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import JSONType, UTCDateTime, utcnow


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
    # A step of an escalation chain fired it (app/triage/escalation.py): which chain (None for the built-in
    # default or a manual escalation), the step's index, the repeat round (0 the first run) and what was
    # decided when it fired (kind, channels, recipients, Slack channel, webhook), which the planner reads.
    chain_id: Mapped[int | None] = mapped_column(ForeignKey("escalation_chains.id", ondelete="SET NULL"))
    step_index: Mapped[int | None] = mapped_column(Integer)
    repeat_round: Mapped[int | None] = mapped_column(Integer)
    plan: Mapped[dict | None] = mapped_column(JSONType)

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


# Step kinds of an escalation chain (app/triage/chains.py holds their rules).
STEP_KINDS = ("wait", "oncall", "person", "lead", "role", "slack", "webhook")
NOTIFY_CHANNELS = ("email", "slack", "sms")


class EscalationChain(db.Model):
    """What the scheduled escalation does with an open error of one severity: an ordered list of steps
    (``EscalationStep``), run again up to ``repeat_times`` times ``repeat_every_minutes`` after its end
    until someone acknowledges. A chain answers for one service, or (``service_id`` None) for every
    service without a chain of its own at that severity."""

    __tablename__ = "escalation_chains"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    repeat_times: Mapped[int] = mapped_column(Integer, default=0)
    repeat_every_minutes: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    service = relationship("Service")
    steps = relationship("EscalationStep", back_populates="chain", order_by="EscalationStep.position",
                         cascade="all, delete-orphan", lazy="selectin")


class EscalationStep(db.Model):
    """One step of a chain: a wait (``minutes``, or the runtime ``setting`` that holds them), or whom to
    tell on which ``channels``: the on-call of a schedule, a person, the service's lead, everyone with
    a role, a Slack channel, a webhook subscription. A target deleted later leaves the step without
    one: it is skipped."""

    __tablename__ = "escalation_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("escalation_chains.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(16))
    minutes: Mapped[int | None] = mapped_column(Integer)
    setting: Mapped[str | None] = mapped_column(String(64))
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("oncall_schedules.id", ondelete="SET NULL"))
    developer_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    role: Mapped[str | None] = mapped_column(String(16))
    channels: Mapped[list | None] = mapped_column(JSONType)
    slack_channel: Mapped[str | None] = mapped_column(String(80))
    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="SET NULL"))

    chain = relationship("EscalationChain", back_populates="steps")
