"""Recording errors: one transaction per batch of events and their outbox rows, then the hand-off after commit.

Every way in ends in ``record_prepared``, with events already through ``prepare`` (app/recording/prepare.py):
the HTTP routes (JSON API, webhooks, Sentry endpoints) hand them to it through the group-commit writer
(app/recording/writer.submit_error), batch loads (the demo) directly through ``record_errors``.
The hot path uses SQLAlchemy Core with its statements built once per database dialect (building the
upsert construct per event cost more CPU than all the rest of the writer: docs/PERFORMANCE.md).
``INSERT .. ON CONFLICT (service_id, fingerprint) DO UPDATE .. RETURNING`` makes two first occurrences
racing safe without a lock. On PostgreSQL every distinct error of a batch goes in one such statement
(its values as arrays, unnested), so a batch costs the same few round trips whatever its size; SQLite,
in process, runs it once per distinct error. The occurrences go in one multi-row insert.

A new, regressed or graver error's event also gets its outbox row in the same transaction (one
multi-row ``INSERT .. ON CONFLICT DO NOTHING`` per batch, only when the batch has such an event:
app/platform/outbox.py), so the hand-off after commit may fail (Redis down) and the worker still
finds the event; an occurrence of an error that stays as it was, the common case, writes nothing more
than its facets and its hourly counts (app/recording/facets.py, rollups.py: one upsert per table per batch).
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import (
    ARRAY, JSON, Column, MetaData, Table, Text, bindparam, case, cast, func, literal, select, text, update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.ingest.incoming import IncomingError
from app.models import SEVERITY_LEVEL, AuditEvent, ErrorLog, ErrorOccurrence, partitions
from app.models.types import UTCDateTime, new_uuid, utcnow
from app.platform import hooks, outbox
from app.recording import facets, merges, occurrences, releases, rollups
from app.recording.prepare import PreparedEvent, error_values, prepare
from app.triage import kinds, snoozed as snooze_state

log = logging.getLogger("heartwatch.ingest")

ERRORS = ErrorLog.__table__
OCCURRENCES = ErrorOccurrence.__table__
AUDIT = AuditEvent.__table__
TRANSIENT_RETRIES = 4


@dataclass
class RecordResult:
    """What ``record_prepared`` did with one event."""

    error_id: str | None
    occurrence_id: str
    service_id: int
    status: str
    severity: str
    is_new: bool = False
    regressed: bool = False
    severity_raised: bool = False
    duplicate: bool = False
    spooled: bool = False  # accepted into the spool, stored once the database is back (app/recording/spool.py)

    @property
    def event(self) -> str | None:
        """The notification event this result calls for, if any."""
        if self.duplicate or self.spooled:
            return None
        if self.is_new:
            return "error.created"
        if self.regressed:
            return "error.regressed"
        if self.severity_raised:
            return "error.severity_raised"
        return None


# Columns of a new error that vary per error; status and regression_count start the same.
VARYING_COLUMNS = ("id", "service_id", "fingerprint", "kind", "severity", "severity_level", "error_type", "message",
                   "culprit", "endpoint", "platform", "occurrence_count", "first_seen", "last_seen",
                   "environment", "release", "first_release_id", "last_release_id")
NEW_ERROR = {"status": "new", "regression_count": 0}
RETURNED_COLUMNS = ("service_id", "fingerprint", "id", "status", "severity", "occurrence_count", "regressed_at",
                    "severity_raised_at", "regression_count", "snoozed_at", "merged_into_id")


def _on_conflict(stmt):
    """Add a batch's events to the existing error: counts, first/last seen, the highest severity, the
    first and newest release, and a resolved error reopens (a regression), unless it was resolved "in next
    release" and none of the events comes from a release newer than the one current then (releases.id
    order: app/recording/releases.py). ``marker`` (the batch's time) tells which rows this statement
    reopened or made graver."""
    excluded = stmt.excluded
    # A NULL release id (an event without a release) is newer than nothing: the error stays resolved.
    was_resolved = (ERRORS.c.status == "resolved") & (
        ERRORS.c.resolved_in_release_id.is_(None) | (excluded.last_release_id > ERRORS.c.resolved_in_release_id))
    rises = excluded.severity_level > ERRORS.c.severity_level
    mark = bindparam("marker", type_=UTCDateTime())
    return stmt.on_conflict_do_update(
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
            "resolved_at": case((was_resolved, None), else_=ERRORS.c.resolved_at),
            "regressed_at": case((was_resolved, mark), else_=ERRORS.c.regressed_at),
            "regression_count": ERRORS.c.regression_count + case((was_resolved, 1), else_=0),
            "environment": case((excluded.environment.is_(None), ERRORS.c.environment),
                                else_=excluded.environment),
            "release": case((excluded.release.is_(None), ERRORS.c.release), else_=excluded.release),
            "first_release_id": func.coalesce(ERRORS.c.first_release_id, excluded.first_release_id),
            "last_release_id": case((excluded.last_release_id > func.coalesce(ERRORS.c.last_release_id, 0),
                                     excluded.last_release_id), else_=ERRORS.c.last_release_id),
            "regressed_release_id": case((was_resolved, excluded.last_release_id),
                                         else_=ERRORS.c.regressed_release_id),
            "resolved_in_release_id": case((was_resolved, None), else_=ERRORS.c.resolved_in_release_id),
        },
    ).returning(*(ERRORS.c[name] for name in RETURNED_COLUMNS))


# error_occurrences as the hot path writes it: the same table, with its JSON columns taking the text
# _json_text made (PostgreSQL reads it into jsonb; SQLite keeps text, as its JSON columns do).
OCCURRENCES_WRITE = Table(
    OCCURRENCES.name, MetaData(),
    *(Column(c.name, Text() if isinstance(c.type, JSON) else c.type, primary_key=c.primary_key)
      for c in OCCURRENCES.columns),
)


class _Statements:
    """The hot path's statements for one dialect, built once: executing a prebuilt construct skips
    building it and reuses its memoised cache key and compiled form."""

    def __init__(self, dialect: str):
        self.postgresql = dialect == "postgresql"
        insert = pg_insert if self.postgresql else sqlite_insert
        if self.postgresql:
            # One statement for all the batch's errors: each column's values as an array, unnested in step.
            columns = [func.unnest(cast(bindparam(f"{name}_values", type_=ARRAY(ERRORS.c[name].type)),
                                        ARRAY(ERRORS.c[name].type))).label(name) for name in VARYING_COLUMNS]
            source = select(*columns, *(literal(value, ERRORS.c[name].type).label(name)
                                        for name, value in NEW_ERROR.items()))
            self.upsert = _on_conflict(insert(ERRORS).from_select([*VARYING_COLUMNS, *NEW_ERROR], source))
        else:
            self.upsert = _on_conflict(insert(ERRORS))
        # RETURNING lets SQLAlchemy send every row in one multi-row INSERT; without it an ON CONFLICT
        # insert falls back to the driver's executemany, a round trip per occurrence. PostgreSQL's
        # partitioned table is unique on (id, received_at) only: there a resend racing its original is
        # kept apart by ``lock_event_ids`` instead (app/models/partitions.py).
        self.insert_occurrences = (insert(OCCURRENCES_WRITE).on_conflict_do_nothing(
            index_elements=["id", partitions.KEY] if self.postgresql else ["id"]).returning(OCCURRENCES_WRITE.c.id))
        # Client event ids locked in one order for the transaction, so the check for an earlier copy
        # sees a racing one committed.
        self.lock_event_ids = text(
            "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT DISTINCT hashtextextended(i, :seed) AS k "
            "FROM unnest(CAST(:ids AS text[])) AS i ORDER BY k) AS keys").bindparams(seed=partitions.LOCK_KEY)
        # The outbox rows of the batch's new, regressed and graver errors (app/platform/outbox.py).
        self.insert_dispatches = outbox.insert_statement(insert)
        self.uncount = (update(ERRORS).where(ERRORS.c.id == bindparam("error"))
                        .values(occurrence_count=ERRORS.c.occurrence_count - bindparam("resent")))
        # The errors merged ones lead to (app/triage/merge.py): read only by a batch that has such events.
        self.merge_targets = (select(ERRORS.c.id, ERRORS.c.service_id, ERRORS.c.fingerprint)
                              .where(ERRORS.c.id.in_(bindparam("ids", expanding=True))))
        self.known_occurrences = (
            select(OCCURRENCES.c.id, ERRORS.c.id, ERRORS.c.service_id, ERRORS.c.status, ERRORS.c.severity)
            .join(ERRORS, ERRORS.c.id == OCCURRENCES.c.error_id)
            .where(OCCURRENCES.c.id.in_(bindparam("ids", expanding=True)),
                   OCCURRENCES.c.received_at >= bindparam("since", type_=OCCURRENCES.c.received_at.type))
        )

    def upsert_errors(self, conn, rows: list[dict], marker: dt.datetime) -> dict[tuple[int, str], object]:
        """Upsert the errors (rows in key order, so two writers lock rows in the same order and cannot
        deadlock); the resulting rows by (service_id, fingerprint)."""
        if self.postgresql:
            params = {f"{name}_values": [row[name] for row in rows] for name in VARYING_COLUMNS}
            params["marker"] = marker
            result = conn.execute(self.upsert, params)
        else:
            result = [conn.execute(self.upsert, {**row, **NEW_ERROR, "marker": marker}).one() for row in rows]
        return {(row.service_id, row.fingerprint): row for row in result}


_statements: dict[str, _Statements] = {}
_statements_lock = threading.Lock()


def _statements_for(dialect: str) -> _Statements:
    statements = _statements.get(dialect)
    if statements is None:
        with _statements_lock:
            statements = _statements.get(dialect) or _Statements(dialect)
            _statements[dialect] = statements
    return statements


def _duplicate(p: PreparedEvent, stored: tuple) -> RecordResult:
    error_id, service_id, status, severity = stored
    return RecordResult(error_id, p.occurrence_id, service_id, status, severity, duplicate=True)


def _write_batch(conn, batch: list[PreparedEvent]) -> list[RecordResult]:
    statements = _statements_for(conn.dialect.name)
    results: list[RecordResult | None] = [None] * len(batch)
    marker = utcnow()

    # SDK retries and offline caches resend the same event id: store it once.
    client_ids = [p.occurrence_id for p in batch if p.client_event_id]
    if client_ids and statements.postgresql:
        conn.execute(statements.lock_event_ids, {"ids": client_ids})
    known = occurrences.stored(conn, statements, client_ids, occurrences.resend_since(batch))
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    first_copies: dict[str, int] = {}

    def sender(occurrence_id: str) -> int | None:
        if occurrence_id in known:
            return known[occurrence_id][1]
        if occurrence_id in first_copies:
            return batch[first_copies[occurrence_id]].incoming.service_id
        return None

    for index, p in enumerate(batch):
        if p.client_event_id and sender(p.occurrence_id) not in (None, p.incoming.service_id):
            # Another service's event id: not a resend of this event, so it gets an id of its own.
            p.occurrence_id, p.client_event_id = new_uuid(), False
        if p.occurrence_id in known:
            results[index] = _duplicate(p, known[p.occurrence_id])
        elif p.occurrence_id in first_copies:
            continue  # the same event twice in one batch: answered from its first copy below
        else:
            first_copies[p.occurrence_id] = index
            groups[(p.incoming.service_id, p.fingerprint)].append(index)

    keys = sorted(groups)
    errors = {}
    if keys:
        grouped = [[batch[i] for i in groups[key]] for key in keys]
        values = [error_values(group) for group in grouped]
        releases.number(conn, grouped, values)
        errors = statements.upsert_errors(conn, values, marker)
    if any(errors[key].merged_into_id is not None for key in keys):
        keys = merges.follow(conn, statements, batch, groups, errors, marker)
    for key in keys:
        for index in groups[key]:
            p = batch[index]
            p.occurrence["id"], p.occurrence["error_id"] = p.occurrence_id, errors[key].id
            p.occurrence["fingerprint"] = p.fingerprint
    resent = occurrences.insert(conn, statements, [batch[i] for key in keys for i in groups[key]]) \
        if keys else {}
    # Snoozed errors only (their row says so): has their count or rate come (app/triage/snoozed.py)?
    snoozed = [errors[key] for key in keys if errors[key].snoozed_at is not None]
    woken = snooze_state.wake_at_ingest(conn, snoozed, marker) if snoozed else {}

    audit_rows, outbox_rows = [], []
    seen: dict = {}  # the stored events' facets (app/recording/facets.py)
    counts: dict = {}  # and their hourly counts (app/recording/rollups.py)
    for key in keys:
        row = errors[key]
        is_new = row.occurrence_count == len(groups[key])
        wake = woken.get(row.id) if woken else None
        regressed = not is_new and (row.regressed_at == marker or wake is not None)
        # A snoozed error's rise in severity is told to nobody (it is told when it wakes).
        raised = not is_new and row.severity_raised_at == marker and (row.snoozed_at is None or wake is not None)
        regression_count = wake[0] if wake is not None else row.regression_count
        stored = []
        for index in groups[key]:
            p = batch[index]
            if p.occurrence_id in resent:
                results[index] = _duplicate(p, resent[p.occurrence_id])
            else:
                stored.append(index)
        if len(stored) < len(groups[key]):
            # The upsert counted resends that another transaction stored first: uncount them.
            conn.execute(statements.uncount, {"error": row.id, "resent": len(groups[key]) - len(stored)})
        for position, index in enumerate(stored):
            p = batch[index]
            facets.collect(seen, row.id, p.occurrence, p.incoming.user, p.incoming.tags, p.incoming.extra,
                           p.timestamp)
            rollups.collect(counts, row.id, p.incoming.service_id, p.severity, p.timestamp)
            results[index] = RecordResult(
                row.id, p.occurrence_id, p.incoming.service_id, row.status, row.severity,
                is_new=is_new and position == 0, regressed=regressed and position == 0,
                severity_raised=raised and position == 0,
            )
        if regressed and stored:
            details = {"occurrence_id": batch[stored[0]].occurrence_id}
            if wake is not None:
                details.update(snooze_state.woke_details(wake[1], regression_count))
            audit_rows.append({"actor_label": "system", "action": "error.woke" if wake else "error.regressed",
                               "object_type": "error", "object_id": row.id, "error_id": row.id,
                               "created_at": marker, "details": details})
        if (is_new or regressed or raised) and stored and batch[stored[0]].incoming.kind in kinds.ROUTED_KINDS:
            # The event's outbox row, committed with the error (the first of RecordResult.event's events).
            if is_new:
                event, event_marker = "error.created", outbox.created_marker()
            elif regressed:
                event, event_marker = "error.regressed", outbox.regressed_marker(regression_count)
            else:
                event, event_marker = "error.severity_raised", outbox.raised_marker(SEVERITY_LEVEL[row.severity],
                                                                                    marker)
            outbox_rows.append(outbox.pending_row(row.id, event, event_marker, marker))
    if audit_rows:
        conn.execute(AUDIT.insert(), audit_rows)
    if outbox_rows:
        conn.execute(statements.insert_dispatches, outbox_rows).all()
    facets.write(conn, seen)
    rollups.write(conn, counts)

    for index, p in enumerate(batch):
        if results[index] is None:  # an in-batch duplicate
            original = results[first_copies[p.occurrence_id]]
            results[index] = RecordResult(original.error_id, p.occurrence_id, original.service_id,
                                          original.status, original.severity, duplicate=True)
    return results  # type: ignore[return-value]


def _is_transient(exc: OperationalError) -> bool:
    """A conflict with another transaction, worth an immediate retry. SQLite's "database is locked"
    is not: its busy timeout has waited already, and the event goes to the spool instead."""
    text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return "deadlock" in text or "could not serialize" in text


def record_prepared(prepared: list[PreparedEvent], connection=None,
                    hand_off: bool = True) -> list[RecordResult]:
    """Record events already through ``prepare`` in one transaction (on ``connection`` when given, else
    one from the pool); then, unless the caller does it itself, the hand-off after commit."""
    if not prepared:
        return []
    for attempt in range(TRANSIENT_RETRIES):
        try:
            if connection is not None:
                with connection.begin():
                    results = _write_batch(connection, prepared)
            else:
                with db.engine.begin() as conn:
                    results = _write_batch(conn, prepared)
            break
        except OperationalError as exc:
            if attempt + 1 == TRANSIENT_RETRIES or not _is_transient(exc):
                raise
            log.warning("ingest transaction retried after a transient error: %s", exc.orig)
            time.sleep(0.01 * (attempt + 1))
    if hand_off:
        after_record(results)
    return results


def record_errors(events: list[IncomingError]) -> list[RecordResult]:
    """Record a batch of events in one transaction (prepared here, by the caller's thread), then hand new
    work off after commit: the way in for batch loads."""
    return record_prepared([prepare(e) for e in events])


def record_error(incoming: IncomingError) -> RecordResult:
    """Record one event on its own, as ``record_errors`` does a batch."""
    return record_errors([incoming])[0]


def announce(event: str, error_id: str, service_id: int, severity: str, status: str) -> None:
    """After commit: announce an error event (the live feed and the workers' hand-off listen)."""
    hooks.after_commit("error_event", error_id=error_id, event=event, service_id=service_id,
                       severity=severity, status=status)


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
