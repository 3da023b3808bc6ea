"""Scheduled work: retries, the outbox's drain, pattern analysis, escalation, waking snoozed errors, retention
and the events' partitions, the event budget, the daily summary, thresholds.

One Huey periodic task (``run_scheduled_work``) ticks every minute in every consumer and starts
the jobs that are due, each as its own task. Intervals are runtime settings
(app/platform/settings.py), so changing one in the dashboard takes effect at the next tick without
a restart. With several consumers every tick is seen several times: a run is claimed with one
conditional UPDATE on ``scheduled_jobs`` (only one consumer wins it), and a job holds a lease while it
runs (a second start returns at once). The lease is short (``JOB_LEASE_SECONDS``, two minutes) and
kept alive by a heartbeat thread while the job runs, so a worker killed mid-run, or a release lost
with the database it went to, holds a job for at most that long: the next consumer takes it over.
The jobs themselves lock the rows they work on (SKIP LOCKED on PostgreSQL) and write idempotently.

A job that has never run is due at its time: interval jobs at the first tick, the daily summary at
its first daily time after the worker first saw it, not at once.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import traceback
import uuid
from dataclasses import dataclass

from flask import Flask
from huey import Huey, crontab

from app.jobs.context import task_context
from app.platform import metrics
from app.platform.outage import OutageLog
from app.recording import spool

log = logging.getLogger("heartwatch.jobs")
TOLERANCE = dt.timedelta(seconds=30)  # ticks land a few seconds apart: do not skip a run by a second
HEARTBEATS_PER_LEASE = 4
heartbeat_outage = OutageLog(log, "a scheduled job's heartbeat")


@dataclass(frozen=True)
class ScheduledWork:
    name: str
    interval_setting: str | None = None
    daily_time_setting: str | None = None
    needs_mongo: bool = False


SCHEDULE = (
    ScheduledWork("retry_failed_notifications", "interval_retry_notifications_minutes"),
    ScheduledWork("drain_outbox", "interval_outbox_minutes"),
    ScheduledWork("analyze_error_patterns", "interval_patterns_minutes"),
    ScheduledWork("escalate_unresolved_errors", "interval_escalation_minutes"),
    # Snoozes end on the minute: the job runs as often as the outbox's drain.
    ScheduledWork("wake_snoozed_errors", "interval_outbox_minutes"),
    ScheduledWork("clean_old_error_logs", "interval_retention_minutes"),
    ScheduledWork("trim_error_events", "interval_event_budget_minutes"),
    # PostgreSQL's day partitions of the events, a week ahead (app/models/partitions.py).
    ScheduledWork("create_event_partitions", "interval_retention_minutes"),
    ScheduledWork("generate_daily_error_summary", daily_time_setting="daily_summary_time"),
    ScheduledWork("check_error_thresholds", "interval_thresholds_minutes"),
    ScheduledWork("send_oncall_handoffs", "interval_handoff_minutes"),
    ScheduledWork("mirror_to_mongodb", "interval_mirror_minutes", needs_mongo=True),
)


def _ensure_row(name: str, now: dt.datetime) -> None:
    from app.extensions import db
    from app.models import ScheduledJob
    from app.platform.sql import dialect_insert

    db.session.execute(dialect_insert()(ScheduledJob).values(name=name, run_count=0, created_at=now)
                       .on_conflict_do_nothing(index_elements=["name"]))


def _record_tick(now: dt.datetime) -> None:
    """The worker's sign of life, read by the readiness check (app/platform/health.py)."""
    from sqlalchemy import update

    from app.extensions import db
    from app.models import ScheduledJob
    from app.models.settings import WORKER_TICK

    _ensure_row(WORKER_TICK, now)
    db.session.execute(update(ScheduledJob).where(ScheduledJob.name == WORKER_TICK).values(
        last_started_at=now, last_finished_at=now, last_status="ok", run_count=ScheduledJob.run_count + 1)
        .execution_options(synchronize_session=False))
    db.session.commit()


def daily_slot(now: dt.datetime, hhmm: str) -> dt.datetime:
    """The latest moment at or before ``now`` when the local clock read ``hhmm`` (HEARTWATCH_TIMEZONE)."""
    from app.reports.stats import zone

    tz = zone()
    local = now.astimezone(tz)
    hour, minute = (int(part) for part in hhmm.split(":"))
    slot = dt.datetime.combine(local.date(), dt.time(hour, minute), tzinfo=tz)
    if slot > local:
        slot = dt.datetime.combine(local.date() - dt.timedelta(days=1), dt.time(hour, minute), tzinfo=tz)
    return slot.astimezone(dt.timezone.utc)


def due_before(work: ScheduledWork, now: dt.datetime, values: dict) -> dt.datetime:
    """A job is due when its last start is at or before this moment."""
    if work.daily_time_setting:
        return daily_slot(now, values[work.daily_time_setting]) - dt.timedelta(microseconds=1)
    return now - dt.timedelta(minutes=int(values[work.interval_setting])) + TOLERANCE


def claim_due(now: dt.datetime | None = None) -> list[str]:
    """The jobs due now that this consumer won (each due run is won by exactly one)."""
    from flask import current_app
    from sqlalchemy import update

    from app.extensions import db
    from app.models import ScheduledJob
    from app.models.types import utcnow
    from app.platform import settings

    now = now or utcnow()
    _record_tick(now)
    values = settings.current()
    won = []
    for work in SCHEDULE:
        if work.needs_mongo and not current_app.config.get("MONGO_URL"):
            continue
        _ensure_row(work.name, now)
        before = due_before(work, now, values)
        # Never run: an interval job at once, a daily one at its first time after the row was made.
        never_run = ScheduledJob.last_started_at.is_(None)
        if work.daily_time_setting:
            never_run = never_run & (ScheduledJob.created_at.is_(None) | (ScheduledJob.created_at <= before))
        result = db.session.execute(
            update(ScheduledJob).where(
                ScheduledJob.name == work.name,
                never_run | (ScheduledJob.last_started_at <= before),
                ScheduledJob.running_until.is_(None) | (ScheduledJob.running_until < now))
            .values(last_started_at=now).execution_options(synchronize_session=False))
        db.session.commit()
        if result.rowcount == 1:
            won.append(work.name)
    return won


class Heartbeat:
    """Keeps a running job's lease alive: every quarter lease, on a connection of its own, it moves
    ``running_until`` one lease ahead, for as long as this run (``holder``) holds it."""

    def __init__(self, app: Flask, name: str, holder: str, lease: dt.timedelta):
        self.app, self.name, self.holder, self.lease = app, name, holder, lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat {name}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=self.lease.total_seconds())

    def _beat(self) -> None:
        from sqlalchemy import update

        from app.extensions import db
        from app.models import ScheduledJob
        from app.models.types import utcnow

        while not self._stop.wait(self.lease.total_seconds() / HEARTBEATS_PER_LEASE):
            try:
                with self.app.app_context(), db.engine.begin() as connection:
                    now = utcnow()
                    connection.execute(update(ScheduledJob).where(
                        ScheduledJob.name == self.name, ScheduledJob.holder == self.holder)
                        .values(running_until=now + self.lease, heartbeat_at=now))
            except Exception:
                heartbeat_outage.failed("the lease runs out unless a later beat gets through")
            else:
                heartbeat_outage.succeeded()


def job_lease() -> dt.timedelta:
    from flask import current_app

    return dt.timedelta(seconds=float(current_app.config.get("JOB_LEASE_SECONDS", 120)))


def run_job(name: str, work_function, now: dt.datetime | None = None) -> dict | None:
    """Run one job under its lease and record the outcome; None when another run holds the lease.

    A failed run keeps the previous result (the mirror reads its last covered time from it).
    """
    from flask import current_app
    from sqlalchemy import update

    from app.extensions import db
    from app.models import ScheduledJob
    from app.models.types import utcnow

    now = now or utcnow()
    lease, holder = job_lease(), uuid.uuid4().hex
    _ensure_row(name, now)
    taken = db.session.execute(
        update(ScheduledJob).where(ScheduledJob.name == name,
                                   ScheduledJob.running_until.is_(None) | (ScheduledJob.running_until < now))
        .values(running_until=now + lease, holder=holder, heartbeat_at=now)
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.commit()
    if not taken:
        log.info("%s is running elsewhere; this start is skipped", name)
        return None
    outcome = {"last_status": "ok", "last_error": None}
    began = time.perf_counter()
    try:
        with Heartbeat(current_app._get_current_object(), name, holder, lease):
            result = work_function()
        outcome["last_result"] = result if isinstance(result, dict) else {"result": result}
    except Exception as exc:
        db.session.rollback()
        log.exception("scheduled job %s failed", name)
        outcome = {"last_status": "failed",
                   "last_error": "".join(traceback.format_exception_only(exc)).strip()[:2000]}
        _release(name, holder, outcome)
        metrics.job_ran(name, "failed", time.perf_counter() - began)
        raise
    _release(name, holder, outcome)
    metrics.job_ran(name, "ok", time.perf_counter() - began)
    return result


def _release(name: str, holder: str, outcome: dict) -> None:
    """Give the lease back and record how the run went. When the database is gone too, the lease runs
    out by itself within one lease (no heartbeat keeps it), and the next consumer takes the job over."""
    from sqlalchemy import update

    from app.extensions import db
    from app.models import ScheduledJob
    from app.models.types import utcnow

    try:
        db.session.execute(update(ScheduledJob).where(ScheduledJob.name == name, ScheduledJob.holder == holder)
                           .values(running_until=None, holder=None, last_finished_at=utcnow(),
                                   run_count=ScheduledJob.run_count + 1, **outcome)
                           .execution_options(synchronize_session=False))
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.warning("could not release the lease of %s; it runs out within %s", name, job_lease(), exc_info=True)


def _retry_failed_notifications() -> dict:
    from app.notify import recovery

    recovered = recovery.recover_lost_events()
    return {"recovered_events": recovered, **recovery.retry_due()}


def _drain_outbox() -> dict:
    from app.notify import recovery

    return recovery.drain_outbox()


def _escalate() -> dict:
    from app.triage.escalation import escalate_unresolved

    return {"escalations": len(escalate_unresolved())}


def _wake_snoozed() -> dict:
    from app.triage.snooze import wake_due

    return {"woken": len(wake_due())}


def _thresholds() -> dict:
    from app.notify.alerts import send_threshold_alert
    from app.reports.thresholds import check_thresholds

    snapshot = check_thresholds()
    send_threshold_alert(snapshot)
    return {"snapshot": snapshot.id, "breaches": snapshot.breaches or [], "alerted": snapshot.alerted or []}


def _patterns() -> dict:
    from app.reports.patterns import analyze_patterns

    return analyze_patterns()


def _retention() -> dict:
    from app.recording.retention import purge

    return purge()


def _event_budget() -> dict:
    from app.recording.budget import trim_to_budget

    return trim_to_budget()


def _event_partitions() -> dict:
    from app.extensions import db
    from app.models import partitions
    from app.models.types import utcnow

    return partitions.ensure_days(db.engine, utcnow().date())


def _handoffs() -> dict:
    from app.notify.handoff import send_handoffs
    from app.platform import settings

    # Twice the interval: a late or missed tick still finds the shifts that began; the keys send once.
    lookback = dt.timedelta(minutes=2 * int(settings.get("interval_handoff_minutes")))
    return {"notifications": len(send_handoffs(lookback))}


def _summary() -> dict:
    from app.notify.alerts import send_daily_summary
    from app.reports.stats import generate_daily_summary

    result = generate_daily_summary()
    sent = send_daily_summary(dt.date.fromisoformat(result["day"]))
    return {**result, "notifications": len(sent)}


WORK = {
    "retry_failed_notifications": _retry_failed_notifications, "drain_outbox": _drain_outbox,
    "analyze_error_patterns": _patterns,
    "escalate_unresolved_errors": _escalate, "wake_snoozed_errors": _wake_snoozed,
    "clean_old_error_logs": _retention, "trim_error_events": _event_budget,
    "create_event_partitions": _event_partitions,
    "generate_daily_error_summary": _summary, "check_error_thresholds": _thresholds,
    "send_oncall_handoffs": _handoffs,
}  # app/jobs/mirror.py registers the mirror


def scheduled_task(huey: Huey, app: Flask, name: str, work_function):
    """A Huey task that runs one scheduled job under its lease, in the app's context."""
    def run() -> dict | None:
        with task_context(app):
            return run_job(name, work_function)

    run.__name__ = name
    run.__doc__ = f"The scheduled job {name}, under its lease."
    return huey.task(name=name)(run)


def register(huey: Huey, app: Flask, tasks: dict) -> dict:
    """Every scheduled job as a task, and the tick that starts the due ones (``tasks`` is the app's
    registry, read at each tick, so jobs registered after this one are started too)."""
    registered = {name: scheduled_task(huey, app, name, work) for name, work in WORK.items()}

    @huey.periodic_task(crontab(), name="run_scheduled_work")
    def run_scheduled_work() -> list[str]:
        """Every minute: start each job whose interval (or daily time) has come, and store the events
        that web processes now gone left in their spools (app/recording/spool.py)."""
        with task_context(app):
            due = claim_due()
            if spool.enabled(app):
                try:
                    spool.replay_left_behind(spool.spool_root(app))
                except Exception:  # the database is down again: the next tick tries once more
                    log.warning("storing events left in spools failed", exc_info=True)
        for name in due:
            tasks[name]()
        return due

    registered["run_scheduled_work"] = run_scheduled_work
    return registered
