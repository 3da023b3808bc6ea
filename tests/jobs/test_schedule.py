"""The scheduler: every interval a setting, each due run started once, never two runs of a job at a time."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine

from app.extensions import db
from app.jobs import queue_of
from app.jobs.scheduled import SCHEDULE, claim_due, run_job
from app.models import ScheduledJob
from app.platform import settings

T0 = dt.datetime(2026, 5, 4, 10, 0, 5, tzinfo=dt.timezone.utc)
EVERY = {"retry_failed_notifications", "analyze_error_patterns", "escalate_unresolved_errors", "clean_old_error_logs",
         "generate_daily_error_summary", "check_error_thresholds"}


def due(moment):
    with time_machine.travel(moment, tick=False):
        return set(claim_due())


def test_each_job_is_due_by_its_interval(app):
    assert due(T0) == EVERY  # a fresh installation owes every job a first run
    assert due(T0 + dt.timedelta(seconds=30)) == set()
    # The next ticks land a few seconds early or late; a run is not skipped for that.
    assert due(T0 + dt.timedelta(minutes=14, seconds=58)) == {"escalate_unresolved_errors", "check_error_thresholds"}
    assert due(T0 + dt.timedelta(minutes=29, seconds=40)) == {"escalate_unresolved_errors", "check_error_thresholds"}
    assert due(T0 + dt.timedelta(minutes=60, seconds=1)) == {"retry_failed_notifications", "escalate_unresolved_errors",
                                                             "check_error_thresholds"}
    assert "analyze_error_patterns" in due(T0 + dt.timedelta(days=1, seconds=1))


def test_intervals_are_settings_that_apply_at_the_next_tick(app):
    due(T0)
    settings.update_setting("interval_thresholds_minutes", 5, None)
    assert due(T0 + dt.timedelta(minutes=5)) == {"check_error_thresholds"}


def test_the_mirror_is_only_scheduled_with_mongodb(app):
    assert "mirror_to_mongodb" not in due(T0)
    app.config["MONGO_URL"] = "mongodb://127.0.0.1:1/"
    assert "mirror_to_mongodb" in due(T0 + dt.timedelta(minutes=1))


def test_several_consumers_ticking_at_once_start_each_run_once(app):
    barrier = threading.Barrier(4)
    won: list[str] = []

    def consumer():
        with app.app_context():
            barrier.wait()
            with time_machine.travel(T0, tick=False):
                won.extend(claim_due())
            db.session.remove()

    threads = [threading.Thread(target=consumer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(won) == sorted(EVERY)


def test_a_job_runs_once_at_a_time_and_records_how_it_went(app):
    inner = []

    def nested():
        inner.append(run_job("clean_old_error_logs", lambda: {"nested": True}))
        return {"deleted": 3}

    assert run_job("clean_old_error_logs", nested) == {"deleted": 3}
    assert inner == [None]  # the second start found the lease taken
    job = db.session.get(ScheduledJob, "clean_old_error_logs")
    db.session.refresh(job)
    assert (job.last_status, job.last_result, job.run_count, job.running_until) == ("ok", {"deleted": 3}, 1, None)

    def broken():
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        run_job("clean_old_error_logs", broken)
    db.session.refresh(job)
    assert (job.last_status, job.last_result, job.running_until) == ("failed", {"deleted": 3}, None)
    assert "disk full" in job.last_error


def test_a_lease_left_by_a_killed_worker_expires(app):
    run_job("escalate_unresolved_errors", lambda: {})
    job = db.session.get(ScheduledJob, "escalate_unresolved_errors")
    job.running_until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=30)
    db.session.commit()
    assert run_job("escalate_unresolved_errors", lambda: {"ran": True}) is None
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=31), tick=False):
        assert run_job("escalate_unresolved_errors", lambda: {"ran": True}) == {"ran": True}


def test_every_scheduled_job_and_the_tick_are_registered_with_huey(app):
    names = {name.rsplit(".", 1)[-1] for name in queue_of(app)._registry._registry}
    assert {w.name for w in SCHEDULE} | {"run_scheduled_work", "handle_error_event", "deliver_notification"} <= names
