"""The scheduler: every interval a setting, each due run started once, never two runs of a job at a time."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import time_machine

from app.extensions import db
from app.jobs import queue_of
from app.jobs.scheduled import SCHEDULE, claim_due, run_job
from app.models import ScheduledJob
from app.platform import settings

ROOT = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2026, 5, 4, 10, 0, 5, tzinfo=dt.timezone.utc)
EVERY = {"retry_failed_notifications", "drain_outbox", "analyze_error_patterns", "escalate_unresolved_errors",
         "clean_old_error_logs", "trim_error_events", "create_event_partitions", "generate_daily_error_summary",
         "check_error_thresholds", "send_oncall_handoffs", "wake_snoozed_errors"}
DRAIN = "drain_outbox"  # every minute: at each tick (ticks land a minute apart, a run is due from 30 s)
WAKE = "wake_snoozed_errors"  # with the drain's interval
HANDOFF = "send_oncall_handoffs"  # every 5 minutes


def due(moment):
    with time_machine.travel(moment, tick=False):
        return set(claim_due())


def test_each_job_is_due_by_its_interval(app):
    # A fresh installation owes every interval job a first run; the summary waits for its time.
    assert due(T0) == EVERY - {"generate_daily_error_summary"}
    assert due(T0 + dt.timedelta(seconds=20)) == set()
    assert due(T0 + dt.timedelta(minutes=1)) == {DRAIN, WAKE}
    # The next ticks land a few seconds early or late; a run is not skipped for that.
    assert due(T0 + dt.timedelta(minutes=4, seconds=58)) == {HANDOFF, DRAIN, WAKE}
    assert due(T0 + dt.timedelta(minutes=14, seconds=58)) == {"escalate_unresolved_errors", "check_error_thresholds",
                                                              DRAIN, WAKE, HANDOFF}
    assert due(T0 + dt.timedelta(minutes=29, seconds=40)) == {"escalate_unresolved_errors", "check_error_thresholds",
                                                              DRAIN, WAKE, HANDOFF}
    assert due(T0 + dt.timedelta(minutes=60, seconds=1)) == {"retry_failed_notifications", "escalate_unresolved_errors",
                                                             "check_error_thresholds", "trim_error_events", DRAIN,
                                                             WAKE, HANDOFF}
    assert "analyze_error_patterns" in due(T0 + dt.timedelta(days=1, seconds=1))


def test_intervals_are_settings_that_apply_at_the_next_tick(app):
    due(T0)
    settings.update_setting("interval_thresholds_minutes", 5, None)
    assert due(T0 + dt.timedelta(minutes=5)) == {"check_error_thresholds", DRAIN, WAKE, HANDOFF}


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
    assert sorted(won) == sorted(EVERY - {"generate_daily_error_summary"})


def test_a_daily_job_that_never_ran_waits_for_its_time(app):
    assert settings.current()["daily_summary_time"] == "08:00"
    first_tick = dt.datetime(2026, 5, 4, 10, 0, 5, tzinfo=dt.timezone.utc)  # after 08:00: not at once
    assert "generate_daily_error_summary" not in due(first_tick)
    assert "generate_daily_error_summary" not in due(first_tick + dt.timedelta(hours=13))
    assert "generate_daily_error_summary" in due(dt.datetime(2026, 5, 5, 8, 0, 5, tzinfo=dt.timezone.utc))
    assert "generate_daily_error_summary" not in due(dt.datetime(2026, 5, 5, 8, 1, 5, tzinfo=dt.timezone.utc))


def test_a_daily_job_first_seen_before_its_time_runs_that_day(app):
    assert "generate_daily_error_summary" not in due(dt.datetime(2026, 5, 4, 7, 0, 5, tzinfo=dt.timezone.utc))
    assert "generate_daily_error_summary" in due(dt.datetime(2026, 5, 4, 8, 0, 5, tzinfo=dt.timezone.utc))


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


def test_a_heartbeat_keeps_a_long_job_s_lease(app):
    app.config["JOB_LEASE_SECONDS"] = 1
    seen = []

    def long_job():
        for _ in range(4):  # three leases long
            time.sleep(0.75)
            seen.append(run_job("clean_old_error_logs", lambda: {"second": True}))
        return {"done": True}

    assert run_job("clean_old_error_logs", long_job) == {"done": True}
    assert seen == [None] * 4  # never taken over while it ran
    job = db.session.get(ScheduledJob, "clean_old_error_logs")
    db.session.refresh(job)
    assert (job.running_until, job.holder, job.run_count) == (None, None, 1)


def test_a_worker_killed_mid_job_holds_it_no_longer_than_a_lease(app, tmp_path):
    """A real process takes the job and is killed with SIGKILL; the next start takes it over once the
    lease its heartbeat last renewed has run out, not after a fixed two hours."""
    app.config["JOB_LEASE_SECONDS"] = 2
    script = (
        "import time\n"
        "from app import create_app\nfrom app.config import TestConfig\n"
        "from app.jobs.scheduled import run_job\n"
        f"app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI={app.config['SQLALCHEMY_DATABASE_URI']!r}, "
        "JOB_LEASE_SECONDS=2)\n"
        "with app.app_context():\n"
        "    run_job('clean_old_error_logs', lambda: (print('running', flush=True), time.sleep(600)))\n")
    worker = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert worker.stdout.readline().strip() == "running"
        time.sleep(2.5)  # longer than a lease: only its heartbeat keeps it
        assert run_job("clean_old_error_logs", lambda: {"ran": True}) is None
    finally:
        worker.kill()
        worker.wait(10)
    job = db.session.get(ScheduledJob, "clean_old_error_logs")
    db.session.refresh(job)
    assert job.holder is not None and job.heartbeat_at is not None
    deadline = time.monotonic() + 10
    result = None
    while result is None and time.monotonic() < deadline:
        time.sleep(0.25)
        result = run_job("clean_old_error_logs", lambda: {"ran": True})
    assert result == {"ran": True}
    db.session.refresh(job)
    assert job.running_until is None and job.last_status == "ok"


def test_every_scheduled_job_and_the_tick_are_registered_with_huey(app):
    names = {name.rsplit(".", 1)[-1] for name in queue_of(app)._registry._registry}
    assert {w.name for w in SCHEDULE} | {"run_scheduled_work", "handle_error_event", "deliver_notification"} <= names
