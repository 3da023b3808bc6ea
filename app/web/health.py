"""``/healthz`` (the process answers) and ``/readyz`` (it can do its work), for load balancers and
process managers; JSON, no sign-in, never cached. ``/metrics`` for Prometheus, behind its token."""
from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, current_app, jsonify, request

from app.jobs import queue_of
from app.platform import metrics
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


@bp.get("/metrics")
def prometheus_metrics():
    """Prometheus's text format; 404 while metrics are off, 401 without ``Authorization: Bearer <token>``."""
    token = current_app.config.get("METRICS_TOKEN")
    if not token or not metrics.enabled():
        abort(404)
    if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), f"Bearer {token}".encode()):
        answer = jsonify(error={"code": "unauthorized", "message": "send Authorization: Bearer <METRICS_TOKEN>"})
        answer.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return _no_store(answer, 401)
    body, content_type = metrics.exposition(readiness(queue_of(current_app)))
    return _no_store(Response(body, content_type=content_type), 200)


def _no_store(response, status: int):
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
