"""The job queue: one Huey instance per app, built from the app's own settings.

``build_queue(app)`` (called by the factory) makes RedisHuey when ``REDIS_URL`` is set, else a
SqliteHuey file under the instance folder, by absolute path so web and worker share one queue;
``HUEY_IMMEDIATE`` runs tasks in-line for that app only. Task results are kept only then (the tests
read them): nothing else reads them, and a queue that kept them grew by one entry per task, for ever
(the scheduled jobs record their outcome in ``scheduled_jobs``). It registers the tasks of the modules
beside this one and the after-commit hooks through which the domain hands work to them (the
domain never imports this package). The worker runs ``huey_consumer worker.huey``.
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask
from huey import Huey, RedisHuey, SqliteHuey

from app.jobs import mirror, notifications, scheduled

EXTENSION = "huey"


def build_queue(app: Flask) -> Huey:
    """The app's queue, with every task and periodic task registered on it."""
    immediate = bool(app.config.get("HUEY_IMMEDIATE"))
    url = app.config.get("REDIS_URL")
    if url:
        huey: Huey = RedisHuey("heartwatch", url=url, immediate=immediate, results=immediate)
    else:
        huey = SqliteHuey("heartwatch", filename=str(Path(app.instance_path) / "huey.db"), timeout=30,
                          immediate=immediate, results=immediate)
    tasks: dict = {}
    tasks.update(notifications.register(huey, app))
    tasks.update(scheduled.register(huey, app, tasks))
    tasks.update(mirror.register(huey, app))
    app.extensions[EXTENSION] = huey
    app.extensions["heartwatch.tasks"] = tasks
    return huey


def queue_of(app: Flask) -> Huey:
    return app.extensions[EXTENSION]


def tasks_of(app: Flask) -> dict:
    """The app's tasks by name (the scheduled jobs, the hand-off, single deliveries)."""
    return app.extensions["heartwatch.tasks"]
