"""/healthz, /readyz and `flask check`: alive, ready, and each dependency named, also while one is down.

Down for real: a PostgreSQL URL whose port nothing listens on, a Redis likewise."""
from __future__ import annotations

import datetime as dt
import json

import time_machine

from app import create_app
from app.config import TestConfig
from app.jobs.scheduled import claim_due
from app.models.types import utcnow
from tests.platform.test_outage import free_port


def unreachable_app(tmp_path, **overrides):
    return create_app(TestConfig, **{"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'h.db'}", **overrides})


def test_alive_answers_without_the_database(tmp_path):
    app = unreachable_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/x")
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_without_the_database_but_with_room_in_the_spool_it_is_ready_and_degraded(tmp_path):
    app = unreachable_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/x",
                          INGEST_SPOOL_DIR=str(tmp_path / "spool"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 200  # it takes events into its spool (tests/recording/test_spool.py)
    body = response.json
    assert (body["status"], body["ready"]) == ("degraded", True)
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["spool"] == {"ok": True, "enabled": True, "events": 0, "bytes": 0,
                                       "max_bytes": app.config["INGEST_SPOOL_MAX_BYTES"], "full": False,
                                       "left_behind_bytes": 0, "rejected": 0, "last_error": None}


def test_not_ready_without_the_database_and_it_says_why(tmp_path):
    app = unreachable_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/x",
                          INGEST_SPOOL_MAX_BYTES=0)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.is_json  # never an HTML 500
    body = response.json
    assert (body["status"], body["ready"]) == ("unavailable", False)
    assert body["checks"]["database"]["ok"] is False and "refused" in body["checks"]["database"]["error"].lower()
    done = app.test_cli_runner().invoke(args=["check"])
    assert done.exit_code == 1 and "database: FAILING" in done.output


def test_ready_but_degraded_while_redis_is_down(tmp_path):
    app = unreachable_app(tmp_path, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", HUEY_IMMEDIATE=False)
    with app.app_context():
        from app.extensions import db

        db.create_all()
    body = app.test_client().get("/readyz")
    assert body.status_code == 200
    checks = body.json["checks"]
    assert body.json["status"] == "degraded" and checks["database"]["ok"]
    assert not checks["redis"]["ok"] and not checks["queue"]["ok"] and checks["queue"]["kind"] == "redis"


def test_the_worker_is_seen_by_its_tick_and_missed_after_three(app, client, runner):
    assert client.get("/readyz").json["checks"]["worker"] == {"ok": False, "last_seen": None,
                                                              "error": "no worker has run yet"}
    claim_due()  # what the worker's minute tick does first
    body = client.get("/readyz").json
    assert body["status"] == "ok" and body["checks"]["worker"]["ok"] and body["checks"]["worker"]["seconds_ago"] < 60
    assert body["checks"]["queue"] == {"ok": True, "kind": "redis" if app.config.get("REDIS_URL") else "sqlite",
                                       "pending": 0}
    with time_machine.travel(utcnow() + dt.timedelta(minutes=4), tick=False):
        worker = client.get("/readyz").json["checks"]["worker"]
        assert not worker["ok"] and "no worker tick for 0:04" in worker["error"]
        assert client.get("/readyz").status_code == 200  # degraded: ingest goes on without a worker
        done = runner.invoke(args=["check", "--json"])
    assert done.exit_code == 0 and json.loads(done.output)["checks"]["worker"]["ok"] is False
