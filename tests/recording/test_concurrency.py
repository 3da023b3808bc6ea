"""Concurrent ingests: the first occurrences of one new fingerprint, racing, make one error, not two.

Meant for PostgreSQL (run with TEST_DATABASE_URL), where the writers really overlap; on SQLite the
same tests run too, with the database serialising the writers.
"""
from __future__ import annotations

import threading

import pytest
import requests

from app.extensions import db
from app.ingest.incoming import IncomingError
from app.models import ErrorLog, ErrorOccurrence
from app.triage import changes as triage
from app.recording.record import record_error
from tests.factories import drain_ingest_writer, make_developer

THREADS = 12


def race(app, count: int, make_call):
    """Run ``make_call(n)`` in ``count`` threads released at the same moment; returns results or raises."""
    start = threading.Barrier(count)
    results: list = [None] * count
    failures: list = []

    def worker(n):
        try:
            with app.app_context():
                start.wait(timeout=10)
                results[n] = make_call(n)
        except Exception as exc:  # a thread's exception would otherwise vanish
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    return results


def stored_errors() -> list[ErrorLog]:
    db.session.remove()
    return db.session.execute(db.select(ErrorLog)).scalars().all()


def stored_occurrences() -> int:
    return db.session.execute(db.select(db.func.count()).select_from(ErrorOccurrence)).scalar_one()


@pytest.fixture
def service_id(service):
    return service.id


def new_event(service_id: int, n: int) -> IncomingError:
    return IncomingError(service_id=service_id, source="api", error_type="PaymentGatewayTimeout",
                         message=f"gateway timed out after {n} ms", platform="python")


def test_racing_first_occurrences_make_one_error(app, service_id):
    results = race(app, THREADS, lambda n: record_error(new_event(service_id, n)))
    errors = stored_errors()
    assert len(errors) == 1
    assert errors[0].occurrence_count == THREADS
    assert {r.error_id for r in results} == {errors[0].id}
    assert sum(r.is_new for r in results) == 1  # exactly one answer says "new": one notification
    assert stored_occurrences() == THREADS


def test_racing_posts_over_real_http_make_one_error(app, live_server, service):
    key = service.ingest_key

    def post(n):
        return requests.post(f"{live_server}/api/errors/", timeout=30, headers={"X-Api-Key": key},
                             json={"error_type": "PaymentGatewayTimeout", "message": f"timed out after {n} ms"})

    responses = race(app, THREADS, post)
    assert [r.status_code for r in responses] == [201] * THREADS
    assert len({r.json()["error_id"] for r in responses}) == 1
    assert sum(r.json()["new"] for r in responses) == 1
    errors = stored_errors()
    assert len(errors) == 1 and errors[0].occurrence_count == THREADS


def test_racing_occurrences_of_a_resolved_error_reopen_it_once(app, service, service_id):
    first = record_error(new_event(service_id, 0))
    lead = make_developer("Lena Lead", role="lead", password=None)
    triage.resolve_error(db.session.get(ErrorLog, first.error_id), lead)
    results = race(app, THREADS, lambda n: record_error(new_event(service_id, n)))
    assert sum(r.regressed for r in results) == 1
    error = stored_errors()[0]
    assert (error.status, error.regression_count, error.occurrence_count) == ("new", 1, THREADS + 1)


def test_racing_first_occurrences_through_the_group_commit_writer(app, service_id):
    from app.recording.writer import submit_error

    app.config.update(INGEST_BATCH_MAX=8, INGEST_BATCH_WAIT_MS=3)
    results = race(app, THREADS, lambda n: submit_error(new_event(service_id, n)))
    errors = stored_errors()
    assert len(errors) == 1 and errors[0].occurrence_count == THREADS
    assert sum(r.is_new for r in results) == 1
    assert stored_occurrences() == THREADS
    drain_ingest_writer(service_id)


def test_racing_resends_of_one_event_are_stored_once(app, service_id):
    event_id = "0c5bd2a4-6f3e-4d8e-9a7b-1f2e3d4c5b6a"

    def resend(n):
        incoming = new_event(service_id, 7)
        incoming.event_id = event_id
        return record_error(incoming)

    results = race(app, THREADS, resend)
    assert {r.occurrence_id for r in results} == {event_id}
    assert stored_occurrences() == 1
    error = stored_errors()[0]
    assert error.occurrence_count == 1  # the count agrees with the occurrences stored
    assert sum(r.is_new for r in results) == 1
