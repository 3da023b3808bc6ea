"""End to end with a real Huey consumer process: ingest over HTTP, deliver through real local servers.

The consumer (``huey_consumer worker.huey``) runs as a subprocess on the test's database, with
its queue in Redis (when REDIS_URL is set) or in a SqliteHuey file; the web side enqueues into the
same queue. Deadlines are for polling only: nothing here asserts how fast anything was.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import time_machine
from huey.storage import RedisStorage, SqliteStorage
from sqlalchemy import func, select, text

from app.extensions import db
from app.jobs import queue_of, tasks_of
from app.models import AuditEvent, ErrorEventDispatch, ErrorLog, ErrorNotification
from app.models.types import utcnow
from app.notify import recovery
from app.notify.subscriptions import create_subscription
from app.platform import outbox
from tests.factories import make_developer, make_service
from tests.platform.test_outage import RedisServer, free_port
from tests.receivers import configure_slack_webhook, configure_twilio, wait_until

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL") or None
POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))
QUEUES = ["sqlite", pytest.param("redis", marks=pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set"))]
DEFAULT_QUEUE = "redis" if REDIS_URL else "sqlite"


@contextmanager
def real_queue(app, kind: str, folder: Path):
    """Point this process's Huey at a real queue (and give the consumer the same one)."""
    if kind == "redis":
        storage, env = RedisStorage("heartwatch", url=REDIS_URL), {"REDIS_URL": REDIS_URL}
    else:
        storage = SqliteStorage("heartwatch", filename=str(folder / "huey.db"), timeout=30)
        env = {"REDIS_URL": None}
    storage.flush_all()
    huey = queue_of(app)
    huey.immediate = False
    huey.storage = storage
    try:
        yield env
    finally:
        huey.immediate = True
        storage.flush_all()


def procfile_command(process_type: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{process_type}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {process_type} in the Procfile")


@contextmanager
def consumer(app, folder: Path, queue_env: dict, smtp_server, slack_receiver, twilio_receiver,
             procfile_env: dict | None = None):
    """The consumer on the test's database and queue: the tests' own command line (no periodic tasks),
    or, given ``procfile_env``, the Procfile's worker command with those settings."""
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "HEARTWATCH_INSTANCE_PATH": str(folder),
           **smtp_server.env(), "SLACK_WEBHOOK_URL": app.config["SLACK_WEBHOOK_URL"],
           "TWILIO_ACCOUNT_SID": app.config["TWILIO_ACCOUNT_SID"], "TWILIO_AUTH_TOKEN": app.config["TWILIO_AUTH_TOKEN"],
           "TWILIO_FROM_NUMBER": app.config["TWILIO_FROM_NUMBER"], "TWILIO_API_BASE": app.config["TWILIO_API_BASE"],
           "PYTHONPATH": str(ROOT)}
    for name, value in queue_env.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    log = open(folder / "consumer.log", "w")
    if procfile_env is not None:
        env.update(procfile_env, PATH=f"{Path(sys.executable).parent}:{env['PATH']}")
        command = ["bash", "-c", f"exec {procfile_command('worker')}"]
    else:
        # -n: no periodic tasks, so the scheduled jobs cannot send anything this test does not expect.
        command = [sys.executable, str(Path(sys.executable).parent / "huey_consumer"), "worker.huey",
                   "-k", "thread", "-w", "2", "-n", "-d", "0.05", "-m", "0.5", "-g", "TERM"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(10)
        log.close()


@pytest.fixture
def wired(app, tmp_path, smtp_server, slack_receiver, twilio_receiver):
    smtp_server.configure(app.config)
    configure_slack_webhook(app.config, slack_receiver)
    configure_twilio(app.config, twilio_receiver)
    service = make_service("Checkout")
    make_developer("Ada", email="ada@example.test", services=[service], on_call=True, phone="+41790000001")
    return service


def post_critical(live_server, service):
    response = requests.post(f"{live_server}/api/errors/", headers={"X-Api-Key": service.ingest_key}, timeout=10,
                             json={"error_type": "PaymentGatewayTimeout", "message": "gateway timed out",
                                   "severity": "critical", "endpoint": "/checkout"})
    assert response.status_code == 201, response.text
    return response.json()["error_id"]


def statuses():
    db.session.rollback()  # see what the consumer committed
    return sorted((n.channel, n.status) for n in db.session.execute(select(ErrorNotification)).scalars())


def dump(folder: Path) -> str:
    path = folder / "consumer.log"
    return path.read_text()[-4000:] if path.exists() else ""


@pytest.mark.parametrize("queue", QUEUES)
def test_a_critical_error_reaches_email_slack_and_sms_exactly_once_through_the_consumer(
        app, live_server, tmp_path, wired, smtp_server, slack_receiver, twilio_receiver, queue):
    with real_queue(app, queue, tmp_path) as queue_env, consumer(app, tmp_path, queue_env, smtp_server, slack_receiver,
                                                            twilio_receiver):
        post_critical(live_server, wired)
        done = [("email", "sent"), ("slack", "sent"), ("sms", "sent")]
        assert wait_until(lambda: statuses() == done, timeout=30), dump(tmp_path)
        assert len(smtp_server.messages) == 1 and smtp_server.messages[0]["To"] == "ada@example.test"
        assert len(slack_receiver.requests) == 1 and len(twilio_receiver.requests) == 1


def test_a_consumer_killed_mid_send_is_made_good_by_the_sweep_exactly_once(
        app, live_server, tmp_path, wired, smtp_server, slack_receiver, twilio_receiver):
    slack_receiver.script((200, "ok", 8.0), (200, "ok"))  # the first Slack post hangs until the consumer is gone
    with real_queue(app, DEFAULT_QUEUE, tmp_path) as queue_env, consumer(app, tmp_path, queue_env, smtp_server,
                                                                    slack_receiver, twilio_receiver) as process:
        post_critical(live_server, wired)
        assert wait_until(lambda: len(slack_receiver.requests) == 1, timeout=30), dump(tmp_path)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    assert statuses() == [("email", "sent"), ("slack", "queued"), ("sms", "sent")]
    assert recovery.retry_due() == {}  # the dead worker's lease still holds
    with time_machine.travel(utcnow() + dt.timedelta(seconds=app.config["NOTIFY_LEASE_SECONDS"] + 5), tick=True):
        assert recovery.retry_due() == {"sent": 1}
        assert recovery.retry_due() == {}
        recovery.recover_lost_events()

    assert statuses() == [("email", "sent"), ("slack", "sent"), ("sms", "sent")]
    assert len(smtp_server.messages) == 1 and len(twilio_receiver.requests) == 1
    # The post in flight at the kill never got its answer; the sweep's carries the same body, once.
    posts = slack_receiver.requests
    assert len(posts) == 2 and posts[0]["body"] == posts[1]["body"] and posts[1]["answered"] == 200


def test_a_stopping_worker_waits_for_a_hung_send_no_longer_than_its_shutdown_timeout(
        app, live_server, tmp_path, wired, smtp_server, slack_receiver, twilio_receiver):
    """SIGTERM, as a process manager sends it, stops the Procfile's worker within its shutdown timeout
    even while a send hangs; the delivery stays queued for the sweep (the test above shows it sent)."""
    slack_receiver.script((200, "ok", 60.0), (200, "ok"))
    settings = {"WORKER_SHUTDOWN_TIMEOUT": "2", "NOTIFY_TIMEOUT_SECONDS": "90", "WORKER_THREADS": "2"}
    with real_queue(app, DEFAULT_QUEUE, tmp_path) as queue_env, consumer(
            app, tmp_path, queue_env, smtp_server, slack_receiver, twilio_receiver, procfile_env=settings) as process:
        post_critical(live_server, wired)
        assert wait_until(lambda: len(slack_receiver.requests) == 1, timeout=30), dump(tmp_path)
        process.send_signal(signal.SIGTERM)
        # Without a shutdown timeout it would wait for the send: a minute here, without limit in general.
        assert wait_until(lambda: process.poll() is not None, timeout=20), dump(tmp_path)
    assert "Shutdown timeout of 2" in dump(tmp_path)
    assert ("slack", "queued") in statuses()


def drain_in_worker(app) -> None:
    """Enqueue the outbox's drain, as the worker's minute tick does (waiting for the tick would take a minute)."""
    tasks_of(app)["drain_outbox"]()


def overdue() -> int:
    db.session.rollback()
    return outbox.backlog()


def outbox_rows():
    db.session.rollback()
    return list(db.session.execute(select(ErrorEventDispatch).order_by(ErrorEventDispatch.id)).scalars())


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
@pytest.mark.skipif(POSTGRES, reason="run once, in the SQLite pass (the same code as on PostgreSQL)")
def test_an_error_recorded_while_redis_is_down_is_told_once_redis_is_back(
        app, live_server, tmp_path, wired, smtp_server, slack_receiver, twilio_receiver):
    """Redis of the test's own is killed; an offline client's two-day-old critical error is ingested (201),
    its hand-off fails; Redis comes back and the worker's drain tells it, each channel once."""
    own = RedisServer(free_port())
    own.start()
    url = f"redis://127.0.0.1:{own.port}/0"
    app.config["NOTIFY_LEASE_SECONDS"] = 1  # overdue at once, so the drain need not wait two minutes
    storage = RedisStorage("heartwatch", url=url)
    huey = queue_of(app)
    huey.immediate, huey.storage = False, storage
    env = {"REDIS_URL": url, "NOTIFY_LEASE_SECONDS": "1"}
    try:
        with consumer(app, tmp_path, env, smtp_server, slack_receiver, twilio_receiver):
            own.stop()
            response = requests.post(f"{live_server}/api/errors/", headers={"X-Api-Key": wired.ingest_key},
                                     timeout=10, json={"error_type": "PaymentGatewayTimeout", "severity": "critical",
                                                       "message": "gateway timed out", "endpoint": "/checkout",
                                                       "timestamp": (utcnow() - dt.timedelta(days=2)).isoformat()})
            assert response.status_code == 201, response.text
            (row,) = outbox_rows()
            assert (row.event, row.status) == ("error.created", "pending") and statuses() == []

            own.start()
            assert wait_until(lambda: overdue() == 1, timeout=5)  # one lease on: the drain's to take
            drain_in_worker(app)
            done = [("email", "sent"), ("slack", "sent"), ("sms", "sent")]
            assert wait_until(lambda: statuses() == done, timeout=20), dump(tmp_path)
            drain_in_worker(app)  # a second drain finds nothing to do
            assert wait_until(lambda: storage.queue_size() == 0, timeout=10)
    finally:
        huey.immediate = True
        if own.process.poll() is None:
            own.stop()
    assert [r.status for r in outbox_rows()] == ["done", "done"]  # the event, and routing's assignment
    assert len(smtp_server.messages) == 1 and smtp_server.messages[0]["To"] == "ada@example.test"
    assert len(slack_receiver.requests) == 1 and len(twilio_receiver.requests) == 1


def _waiting_on_a_lock(query_part: str) -> bool:
    db.session.rollback()
    return bool(db.session.execute(text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE :q"),
        {"q": f"%{query_part}%"}).scalar_one())


@pytest.mark.skipif(not POSTGRES, reason="stops the worker at a PostgreSQL table lock")
def test_a_worker_killed_between_routing_and_planning_leaves_the_next_one_the_assignment_webhook(
        app, live_server, tmp_path, wired, smtp_server, slack_receiver, twilio_receiver, webhook_receiver):
    """The test holds a lock on error_notifications, so the worker routes (and commits), then waits in its
    planning transaction at the first insert of a delivery: killed there with SIGKILL. A new worker's drain
    plans with the saved decision and sends the error.assigned webhook, once."""
    create_subscription("assignments", webhook_receiver.url, ["error.assigned"], None)
    db.session.commit()
    app.config["NOTIFY_LEASE_SECONDS"] = 1
    lock = db.engine.connect()
    blocker = lock.begin()
    lock.execute(text("LOCK TABLE error_notifications IN EXCLUSIVE MODE"))
    env_extra = {"NOTIFY_LEASE_SECONDS": "1", "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8"}
    try:
        with real_queue(app, DEFAULT_QUEUE, tmp_path) as queue_env:
            queue_env = {**queue_env, **env_extra}
            with consumer(app, tmp_path, queue_env, smtp_server, slack_receiver, twilio_receiver) as process:
                error_id = post_critical(live_server, wired)
                assert wait_until(lambda: _waiting_on_a_lock("error_notifications"), timeout=20), dump(tmp_path)
                process.send_signal(signal.SIGKILL)
                process.wait(10)
            blocker.rollback()
            (row,) = outbox_rows()
            assert row.status == "pending" and row.outcome["routing"]["assigned_now"] is True
            assert db.session.get(ErrorLog, error_id).assigned_to_id is not None and statuses() == []
            assert wait_until(lambda: not _waiting_on_a_lock("error_notifications"), timeout=10)
            assert wait_until(lambda: overdue() == 1, timeout=5)

            with consumer(app, tmp_path, queue_env, smtp_server, slack_receiver, twilio_receiver):
                drain_in_worker(app)
                done = [("email", "sent"), ("slack", "sent"), ("sms", "sent"), ("webhook", "sent")]
                assert wait_until(lambda: statuses() == done, timeout=20), dump(tmp_path)
                drain_in_worker(app)
                time.sleep(1)
    finally:
        lock.close()
    assert [r["headers"]["X-Heartwatch-Event"] for r in webhook_receiver.requests] == ["error.assigned"]
    assert len(smtp_server.messages) == 1
    assert db.session.execute(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "error.assigned")).scalar_one() == 1  # routed once
