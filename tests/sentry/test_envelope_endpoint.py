"""The envelope and store endpoints with hand-made bodies: the wire variations SDKs produce."""
from __future__ import annotations

import base64
import gzip
import http.client
import json
import urllib.parse
import uuid
import zlib
from pathlib import Path

import brotli
import pytest

from app.extensions import db
from app.models import ErrorLog
from tests.factories import make_service
from tests.sentry.stored import stored_errors, stored_occurrences

EVENT_ID = "9ec79c33ec9942ab8353589fcb2e04dc"


def sentry_auth(service) -> dict:
    return {"X-Sentry-Auth": f"Sentry sentry_key={service.ingest_key}, sentry_version=7, "
                             "sentry_client=sentry.python/2.75.0"}


def an_event(**fields) -> dict:
    event = {"event_id": EVENT_ID, "level": "error", "platform": "python", "timestamp": 1732800000.25,
             "exception": {"values": [{"type": "ZeroDivisionError", "value": "division by zero",
                                       "stacktrace": {"frames": [{"filename": "shop/cart.py", "function": "total",
                                                                  "module": "shop.cart", "lineno": 12,
                                                                  "in_app": True}]}}]}}
    event.update(fields)
    return event


def envelope(*items, header=None, final_newline=True, lengths=True) -> bytes:
    """An envelope from (item header, payload) pairs; payload dicts become JSON."""
    lines = [json.dumps({"event_id": EVENT_ID} if header is None else header).encode()]
    for item_header, payload in items:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        item_header = dict(item_header)
        if lengths:
            item_header["length"] = len(body)
        lines += [json.dumps(item_header).encode(), body]
    data = b"\n".join(lines)
    return data + b"\n" if final_newline else data


def post_envelope(client, service, body: bytes, headers=None, query: str = ""):
    return client.post(f"/api/{service.id}/envelope/{query}", data=body,
                       headers={**sentry_auth(service), **(headers or {})})


# --- envelope shapes ----------------------------------------------------------------------------

def test_python_style_envelope_is_stored(client, service):
    response = post_envelope(client, service, envelope(({"type": "event"}, an_event())),
                             {"Content-Type": "application/x-sentry-envelope"})
    assert response.status_code == 200
    assert response.json == {"id": EVENT_ID}
    [occurrence] = stored_occurrences()
    assert occurrence.id == str(uuid.UUID(EVENT_ID))
    assert occurrence.exceptions[-1]["frames"][0]["function"] == "total"
    assert occurrence.timestamp.isoformat().startswith("2024-11-28T13:20:00.25")


def test_browser_style_envelope_without_lengths_or_final_newline(client, service):
    body = envelope(({"type": "event"}, an_event(platform="javascript")), final_newline=False, lengths=False)
    response = client.post(f"/api/{service.id}/envelope/?sentry_key={service.ingest_key}&sentry_version=7",
                           data=body, headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert response.status_code == 200
    assert response.json == {"id": EVENT_ID}
    assert len(stored_occurrences()) == 1


def test_item_length_is_honoured_when_the_payload_spans_lines(client, service):
    pretty = json.dumps(an_event(), indent=2).encode()
    assert b"\n" in pretty
    response = post_envelope(client, service, envelope(({"type": "event"}, pretty)))
    assert response.status_code == 200
    assert stored_occurrences()[0].message == "division by zero"


def test_unknown_and_ignored_items_do_not_stop_the_event(client, service):
    body = envelope(
        ({"type": "session"}, {"sid": "x", "status": "ok"}),
        ({"type": "some_future_type"}, b"\x00\x01 binary \xff"),
        ({"type": "attachment", "filename": "log.txt"}, b"line one\nline two"),
        ({"type": "event"}, an_event()),
        ({"type": "client_report"}, {"discarded_events": []}),
    )
    response = post_envelope(client, service, body)
    assert response.status_code == 200
    assert response.json == {"id": EVENT_ID}
    assert len(stored_occurrences()) == 1


@pytest.mark.parametrize("item_type", ["session", "sessions", "transaction", "client_report", "check_in",
                                       "profile", "replay_event", "span", "log", "statsd", "whatever"])
def test_envelope_without_an_event_is_accepted_and_keeps_nothing(client, service, item_type):
    response = post_envelope(client, service, envelope(({"type": item_type}, {"anything": 1})))
    assert response.status_code == 200
    assert response.json == {}
    assert stored_occurrences() == []


def test_empty_envelope_header_and_error_item_type(client, service):
    event = an_event()
    del event["event_id"]
    response = post_envelope(client, service, envelope(({"type": "error"}, event), header={}))
    assert response.status_code == 200
    generated = response.json["id"]
    assert len(generated) == 32
    assert stored_occurrences()[0].id == str(uuid.UUID(generated))


def test_envelope_header_event_id_wins(client, service):
    other = uuid.uuid4().hex
    response = post_envelope(client, service, envelope(({"type": "event"}, an_event()), header={"event_id": other}))
    assert response.json == {"id": other}
    assert stored_occurrences()[0].id == str(uuid.UUID(other))


def test_user_report_is_kept_with_the_event(client, service):
    report = {"event_id": EVENT_ID, "name": "Ada", "email": "ada@example.test", "comments": "it froze"}
    response = post_envelope(client, service, envelope(({"type": "event"}, an_event()),
                                                       ({"type": "user_report"}, report)))
    assert response.status_code == 200
    assert stored_occurrences()[0].extra["user_report"]["comments"] == "it froze"


def test_form_content_type_is_read_as_raw_envelope(client, service):
    response = post_envelope(client, service, envelope(({"type": "event"}, an_event())),
                             {"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    assert len(stored_occurrences()) == 1


def test_auto_ip_address_becomes_the_client_address(client, service):
    event = an_event(user={"id": "7", "ip_address": "{{auto}}"})
    post_envelope(client, service, envelope(({"type": "event"}, event)),
                  {"Content-Type": "text/plain"})
    assert stored_occurrences()[0].user == {"id": "7", "ip_address": "127.0.0.1"}


@pytest.mark.parametrize("hops, expected", [(0, "127.0.0.1"), (1, "203.0.113.7")])
def test_the_client_address_behind_a_proxy_is_the_forwarded_one_only_when_proxies_are_trusted(
        app, service, hops, expected):
    from app import create_app
    from app.config import TestConfig

    served = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                        REDIS_URL=app.config["REDIS_URL"], INGEST_SPOOL_DIR=app.config["INGEST_SPOOL_DIR"],
                        PROXY_HOPS=hops)
    event = an_event(user={"id": "7", "ip_address": "{{auto}}"})
    post_envelope(served.test_client(), service, envelope(({"type": "event"}, event)),
                  {"Content-Type": "text/plain", "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
    assert stored_occurrences()[0].user == {"id": "7", "ip_address": expected}


def test_repeated_envelope_stores_one_occurrence(client, service):
    body = envelope(({"type": "event"}, an_event()))
    first = post_envelope(client, service, body)
    second = post_envelope(client, service, body)
    assert first.json == second.json == {"id": EVENT_ID}
    assert len(stored_occurrences()) == 1
    assert stored_errors()[0].occurrence_count == 1


# --- compression and transfer -----------------------------------------------------------------

@pytest.mark.parametrize("encoding, compress", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some clients send it
    ("br", brotli.compress),
])
def test_compressed_envelopes(client, service, encoding, compress):
    body = compress(envelope(({"type": "event"}, an_event())))
    response = post_envelope(client, service, body, {"Content-Encoding": encoding})
    assert response.status_code == 200, response.json
    assert len(stored_occurrences()) == 1


def test_corrupt_compressed_body_is_a_400(client, service):
    response = post_envelope(client, service, b"not gzip at all", {"Content-Encoding": "gzip"})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "bad_encoding"


def test_chunked_envelope_without_content_length(live_server, service):
    body = envelope(({"type": "event"}, an_event()))
    host = urllib.parse.urlsplit(live_server)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    chunks = (body[i:i + 100] for i in range(0, len(body), 100))
    connection.request("POST", f"/api/{service.id}/envelope/", body=chunks, encode_chunked=True,
                       headers={**sentry_auth(service), "Content-Type": "application/x-sentry-envelope"})
    response = connection.getresponse()
    assert response.status == 200
    assert json.loads(response.read()) == {"id": EVENT_ID}
    connection.close()
    assert len(stored_occurrences()) == 1


# --- /store/ ----------------------------------------------------------------------------------

@pytest.mark.parametrize("wrap", [
    lambda data: data,
    lambda data: base64.b64encode(zlib.compress(data)),
    lambda data: base64.b64encode(gzip.compress(data)),
    lambda data: base64.b64encode(data),
])
def test_store_accepts_json_and_base64_compressed_json(client, service, wrap):
    body = wrap(json.dumps(an_event()).encode())
    response = client.post(f"/api/{service.id}/store/", data=body,
                           headers={**sentry_auth(service), "Content-Type": "application/octet-stream"})
    assert response.status_code == 200, response.json
    assert response.json == {"id": EVENT_ID}
    assert stored_occurrences()[0].exceptions[-1]["type"] == "ZeroDivisionError"


def test_store_with_gzip_content_encoding(client, service):
    response = client.post(f"/api/{service.id}/store/", data=gzip.compress(json.dumps(an_event()).encode()),
                           headers={**sentry_auth(service), "Content-Encoding": "gzip",
                                    "Content-Type": "application/json"})
    assert response.status_code == 200
    assert len(stored_occurrences()) == 1


def test_store_ignores_transactions(client, service):
    response = client.post(f"/api/{service.id}/store/", json={"type": "transaction", "event_id": EVENT_ID},
                           headers=sentry_auth(service))
    assert response.status_code == 200
    assert stored_occurrences() == []


# --- authentication ---------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["x-sentry-auth", "query", "dsn", "authorization"])
def test_every_way_of_sending_the_key(client, service, how):
    headers, query, header = {}, "", {"event_id": EVENT_ID}
    if how == "x-sentry-auth":
        headers = sentry_auth(service)
    elif how == "query":
        query = f"?sentry_key={service.ingest_key}&sentry_version=7"
    elif how == "dsn":
        header["dsn"] = f"https://{service.ingest_key}@heartwatch.example/{service.id}"
    else:
        headers = {"Authorization": f"Sentry sentry_key={service.ingest_key}, sentry_version=7"}
    response = client.post(f"/api/{service.id}/envelope/{query}", headers=headers,
                           data=envelope(({"type": "event"}, an_event()), header=header))
    assert response.status_code == 200
    assert len(stored_occurrences()) == 1


def _assert_forbidden(response):
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"
    assert response.json["error"]["field"] == "sentry_key"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["X-Sentry-Error"]
    assert stored_occurrences() == []


def test_no_key_is_403(client, service):
    _assert_forbidden(client.post(f"/api/{service.id}/envelope/", data=envelope(({"type": "event"}, an_event()))))
    _assert_forbidden(client.post(f"/api/{service.id}/store/", json=an_event()))


def test_unknown_key_is_403(client, service):
    response = client.post(f"/api/{service.id}/envelope/?sentry_key={'f' * 32}",
                           data=envelope(({"type": "event"}, an_event())))
    _assert_forbidden(response)


def test_key_of_another_service_is_403(client, service):
    other = make_service("Billing")
    _assert_forbidden(client.post(f"/api/{service.id}/envelope/", headers=sentry_auth(other),
                                  data=envelope(({"type": "event"}, an_event()))))
    _assert_forbidden(client.post(f"/api/{service.id}/store/", headers=sentry_auth(other), json=an_event()))
    bad_dsn = {"event_id": EVENT_ID, "dsn": f"https://{other.ingest_key}@h/{service.id}"}
    _assert_forbidden(client.post(f"/api/{service.id}/envelope/",
                                  data=envelope(({"type": "event"}, an_event()), header=bad_dsn)))


@pytest.mark.parametrize("where", ["query", "header", "dsn_header", "envelope_dsn"])
def test_a_key_with_a_nul_character_is_refused_like_any_unknown_key(client, service, where):
    # PostgreSQL refuses NUL in a string parameter: the key must be refused before any lookup.
    key = f"{service.ingest_key[:8]}\x00{service.ingest_key[8:]}"
    quoted = urllib.parse.quote(key)
    query, headers, header = "", {}, None
    if where == "query":
        query = f"?sentry_key={quoted}"
    elif where == "header":
        headers = {"X-Sentry-Auth": f"Sentry sentry_key={key}, sentry_version=7"}
    elif where == "dsn_header":
        headers = {"X-Sentry-Auth": f"DSN https://{quoted}@heartwatch.example/{service.id}"}
    else:
        header = {"event_id": EVENT_ID, "dsn": f"https://{quoted}@heartwatch.example/{service.id}"}
    body = envelope(({"type": "event"}, an_event()), header=header)
    _assert_forbidden(client.post(f"/api/{service.id}/envelope/{query}", headers=headers, data=body))
    if where in ("query", "header"):
        _assert_forbidden(client.post(f"/api/{service.id}/store/{query}", headers=headers, json=an_event()))


# --- bad input ----------------------------------------------------------------------------------

def test_malformed_event_json_is_a_clear_400(client, service):
    response = post_envelope(client, service, envelope(({"type": "event"}, b'{"exception": [}')))
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_json"
    assert "event item is not valid JSON" in response.json["error"]["message"]
    assert response.json["error"]["field"] == "event item"


@pytest.mark.parametrize("body", [b"{not json\n", b"[1, 2]\n", b'{}\n{"type": "event", "length": 999}\n{}\n',
                                  b'{}\n{"type": "event", "length": -1}\n{}\n', b"{}\nnot a header\n{}\n"])
def test_malformed_envelopes_are_400(client, service, body):
    response = post_envelope(client, service, body)
    assert response.status_code == 400
    assert response.json["error"]["message"]


@pytest.mark.parametrize("body", [b"", b"{oops", b"[]", b"bm90IGpzb24="])
def test_malformed_store_bodies_are_400(client, service, body):
    response = client.post(f"/api/{service.id}/store/", data=body, headers=sentry_auth(service))
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_json"


@pytest.mark.parametrize("event", [
    {"exception": "just a string", "message": 5, "tags": "x", "user": [1], "request": "r", "level": "loud",
     "timestamp": "yesterday", "fingerprint": {"a": 1}, "breadcrumbs": 3, "event_id": "not-a-uuid",
     "threads": "none", "contexts": None},
    {"exception": {"values": [None, 3, {"type": None, "stacktrace": {"frames": [None, "x", {"lineno": "a"}]}}]}},
    # PostgreSQL refuses NUL in text and JSONB: it must be dropped, not turned into a 500.
    {"platform": "py\u0000thon", "environment": "prod\u0000", "release": "1\u0000", "server_name": "w\u00001",
     "logger": "a\u0000b", "transaction": "/x\u0000", "tags": {"k\u0000": "v\u0000"}, "user": {"id": "\u0000"},
     "request": {"url": "http://h/p\u0000", "method": "GET"}, "fingerprint": ["f\u0000"],
     "exception": {"values": [{"type": "Bad\u0000Type", "value": "v\u0000", "module": "m\u0000",
                               "stacktrace": {"frames": [{"function": "f\u0000", "filename": "a\u0000.py",
                                                          "context_line": "\u0000", "in_app": True}]}}]}},
])
def test_odd_field_shapes_are_tolerated(client, service, event):
    response = post_envelope(client, service, envelope(({"type": "event"}, event)))
    assert response.status_code == 200, response.json
    assert len(response.json["id"]) == 32
    assert len(stored_occurrences()) == 1


def test_oversized_event_item_is_413(client, service):
    event = an_event(extra={"blob": "x" * (1024 * 1024)})
    response = post_envelope(client, service, envelope(({"type": "event"}, event)))
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"
    assert stored_occurrences() == []


def test_oversized_body_is_refused_by_its_content_length(client, service):
    response = client.post(f"/api/{service.id}/envelope/", data=b"{}", headers=sentry_auth(service),
                           environ_overrides={"CONTENT_LENGTH": str(21 * 1024 * 1024)})
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"


def test_decompression_bomb_is_413(client, service):
    bomb = gzip.compress(b"{}\n" + b" " * (51 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 200 * 1024
    response = post_envelope(client, service, bomb, {"Content-Encoding": "gzip"})
    assert response.status_code == 413


# --- CORS ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["envelope/", "envelope", "store/"])
def test_preflight_is_answered_with_cors_headers(client, service, path):
    response = client.options(f"/api/{service.id}/{path}", headers={
        "Origin": "http://shop.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-sentry-auth"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    allowed = {h.strip() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"x-sentry-auth", "content-type", "content-encoding", "authorization", "sentry-trace",
            "baggage"} <= allowed
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert exposed == {"x-sentry-error", "x-sentry-rate-limits", "retry-after"}


def test_every_answer_carries_cors_headers(client, service):
    ok = post_envelope(client, service, envelope(({"type": "event"}, an_event())))
    bad = post_envelope(client, service, b"{oops")
    for response in (ok, bad):
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "x-sentry-rate-limits" in response.headers["Access-Control-Expose-Headers"]


def test_post_without_trailing_slash_is_not_redirected(client, service):
    response = client.post(f"/api/{service.id}/envelope", data=envelope(({"type": "event"}, an_event())),
                           headers=sentry_auth(service))
    assert response.status_code == 200


RECORDED = Path(__file__).resolve().parent / "recorded"


@pytest.mark.parametrize(("recording", "message", "severity"), [
    ("sentry-node-11.12.0-capture-message-warning.envelope", "quota nearly used up: 92%", "medium"),
    ("sentry-node-11.12.0-capture-message-log.envelope", "nightly import skipped", "info"),
])
def test_a_node_capture_message_is_a_message_titled_by_its_text(client, service, recording, message, severity):
    # Recorded from @sentry/node 11.12.0 running sentry-node-11.12.0-capture-message.js
    # (attachStacktrace: true): the stack comes as an exception marked synthetic, with no type.
    body = (RECORDED / recording).read_bytes()
    response = client.post(f"/api/{service.id}/envelope/?sentry_key={service.ingest_key}", data=body,
                           content_type="text/plain;charset=UTF-8")
    assert response.status_code == 200, response.json
    (occurrence,) = stored_occurrences(service.id)
    error = db.session.get(ErrorLog, occurrence.error_id)
    assert (error.error_type, error.message, occurrence.severity) == ("Message", message, severity)
    assert occurrence.exceptions[-1]["frames"][-1]["filename"] == "/tmp/snode/app.js"
