"""POST /api/errors/ over HTTP: the answer, authentication, and every kind of bad input."""
from __future__ import annotations

import gzip
import json
import zlib

import brotli
import pytest
import requests
import zstandard

from app.extensions import db
from app.ingest.incoming import MAX_MESSAGE_CHARS, TRUNCATION_MARKER
from app.models import ErrorLog, ErrorOccurrence, Service
from app.recording.keys import forget_cached_keys
from tests.factories import ingest, make_service

ONE_MIB = 1024 * 1024
EVENT = {"error_type": "KeyError", "message": "'input'", "environment": "production"}


def occurrences():
    return db.session.execute(db.select(ErrorOccurrence)).scalars().all()


def post_raw(client, service, body: bytes, content_type="application/json", **headers):
    return client.post("/api/errors/", data=body, content_type=content_type,
                       headers={"X-Api-Key": service.ingest_key, **headers})


def assert_json_error(response, status, field=None, code=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    error = response.json["error"]
    assert set(error) == {"code", "message", "field"}
    assert error["message"]
    assert error["field"] == field
    if code:
        assert error["code"] == code
    return error


# --- the answer --------------------------------------------------------------------------------

def test_first_event_creates_an_error_and_answers_201(client, service):
    response = ingest(client, service, EVENT)
    assert response.status_code == 201
    body = response.json
    assert set(body) == {"error_id", "occurrence_id", "new", "status", "severity"}
    assert body["new"] is True
    assert body["status"] == "new"
    assert body["severity"] == "high"
    error = db.session.get(ErrorLog, body["error_id"])
    assert error.service_id == service.id and error.error_type == "KeyError"
    assert db.session.get(ErrorOccurrence, body["occurrence_id"]).error_id == error.id


def test_second_event_of_the_same_error_is_not_new(client, service):
    first = ingest(client, service, EVENT).json
    second = ingest(client, service, {**EVENT, "severity": "critical"}).json
    assert second["error_id"] == first["error_id"]
    assert second["occurrence_id"] != first["occurrence_id"]
    assert second["new"] is False
    assert second["severity"] == "critical"
    assert db.session.get(ErrorLog, first["error_id"]).occurrence_count == 2


def test_stored_occurrence_keeps_everything_sent(client, service):
    payload = {**EVENT, "user": {"id": 7}, "request": {"url": "https://x.example/api/predict", "method": "POST"},
               "tags": {"region": "eu"}, "release": "ai@1.2", "server_name": "web-3", "model": "bert-large",
               "stack_trace": 'Traceback (most recent call last):\n  File "/srv/app/views.py", line 3, in predict\n'
                              "    x()\nKeyError: 'input'\n"}
    body = ingest(client, service, payload).json
    occurrence = db.session.get(ErrorOccurrence, body["occurrence_id"])
    assert occurrence.user == {"id": 7}
    assert occurrence.request["method"] == "POST"
    assert occurrence.tags == {"region": "eu"}
    assert occurrence.extra == {"model": "bert-large"}
    assert (occurrence.release, occurrence.server_name, occurrence.environment) == ("ai@1.2", "web-3", "production")
    assert occurrence.endpoint == "POST /api/predict"
    assert occurrence.exceptions[-1]["frames"][0]["function"] == "predict"
    assert json.loads(occurrence.raw_payload) == payload


# --- authentication ----------------------------------------------------------------------------

def test_key_in_the_query_string(client, service):
    response = client.post(f"/api/errors/?key={service.ingest_key}", json=EVENT)
    assert response.status_code == 201


def test_missing_key_is_401(client, service):
    assert_json_error(client.post("/api/errors/", json=EVENT), 401, "X-Api-Key")


@pytest.mark.parametrize("key", ["0" * 32, "x" * 500, "' OR 1=1 --"])
def test_unknown_key_is_401(client, service, key):
    assert_json_error(client.post("/api/errors/", json=EVENT, headers={"X-Api-Key": key}), 401, "X-Api-Key")
    assert occurrences() == []


def test_a_key_with_a_nul_character_is_401_not_a_failure(client, service):
    response = client.post(f"/api/errors/?key={service.ingest_key[:8]}%00", json=EVENT)
    assert_json_error(response, 401, "X-Api-Key")


def test_a_key_with_a_nul_character_in_the_header_is_401_not_a_failure(client, service):
    response = client.post("/api/errors/", json=EVENT, headers={"X-Api-Key": f"{service.ingest_key[:8]}\x00"})
    assert_json_error(response, 401, "X-Api-Key")


def test_key_of_a_deactivated_service_is_401(client, service):
    service.active = False
    db.session.commit()
    forget_cached_keys()
    assert_json_error(ingest(client, service, EVENT), 401, "X-Api-Key")


def test_a_personal_token_is_not_an_ingest_key(client, api, service):
    response = client.post("/api/errors/", json=EVENT, headers={"Authorization": f"Bearer {api.token}"})
    assert_json_error(response, 401, "X-Api-Key")


def test_each_key_files_under_its_own_service(client, service):
    other = make_service("Laravel web", platform="php")
    a = ingest(client, service, EVENT).json
    b = ingest(client, other, EVENT).json
    assert a["error_id"] != b["error_id"] and b["new"] is True
    assert db.session.get(ErrorLog, b["error_id"]).service_id == other.id


# --- malformed and invalid bodies ----------------------------------------------------------------

@pytest.mark.parametrize("body", [b"{bad json", b"", b"   ", b"[1, 2]", b'"text"', b"null", b"\xff\xfe{}",
                                  b'{"error_type": "X", "message": "\\ud800"}', b'{"a": 1e999}'])
def test_malformed_json_is_400(client, service, body):
    assert_json_error(post_raw(client, service, body), 400, None, "malformed_json")


@pytest.mark.parametrize(("field", "value", "named"), [
    ("error_type", None, "error_type"),
    ("message", "", "message"),
    ("error_type", ["KeyError"], "error_type"),
    ("message", {"text": "x"}, "message"),
    ("severity", "urgent", "severity"),
    ("severity", 99, "severity"),
    ("severity", False, "severity"),
    ("endpoint", ["/"], "endpoint"),
    ("stack_trace", {"frames": []}, "stack_trace"),
    ("platform", {"name": "python"}, "platform"),
    ("environment", ["prod"], "environment"),
    ("release", {"v": 1}, "release"),
    ("server_name", [], "server_name"),
    ("tags", "region=eu", "tags"),
    ("tags", [["a", "b", "c"]], "tags"),
    ("tags", 5, "tags"),
    ("user", "ana", "user"),
    ("user", [1], "user"),
    ("request", "GET /", "request"),
    ("request", 5, "request"),
    ("timestamp", "yesterday", "timestamp"),
    ("timestamp", [2024], "timestamp"),
    ("timestamp", True, "timestamp"),
    ("timestamp", "9999-12-31T23:59:59-10:00", "timestamp"),
    ("fingerprint", 7, "fingerprint"),
    ("fingerprint", {"a": "b"}, "fingerprint"),
    ("fingerprint", [None], "fingerprint"),
    ("frames", "at x (y.js:1:2)", "frames"),
    ("frames", {"0": {}}, "frames"),
    ("frames", ["frame"], "frames[0]"),
    ("frames", [{"lineno": "ten"}], "frames[0].lineno"),
    ("frames", [{"function": ["f"]}], "frames[0].function"),
    ("frames", [{"in_app": "perhaps"}], "frames[0].in_app"),
    ("event_id", 42, "event_id"),
    ("event_id", "not-a-uuid", "event_id"),
    ("extra", ["a"], "extra"),
])
def test_invalid_field_is_400_naming_it(client, service, field, value, named):
    response = ingest(client, service, {**EVENT, field: value})
    error = assert_json_error(response, 400, named)
    assert error["code"] in ("invalid_field", "missing_field")
    assert occurrences() == []


@pytest.mark.parametrize("content_type", ["application/xml", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "text/html", ""])
def test_a_body_that_is_not_json_is_415(client, service, content_type):
    response = client.post("/api/errors/", data=json.dumps(EVENT), headers={
        "X-Api-Key": service.ingest_key, **({"Content-Type": content_type} if content_type else {})})
    assert_json_error(response, 415)


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "text/plain;charset=UTF-8",
                                          "application/vnd.heartwatch+json"])
def test_json_under_other_common_content_types_is_accepted(client, service, content_type):
    # navigator.sendBeacon can only send text/plain without a CORS preflight.
    assert post_raw(client, service, json.dumps(EVENT).encode(), content_type).status_code == 201


# --- sizes and encodings -----------------------------------------------------------------------

def padded_event(size: int) -> bytes:
    head = b'{"error_type": "X", "message": "'
    tail = b'"}'
    return head + b"a" * (size - len(head) - len(tail)) + tail


def test_a_body_of_exactly_one_mib_is_accepted_and_its_message_truncated(client, service):
    body = padded_event(ONE_MIB)
    assert len(body) == ONE_MIB
    response = post_raw(client, service, body)
    assert response.status_code == 201
    error = db.session.get(ErrorLog, response.json["error_id"])
    assert len(error.message) == MAX_MESSAGE_CHARS and error.message.endswith(TRUNCATION_MARKER)


def test_a_body_over_one_mib_is_413(client, service):
    assert_json_error(post_raw(client, service, padded_event(ONE_MIB + 1)), 413)


def test_a_small_gzip_body_inflating_past_one_mib_is_413(client, service):
    body = gzip.compress(padded_event(2 * ONE_MIB))
    assert len(body) < 10_000
    assert_json_error(post_raw(client, service, body, **{"Content-Encoding": "gzip"}), 413)
    assert occurrences() == []


@pytest.mark.parametrize("compress", [zlib.compress, lambda b: zlib.compress(b)[2:-4], brotli.compress],
                         ids=["deflate", "raw-deflate", "br"])
def test_other_encodings_inflating_past_one_mib_are_413(client, service, compress):
    encoding = "br" if compress is brotli.compress else "deflate"
    body = compress(padded_event(3 * ONE_MIB))
    assert_json_error(post_raw(client, service, body, **{"Content-Encoding": encoding}), 413)


@pytest.mark.parametrize("announce_size", [True, False], ids=["size-in-frame", "no-size"])
def test_a_zstd_body_inflating_past_one_mib_is_413(client, service, announce_size):
    body = zstandard.ZstdCompressor(write_content_size=announce_size).compress(padded_event(3 * ONE_MIB))
    assert len(body) < 10_000
    assert_json_error(post_raw(client, service, body, **{"Content-Encoding": "zstd"}), 413)
    assert occurrences() == []


@pytest.mark.parametrize(("encoding", "compress"), [
    ("gzip", gzip.compress), ("x-gzip", gzip.compress), ("deflate", zlib.compress),
    ("deflate", lambda b: zlib.compress(b)[2:-4]), ("br", brotli.compress), ("identity", lambda b: b),
    ("zstd", zstandard.ZstdCompressor().compress),
])
def test_compressed_bodies_are_accepted(client, service, encoding, compress):
    response = post_raw(client, service, compress(json.dumps(EVENT).encode()), **{"Content-Encoding": encoding})
    assert response.status_code == 201


def test_corrupt_compressed_data_is_400(client, service):
    error = assert_json_error(post_raw(client, service, b"not gzip at all", **{"Content-Encoding": "gzip"}), 400)
    assert error["code"] == "bad_encoding"


def test_unknown_content_encoding_is_415(client, service):
    assert_json_error(post_raw(client, service, b"{}", **{"Content-Encoding": "lzma"}), 415)


def test_a_chunked_body_over_the_limit_is_413_over_real_http(live_server, service):
    def chunks():
        yield b'{"error_type": "X", "message": "'
        for _ in range(20):
            yield b"a" * 65536
        yield b'"}'

    response = requests.post(f"{live_server}/api/errors/", data=chunks(), timeout=30,
                             headers={"X-Api-Key": service.ingest_key, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_small_chunked_body_is_accepted_over_real_http(live_server, service):
    response = requests.post(f"{live_server}/api/errors/", data=iter([json.dumps(EVENT).encode()]), timeout=30,
                             headers={"X-Api-Key": service.ingest_key, "Content-Type": "application/json"})
    assert response.status_code == 201


# --- truncation, odd characters, limits --------------------------------------------------------

def test_over_long_fields_are_stored_truncated_with_a_marker(client, service):
    payload = {"error_type": "E" * 1000, "message": "m" * 20_000, "environment": "e" * 100,
               "release": "r" * 300, "endpoint": "/x" * 600, "server_name": "s" * 400,
               "stack_trace": "line\n" * 20_000, "tags": {f"key-{n}": "v" * 500 for n in range(150)}}
    body = ingest(client, service, payload).json
    error = db.session.get(ErrorLog, body["error_id"])
    occurrence = db.session.get(ErrorOccurrence, body["occurrence_id"])
    for value, limit in [(error.error_type, 255), (error.message, MAX_MESSAGE_CHARS), (error.environment, 64),
                         (error.release, 128), (error.endpoint, 512), (occurrence.server_name, 255)]:
        assert len(value) == limit and value.endswith(TRUNCATION_MARKER)
    assert occurrence.stack_trace.endswith(TRUNCATION_MARKER)
    assert len(occurrence.tags) == 100
    assert occurrence.raw_payload.endswith("…[truncated]")


def test_nul_characters_anywhere_are_dropped_not_fatal(client, service):
    nul = "\u0000"
    payload = {"error_type": f"Key{nul}Error", "message": f"m{nul}", "platform": f"py{nul}thon",
               "environment": f"prod{nul}", "release": f"1{nul}", "server_name": f"web{nul}", "endpoint": f"/x{nul}",
               "tags": {f"k{nul}": f"v{nul}"}, "user": {f"id{nul}": f"7{nul}"},
               "request": {"url": f"/u{nul}", "method": f"GET{nul}"}, "fingerprint": [f"f{nul}"],
               "extra": {f"x{nul}": [f"y{nul}"]}, f"custom{nul}": f"z{nul}",
               "frames": [{"filename": f"a{nul}.py", "function": f"f{nul}", "context_line": nul}]}
    response = ingest(client, service, payload)
    assert response.status_code == 201, response.json
    error = db.session.get(ErrorLog, response.json["error_id"])
    occurrence = db.session.get(ErrorOccurrence, response.json["occurrence_id"])
    assert (error.error_type, error.message, error.platform) == ("KeyError", "m", "python")
    assert occurrence.tags == {"k": "v"} and occurrence.user == {"id": "7"}
    assert occurrence.extra == {"x": ["y"], "custom": "z"}
    assert occurrence.exceptions[-1]["frames"][0]["function"] == "f"


def test_unicode_survives(client, service):
    body = ingest(client, service, {"error_type": "Ошибка", "message": "données invalides 🚨 — 名前"}).json
    assert db.session.get(ErrorLog, body["error_id"]).message == "données invalides 🚨 — 名前"


def test_over_the_rate_limit_is_429_with_retry_after(client, service):
    db.session.get(Service, service.id).rate_limit_per_minute = 2
    db.session.commit()
    forget_cached_keys()
    assert [ingest(client, service, EVENT).status_code for _ in range(2)] == [201, 201]
    response = ingest(client, service, EVENT)
    assert_json_error(response, 429)
    assert 1 <= int(response.headers["Retry-After"]) <= 60


@pytest.mark.parametrize("value", [None, True, 0, -1, 2**70, 1.5, "", "x" * 5000, [], {}, [[[[]]]],
                                   {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}])
def test_no_value_in_any_field_causes_a_server_error(client, service, value):
    fields = ["error_type", "message", "severity", "endpoint", "stack_trace", "frames", "user", "request",
              "environment", "release", "tags", "timestamp", "fingerprint", "event_id", "extra", "platform",
              "server_name", "status_code", "level"]
    for field in fields:
        response = ingest(client, service, {**EVENT, field: value})
        assert response.status_code in (201, 400), (field, value, response.get_data(as_text=True))
        assert response.is_json


def test_many_events_are_all_stored(client, service):
    answers = [ingest(client, service, {**EVENT, "message": f"job {n % 3} failed", "error_type": f"E{n % 3}"})
               for n in range(30)]
    assert all(a.status_code == 201 for a in answers)
    assert len({a.json["occurrence_id"] for a in answers}) == 30
    assert len(occurrences()) == 30
    counts = sorted(e.occurrence_count for e in db.session.execute(db.select(ErrorLog)).scalars())
    assert counts == [10, 10, 10]
