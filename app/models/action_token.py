"""One-click links (app/notify/action_links.py): the id of every link used, so none acts twice."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class UsedActionToken(db.Model):
    __tablename__ = "used_action_tokens"
    __table_args__ = (Index("ix_used_action_tokens_used_at", "used_at"),)

    # The link's random id (a primary key: of two clicks at once, one insert wins).
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    action: Mapped[str] = mapped_column(String(16))
    error_id: Mapped[str] = mapped_column(String(36))
    used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
