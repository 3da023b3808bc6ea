"""Recording errors: one transaction per batch of events, then the hand-off after commit.

Every entry point (JSON API, webhooks, Sentry endpoints, the demo) ends in ``record_error``.
The hot path uses SQLAlchemy Core: one ``INSERT .. ON CONFLICT (service_id, fingerprint) DO UPDATE
.. RETURNING`` per distinct error in the batch (safe against two first occurrences racing, without
a lock) and one multi-row insert for the occurrences.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import case, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.ingest.fingerprint import compute_fingerprint, culprit
from app.ingest.incoming import IncomingError, clean_json, truncate
from app.ingest.severity import classify, load_rules
from app.models import AuditEvent, ErrorLog, ErrorOccurrence, SEVERITY_LEVEL
from app.models.types import UTCDateTime, new_uuid, utcnow

log = logging.getLogger("heartwatch.ingest")

ERRORS = ErrorLog.__table__
OCCURRENCES = ErrorOccurrence.__table__
AUDIT = AuditEvent.__table__
TRANSIENT_RETRIES = 4


@dataclass
class RecordResult:
    """What ``record_error`` did with one event."""

    error_id: str
    occurrence_id: str
    service_id: int
    status: str
    severity: str
    is_new: bool = False
    regressed: bool = False
    severity_raised: bool = False
    duplicate: bool = False

    @property
    def event(self) -> str | None:
        """The notification event this result calls for, if any."""
        if self.duplicate:
            return None
        if self.is_new:
            return "error.created"
        if self.regressed:
            return "error.regressed"
        if self.severity_raised:
            return "error.severity_raised"
        return None


@dataclass
class _Prepared:
    incoming: IncomingError
    fingerprint: str
    severity: str
    level: int
    occurrence_id: str
    client_event_id: bool
    timestamp: dt.datetime
    received_at: dt.datetime


def _text(value: str | None) -> str | None:
    # PostgreSQL rejects NUL in text columns; a client's stray NUL must not lose the event.
    if value is None or "\x00" not in value:
        return value
    return value.replace("\x00", "")


def prepare(incoming: IncomingError, now: dt.datetime | None = None) -> _Prepared:
    """Severity, fingerprint, ids and times: the pure part of recording, done before the transaction."""
    now = now or utcnow()
    incoming.error_type = _text(incoming.error_type) or "Error"
    incoming.message = _text(incoming.message) or ""
    severity = classify(incoming, load_rules(current_app.config.get("SEVERITY_RULES")))
    timestamp = incoming.timestamp or now
    if timestamp > now:
        timestamp = now  # a client clock ahead of ours must not put errors in the future
    return _Prepared(
        incoming=incoming,
        fingerprint=compute_fingerprint(incoming),
        severity=severity,
        level=SEVERITY_LEVEL[severity],
        occurrence_id=incoming.event_id or new_uuid(),
        client_event_id=incoming.event_id is not None,
        timestamp=timestamp,
        received_at=now,
    )


def _occurrence_row(p: _Prepared, error_id: str) -> dict:
    i = p.incoming
    return {
        "id": p.occurrence_id, "error_id": error_id, "service_id": i.service_id, "source": i.source,
        "timestamp": p.timestamp, "received_at": p.received_at, "message": i.message, "severity": p.severity,
        "stack_trace": _text(i.stack_trace), "exceptions": clean_json(i.exceptions) or None,
        "user": i.user, "request": i.request, "tags": clean_json(i.tags) or None,
        "extra": clean_json(i.extra) or None, "environment": _text(i.environment),
        "release": _text(i.release), "server_name": _text(i.server_name), "endpoint": _text(i.endpoint),
        "raw_payload": _text(i.raw_payload),
    }


def _upsert_error(conn, insert, group: list[_Prepared], marker: dt.datetime):
    first, last = group[0], group[-1]
    top = max(group, key=lambda p: p.level)
    i = first.incoming
    stmt = insert(ERRORS).values(
        id=new_uuid(), service_id=i.service_id, fingerprint=first.fingerprint, severity=top.severity,
        severity_level=top.level, error_type=truncate(i.error_type, 255), message=i.message,
        culprit=_text(culprit(i)), endpoint=_text(i.endpoint), platform=i.platform, status="new",
        resolved=False, occurrence_count=len(group), first_seen=min(p.timestamp for p in group),
        last_seen=max(p.timestamp for p in group), environment=_text(last.incoming.environment),
        release=_text(last.incoming.release), regression_count=0,
    )
    excluded = stmt.excluded
    was_resolved = ERRORS.c.status == "resolved"
    rises = excluded.severity_level > ERRORS.c.severity_level
    mark = literal(marker, UTCDateTime())
    stmt = stmt.on_conflict_do_update(
        index_elements=[ERRORS.c.service_id, ERRORS.c.fingerprint],
        set_={
            "occurrence_count": ERRORS.c.occurrence_count + excluded.occurrence_count,
            "last_seen": case((excluded.last_seen > ERRORS.c.last_seen, excluded.last_seen),
                              else_=ERRORS.c.last_seen),
            "first_seen": case((excluded.first_seen < ERRORS.c.first_seen, excluded.first_seen),
                               else_=ERRORS.c.first_seen),
            "severity": case((rises, excluded.severity), else_=ERRORS.c.severity),
            "severity_level": case((rises, excluded.severity_level), else_=ERRORS.c.severity_level),
            "severity_raised_at": case((rises, mark), else_=ERRORS.c.severity_raised_at),
            # A new occurrence of a resolved error reopens it: a regression.
            "status": case((was_resolved, "new"), else_=ERRORS.c.status),
            "resolved": case((was_resolved, False), else_=ERRORS.c.resolved),
            "resolved_at": case((was_resolved, None), else_=ERRORS.c.resolved_at),
            "regressed_at": case((was_resolved, mark), else_=ERRORS.c.regressed_at),
            "regression_count": ERRORS.c.regression_count + case((was_resolved, 1), else_=0),
            "environment": case((excluded.environment.is_(None), ERRORS.c.environment),
                                else_=excluded.environment),
            "release": case((excluded.release.is_(None), ERRORS.c.release), else_=excluded.release),
        },
    ).returning(ERRORS.c.id, ERRORS.c.status, ERRORS.c.severity, ERRORS.c.occurrence_count,
                ERRORS.c.regressed_at, ERRORS.c.severity_raised_at)
    return conn.execute(stmt).one()


def _write_batch(conn, batch: list[_Prepared]) -> list[RecordResult]:
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    results: list[RecordResult | None] = [None] * len(batch)
    marker = utcnow()

    # SDK retries and offline caches resend the same event id: store it once.
    client_ids = [p.occurrence_id for p in batch if p.client_event_id]
    known: dict[str, tuple] = {}
    if client_ids:
        rows = conn.execute(
            select(OCCURRENCES.c.id, ERRORS.c.id, ERRORS.c.service_id, ERRORS.c.status, ERRORS.c.severity)
            .join(ERRORS, ERRORS.c.id == OCCURRENCES.c.error_id)
            .where(OCCURRENCES.c.id.in_(client_ids))
        )
        known = {row[0]: tuple(row[1:]) for row in rows}

    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    batch_ids: dict[str, int] = {}
    for index, p in enumerate(batch):
        if p.occurrence_id in known:
            error_id, service_id, status, severity = known[p.occurrence_id]
            results[index] = RecordResult(error_id, p.occurrence_id, service_id, status, severity,
                                          duplicate=True)
        elif p.occurrence_id in batch_ids:
            continue  # the same event twice in one batch: answered from its first copy below
        else:
            batch_ids[p.occurrence_id] = index
            groups[(p.incoming.service_id, p.fingerprint)].append(index)

    occurrence_rows = []
    audit_rows = []
    # A fixed order of upserts keeps two writers from deadlocking on each other's rows.
    for key in sorted(groups):
        indexes = groups[key]
        group = [batch[i] for i in indexes]
        row = _upsert_error(conn, insert, group, marker)
        is_new = row.occurrence_count == len(group)
        regressed = not is_new and row.regressed_at == marker
        raised = not is_new and row.severity_raised_at == marker
        for position, index in enumerate(indexes):
            p = batch[index]
            results[index] = RecordResult(
                row.id, p.occurrence_id, p.incoming.service_id, row.status, row.severity,
                is_new=is_new and position == 0, regressed=regressed and position == 0,
                severity_raised=raised and position == 0,
            )
            occurrence_rows.append(_occurrence_row(p, row.id))
        if regressed:
            audit_rows.append({"actor_label": "system", "action": "error.regressed", "object_type": "error",
                               "object_id": row.id, "error_id": row.id, "created_at": marker,
                               "details": {"occurrence_id": batch[indexes[0]].occurrence_id}})

    if occurrence_rows:
        conn.execute(insert(OCCURRENCES).on_conflict_do_nothing(index_elements=["id"]), occurrence_rows)
    if audit_rows:
        conn.execute(AUDIT.insert(), audit_rows)

    for index, p in enumerate(batch):
        if results[index] is None:  # an in-batch duplicate
            original = results[batch_ids[p.occurrence_id]]
            results[index] = RecordResult(original.error_id, p.occurrence_id, original.service_id,
                                          original.status, original.severity, duplicate=True)
    return results  # type: ignore[return-value]


def _is_transient(exc: OperationalError) -> bool:
    text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return "deadlock" in text or "database is locked" in text or "could not serialize" in text


def record_errors(events: list[IncomingError]) -> list[RecordResult]:
    """Record a batch of events in one transaction, then hand new work off after commit."""
    if not events:
        return []
    prepared = [prepare(e) for e in events]
    engine = db.engine
    for attempt in range(TRANSIENT_RETRIES):
        try:
            with engine.begin() as conn:
                results = _write_batch(conn, prepared)
            break
        except OperationalError as exc:
            if attempt + 1 == TRANSIENT_RETRIES or not _is_transient(exc):
                raise
            log.warning("ingest transaction retried after a transient error: %s", exc.orig)
            time.sleep(0.01 * (attempt + 1))
    after_record(results)
    return results


def record_error(incoming: IncomingError) -> RecordResult:
    """Record one event: upsert its error by fingerprint, insert the occurrence, hand off."""
    return record_errors([incoming])[0]


def announce(event: str, error_id: str, service_id: int, severity: str, status: str) -> None:
    """After commit: tell the live feed and hand the event to the workers (notifications).

    Never raises: the change it announces is already committed, and a queue outage must not turn
    it into an error answer (the periodic sweep picks up what was not handed off).
    """
    from app.jobs import enqueue_error_event
    from app.services import feed

    feed.publish({"type": event, "error_id": error_id, "service_id": service_id, "severity": severity,
                  "status": status})
    try:
        enqueue_error_event(error_id, event)
    except Exception:
        log.exception("could not enqueue %s for error %s", event, error_id)


def after_record(results: list[RecordResult]) -> None:
    """After commit: announce new, regressed and graver errors."""
    for result in results:
        if result.event is not None:
            announce(result.event, result.error_id, result.service_id, result.severity, result.status)


def raw_payload_text(body: bytes, limit: int) -> str:
    """The raw request body for the occurrence, capped (the parsed fields are kept in full)."""
    text = body[:limit].decode("utf-8", "replace")
    if len(body) > limit:
        text += "…[truncated]"
    return text
