"""Test fixtures: an app on a fresh database per test, its clients, a live server.

The suite runs on SQLite by default; with TEST_DATABASE_URL (PostgreSQL) and REDIS_URL set it
runs against those real servers instead (`make test` does both).

Every test gets exactly one of the markers unit, integration or browser (`make test-unit` runs the
first alone), from what it uses; see ``pytest_collection_modifyitems``.
"""
from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from app import create_app
from app.config import TestConfig, normalise_database_url
from app.extensions import db
from app.recording import rate_limit
from app.platform.outage import forget_outages
from app.recording.keys import forget_cached_keys
from app.recording.releases import forget_cached_releases
from app.recording.spool import close_spools
from tests.http_browser import visitor  # noqa: F401  (a plain HTTP browser on the live server)

POSTGRES_URL = normalise_database_url(os.environ.get("TEST_DATABASE_URL"))
REDIS_URL = os.environ.get("REDIS_URL") or None
_schema_ready = False

KINDS = ("unit", "integration", "browser")
BROWSER_TESTS = Path(__file__).resolve().parent / "browser"
# Fixtures that stand for a real database, server or process; anything that depends on ``app``
# (client, runner, live_server, service, api...) has ``app`` among its fixture names too.
INTEGRATION_FIXTURES = frozenset({"app", "live_server", "smtp_server", "_http_receivers", "httpserver",
                                  "make_httpserver", "scratch_postgres"})


def _kind(item) -> str:
    if BROWSER_TESTS in item.path.parents:
        return "browser"
    if INTEGRATION_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return "integration"
    # A module that imports subprocess starts servers or commands of its own (gunicorn, flask, java).
    if getattr(getattr(item, "module", None), "subprocess", None) is subprocess:
        return "integration"
    return "unit"


def pytest_collection_modifyitems(config, items):
    """Mark each test unit, integration or browser by what it uses, unless it is marked already:
    browser for tests/browser/, integration for a database, server or subprocess, unit otherwise."""
    for item in items:
        if not any(item.get_closest_marker(kind) for kind in KINDS):
            item.add_marker(getattr(pytest.mark, _kind(item)))


def _reset_redis() -> None:
    if not REDIS_URL:
        return
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter("heartwatch:rate:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def app(tmp_path):
    """A Heartwatch app on an empty database of its own."""
    global _schema_ready
    uri = POSTGRES_URL or f"sqlite:///{tmp_path / 'test.db'}"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=uri, REDIS_URL=REDIS_URL,
                     INGEST_SPOOL_DIR=str(tmp_path / "spool"))
    forget_cached_keys()
    forget_cached_releases()
    rate_limit.reset_local_state()
    forget_outages()
    _reset_redis()
    with app.app_context():
        if POSTGRES_URL:
            if not _schema_ready:
                db.drop_all()
                db.create_all()
                _schema_ready = True
            else:
                tables = ", ".join(t.name for t in db.metadata.sorted_tables)
                db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
                db.session.commit()
        else:
            db.create_all()
        yield app
        close_spools()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on a free loopback port, in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def service(app):
    from tests.factories import make_service

    return make_service("Django AI", platform="python")


@pytest.fixture
def lead(app, service):
    from tests.factories import make_developer

    return make_developer("Lena Lead", role="lead", services=[service], on_call=True)


@pytest.fixture
def api(client, lead):
    """A JSON client authenticated with a lead's personal token."""
    from tests.factories import ApiClient, make_token

    return ApiClient(client, make_token(lead))
