"""An event's stored JSON as a file to download, the same bytes from the dashboard and the API."""
from __future__ import annotations

import orjson
from flask import Response

from app.web import schemas
from app.web import serializers as out


def event_document(occurrence) -> dict:
    """The event as Heartwatch stores it: the API's occurrence fields and the body it came in
    (``raw_payload``, as received, after scrubbing; cut at ``MAX_RAW_PAYLOAD_BYTES``)."""
    return {**schemas.dump(out.occurrence(occurrence)), "raw_payload": occurrence.raw_payload}


def event_file(occurrence) -> Response:
    body = orjson.dumps(event_document(occurrence), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="event-{occurrence.id}.json"'
    return response
