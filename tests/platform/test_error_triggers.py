"""The triggers on error_logs (app/models/triggers.py): updated_at on both databases, and on PostgreSQL
the feed's events announced by the database, heard through LISTEN by an app without Redis."""
from __future__ import annotations

import datetime as dt
import queue

import pytest
from sqlalchemy import text

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import ErrorLog
from app.platform import feed
from app.recording.record import record_error
from app.ingest.incoming import IncomingError
from app.triage import changes
from tests.factories import make_developer, make_service

pytestmark = pytest.mark.integration
WAIT = 10  # seconds an event may take before the test gives up (a hang, not a speed check)


def _incoming(service, **fields) -> IncomingError:
    return IncomingError(service_id=service.id, source="api", error_type=fields.pop("error_type", "TriggeredError"),
                         message=fields.pop("message", "from the trigger test"), **fields)


def test_updated_at_follows_every_change_unless_the_change_sets_it(app):
    service = make_service("Touched API")
    db.session.commit()
    error_id = record_error(_incoming(service)).error_id
    db.session.execute(text("UPDATE error_logs SET updated_at = :t WHERE id = :id"),
                       {"t": dt.datetime(2000, 1, 1), "id": error_id})
    db.session.commit()
    assert db.session.get(ErrorLog, error_id).updated_at.year == 2000
    db.session.expire_all()
    db.session.execute(text("UPDATE error_logs SET message = 'changed by hand' WHERE id = :id"), {"id": error_id})
    db.session.commit()
    db.session.expire_all()
    touched = db.session.get(ErrorLog, error_id).updated_at
    assert touched.year >= 2026
    # The ingest's upsert is a change too.
    db.session.execute(text("UPDATE error_logs SET updated_at = :t WHERE id = :id"),
                       {"t": dt.datetime(2000, 1, 1), "id": error_id})
    db.session.commit()
    record_error(_incoming(service))
    db.session.expire_all()
    assert db.session.get(ErrorLog, error_id).updated_at.year >= 2026


def _events(subscription: queue.Queue, count: int) -> list[dict]:
    got = []
    for _ in range(count):
        got.append(subscription.get(timeout=WAIT))
    return got


def _quiet(subscription: queue.Queue) -> list[dict]:
    """What else arrives within a second: nothing, when every event was announced once."""
    extra = []
    try:
        while True:
            extra.append(subscription.get(timeout=1.0))
    except queue.Empty:
        return extra


def test_postgres_without_redis_announces_each_error_event_once_through_listen(app, tmp_path):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    service = make_service("Announced API")
    lead = make_developer("Lee Listen", email="lee@example.test", role="lead", services=[service])
    db.session.commit()
    no_redis = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                          REDIS_URL=None, INGEST_SPOOL_DIR=str(tmp_path / "spool"))
    with no_redis.app_context():
        assert feed.transport() == "postgres"
        subscription = feed.subscribe()
        try:
            created = record_error(_incoming(service, severity="medium"))
            [event] = _events(subscription, 1)
            assert event == {"type": "error.created", "error_id": created.error_id, "service_id": service.id,
                             "severity": "medium", "status": "new"}
            error = db.session.get(ErrorLog, created.error_id)
            changes.resolve_error(error, db.session.get(type(lead), lead.id))  # the application's own event
            [resolved] = _events(subscription, 1)
            assert resolved["type"] != "error.created" and resolved["error_id"] == created.error_id
            record_error(_incoming(service, severity="medium"))  # the resolved error comes back
            [regressed] = _events(subscription, 1)
            assert regressed["type"] == "error.regressed" and regressed["status"] != "resolved"
            record_error(_incoming(service, severity="critical"))
            [graver] = _events(subscription, 1)
            assert graver["type"] == "error.severity_raised" and graver["severity"] == "critical"
            record_error(_incoming(service, severity="critical"))  # one more of the same: no event
            assert _quiet(subscription) == []
        finally:
            feed.unsubscribe(subscription)
            db.session.remove()
            db.engine.dispose()
