"""The optional MongoDB document mirror (MONGO_URL): errors, occurrences, notifications, patterns
and assignments, written by a job after commit for people who query documents.

The relational database stays the source of truth. Each run mirrors what changed since the last
successful run (its result keeps the time it covered; a run that fails keeps nothing, so the next
one covers the same span again): a MongoDB outage delays the mirror and loses nothing, and every
write is an upsert by the row's id, so reruns and two workers converge. Collections get a
``$jsonSchema`` validator, the indexes their queries need, and TTL indexes that match retention.
"""
from __future__ import annotations

import datetime as dt
import logging

from flask import current_app
from sqlalchemy import or_, select

from app.extensions import db
from app.models import AuditEvent, ErrorLog, ErrorNotification, ErrorOccurrence, ErrorPattern, ScheduledJob, Service
from app.models.types import utcnow
from app.platform import settings

log = logging.getLogger("heartwatch.mirror")
OVERLAP = dt.timedelta(minutes=2)  # commits that finished just after the last run's clock reading
FIRST_RUN = dt.timedelta(days=7)
RECENT_NOTIFICATIONS = dt.timedelta(hours=48)  # retries and dead letters change rows after creation
BATCH = 1000
JOB_NAME = "mirror_to_mongodb"

_date = {"bsonType": ["date", "null"]}
_string = {"bsonType": ["string", "null"]}
_int = {"bsonType": ["int", "long"]}
SCHEMAS = {
    "errors": {"bsonType": "object", "required": ["_id", "service_id", "severity", "status", "error_type",
                                                  "occurrence_count", "first_seen", "last_seen"],
               "properties": {"_id": {"bsonType": "string"}, "service_id": _int, "service": _string,
                              "severity": {"enum": ["info", "low", "medium", "high", "critical"]},
                              "status": {"enum": ["new", "assigned", "in_progress", "resolved", "ignored"]},
                              "error_type": {"bsonType": "string"}, "message": _string,
                              "occurrence_count": _int, "first_seen": {"bsonType": "date"},
                              "last_seen": {"bsonType": "date"}, "resolved_at": _date,
                              "assigned_to_id": {"bsonType": ["int", "long", "null"]}}},
    "occurrences": {"bsonType": "object", "required": ["_id", "error_id", "service_id", "timestamp", "received_at",
                                                       "severity"],
                    "properties": {"_id": {"bsonType": "string"}, "error_id": {"bsonType": "string"},
                                   "service_id": _int, "timestamp": {"bsonType": "date"},
                                   "received_at": {"bsonType": "date"}, "severity": {"bsonType": "string"},
                                   "frames": {"bsonType": ["array", "null"]}}},
    "notifications": {"bsonType": "object", "required": ["_id", "channel", "status", "event", "created_at"],
                      "properties": {"_id": {"bsonType": ["int", "long"]}, "error_id": _string,
                                     "channel": {"enum": ["email", "slack", "sms", "webhook"]},
                                     "status": {"enum": ["queued", "sent", "failed", "retrying", "dead"]},
                                     "event": {"bsonType": "string"}, "created_at": {"bsonType": "date"},
                                     "sent_at": _date, "retry_count": _int}},
    "patterns": {"bsonType": "object", "required": ["_id", "error_type", "normalised_message", "occurrence_count"],
                 "properties": {"_id": {"bsonType": ["int", "long"]}, "error_type": {"bsonType": "string"},
                                "normalised_message": {"bsonType": "string"}, "occurrence_count": _int,
                                "affected_services": {"bsonType": ["array", "null"]}, "trend": _string}},
    "assignments": {"bsonType": "object", "required": ["_id", "error_id", "action", "at"],
                    "properties": {"_id": {"bsonType": ["int", "long"]}, "error_id": {"bsonType": "string"},
                                   "action": {"enum": ["error.assigned", "error.unassigned"]},
                                   "at": {"bsonType": "date"}, "to": {"bsonType": ["int", "long", "null"]}}},
}
INDEXES = {
    "errors": [([("service_id", 1), ("last_seen", -1)], {}), ([("status", 1), ("severity", 1)], {}),
               ([("assigned_to_id", 1), ("status", 1)], {})],
    "occurrences": [([("error_id", 1), ("timestamp", -1)], {}), ([("service_id", 1), ("timestamp", -1)], {})],
    "notifications": [([("error_id", 1), ("created_at", -1)], {}), ([("status", 1), ("channel", 1)], {})],
    "patterns": [([("last_occurrence", -1)], {})],
    "assignments": [([("error_id", 1), ("at", -1)], {}), ([("to", 1), ("at", -1)], {})],
}
# (collection, field, retention setting): documents leave MongoDB when their rows leave PostgreSQL.
TTL = (("occurrences", "received_at", "retention_days"), ("errors", "resolved_at", "retention_resolved_days"),
       ("notifications", "created_at", "retention_notification_days"))

_clients: dict[str, object] = {}


def connect(url: str | None = None, name: str | None = None):
    """The mirror database (a pymongo Database), or None when MONGO_URL is unset."""
    url = url or current_app.config.get("MONGO_URL")
    if not url:
        return None
    client = _clients.get(url)
    if client is None:
        import pymongo

        client = _clients[url] = pymongo.MongoClient(url, serverSelectionTimeoutMS=3000, connectTimeoutMS=3000,
                                                     tz_aware=True)
    return client[name or current_app.config.get("MONGO_DB") or "heartwatch"]


def ensure_schema(database) -> None:
    """Collections with their validators, the indexes, and TTL indexes that follow the retention settings."""
    existing = set(database.list_collection_names())
    for name, schema in SCHEMAS.items():
        if name not in existing:
            try:
                database.create_collection(name, validator={"$jsonSchema": schema}, validationLevel="moderate")
            except NotImplementedError:
                # Some MongoDB-compatible stores have no validators; the documents are still right.
                log.warning("this MongoDB does not support validators; %s created without one", name)
                database.create_collection(name)
        else:
            try:
                database.command("collMod", name, validator={"$jsonSchema": schema}, validationLevel="moderate")
            except Exception as exc:  # older servers and compatible stores refuse collMod: keep the old one
                log.debug("validator of %s not updated: %s", name, exc)
        for keys, options in INDEXES[name]:
            database[name].create_index(keys, **options)
    values = settings.current()
    for collection, field, setting in TTL:
        seconds = int(values[setting]) * 86400
        index_name = f"ttl_{field}"
        info = database[collection].index_information().get(index_name)
        if info is not None and info.get("expireAfterSeconds") != seconds:
            database[collection].drop_index(index_name)
            info = None
        if info is None:
            database[collection].create_index([(field, 1)], name=index_name, expireAfterSeconds=seconds)


def _error_doc(e: ErrorLog, slugs: dict) -> dict:
    return {"_id": e.id, "service_id": e.service_id, "service": slugs.get(e.service_id), "fingerprint": e.fingerprint,
            "severity": e.severity, "status": e.status, "error_type": e.error_type, "message": e.message,
            "culprit": e.culprit, "endpoint": e.endpoint, "platform": e.platform, "environment": e.environment,
            "release": e.release, "occurrence_count": e.occurrence_count, "first_seen": e.first_seen,
            "last_seen": e.last_seen, "assigned_to_id": e.assigned_to_id, "assigned_at": e.assigned_at,
            "resolved": e.resolved, "resolved_at": e.resolved_at, "resolved_by_id": e.resolved_by_id,
            "regression_count": e.regression_count, "pattern_id": e.pattern_id}


def _occurrence_doc(o: ErrorOccurrence) -> dict:
    exceptions = o.exceptions or []
    return {"_id": o.id, "error_id": o.error_id, "service_id": o.service_id, "source": o.source,
            "timestamp": o.timestamp, "received_at": o.received_at, "severity": o.severity, "message": o.message,
            "exceptions": exceptions, "frames": (exceptions[-1] or {}).get("frames") if exceptions else None,
            "user": o.user, "request": o.request, "tags": o.tags, "environment": o.environment,
            "release": o.release, "server_name": o.server_name, "endpoint": o.endpoint}


def _notification_doc(n: ErrorNotification) -> dict:
    return {"_id": n.id, "error_id": n.error_id, "recipient_id": n.recipient_id, "recipient": n.recipient,
            "channel": n.channel, "event": n.event, "status": n.status, "subject": n.subject,
            "retry_count": n.retry_count, "next_retry_at": n.next_retry_at, "last_error": n.last_error,
            "created_at": n.created_at, "sent_at": n.sent_at}


def _pattern_doc(p: ErrorPattern) -> dict:
    return {"_id": p.id, "signature": p.signature, "error_type": p.error_type, "normalised_message": p.normalised_message,
            "occurrence_count": p.occurrence_count, "error_count": p.error_count,
            "affected_services": p.affected_services, "common_endpoints": p.common_endpoints,
            "severity_distribution": p.severity_distribution, "first_occurrence": p.first_occurrence,
            "last_occurrence": p.last_occurrence, "detected_at": p.detected_at, "trend": p.trend,
            "last_24h": p.last_24h, "previous_24h": p.previous_24h}


def _assignment_doc(a: AuditEvent) -> dict:
    details = a.details or {}
    return {"_id": a.id, "error_id": a.error_id, "action": a.action, "at": a.created_at, "by": a.actor_label,
            "by_id": a.actor_id, "from": details.get("from"), "to": details.get("to"), "reason": details.get("reason")}


def _upsert(collection, docs: list[dict]) -> int:
    for doc in docs:
        collection.replace_one({"_id": doc["_id"]}, doc, upsert=True)
    return len(docs)


def _insert_new(collection, docs: list[dict]) -> int:
    """Occurrences never change: insert, and a document mirrored before is simply skipped."""
    import pymongo.errors

    if not docs:
        return 0
    try:
        collection.insert_many(docs, ordered=False)
    except pymongo.errors.BulkWriteError as exc:
        others = [e for e in exc.details.get("writeErrors", []) if e.get("code") != 11000]
        if others:
            raise
    return len(docs)


def _batches(stmt):
    offset = 0
    while True:
        rows = list(db.session.execute(stmt.limit(BATCH).offset(offset)).scalars())
        if not rows:
            return
        yield rows
        offset += len(rows)


def last_covered() -> dt.datetime | None:
    """Up to when the last successful run mirrored (kept in its scheduled-job result)."""
    job = db.session.get(ScheduledJob, JOB_NAME)
    value = ((job.last_result or {}) if job else {}).get("mirrored_until")
    return dt.datetime.fromisoformat(value) if value else None


def mirror_changes(database=None, since: dt.datetime | None = None, now: dt.datetime | None = None) -> dict:
    """Mirror every row changed since ``since`` (default: the last successful run); raises when
    MongoDB cannot be reached, so the run counts as failed and the span is covered again."""
    database = database if database is not None else connect()
    if database is None:
        return {"skipped": "MONGO_URL is not set"}
    now = now or utcnow()
    since = (since or last_covered() or now - FIRST_RUN) - OVERLAP
    ensure_schema(database)
    slugs = dict(db.session.execute(select(Service.id, Service.slug)).all())
    counts = {"errors": 0, "occurrences": 0, "notifications": 0, "patterns": 0, "assignments": 0}
    touched = select(AuditEvent.error_id).where(AuditEvent.created_at >= since, AuditEvent.error_id.is_not(None))
    for rows in _batches(select(ErrorLog).where(or_(ErrorLog.last_seen >= since, ErrorLog.id.in_(touched)))
                         .order_by(ErrorLog.id)):
        counts["errors"] += _upsert(database.errors, [_error_doc(e, slugs) for e in rows])
    for rows in _batches(select(ErrorOccurrence).where(ErrorOccurrence.received_at >= since)
                         .order_by(ErrorOccurrence.received_at, ErrorOccurrence.id)):
        counts["occurrences"] += _insert_new(database.occurrences, [_occurrence_doc(o) for o in rows])
    recent = min(since, now - RECENT_NOTIFICATIONS)
    for rows in _batches(select(ErrorNotification).where(or_(ErrorNotification.created_at >= recent,
                                                             ErrorNotification.sent_at >= since))
                         .order_by(ErrorNotification.id)):
        counts["notifications"] += _upsert(database.notifications, [_notification_doc(n) for n in rows])
    for rows in _batches(select(ErrorPattern).where(ErrorPattern.detected_at >= since).order_by(ErrorPattern.id)):
        counts["patterns"] += _upsert(database.patterns, [_pattern_doc(p) for p in rows])
    for rows in _batches(select(AuditEvent).where(AuditEvent.created_at >= since,
                                                  AuditEvent.action.in_(("error.assigned", "error.unassigned")))
                         .order_by(AuditEvent.id)):
        counts["assignments"] += _upsert(database.assignments, [_assignment_doc(a) for a in rows])
    db.session.commit()
    return {"mirrored_until": now.isoformat(), **counts}
