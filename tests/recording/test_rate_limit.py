"""The shared per-service limit in Redis: web processes take the window's count in leases, and the
limit still holds exactly. Runs when REDIS_URL is set (`make test` on PostgreSQL and Redis)."""
from __future__ import annotations

import datetime as dt
import os

import pytest
import time_machine

from app.recording import rate_limit

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL is not set")

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


def test_one_process_accepts_exactly_the_limit(window, service):
    assert accepted(service.id, 300, 400) == 300
    refused = rate_limit.check_rate(service.id, 300)
    assert refused is not None and 1 <= refused <= 60


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


def test_a_lowered_limit_applies_at_once(window, service):
    assert accepted(service.id, 1000, 10) == 10
    assert accepted(service.id, 5, 3) == 0  # ten already counted in this window


def test_small_limits_are_counted_event_by_event_across_processes(window, service):
    other = OtherProcess()
    answers = []
    for _ in range(3):
        answers.append(rate_limit.check_rate(service.id, 4) is None)
        with other:
            answers.append(rate_limit.check_rate(service.id, 4) is None)
    assert answers == [True, True, True, True, False, False]
