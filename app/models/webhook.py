"""Outbound custom webhooks: subscriptions to Heartwatch events, signed with a shared secret."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JSONType, UTCDateTime, utcnow

WEBHOOK_EVENTS = ("error.created", "error.regressed", "error.assigned", "error.escalated", "error.resolved",
                  "threshold.breached")


class WebhookSubscription(db.Model):
    """A receiver of events. The secret signs each body (HMAC-SHA256); it is kept in clear because
    signing needs it, and it never appears in logs, the audit trail or the notification rows."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    url: Mapped[str] = mapped_column(String(1024))
    secret: Mapped[str] = mapped_column(String(128))
    events: Mapped[list] = mapped_column(JSONType)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Optional: only events about errors of this service (threshold events always go out).
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    last_delivery_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
