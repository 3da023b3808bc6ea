"""The ingest spool: events the database cannot take now are kept on disk and stored once it can.

The database is made unreachable for real: SQLite's file held by another connection's write
transaction past the busy timeout (SQLITE_BUSY_TIMEOUT_SECONDS=1). tests/recording/test_spool_crash.py
crashes a PostgreSQL of its own under load."""
from __future__ import annotations

import os
import sqlite3
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select, text

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.ingest.sources import NORMALISERS
from app.models import ErrorLog, ErrorOccurrence
from app.platform.outage import forget_outages
from app.recording import spool, spool_file
from app.recording.keys import forget_cached_keys
from app.recording.prepare import prepare
from app.web.openapi_ingest import SPOOLED_RESULT
from tests.factories import ingest, make_service


def _app(tmp_path, **overrides):
    settings = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'spool.db'}", "SQLITE_BUSY_TIMEOUT_SECONDS": 1,
                "INGEST_SPOOL_DIR": str(tmp_path / "spool"), **overrides}
    return create_app(TestConfig, **settings)


@contextmanager
def running(tmp_path, **overrides):
    """An app on a SQLite file of its own, in its context; its spools closed after."""
    forget_cached_keys()
    forget_outages()
    app = _app(tmp_path, **overrides)
    with app.app_context():
        db.create_all()
        try:
            yield app
        finally:
            spool.close_spools()
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def spool_app(tmp_path, monkeypatch):
    monkeypatch.setattr(spool, "BACKOFF_SECONDS", 0.2)
    monkeypatch.setattr(spool, "POLL_SECONDS", 0.1)
    with running(tmp_path) as app:
        yield app


@contextmanager
def locked(app):
    """Another connection holds SQLite's write lock: every write waits out the busy timeout."""
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def stored_ids() -> list[str]:
    """Occurrence ids in the order they were inserted (SQLite's rowid)."""
    db.session.rollback()
    return list(db.session.execute(text("SELECT id FROM error_occurrences ORDER BY rowid")).scalars())


def wait_for(predicate, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def event(n: int) -> dict:
    return {"error_type": "KeyError", "message": f"missing key {n}", "severity": "high"}


# --- the file format ---------------------------------------------------------------------------

def test_a_torn_or_damaged_record_ends_the_file_and_what_came_before_is_read(tmp_path):
    path = tmp_path / "segment"
    bodies = [b'{"n": 1}', b'{"n": 2}', b'{"n": 3}']
    path.write_bytes(b"".join(spool_file.frame(body) for body in bodies))
    assert [body for _, body in spool_file.read_records(str(path))] == bodies
    whole = path.read_bytes()
    path.write_bytes(whole[:-3])  # killed in the middle of the last append
    assert [body for _, body in spool_file.read_records(str(path))] == bodies[:2]
    damaged = bytearray(whole)
    damaged[len(spool_file.frame(bodies[0])) + spool_file.HEADER.size] ^= 0xFF  # a flipped bit in record 2
    path.write_bytes(bytes(damaged))
    assert [body for _, body in spool_file.read_records(str(path))] == bodies[:1]
    # A length no record can have is a torn frame, not a 4 GB read.
    path.write_bytes(spool_file.HEADER.pack(spool_file.MAGIC, 2**32 - 1, 0) + b"x")
    assert list(spool_file.read_records(str(path))) == []


def test_a_prepared_event_comes_back_from_its_record_as_it_was(spool_app):
    service = make_service()
    incoming = NORMALISERS["api"]({"error_type": "ValueError", "message": "bad", "timestamp": "2026-11-30T08:00:00Z",
                                   "stack_trace": "Traceback ...", "tags": {"region": "eu"}, "user": {"id": 7},
                                   "environment": "production", "extra": {"order": 2**70}}, service.id)
    prepared = prepare(incoming)
    back = spool_file.from_record(spool_file.to_record(prepared))
    assert back.incoming == prepared.incoming
    assert (back.fingerprint, back.severity, back.level, back.occurrence_id, back.timestamp, back.received_at) == \
        (prepared.fingerprint, prepared.severity, prepared.level, prepared.occurrence_id, prepared.timestamp,
         prepared.received_at)
    assert back.occurrence == prepared.occurrence
    assert back.client_event_id  # replayed as a resend: stored once by its id


# --- spooling and replay -------------------------------------------------------------------------

def test_while_the_database_is_locked_events_are_acknowledged_from_the_spool_and_stored_in_order_after(spool_app):
    service = make_service()
    client = spool_app.test_client()
    assert ingest(client, service, event(0)).status_code == 201  # the key is known from before
    with locked(spool_app):
        answers = [ingest(client, service, event(n)) for n in range(1, 6)]
        assert [a.status_code for a in answers] == [202] * 5
        assert all(a.json["spooled"] is True for a in answers)
        assert set(answers[0].json) == set(SPOOLED_RESULT["properties"])  # as the OpenAPI document says
        state = client.get("/readyz")
        assert state.status_code == 200  # still ready: it takes events
        assert state.json["checks"]["spool"]["events"] == 5
        assert state.json["checks"]["spool"]["ok"] is False
    spooled = [a.json["occurrence_id"] for a in answers]
    wait_for(lambda: len(stored_ids()) == 6)
    assert stored_ids()[1:] == spooled  # in the order they were acknowledged
    error = db.session.execute(select(ErrorLog)).scalar_one()
    assert error.occurrence_count == 6
    wait_for(lambda: spool.current_spool(spool_app).events == 0)
    assert client.get("/readyz").json["checks"]["spool"]["ok"] is True
    assert not list(spool.current_spool(spool_app).folder.glob("*.offset"))


def test_events_arriving_while_the_spool_drains_queue_behind_it(spool_app, monkeypatch):
    """Once events wait in the spool, new ones go behind them even with the database back, so the
    first event of an error is the first one stored."""
    monkeypatch.setattr(spool, "BACKOFF_SECONDS", 60)  # after its first failure the replay waits
    service = make_service()
    client = spool_app.test_client()
    ingest(client, service, event(0))
    with locked(spool_app):
        first = ingest(client, service, event(1))
        assert first.status_code == 202
        the_spool = spool.current_spool(spool_app)
        wait_for(lambda: the_spool.last_error)  # the replay tried, and failed on the lock
    second = ingest(client, service, event(2))  # the database takes writes again
    assert second.status_code == 202 and second.json["spooled"] is True
    assert the_spool.replay() == 2
    assert stored_ids()[1:] == [first.json["occurrence_id"], second.json["occurrence_id"]]
    assert not the_spool.active
    assert ingest(client, service, event(3)).status_code == 201  # drained: straight to the database again


def test_an_event_stored_and_also_spooled_is_stored_once(spool_app):
    """A commit whose answer was lost (the writer timed out) and the spooled copy: one occurrence."""
    service = make_service()
    client = spool_app.test_client()
    answer = ingest(client, service, event(1))
    assert answer.status_code == 201
    occurrence_id = answer.json["occurrence_id"]
    incoming = NORMALISERS["api"]({**event(1), "event_id": occurrence_id}, service.id)
    the_spool = spool.spool_for(spool_app)
    the_spool.accept(prepare(incoming))
    wait_for(lambda: the_spool.events == 0)
    assert stored_ids() == [occurrence_id]
    assert db.session.execute(select(ErrorLog.occurrence_count)).scalar_one() == 1


def test_an_event_the_database_refuses_at_replay_is_set_aside_and_the_rest_stored(spool_app):
    service = make_service()
    gone = make_service("retired")
    prepared = [prepare(NORMALISERS["api"](event(n), owner.id)) for n, owner in enumerate((service, gone, service))]
    db.session.execute(text("DELETE FROM services WHERE id = :id"), {"id": gone.id})
    db.session.commit()
    the_spool = spool.spool_for(spool_app)
    for p in prepared:
        the_spool.accept(p)
    wait_for(lambda: the_spool.events == 0)
    assert stored_ids() == [prepared[0].occurrence_id, prepared[2].occurrence_id]
    rejected = the_spool.root / "rejected"
    reasons = [p.read_text() for p in rejected.glob("*.reason.txt")]
    assert len(reasons) == 1 and "IntegrityError" in reasons[0]
    kept = spool_file.from_record(next(rejected.glob("*.json")).read_bytes())
    assert kept.occurrence_id == prepared[1].occurrence_id  # kept whole, for the operator
    assert spool.spool_state(spool_app)["rejected"] == 1


def test_a_spool_left_by_a_process_that_is_gone_is_stored_by_the_next(spool_app):
    service = make_service()
    root = spool.spool_root(spool_app)
    folder = root / "otherhost-4242-1"
    folder.mkdir(parents=True)
    prepared = [prepare(NORMALISERS["api"](event(n), service.id)) for n in range(3)]
    records = b"".join(spool_file.frame(spool_file.to_record(p)) for p in prepared)
    (folder / f"00000001{spool.SEGMENT_SUFFIX}").write_bytes(records[:-5])  # killed mid-append
    assert spool.spool_state(spool_app)["left_behind_bytes"] == len(records) - 5
    assert spool.replay_left_behind(root) == 2  # the torn third was never acknowledged
    assert stored_ids() == [p.occurrence_id for p in prepared[:2]]
    assert not folder.exists()
    # A folder whose process still holds its lock is left alone; once closed, it is left behind.
    live = spool.spool_for(spool_app)
    assert spool.replay_left_behind(root, own=None) == 0 and live.folder.exists()
    spool.close_spools()
    assert spool.replay_left_behind(root) == 0 and not live.folder.exists()


def test_the_worker_tick_stores_what_stopped_web_processes_left(spool_app):
    service = make_service()
    folder = spool.spool_root(spool_app) / "web-1-1"
    folder.mkdir(parents=True)
    p = prepare(NORMALISERS["api"](event(1), service.id))
    (folder / f"00000001{spool.SEGMENT_SUFFIX}").write_bytes(spool_file.frame(spool_file.to_record(p)))
    from app.jobs import tasks_of

    tasks_of(spool_app)["run_scheduled_work"].call_local()
    assert stored_ids() == [p.occurrence_id]


# --- bounds and answers ---------------------------------------------------------------------------

def test_past_its_bound_the_spool_answers_503_with_retry_after(tmp_path):
    with running(tmp_path, INGEST_SPOOL_MAX_BYTES=1) as app:
        service = make_service()
        client = app.test_client()
        ingest(client, service, event(0))
        with locked(app):
            answer = ingest(client, service, event(1))
            assert answer.status_code == 503 and answer.headers["Retry-After"] == str(spool.RETRY_AFTER_SECONDS)
            assert "spool is full" in answer.json["error"]["message"]
            state = client.get("/readyz").json["checks"]["spool"]
            assert state["full"] is True and state["ok"] is False and "full" in state["error"]


def test_with_the_spool_off_an_unreachable_database_answers_503_not_500(tmp_path):
    with running(tmp_path, INGEST_SPOOL_MAX_BYTES=0) as app:
        service = make_service()
        client = app.test_client()
        ingest(client, service, event(0))
        with locked(app):
            answer = ingest(client, service, event(1))
            assert answer.status_code == 503 and answer.headers["Retry-After"]
            assert answer.json["error"]["code"] == "unavailable"
        assert client.get("/readyz").json["checks"]["spool"] == {"ok": True, "enabled": False}


def test_a_key_not_seen_before_the_outage_answers_503_and_a_known_one_is_spooled(tmp_path):
    """The key cache answers for a known key past its time to live while the database is down."""
    with running(tmp_path, INGEST_KEY_CACHE_SECONDS=0,
                 SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'keys.db'}") as app:
        known, unseen = make_service("known"), make_service("unseen")
        client = app.test_client()
        assert ingest(client, known, event(0)).status_code == 201
        known_key, unseen_key = known.ingest_key, unseen.ingest_key
        db.session.remove()
        db.engine.dispose()
        os.rename(tmp_path / "keys.db", tmp_path / "elsewhere.db")  # the database file is gone
        (tmp_path / "keys.db").mkdir()  # and its path cannot be opened
        answer = client.post("/api/errors/", json=event(1), headers={"X-Api-Key": unseen_key})
        assert answer.status_code == 503 and answer.headers["Retry-After"]
        assert "not been seen" in answer.json["error"]["message"]
        spooled = client.post("/api/errors/", json=event(2), headers={"X-Api-Key": known_key})
        assert spooled.status_code == 202 and spooled.json["spooled"] is True
        ready = client.get("/readyz")
        assert ready.json["checks"]["database"]["ok"] is False
        assert ready.status_code == 200 and ready.json["status"] == "degraded"  # it takes events


def test_sentry_envelopes_are_spooled_too(spool_app):
    service = make_service()
    client = spool_app.test_client()
    ingest(client, service, event(0))
    envelope = (b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n{"type":"event"}\n'
                b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","level":"error","exception":{"values":'
                b'[{"type":"ZeroDivisionError","value":"division by zero"}]}}\n')
    with locked(spool_app):
        answer = client.post(f"/api/{service.id}/envelope/?sentry_key={service.ingest_key}", data=envelope)
        assert answer.status_code == 200 and answer.json == {"id": "9ec79c33ec9942ab8353589fcb2e04dc"}
    wait_for(lambda: len(stored_ids()) == 2)
    assert db.session.execute(select(func.count()).select_from(ErrorOccurrence)).scalar_one() == 2
    assert db.session.execute(select(ErrorLog.error_type).where(ErrorLog.error_type == "ZeroDivisionError")).scalar()
