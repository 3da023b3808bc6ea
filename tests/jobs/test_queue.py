"""The job queue belongs to its app: built from that app's settings, immediate for that app only."""
from __future__ import annotations

import os

import pytest
from huey import RedisHuey, SqliteHuey

from app import create_app
from app.config import TestConfig
from app.jobs import queue_of, tasks_of

REDIS_URL = os.environ.get("REDIS_URL") or None


def _app(tmp_path, **overrides):
    return create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'q.db'}", **overrides)


def test_an_app_given_redis_url_queues_on_that_redis(tmp_path):
    app = _app(tmp_path, REDIS_URL="redis://127.0.0.1:6379/9", HUEY_IMMEDIATE=False)
    huey = queue_of(app)
    assert isinstance(huey, RedisHuey)
    assert huey.storage.conn.connection_pool.connection_kwargs["db"] == 9


def test_an_app_without_redis_queues_in_its_instance_folder(tmp_path):
    app = _app(tmp_path, REDIS_URL=None, HUEY_IMMEDIATE=False)
    huey = queue_of(app)
    assert isinstance(huey, SqliteHuey)
    assert huey.storage.filename == os.path.join(app.instance_path, "huey.db")


def test_a_second_app_does_not_change_the_first_apps_immediate_mode(tmp_path):
    immediate = _app(tmp_path, REDIS_URL=None, HUEY_IMMEDIATE=True)
    queued = _app(tmp_path, REDIS_URL=None, HUEY_IMMEDIATE=False)
    assert queue_of(immediate).immediate is True
    assert queue_of(queued).immediate is False
    assert queue_of(immediate) is not queue_of(queued)
    assert tasks_of(immediate)["handle_error_event"] is not tasks_of(queued)["handle_error_event"]


@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set")
def test_a_queued_app_puts_the_hand_off_on_its_own_queue(tmp_path):
    app = _app(tmp_path, REDIS_URL=REDIS_URL, HUEY_IMMEDIATE=False)
    huey = queue_of(app)
    huey.flush()
    with app.app_context():
        tasks_of(app)["handle_error_event"]("0" * 32, "error.created")
    assert huey.pending_count() == 1
    huey.flush()


@pytest.mark.parametrize("redis_url", [None, pytest.param(REDIS_URL, marks=pytest.mark.skipif(
    not REDIS_URL, reason="REDIS_URL is not set"))], ids=["sqlite", "redis"])
def test_a_worker_keeps_no_task_results(tmp_path, redis_url):
    """Nothing reads a task's result: kept, they piled up in the queue's storage, one per task."""
    from app.extensions import db

    app = _app(tmp_path, REDIS_URL=redis_url, HUEY_IMMEDIATE=False, HEARTWATCH_INSTANCE_PATH=str(tmp_path))
    huey = queue_of(app)
    huey.flush()
    with app.app_context():
        db.create_all()
    tasks_of(app)["escalate_unresolved_errors"]()
    task = huey.dequeue()
    assert huey.execute(task) == {"escalations": 0}  # it ran, and returned its result
    assert huey.result_count() == 0
    huey.flush()
