"""The per-service limit: in Redis web processes take the window's count in leases, and the limit
still holds exactly (those tests run when REDIS_URL is set, `make test` on PostgreSQL and Redis);
every refused event is counted on its service, exactly, with or without Redis."""
from __future__ import annotations

import datetime as dt
import os
import threading

import pytest
import time_machine

from app.extensions import db
from app.models import Service
from app.recording import rate_limit
from tests.factories import make_developer

redis_only = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL is not set")

# Mid-minute, and the clock held there: every call below falls in one window.
MID_MINUTE = dt.datetime(2026, 3, 2, 10, 15, 30, tzinfo=dt.timezone.utc)


@pytest.fixture
def window(app):
    with time_machine.travel(MID_MINUTE, tick=False), app.test_request_context():
        yield


def accepted(service_id: int, limit: int, attempts: int) -> int:
    return sum(rate_limit.check_rate(service_id, limit) is None for _ in range(attempts))


class OtherProcess:
    """Another web process: its own leases, the same Redis."""

    def __init__(self):
        self.leases: dict = {}

    def __enter__(self):
        self.saved, rate_limit._leases = rate_limit._leases, self.leases
        return self

    def __exit__(self, *exc):
        rate_limit._leases = self.saved


@redis_only
def test_one_process_accepts_exactly_the_limit(window, service):
    assert accepted(service.id, 300, 400) == 300
    refused = rate_limit.check_rate(service.id, 300)
    assert refused is not None and 1 <= refused <= 60


@redis_only
def test_processes_sharing_a_window_never_pass_the_limit_together(window, service):
    other = OtherProcess()
    total = 0
    for _ in range(40):  # interleaved, as two busy processes would be
        total += accepted(service.id, 500, 10)
        with other:
            total += accepted(service.id, 500, 10)
    assert total == 500
    with other:
        assert rate_limit.check_rate(service.id, 500) is not None
    assert rate_limit.check_rate(service.id, 500) is not None


@redis_only
def test_a_lowered_limit_applies_at_once(window, service):
    assert accepted(service.id, 1000, 10) == 10
    assert accepted(service.id, 5, 3) == 0  # ten already counted in this window


@redis_only
def test_small_limits_are_counted_event_by_event_across_processes(window, service):
    other = OtherProcess()
    answers = []
    for _ in range(3):
        answers.append(rate_limit.check_rate(service.id, 4) is None)
        with other:
            answers.append(rate_limit.check_rate(service.id, 4) is None)
    assert answers == [True, True, True, True, False, False]


# --- dropped events ------------------------------------------------------------------------------

def post_events(client, service, count: int) -> list[int]:
    return [client.post("/api/errors/", json={"error_type": "E", "message": f"event {i}"},
                        headers={"X-Api-Key": service.ingest_key}).status_code for i in range(count)]


def shown_dropped(client, service) -> int:
    """The count as the services page shows it (and the service row holds it)."""
    db.session.expire_all()
    page = client.get(f"/settings/services/{service.id}").get_data(as_text=True)
    stored = db.session.get(Service, service.id).dropped_events
    assert f'<span class="warn">{stored}</span> refused by the rate limit' in page
    return stored


@pytest.fixture
def admin_client(client):
    admin = make_developer("Ada Admin", role="admin")
    assert client.post("/login", data={"email": admin.email, "password": "correct horse battery"}).status_code == 303
    return client


def test_every_refused_event_is_counted_on_its_service(window, admin_client, service):
    service.rate_limit_per_minute = 1
    db.session.commit()
    answers = post_events(admin_client, service, 10)
    assert answers == [201] + [429] * 9
    assert shown_dropped(admin_client, service) == 9


def test_refused_events_posted_at_once_from_two_threads_are_all_counted(app, live_server, admin_client, service):
    import requests

    service.rate_limit_per_minute = 1
    db.session.commit()
    key, answers, start = service.ingest_key, [], threading.Barrier(2)

    def post_five():
        with requests.Session() as http:
            start.wait()
            for i in range(5):
                answers.append(http.post(f"{live_server}/api/errors/", json={"error_type": "E", "message": f"m{i}"},
                                         headers={"X-Api-Key": key}, timeout=10).status_code)

    with time_machine.travel(MID_MINUTE, tick=False):
        threads = [threading.Thread(target=post_five) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(answers) == [201] + [429] * 9
    assert shown_dropped(admin_client, service) == 9
