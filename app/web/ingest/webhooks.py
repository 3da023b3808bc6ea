"""One webhook per source, each taking its platform's natural payload."""
from __future__ import annotations

from flask import Blueprint

from app.ingest.sources import NORMALISERS
from app.web.errors import register_json_errors
from app.web.ingest.common import ingest_json, record_response

bp = Blueprint("webhooks", __name__)
register_json_errors(bp)


@bp.post("/<any(laravel, java, frontend, mobile, generic):source>/")
def receive(source: str):
    result, _ = ingest_json(NORMALISERS[source])
    return record_response(result)


@bp.after_request
def allow_browsers(response):
    # Browser apps post from their own origin; the ingest key is public, so any origin may send.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type, X-Api-Key"
    return response

