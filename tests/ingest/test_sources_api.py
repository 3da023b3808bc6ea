"""The generic schema of POST /api/errors/: a pure function from payload to IncomingError."""
from __future__ import annotations

import datetime as dt

import pytest

from app.ingest.incoming import MAX_MESSAGE_CHARS, TRUNCATION_MARKER, InvalidPayload
from app.ingest.sources.api import normalise

DJANGO_TRACEBACK = """Traceback (most recent call last):
  File "/srv/ai-api/venv/lib/python3.11/site-packages/django/core/handlers/exception.py", line 55, in inner
    response = get_response(request)
  File "/srv/ai-api/predictions/views.py", line 48, in predict
    result = model.predict(features)
  File "/srv/ai-api/predictions/model.py", line 112, in predict
    return self._session.run(None, {"input": tensor})
KeyError: 'input'
"""


def full_payload(**overrides):
    payload = {
        "error_type": "KeyError",
        "message": "'input'",
        "severity": "error",
        "endpoint": "POST /api/predict",
        "stack_trace": DJANGO_TRACEBACK,
        "platform": "python",
        "user": {"id": 42, "email": "ana@example.com"},
        "request": {"url": "https://ai.example.com/api/predict?debug=1", "method": "POST",
                    "headers": {"User-Agent": "python-requests/2.31"}},
        "environment": "production",
        "release": "ai-api@3.4.1",
        "tags": {"region": "eu-west-1", "gpu": True},
        "timestamp": "2024-05-01T10:15:30.123456789Z",
        "fingerprint": ["predict", "KeyError"],
        "event_id": "9F3C1E0A5B7D4C2E8A6F0B1C2D3E4F50",
    }
    payload.update(overrides)
    return payload


def test_every_documented_field_is_read():
    incoming = normalise(full_payload(), service_id=7)
    assert incoming.service_id == 7
    assert incoming.source == "api"
    assert (incoming.error_type, incoming.message) == ("KeyError", "'input'")
    assert incoming.severity == "high"
    assert incoming.endpoint == "POST /api/predict"
    assert incoming.platform == "python"
    assert incoming.user == {"id": 42, "email": "ana@example.com"}
    assert incoming.request["method"] == "POST"
    assert (incoming.environment, incoming.release) == ("production", "ai-api@3.4.1")
    assert incoming.tags == {"region": "eu-west-1", "gpu": "True"}
    # Nanoseconds are cut to microseconds, the zone is kept as UTC.
    assert incoming.timestamp == dt.datetime(2024, 5, 1, 10, 15, 30, 123456, tzinfo=dt.timezone.utc)
    assert incoming.fingerprint == ["predict", "KeyError"]
    assert incoming.event_id == "9f3c1e0a-5b7d-4c2e-8a6f-0b1c2d3e4f50"
    assert incoming.stack_trace == DJANGO_TRACEBACK


def test_python_stack_trace_is_parsed_into_frames_oldest_first():
    incoming = normalise(full_payload(), 1)
    frames = incoming.frames
    assert [f["function"] for f in frames] == ["inner", "predict", "predict"]
    assert [f["lineno"] for f in frames] == [55, 48, 112]
    assert [f["in_app"] for f in frames] == [False, True, True]
    # The raised exception carries the payload's type and message, whatever the text said.
    assert incoming.exceptions[-1]["type"] == "KeyError"
    assert incoming.exceptions[-1]["value"] == "'input'"


def test_explicit_frames_win_over_the_stack_text():
    frames = [
        {"filename": "app/main.py", "function": "handler", "lineno": "12", "in_app": True,
         "pre_context": ["def handler():"], "context_line": "    boom()"},
        {"filename": "lib/x.py", "function": "boom", "lineno": 3.0, "colno": 4, "in_app": "false"},
    ]
    incoming = normalise(full_payload(frames=frames), 1)
    assert [f["function"] for f in incoming.frames] == ["handler", "boom"]
    assert [f["lineno"] for f in incoming.frames] == [12, 3]
    assert incoming.frames[0]["pre_context"] == ["def handler():"]
    # A stringified "false" means false, not a truthy string.
    assert [f["in_app"] for f in incoming.frames] == [True, False]


def test_only_type_and_message_are_required():
    incoming = normalise({"error_type": "ValueError", "message": "bad"}, 1)
    assert incoming.severity is None  # classified later by the rules
    assert incoming.exceptions == []
    assert incoming.tags == {} and incoming.extra == {}


@pytest.mark.parametrize("missing", ["error_type", "message"])
def test_missing_required_field_is_named(missing):
    payload = full_payload()
    del payload[missing]
    with pytest.raises(InvalidPayload) as caught:
        normalise(payload, 1)
    assert caught.value.field == missing
    assert caught.value.code == "missing_field"


@pytest.mark.parametrize(("field", "value", "named"), [
    ("error_type", {"name": "X"}, "error_type"),
    ("message", ["a", "b"], "message"),
    ("severity", "urgent", "severity"),
    ("severity", 42, "severity"),
    ("severity", True, "severity"),
    ("endpoint", {"path": "/"}, "endpoint"),
    ("stack_trace", ["line"], "stack_trace"),
    ("platform", [], "platform"),
    ("user", "ana", "user"),
    ("request", ["GET", "/"], "request"),
    ("environment", {}, "environment"),
    ("release", [1], "release"),
    ("tags", "a=b", "tags"),
    ("tags", [["a"]], "tags"),
    ("timestamp", "yesterday", "timestamp"),
    ("timestamp", {"at": 1}, "timestamp"),
    ("timestamp", True, "timestamp"),
    ("timestamp", "9999-12-31T23:59:59-10:00", "timestamp"),
    ("timestamp", "0001-01-01T00:00:00+10:00", "timestamp"),
    ("fingerprint", 12, "fingerprint"),
    ("fingerprint", {"a": 1}, "fingerprint"),
    ("fingerprint", [["nested"]], "fingerprint"),
    ("fingerprint", [True], "fingerprint"),
    ("event_id", 12345, "event_id"),
    ("event_id", "not-a-uuid", "event_id"),
    ("extra", "text", "extra"),
    ("frames", "at x", "frames"),
    ("frames", [1], "frames[0]"),
    ("frames", [{"lineno": "twelve"}], "frames[0].lineno"),
    ("frames", [{"colno": [1]}], "frames[0].colno"),
    ("frames", [{"function": {"name": "f"}}], "frames[0].function"),
    ("frames", [{"filename": "a.py"}, {"in_app": "maybe"}], "frames[1].in_app"),
    ("frames", [{"pre_context": "line"}], "frames[0].pre_context"),
])
def test_wrong_type_is_refused_naming_the_field(field, value, named):
    with pytest.raises(InvalidPayload) as caught:
        normalise(full_payload(**{field: value}), 1)
    assert caught.value.field == named
    assert caught.value.code == "invalid_field"
    assert named in caught.value.message


def test_over_long_fields_are_truncated_with_a_marker_not_refused():
    incoming = normalise(full_payload(error_type="E" * 1000, message="m" * (MAX_MESSAGE_CHARS + 50),
                                      environment="e" * 100, release="r" * 500, endpoint="/" * 2000,
                                      tags={f"{'k' * 100}{n}": "v" * 1000 for n in range(150)}), 1)
    assert len(incoming.error_type) == 255 and incoming.error_type.endswith(TRUNCATION_MARKER)
    assert len(incoming.message) == MAX_MESSAGE_CHARS and incoming.message.endswith(TRUNCATION_MARKER)
    assert len(incoming.environment) == 64 and len(incoming.release) == 128 and len(incoming.endpoint) == 512
    assert len(incoming.tags) == 100
    assert all(len(k) == 64 and len(v) == 200 for k, v in incoming.tags.items())


def test_nul_characters_are_dropped_everywhere():
    nul = "\x00"
    incoming = normalise({"error_type": f"Key{nul}Error", "message": f"bad{nul}", "platform": f"py{nul}thon",
                          "environment": f"prod{nul}", "tags": {f"k{nul}": f"v{nul}"}, "user": {f"id{nul}": nul},
                          "frames": [{"function": f"f{nul}", "pre_context": [f"x{nul}"]}], f"odd{nul}": f"y{nul}"}, 1)
    assert (incoming.error_type, incoming.message, incoming.platform) == ("KeyError", "bad", "python")
    assert incoming.environment == "prod"
    assert incoming.tags == {"k": "v"} and incoming.user == {"id": ""}
    assert incoming.frames[0]["function"] == "f" and incoming.frames[0]["pre_context"] == ["x"]
    assert incoming.extra == {"odd": "y"}


def test_unknown_fields_are_kept_as_extra_data():
    incoming = normalise(full_payload(extra={"order_id": 991}, customer_tier="gold", retries=[1, 2]), 1)
    assert incoming.extra == {"order_id": 991, "customer_tier": "gold", "retries": [1, 2]}


def test_endpoint_is_derived_from_the_request_when_absent():
    payload = full_payload()
    del payload["endpoint"]
    incoming = normalise(payload, 1)
    assert incoming.endpoint == "POST /api/predict"


@pytest.mark.parametrize(("payload_bits", "status"), [
    ({"status_code": 503}, 503),
    ({"http_status": "404"}, 404),
    ({"request": {"url": "/x", "status_code": 502}}, 502),
    ({"request": {"url": "/x", "response": {"status_code": 429}}}, 429),
    ({"status_code": 99}, None),
    ({"status_code": True}, None),
])
def test_http_status_is_read_for_the_severity_rules(payload_bits, status):
    incoming = normalise({"error_type": "HTTPError", "message": "x", **payload_bits}, 1)
    assert incoming.http_status == status


@pytest.mark.parametrize(("value", "expected"), [
    (1714558530, dt.datetime(2024, 5, 1, 10, 15, 30, tzinfo=dt.timezone.utc)),
    (1714558530123, dt.datetime(2024, 5, 1, 10, 15, 30, 123000, tzinfo=dt.timezone.utc)),
    ("1714558530.5", dt.datetime(2024, 5, 1, 10, 15, 30, 500000, tzinfo=dt.timezone.utc)),
    ("2024-05-01T12:15:30+02:00", dt.datetime(2024, 5, 1, 10, 15, 30, tzinfo=dt.timezone.utc)),
    ("2024-05-01T10:15:30", dt.datetime(2024, 5, 1, 10, 15, 30, tzinfo=dt.timezone.utc)),
    ("", None),
])
def test_timestamps_in_every_common_form(value, expected):
    assert normalise(full_payload(timestamp=value), 1).timestamp == expected


def test_level_is_read_when_severity_is_absent_or_null():
    assert normalise({"error_type": "X", "message": "m", "level": "warning"}, 1).severity == "medium"
    assert normalise({"error_type": "X", "message": "m", "severity": None, "level": "fatal"}, 1).severity == "critical"
    assert normalise({"error_type": "X", "message": "m", "severity": "info", "level": "fatal"}, 1).severity == "info"
