"""Errors (one per service and fingerprint) and their occurrences (every event received)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models import partitions, triggers
from app.models.types import JSONType, UTCDateTime, new_uuid, utcnow

# Lowest to highest; the level is stored beside the name so "highest seen" and sorting are numeric.
SEVERITIES = ("info", "low", "medium", "high", "critical")
SEVERITY_LEVEL = {name: level for level, name in enumerate(SEVERITIES, start=1)}
STATUSES = ("new", "assigned", "in_progress", "resolved", "ignored")
SHORT_REF = 8  # where a person types an error's id (SMS, Slack's command): its first characters


def short_ref(error_id: str) -> str:
    return error_id[:SHORT_REF]
OPEN_STATUSES = ("new", "assigned", "in_progress")
# What an error is: an application's error, or a browser's security report (listed apart, never
# routed nor notified: app/triage/kinds.py).
KINDS = ("error", "security")
# An error merged into another keeps its row (its fingerprint still leads there) under this kind, so
# that no list, count or sweep sees it twice (app/triage/merge.py).
MERGED_KIND = "merged"


class ErrorLog(db.Model):
    """One tracked error: every event of a service with the same fingerprint."""

    __tablename__ = "error_logs"
    __table_args__ = (
        UniqueConstraint("service_id", "fingerprint", name="uq_error_logs_service_fingerprint"),
        Index("ix_error_logs_status_last_seen", "status", "last_seen"),
        Index("ix_error_logs_severity_last_seen", "severity_level", "last_seen"),
        Index("ix_error_logs_service_last_seen", "service_id", "last_seen"),
        Index("ix_error_logs_assignee_status", "assigned_to_id", "status"),
        Index("ix_error_logs_env_last_seen", "environment", "last_seen"),
        Index("ix_error_logs_first_seen", "first_seen"),
        Index("ix_error_logs_last_seen", "last_seen"),
        Index("ix_error_logs_occurrence_count", "occurrence_count"),
        Index("ix_error_logs_kind_last_seen", "kind", "last_seen"),
        Index("ix_error_logs_snoozed_until", "snoozed_until"),
        Index("ix_error_logs_first_release_id", "first_release_id"),
        Index("ix_error_logs_regressed_release_id", "regressed_release_id"),
        Index("ix_error_logs_users_count", "users_count"),
        Index("ix_error_logs_merged_into_id", "merged_into_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="error", server_default="error")
    severity: Mapped[str] = mapped_column(String(16))
    severity_level: Mapped[int] = mapped_column(SmallInteger)
    error_type: Mapped[str] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text)
    culprit: Mapped[str | None] = mapped_column(String(512))
    endpoint: Mapped[str | None] = mapped_column(String(512))
    platform: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="new")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    assigned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    occurrence_count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    environment: Mapped[str | None] = mapped_column(String(64))
    release: Mapped[str | None] = mapped_column(String(128))
    pattern_id: Mapped[int | None] = mapped_column(ForeignKey("error_patterns.id", ondelete="SET NULL"),
                                                   index=True)
    regressed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    regression_count: Mapped[int] = mapped_column(Integer, default=0)
    severity_raised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Snoozed (app/triage/snooze.py): since when, and what wakes it (any of them): a time, the
    # occurrence count reaching ``snooze_wake_count`` (``snooze_events`` more than when snoozed), more
    # than ``snooze_per_hour`` events in an hour. ``snoozed_at`` NULL: not snoozed.
    snoozed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    snoozed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    snooze_events: Mapped[int | None] = mapped_column(Integer)
    snooze_wake_count: Mapped[int | None] = mapped_column(Integer)
    snooze_per_hour: Mapped[int | None] = mapped_column(Integer)
    # Releases (app/models/release.py, ids in first-seen order; plain ids, no foreign keys, so that the
    # ingest's cached ids can never fail a batch): the first and the newest release the error's events
    # came from, the release of its last regression, and, for "resolve in next release", the release
    # current at the resolution: events of it and older releases leave the error resolved.
    first_release_id: Mapped[int | None] = mapped_column(Integer)
    last_release_id: Mapped[int | None] = mapped_column(Integer)
    regressed_release_id: Mapped[int | None] = mapped_column(Integer)
    resolved_in_release_id: Mapped[int | None] = mapped_column(Integer)
    # The error's first Slack message (Web API), so what happens next is posted in its thread.
    slack_channel: Mapped[str | None] = mapped_column(String(64))
    slack_thread_ts: Mapped[str | None] = mapped_column(String(32))
    # Distinct users its events were seen with (the ``user`` facets: id, else e-mail, else address),
    # kept by the ingest's facet upsert (app/recording/facets.py) and by merges.
    users_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Merged into another error (app/triage/merge.py): its fingerprint's events go there.
    merged_into_id: Mapped[str | None] = mapped_column(ForeignKey("error_logs.id", ondelete="CASCADE"))
    # The row's last change, kept by a trigger whoever writes it (app/models/triggers.py).
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, server_default=func.now())

    service = relationship("Service")
    merged_into = relationship("ErrorLog", remote_side=[id], foreign_keys=[merged_into_id])
    assigned_to = relationship("Developer", foreign_keys=[assigned_to_id])
    resolved_by = relationship("Developer", foreign_keys=[resolved_by_id])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def open_since(self) -> dt.datetime:
        """Since when the error has been open at its current severity (its current open stretch): first
        seen, or the later of its last regression and its last rise in severity. Escalation levels and
        acknowledgements belong to one stretch (app/triage/escalation.py, acknowledge.py)."""
        return max(m for m in (self.first_seen, self.regressed_at, self.severity_raised_at) if m is not None)

    @property
    def resolved(self) -> bool:
        """Resolved is a status, kept in ``status`` alone (the API still answers ``resolved``)."""
        return self.status == "resolved"


triggers.attach(ErrorLog.__table__)


class ErrorOccurrence(db.Model):
    """One event received for an error. Its id is the client's event id when it sent one,
    so an SDK's retry of the same event is recognised and stored once.

    On PostgreSQL the table is partitioned by day of ``received_at`` (app/models/partitions.py), and
    its primary key there is (id, received_at); events are still found by id alone."""

    __tablename__ = "error_occurrences"
    __table_args__ = (
        partitions.PartitionedPrimaryKey("id"),
        # The order of an error's events (newest first, and the event navigation's keyset steps).
        Index("ix_error_occurrences_error_timestamp_id", "error_id", "timestamp", "id"),
        Index("ix_error_occurrences_received_at", "received_at"),
        # Every dashboard aggregate reads a time window of occurrences; on PostgreSQL the included
        # columns make those index-only scans (see docs/PERFORMANCE.md, Dashboard).
        Index("ix_error_occurrences_timestamp", "timestamp",
              postgresql_include=["severity", "service_id", "error_id"]),
        {"postgresql_partition_by": f"RANGE ({partitions.KEY})"},
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    error_id: Mapped[str] = mapped_column(ForeignKey("error_logs.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    message: Mapped[str | None] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    stack_trace: Mapped[str | None] = mapped_column(Text)
    # The exception chain, cause first, each with its parsed frames (oldest first).
    exceptions: Mapped[list | None] = mapped_column(JSONType)
    user: Mapped[dict | None] = mapped_column(JSONType)
    request: Mapped[dict | None] = mapped_column(JSONType)
    tags: Mapped[dict | None] = mapped_column(JSONType)
    extra: Mapped[dict | None] = mapped_column(JSONType)
    environment: Mapped[str | None] = mapped_column(String(64))
    release: Mapped[str | None] = mapped_column(String(128))
    server_name: Mapped[str | None] = mapped_column(String(255))
    endpoint: Mapped[str | None] = mapped_column(String(512))
    # The fingerprint it was grouped by: after a merge it tells which error it goes back to on unmerge.
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    raw_payload: Mapped[str | None] = mapped_column(Text)

    error = relationship("ErrorLog")


partitions.attach(ErrorOccurrence.__table__)


class ErrorFacet(db.Model):
    """A value an error's events were seen with, and how often: an environment, a release, a server, a
    user's id, e-mail or address, or a tag (``t.<key>``). Kept at ingest (app/recording/facets.py) for the
    search (app/reports/search.py): an error's own environment and release are only its last event's."""

    __tablename__ = "error_facets"
    __table_args__ = (
        Index("ix_error_facets_key_value_error", "key", "value", "error_id"),
    )

    error_id: Mapped[str] = mapped_column(ForeignKey("error_logs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    events: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ErrorMerge(db.Model):
    """An error merged into another (``ErrorLog.merged_into_id``): what it was before, for the unmerge."""

    __tablename__ = "error_merges"

    source_id: Mapped[str] = mapped_column(ForeignKey("error_logs.id", ondelete="CASCADE"), primary_key=True)
    merged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    previous_kind: Mapped[str] = mapped_column(String(16))
    previous_status: Mapped[str] = mapped_column(String(16))
    previous_assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))


class ErrorComment(db.Model):
    """A developer's note on an error: plain text, shown in its timeline (app/triage/comments.py)."""

    __tablename__ = "error_comments"
    __table_args__ = (Index("ix_error_comments_error_created", "error_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    error_id: Mapped[str] = mapped_column(ForeignKey("error_logs.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    author_label: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(String(4000))
    # The developers it mentions (ids), told at commit.
    mentions: Mapped[list | None] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    author = relationship("Developer")
