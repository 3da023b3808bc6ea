"""Uploads the way ``sentry-cli`` sends them: chunks named by their SHA-1, then an assemble request
naming the bundle's checksum, its chunks in order and the projects (Heartwatch services, by slug).

Assembling is done in the assemble request itself: the first request answers ``not_found`` with the
chunks it lacks, and once they are uploaded the next one puts them together, checks the checksum,
reads the bundle (bundles.py) and stores its files, answering ``ok``. A bundle already stored
answers ``ok`` at once. Who may upload: admins, and the lead and developers of each service named.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re

from sqlalchemy import delete, select

from app.extensions import db
from app.models import ArtifactBundle, ArtifactFile, Developer, Service, UploadChunk
from app.models.types import utcnow
from app.platform.audit import record_audit
from app.platform.refusal import Refused
from app.symbolication import bundles, resolve
from app.triage import permissions

CHUNK_SIZE = 8 * 1024 * 1024
CHUNKS_PER_REQUEST = 4
MAX_REQUEST_BYTES = CHUNK_SIZE * CHUNKS_PER_REQUEST
MAX_CHUNKS = bundles.MAX_BUNDLE_BYTES // CHUNK_SIZE + 1
MAX_PROJECTS = 20
# Chunks of an upload that was never assembled are dropped after this long.
CHUNK_LIFETIME = dt.timedelta(hours=24)
SHA1 = re.compile(r"^[0-9a-f]{40}$")
# A service keeps its newest bundles (a deploy's upload is one); older ones are dropped with their files.
MAX_BUNDLES_PER_SERVICE = 200


def chunk_options(url: str) -> dict:
    """What GET chunk-upload answers: where and how sentry-cli sends chunks."""
    return {"url": url, "chunkSize": CHUNK_SIZE, "chunksPerRequest": CHUNKS_PER_REQUEST,
            "maxFileSize": bundles.MAX_BUNDLE_BYTES, "maxRequestSize": MAX_REQUEST_BYTES, "maxWait": 60,
            "concurrency": 1, "hashAlgorithm": "sha1", "compression": ["gzip"],
            "accept": ["artifact_bundles", "sources"]}


def _checksum(value, field: str) -> str:
    if not isinstance(value, str) or not SHA1.match(value.strip().lower()):
        raise Refused(f"'{field}' must be a SHA-1 checksum (40 hexadecimal digits)", field)
    return value.strip().lower()


def store_chunk(name, content: bytes) -> str:
    """Keep one chunk; its name must be the SHA-1 of its (decompressed) bytes."""
    checksum = _checksum(name, "file")
    if len(content) > CHUNK_SIZE:
        raise Refused(f"a chunk is larger than {CHUNK_SIZE} bytes", "file", 413)
    if hashlib.sha1(content).hexdigest() != checksum:
        raise Refused(f"chunk {checksum} does not have that SHA-1 checksum", "file")
    if db.session.get(UploadChunk, checksum) is None:
        db.session.add(UploadChunk(checksum=checksum, content=content, size=len(content)))
    return checksum


def _services(projects, actor: Developer) -> list[Service]:
    if not isinstance(projects, list) or not projects or len(projects) > MAX_PROJECTS:
        raise Refused(f"'projects' must list 1 to {MAX_PROJECTS} service slugs", "projects")
    services = []
    for slug in dict.fromkeys(projects):
        if not isinstance(slug, str) or not slug:
            raise Refused("'projects' must list service slugs", "projects")
        service = db.session.execute(select(Service).where(Service.slug == slug[:120])).scalar_one_or_none()
        if service is None or not service.active:
            # 400, not 404: sentry-cli reads any 404 here as "release not found" and drops the detail.
            raise Refused(f"no project {slug[:120]!r}: SENTRY_PROJECT is a Heartwatch service's slug", "projects")
        if not permissions.can_upload_artifacts(actor, service):
            raise Refused(f"you may not upload source maps for {slug!r} (its lead, its developers and admins may)",
                          "projects", 403)
        services.append(service)
    return services


def _optional(payload: dict, name: str, limit: int) -> str | None:
    value = payload.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise Refused(f"'{name}' must be a string of at most {limit} characters", name)
    return value


def assemble(payload: dict, actor: Developer) -> dict:
    """One assemble request: ``{"state", "missingChunks", "detail"}`` as sentry-cli reads it."""
    checksum = _checksum(payload.get("checksum"), "checksum")
    chunks = payload.get("chunks")
    if not isinstance(chunks, list) or not chunks or len(chunks) > MAX_CHUNKS:
        raise Refused(f"'chunks' must list 1 to {MAX_CHUNKS} chunk checksums (bundles are at most "
                      f"{bundles.MAX_BUNDLE_BYTES} bytes)", "chunks", 413 if isinstance(chunks, list) and chunks
                      else 400)
    chunks = [_checksum(c, "chunks") for c in chunks]
    release, dist = _optional(payload, "version", 128), _optional(payload, "dist", 64)
    services = _services(payload.get("projects"), actor)
    stored = set(db.session.execute(select(ArtifactBundle.service_id).where(
        ArtifactBundle.checksum == checksum, ArtifactBundle.service_id.in_([s.id for s in services]))).scalars())
    pending = [s for s in services if s.id not in stored]
    if not pending:
        return {"state": "ok", "missingChunks": [], "detail": None}
    rows = {row.checksum: row for row in db.session.execute(
        select(UploadChunk).where(UploadChunk.checksum.in_(set(chunks)))).scalars()}
    missing = list(dict.fromkeys(c for c in chunks if c not in rows))
    if missing:
        return {"state": "not_found", "missingChunks": missing, "detail": None}
    if sum(rows[c].size for c in chunks) > bundles.MAX_BUNDLE_BYTES:
        raise Refused(f"the bundle is larger than {bundles.MAX_BUNDLE_BYTES} bytes", "chunks", 413)
    data = b"".join(rows[c].content for c in chunks)
    if hashlib.sha1(data).hexdigest() != checksum:
        raise Refused("the chunks put together do not have the bundle's checksum", "checksum")
    bundle = bundles.read_bundle(data)
    for service in pending:
        _store(service, bundle, checksum, len(data), release or bundle.release, dist or bundle.dist, actor)
        _drop_old_bundles(service.id)
    db.session.execute(delete(UploadChunk).where(UploadChunk.checksum.in_(set(chunks))))
    db.session.execute(delete(UploadChunk).where(UploadChunk.created_at < utcnow() - CHUNK_LIFETIME))
    db.session.commit()
    for service in pending:
        resolve.forget(service.id, {f.debug_id for f in bundle.files if f.debug_id}, release or bundle.release)
    return {"state": "ok", "missingChunks": [], "detail": None}


def _store(service: Service, bundle: bundles.Bundle, checksum: str, size: int, release: str | None,
           dist: str | None, actor: Developer) -> None:
    row = ArtifactBundle(service_id=service.id, checksum=checksum, bundle_id=bundle.bundle_id, release=release,
                         dist=dist, file_count=len(bundle.files), size=size, uploaded_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    for item in bundle.files:
        # A newer upload of the same script or map replaces the older one.
        if item.debug_id:
            db.session.execute(delete(ArtifactFile).where(
                ArtifactFile.service_id == service.id, ArtifactFile.debug_id == item.debug_id,
                ArtifactFile.kind == item.kind))
        elif release:
            db.session.execute(delete(ArtifactFile).where(
                ArtifactFile.service_id == service.id, ArtifactFile.release == release,
                ArtifactFile.url == item.url, ArtifactFile.debug_id.is_(None)))
        db.session.add(ArtifactFile(
            bundle_id=row.id, service_id=service.id, kind=item.kind, debug_id=item.debug_id,
            release=release, dist=dist, url=item.url, sourcemap=item.sourcemap, size=len(item.content),
            content=item.content))
    record_audit(actor, "sourcemaps.uploaded", "service", service.id,
                 details={"files": len(bundle.files), "release": release, "bundle_id": bundle.bundle_id})


def _drop_old_bundles(service_id: int) -> None:
    old = list(db.session.execute(select(ArtifactBundle.id).where(ArtifactBundle.service_id == service_id)
                                  .order_by(ArtifactBundle.id.desc()).offset(MAX_BUNDLES_PER_SERVICE)).scalars())
    if old:
        db.session.execute(delete(ArtifactFile).where(ArtifactFile.bundle_id.in_(old)))
        db.session.execute(delete(ArtifactBundle).where(ArtifactBundle.id.in_(old)))
