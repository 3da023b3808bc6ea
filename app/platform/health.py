"""Readiness: each dependency's state as this process sees it, for ``/readyz`` and ``flask check``.

A web process can do its work (accept and store events, serve pages) while it reaches its
database; Redis, the queue, the worker and a backlog in the outbox make it *degraded*, not unready:
ingest goes on without them and the worker catches up (docs/operations.md). Without the database it
still accepts events into its spool (app/recording/spool.py), so it stays ``ready`` (degraded) until
the spool is full; with the spool off, it is ready only when the database answers. Each part's state
is named either way.
"""
from __future__ import annotations

import datetime as dt
import time

from flask import current_app
from sqlalchemy import select, text

from app.extensions import db
from app.models import ScheduledJob
from app.models.settings import WORKER_TICK
from app.models.types import utcnow
from app.platform import outbox
from app.recording.spool import spool_state

# The worker ticks every minute; three missed ticks mean no worker is running.
WORKER_STALE_SECONDS = 180


def _reason(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _database() -> dict:
    started = time.monotonic()
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception as exc:
        db.session.rollback()
        return {"ok": False, "error": _reason(exc)}
    return {"ok": True, "dialect": db.engine.dialect.name, "ms": round((time.monotonic() - started) * 1000, 1)}


def _redis() -> dict:
    from app.platform import kv

    url = current_app.config.get("REDIS_URL")
    if not url:
        return {"ok": True, "used": False}
    try:
        kv.client(url).ping()
    except Exception as exc:
        return {"ok": False, "used": True, "error": _reason(exc)}
    return {"ok": True, "used": True}


def _queue(queue) -> dict:
    kind = "redis" if current_app.config.get("REDIS_URL") else "sqlite"
    try:
        return {"ok": True, "kind": kind, "pending": queue.pending_count()}
    except Exception as exc:
        return {"ok": False, "kind": kind, "error": _reason(exc)}


def _worker(database_ok: bool) -> dict:
    if not database_ok:
        return {"ok": False, "error": "unknown: the database does not answer"}
    try:
        seen = db.session.execute(select(ScheduledJob.last_started_at)
                                  .where(ScheduledJob.name == WORKER_TICK)).scalar_one_or_none()
        db.session.rollback()
    except Exception as exc:
        db.session.rollback()
        return {"ok": False, "error": _reason(exc)}
    if seen is None:
        return {"ok": False, "last_seen": None, "error": "no worker has run yet"}
    age = max(0.0, (utcnow() - seen).total_seconds())
    state = {"ok": age < WORKER_STALE_SECONDS, "last_seen": seen.isoformat(), "seconds_ago": round(age)}
    if not state["ok"]:
        state["error"] = f"no worker tick for {dt.timedelta(seconds=round(age))}"
    return state


def _outbox(database_ok: bool) -> dict:
    """Error events whose hand-off the worker has not finished one lease after the change (the count of
    overdue outbox rows, by the index on status and created_at). Any backlog marks the part failing:
    the worker is down, cannot keep up, or fails on a row (its log says which)."""
    if not database_ok:
        return {"ok": False, "error": "unknown: the database does not answer"}
    try:
        overdue = outbox.backlog()
        db.session.rollback()
    except Exception as exc:
        db.session.rollback()
        return {"ok": False, "error": _reason(exc)}
    state = {"ok": overdue == 0, "overdue": overdue, "lease_seconds": int(outbox.lease().total_seconds())}
    if overdue:
        state["error"] = f"{overdue} error event(s) not handed off to the worker after {state['lease_seconds']} s"
    return state


def readiness(queue) -> dict:
    """Every dependency's state, ``ready`` (the database answers) and ``status``: ok, degraded or
    unavailable. ``queue`` is the app's Huey queue (the domain does not reach into app.jobs)."""
    checks = {"database": _database()}
    checks.update(redis=_redis(), queue=_queue(queue), worker=_worker(checks["database"]["ok"]),
                  outbox=_outbox(checks["database"]["ok"]), spool=spool_state(current_app._get_current_object()))
    # Without its database a web process still takes events, into its spool, until the spool is full.
    spool = checks["spool"]
    ready = checks["database"]["ok"] or (spool["enabled"] and not spool["full"])
    healthy = all(check["ok"] for check in checks.values())
    return {"status": "ok" if healthy else ("degraded" if ready else "unavailable"), "ready": ready,
            "checks": checks}
