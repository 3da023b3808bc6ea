"""A body nested deeper than any client sends is a 400 naming the field on every way in, never a 500.

orjson parses 1,000 levels; before the bound, the normalisers' recursion (tags, chains of causes,
``repr``) hit Python's recursion limit on such bodies.
"""
from __future__ import annotations

import json

import orjson
import pytest

from app.extensions import db
from app.ingest.incoming import MAX_NESTING, nested_too_deep
from app.models import ErrorOccurrence

DEEP = 1000


def nested(levels: int, leaf=1):
    """A value ``levels`` deep, as JSON text (built as text: json.dumps itself recurses)."""
    return '{"a":' * levels + json.dumps(leaf) + "}" * levels


def chain(key: str, levels: int, **fields) -> str:
    """An exception whose ``key`` (cause, previous) nests ``levels`` times."""
    head = json.dumps(fields)[:-1]
    return head + f', "{key}": {head}' * levels + "}" * (levels + 1)


WAYS_IN = [
    ("/api/errors/", lambda deep: '{"error_type": "E", "message": "m", "tags": %s}' % deep, "tags"),
    ("/api/errors/", lambda deep: '{"error_type": "E", "message": "m", "extra": %s}' % deep, "extra"),
    ("/webhook/generic/", lambda deep: '{"message": "m", "user": %s}' % deep, "user"),
    ("/webhook/laravel/", lambda _: '{"exception": %s}' % chain("previous", DEEP, **{"class": "E", "message": "m"}),
     "exception"),
    ("/webhook/java/", lambda _: chain("cause", DEEP, exception="E", message="m"), "cause"),
    ("/webhook/frontend/", lambda deep: '{"message": "m", "reason": %s}' % deep, "reason"),
    ("/webhook/mobile/", lambda deep: '{"exception": "E", "device": %s}' % deep, "device"),
]


@pytest.mark.parametrize(("path", "body", "field"), WAYS_IN)
def test_a_body_nested_too_deep_is_a_400_naming_the_field(client, service, path, body, field):
    response = client.post(path, data=body(nested(DEEP)), headers={"X-Api-Key": service.ingest_key,
                                                                   "Content-Type": "application/json"})
    assert response.status_code == 400, response.data[:200]
    assert response.json["error"]["field"] == field and str(MAX_NESTING) in response.json["error"]["message"]
    assert db.session.execute(db.select(ErrorOccurrence)).first() is None


def test_the_sentry_store_and_envelope_refuse_it_too(client, service):
    event = '{"message": "m", "contexts": %s}' % nested(DEEP)
    store = client.post(f"/api/{service.id}/store/?sentry_key={service.ingest_key}", data=event,
                        content_type="application/json")
    envelope = client.post(f"/api/{service.id}/envelope/?sentry_key={service.ingest_key}",
                           data=f'{{"event_id": "{"a" * 32}"}}\n{{"type": "event"}}\n{event}\n',
                           content_type="application/x-sentry-envelope")
    assert (store.status_code, store.json["error"]["field"]) == (400, "contexts")
    assert (envelope.status_code, envelope.json["error"]["field"]) == (400, "contexts")


def test_nesting_up_to_the_bound_is_stored(client, service):
    response = client.post("/api/errors/", data='{"error_type": "E", "message": "m", "extra": %s}'
                           % nested(MAX_NESTING - 1), headers={"X-Api-Key": service.ingest_key,
                                                               "Content-Type": "application/json"})
    assert response.status_code == 201, response.json


def test_the_depth_is_measured_without_recursion():
    payload = orjson.loads('{"ok": 1, "deep": %s}' % nested(DEEP))
    assert nested_too_deep(payload) == "deep"
    assert nested_too_deep({"ok": [[1]], "flat": list(range(10_000))}) is None
