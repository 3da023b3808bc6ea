"""``/healthz`` (the process answers) and ``/readyz`` (it can do its work), for load balancers and
process managers; JSON, no sign-in, never cached."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from app.jobs import queue_of
from app.platform.health import readiness

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Alive: answers without touching the database or Redis."""
    return _no_store(jsonify(status="ok"), 200)


@bp.get("/readyz")
def readyz():
    """Each dependency's state; 503 when the process cannot do its work (its database does not answer)."""
    state = readiness(queue_of(current_app))
    return _no_store(jsonify(state), 200 if state["ready"] else 503)


def _no_store(response, status: int):
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
