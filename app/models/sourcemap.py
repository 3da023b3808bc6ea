"""Source maps: what a front-end build uploads (``sentry-cli sourcemaps upload``) so that Heartwatch can
show its minified browser frames as the lines of the original source.

An upload arrives as chunks (:class:`UploadChunk`, kept only until assembled), put together into an
artifact bundle (:class:`ArtifactBundle`: a zip whose manifest names each file's URL and debug id),
whose minified scripts and source maps are kept one row each (:class:`ArtifactFile`), found by
debug id or, for builds without debug ids, by release, dist and URL.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow

ARTIFACT_KINDS = ("minified_source", "source_map")


class UploadChunk(db.Model):
    """A piece of an upload, named by its SHA-1; deleted once its bundle is assembled."""

    __tablename__ = "upload_chunks"

    checksum: Mapped[str] = mapped_column(String(40), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ArtifactBundle(db.Model):
    """One assembled upload for one service (``checksum`` is the SHA-1 of the whole zip)."""

    __tablename__ = "artifact_bundles"
    __table_args__ = (UniqueConstraint("service_id", "checksum", name="uq_artifact_bundles_service_checksum"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    checksum: Mapped[str] = mapped_column(String(40))
    bundle_id: Mapped[str | None] = mapped_column(String(36))
    release: Mapped[str | None] = mapped_column(String(128))
    dist: Mapped[str | None] = mapped_column(String(64))
    file_count: Mapped[int] = mapped_column(Integer, default=0)
    size: Mapped[int] = mapped_column(Integer, default=0)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("developers.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArtifactFile(db.Model):
    """A minified script or a source map of a bundle. ``url`` is the manifest's (``~/static/main.js``:
    any host); ``sourcemap`` is the map a script names, relative to its URL."""

    __tablename__ = "artifact_files"
    __table_args__ = (
        Index("ix_artifact_files_debug_id", "service_id", "debug_id", "kind"),
        Index("ix_artifact_files_release_url", "service_id", "release", "url"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("artifact_bundles.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    debug_id: Mapped[str | None] = mapped_column(String(36))
    release: Mapped[str | None] = mapped_column(String(128))
    dist: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(1000))
    sourcemap: Mapped[str | None] = mapped_column(String(1000))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
