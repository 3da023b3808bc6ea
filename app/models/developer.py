"""Developers: the people Heartwatch notifies, and the dashboard's user accounts."""
from __future__ import annotations

import datetime as dt

from flask_login import UserMixin
from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import JSONType, UTCDateTime, utcnow

ROLES = ("developer", "lead", "manager", "admin")
# Leads, managers and admins may act for others (assign anyone, change on-call, escalate).
SUPERVISOR_ROLES = frozenset({"lead", "manager", "admin"})

developer_services = Table(
    "developer_services",
    db.metadata,
    Column("developer_id", Integer, ForeignKey("developers.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", Integer, ForeignKey("services.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)


class Developer(UserMixin, db.Model):
    __tablename__ = "developers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    slack_member_id: Mapped[str | None] = mapped_column(String(64))
    slack_webhook_url: Mapped[str | None] = mapped_column(String(512))
    role: Mapped[str] = mapped_column(String(16), default="developer")
    max_load: Mapped[int] = mapped_column(Integer, default=10)
    last_assigned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # {"critical": ["email", "slack", "sms"], ...}; None means the defaults by severity.
    notification_preferences: Mapped[dict | None] = mapped_column(JSONType)
    quiet_hours_start: Mapped[str | None] = mapped_column(String(5))  # "22:00", developer's local time
    quiet_hours_end: Mapped[str | None] = mapped_column(String(5))
    timezone: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of every session and remember-me cookie (see app/accounts/sessions.py): raising it ends
    # every session the developer has, wherever its cookies were copied.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A generated first password: the dashboard asks for a new one before anything else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    services = relationship("Service", secondary=developer_services, back_populates="developers",
                            lazy="selectin")

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive accounts cannot sign in
        return bool(self.active)

    def get_id(self) -> str:
        """Flask-Login keeps this in the session and the remember-me cookie: the id and the session
        version, so a cookie made before the version was raised no longer signs anyone in."""
        return f"{self.id}.{self.session_version or 0}"

    @property
    def is_supervisor(self) -> bool:
        return self.role in SUPERVISOR_ROLES

    def __repr__(self) -> str:
        return f"<Developer {self.id} {self.email}>"


class ApiToken(db.Model):
    """A personal token for the JSON API. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    developer_id: Mapped[int] = mapped_column(ForeignKey("developers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120), default="api")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    developer = relationship("Developer")
