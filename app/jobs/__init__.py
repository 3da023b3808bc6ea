"""The Huey instance and the hand-off from the web process to the workers.

One Huey object, configured from the environment when this module is imported (the consumer
imports it by name: ``huey_consumer app.jobs.huey``): ``REDIS_URL`` selects RedisHuey, otherwise a
SqliteHuey file under the instance folder, by absolute path so web and worker share one queue.
Tasks take ids and re-read the database inside a fresh app context.
"""
from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from flask import Flask, current_app, has_app_context
from huey import RedisHuey, SqliteHuey

INSTANCE_PATH = Path(os.environ.get("HEARTWATCH_INSTANCE_PATH") or
                     Path(__file__).resolve().parents[2] / "instance")


def _make_huey():
    url = os.environ.get("REDIS_URL")
    if url:
        return RedisHuey("heartwatch", url=url)
    INSTANCE_PATH.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("heartwatch", filename=str(INSTANCE_PATH / "huey.db"), timeout=30)


huey = _make_huey()

_app: Flask | None = None
_app_lock = threading.Lock()


@contextlib.contextmanager
def task_app_context():
    """The running app's context in-line (tests, immediate mode), else a fresh one per task call:
    one shared context breaks with several worker threads."""
    if has_app_context():
        yield current_app._get_current_object()
        return
    global _app
    with _app_lock:
        if _app is None:
            from app import create_app

            _app = create_app()
    with _app.app_context():
        yield _app


def enqueue_error_event(error_id: str, event: str) -> None:
    """Hand an error event (created, regressed, severity raised) to the workers after commit."""
    from app.jobs.notifications import handle_error_event

    handle_error_event(error_id, event)


# Importing the task modules registers their tasks with the consumer.
from app.jobs import notifications  # noqa: E402,F401
from app.jobs import scheduled  # noqa: E402,F401
from app.jobs import mirror  # noqa: E402,F401
