"""Preparing an event for the transaction: severity, fingerprint, ids, times and the rows it writes.

The pure part of recording, done before the transaction; for HTTP events by the request's own thread
before the group-commit writer takes them (app/recording/writer.py), so the writer's serial loop only writes.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import orjson
from flask import current_app

from app.ingest.fingerprint import compute_fingerprint, culprit
from app.ingest.in_app import apply_in_app
from app.ingest.incoming import IncomingError, clean_json, truncate
from app.ingest.scrubbing import ParsedPayload, scrub_event
from app.ingest.settings import DEFAULT_SETTINGS, IngestSettings
from app.ingest.severity import classify, load_rules
from app.models import SEVERITY_LEVEL
from app.models.types import new_uuid, utcnow


@dataclass
class PreparedEvent:
    """An event with its severity, fingerprint, ids and times: what the transaction writes."""

    incoming: IncomingError
    fingerprint: str
    severity: str
    level: int
    occurrence_id: str
    client_event_id: bool
    timestamp: dt.datetime
    received_at: dt.datetime
    occurrence: dict  # the occurrence's row but for its error, ready to insert


def _text(value: str | None) -> str | None:
    # PostgreSQL rejects NUL in text columns; a client's stray NUL must not lose the event.
    if value is None or "\x00" not in value:
        return value
    return value.replace("\x00", "")


def prepare(incoming: IncomingError, now: dt.datetime | None = None,
            settings: IngestSettings = DEFAULT_SETTINGS, parsed: ParsedPayload | None = None) -> PreparedEvent:
    """Severity, fingerprint, ids and times: the pure part of recording, done before the transaction
    (by the request's own thread when the group-commit writer records it).

    First the service's ``settings`` apply, to every event whichever way it came in: its data is scrubbed
    (nothing scrubbed is stored, the raw payload included) and its frames marked in app or not, before
    anything reads them (severity rules, grouping, the culprit). ``parsed``: the ingest view's look at the
    raw payload's parsed tree, which spares scrubbing a test of its text (app/ingest/scrubbing.py)."""
    now = now or utcnow()
    scrub_event(incoming, settings.scrubber, parsed)
    apply_in_app(incoming, settings.in_app_rules)
    incoming.error_type = _text(incoming.error_type) or "Error"
    incoming.message = _text(incoming.message) or ""
    severity = classify(incoming, load_rules(current_app.config.get("SEVERITY_RULES")))
    timestamp = incoming.timestamp or now
    if timestamp > now:
        timestamp = now  # a client clock ahead of ours must not put errors in the future
    return PreparedEvent(
        incoming=incoming,
        fingerprint=compute_fingerprint(incoming),
        severity=severity,
        level=SEVERITY_LEVEL[severity],
        occurrence_id=incoming.event_id or new_uuid(),
        client_event_id=incoming.event_id is not None,
        timestamp=timestamp,
        received_at=now,
        occurrence=_occurrence_values(incoming, severity, timestamp, now),
    )


def _json_text(value) -> str:
    """JSON as the column stores it (None is JSON null), written with orjson: the json module, through the
    JSON column type, took 12 % of a web process's CPU on these nested events."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # what orjson does not take (integers past 64 bits): as the JSON column did
        return json.dumps(value)


def _occurrence_values(i: IncomingError, severity: str, timestamp: dt.datetime, now: dt.datetime) -> dict:
    return {
        "id": None, "error_id": None, "service_id": i.service_id, "source": i.source,
        "timestamp": timestamp, "received_at": now, "message": i.message, "severity": severity,
        "stack_trace": _text(i.stack_trace), "exceptions": _json_text(clean_json(i.exceptions) or None),
        "user": _json_text(clean_json(i.user)), "request": _json_text(clean_json(i.request)),
        "tags": _json_text(clean_json(i.tags) or None), "extra": _json_text(clean_json(i.extra) or None),
        "environment": _text(i.environment), "release": _text(i.release), "server_name": _text(i.server_name),
        "endpoint": _text(i.endpoint), "raw_payload": _text(i.raw_payload),
    }


def error_values(group: list[PreparedEvent]) -> dict:
    """The row a batch's events of one error would insert (the upsert adds them to an existing one)."""
    first, last = group[0], group[-1]
    top = max(group, key=lambda p: p.level)
    i = first.incoming
    return {
        "id": new_uuid(), "service_id": i.service_id, "fingerprint": first.fingerprint, "kind": i.kind,
        "severity": top.severity,
        "severity_level": top.level, "error_type": truncate(i.error_type, 255), "message": i.message,
        "culprit": _text(culprit(i)), "endpoint": _text(i.endpoint), "platform": _text(i.platform),
        "occurrence_count": len(group), "first_seen": min(p.timestamp for p in group),
        "last_seen": max(p.timestamp for p in group), "environment": _text(last.incoming.environment),
        "release": _text(last.incoming.release),
    }
