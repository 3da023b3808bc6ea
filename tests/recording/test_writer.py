"""The group-commit writer under the conditions production puts it in: more request threads than pool
connections, a cold ingest-key cache, events from several services in one batch."""
from __future__ import annotations

import threading

import pytest

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import ErrorLog, ErrorOccurrence
from app.recording.keys import forget_cached_keys
from tests.factories import make_service

THREADS = 12


@pytest.fixture
def small_pool_app(app):
    """The same database as ``app``, served by an app whose pool is much smaller than its thread count
    (production: 32 threads per process, a pool of 10 + 20), with group commit on."""
    other = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                       SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 2, "max_overflow": 0, "pool_timeout": 5},
                       INGEST_BATCH_MAX=16, INGEST_BATCH_WAIT_MS=5, REDIS_URL=app.config["REDIS_URL"])
    yield other
    with other.app_context():
        db.engine.dispose()


def post_together(target_app, requests: list[tuple[str, dict]]) -> list:
    """Post every (key, body) at the same moment, each from its own thread and test client."""
    start = threading.Barrier(len(requests))
    responses: list = [None] * len(requests)
    failures: list = []

    def post(n, key, body):
        try:
            client = target_app.test_client()
            start.wait(timeout=10)
            responses[n] = client.post("/api/errors/", json=body, headers={"X-Api-Key": key})
        except Exception as exc:  # a thread's exception would otherwise vanish
            failures.append(exc)

    threads = [threading.Thread(target=post, args=(n, key, body)) for n, (key, body) in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    return responses


def test_requests_waiting_for_the_writer_never_starve_it_of_connections(app, small_pool_app, service):
    # A cold cache: every request looks its key up at once, and then waits for the writer.
    forget_cached_keys()
    key = service.ingest_key
    responses = post_together(small_pool_app, [(key, {"error_type": "PoolTimeout", "message": f"call {n}"})
                                               for n in range(THREADS)])
    assert [r.status_code for r in responses] == [201] * THREADS
    db.session.remove()
    assert db.session.execute(db.select(db.func.count()).select_from(ErrorOccurrence)).scalar_one() == THREADS


def test_one_batch_of_several_services_keeps_each_event_with_its_service(app, small_pool_app, service):
    web = make_service("Laravel web", platform="php")
    forget_cached_keys()
    requests = [((service if n % 2 else web).ingest_key, {"error_type": "CartError", "message": "no cart"})
                for n in range(THREADS)]
    responses = post_together(small_pool_app, requests)
    assert [r.status_code for r in responses] == [201] * THREADS
    db.session.remove()
    errors = {e.service_id: e for e in db.session.execute(db.select(ErrorLog)).scalars()}
    assert set(errors) == {service.id, web.id}
    assert errors[service.id].occurrence_count == errors[web.id].occurrence_count == THREADS // 2
    assert sum(r.json["new"] for r in responses) == 2
    for response in responses:
        occurrence = db.session.get(ErrorOccurrence, response.json["occurrence_id"])
        assert occurrence.error_id == response.json["error_id"]
        assert occurrence.service_id == db.session.get(ErrorLog, occurrence.error_id).service_id
