"""Random bodies to every way in: never a 5xx, and every accepted event reads back and renders.

Property-based (hypothesis), bounded in examples and without deadlines, derandomised so that CI
runs the same cases each time: JSON shaped like the real payloads (their field names with arbitrary
values: NUL, odd unicode, deep and wide values, wrong types), raw bytes, broken and real compressed
bodies, and Sentry envelopes with broken headers and lengths.
"""
from __future__ import annotations

import gzip
import json
import zlib

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models import ErrorLog, ErrorOccurrence
from tests.factories import ApiClient, make_developer, make_token

PASSWORD = "correct horse battery"
FIELDS = ["error_type", "message", "severity", "level", "stack_trace", "stacktrace", "frames", "platform", "tags",
          "user", "request", "environment", "release", "timestamp", "fingerprint", "event_id", "endpoint", "extra",
          "exception", "name", "stack", "filename", "lineno", "reason", "type", "stackTrace", "library", "device",
          "@timestamp", "logger_name", "cause", "previous", "class", "trace", "values", "logentry", "contexts",
          "breadcrumbs", "status_code", "appVersion", "componentStack"]
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40) | st.sampled_from(
    ["", "\x00", "a\x00b", "Traceback (most recent call last):\n  File \"x.py\", line 1, in f\nValueError: v",
     "java.lang.IllegalStateException: x\n\tat a.B.c(B.java:1)\n\t... 3 more", "#0 main (package:a/b.dart:1:2)",
     "TypeError: x\n    at f (https://a/b.js:1:2)", "%s %(a)s {} %999999999s", "9" * 40, "2024-13-45T99:00:00Z"])
SCALAR = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(
    allow_nan=False, allow_infinity=False) | TEXT
JSON = st.recursive(SCALAR, lambda children: st.lists(children, max_size=4) | st.dictionaries(
    st.sampled_from(FIELDS) | TEXT, children, max_size=4), max_leaves=25)
EVENT = st.dictionaries(st.sampled_from(FIELDS) | TEXT, JSON, max_size=8)


def _dumps(value) -> bytes:
    return json.dumps(value).encode()  # big integers too, which orjson will not write


WAYS_IN = ["/api/errors/", "/webhook/generic/", "/webhook/laravel/", "/webhook/java/", "/webhook/frontend/",
           "/webhook/mobile/", "store", "envelope"]


def _encoded(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.compress(body)
    if encoding == "deflate":
        return zlib.compress(body)
    return body


# A base that each way in accepts, with random fields on top (which may replace the base's): most
# cases get past the door and into the normalisers, the writer and the pages.
BASE = {"error_type": "FuzzError", "message": "fuzz", "exception": "FuzzError", "name": "FuzzError"}
BODY = st.one_of(
    EVENT.map(lambda extra: _dumps({**BASE, **extra})),
    EVENT.map(lambda extra: _dumps({**BASE, **extra})),
    EVENT.map(_dumps),
    st.binary(max_size=200),
    st.sampled_from([b"", b"null", b"[]", b'{"message": "m"', b"\xff\xfe{}", b'{"message": "\\ud800"}']),
)
HEADERS = st.fixed_dictionaries({
    "Content-Type": st.sampled_from(["application/json"] * 6 + ["text/plain", "application/x-sentry-envelope",
                                                                 "application/octet-stream", ""]),
    "Content-Encoding": st.sampled_from([""] * 6 + ["gzip", "deflate", "br", "zstd", "compress"]),
})
ENVELOPE = st.tuples(
    st.sampled_from([b'{"event_id": "' + b"a" * 32 + b'"}', b"{}", b"", b"not json", b'{"dsn": 5}']),
    st.lists(st.tuples(st.sampled_from(["event", "error", "transaction", "attachment", "client_report", "x"]),
                       st.one_of(st.none(), st.integers(min_value=-5, max_value=400)),
                       st.one_of(EVENT.map(lambda extra: _dumps({"message": "fuzz", **extra})), EVENT.map(_dumps),
                                 st.binary(max_size=60))), max_size=3),
)


def _envelope(parts) -> bytes:
    header, items = parts
    lines = [header]
    for kind, length, payload in items:
        item = {"type": kind}
        if length is not None:
            item["length"] = length
        lines += [orjson.dumps(item), payload]
    return b"\n".join(lines) + b"\n"


@pytest.fixture
def reader(app, client, service):
    lead = make_developer("Fuzz Lead", role="lead", services=[service], password=PASSWORD)
    return ApiClient(client, make_token(lead)), lead


def _post(client, service, way: str, body: bytes, headers: dict):
    headers = {k: v for k, v in headers.items() if v}
    if way == "store":
        return client.post(f"/api/{service.id}/store/?sentry_key={service.ingest_key}", data=body, headers=headers)
    if way == "envelope":
        return client.post(f"/api/{service.id}/envelope/?sentry_key={service.ingest_key}", data=body,
                           headers=headers)
    return client.post(way, data=body, headers={"X-Api-Key": service.ingest_key, **headers})


def _readable(api: ApiClient, client, lead, app) -> None:
    """Every stored error answers through the API and renders on its page."""
    from app.extensions import db

    client.post("/login", data={"email": lead.email, "password": PASSWORD})
    for error_id in db.session.execute(db.select(ErrorLog.id)).scalars():
        assert api.get(f"/api/errors/{error_id}/").status_code == 200
        assert api.get(f"/api/errors/{error_id}/occurrences/").status_code == 200
        page = client.get(f"/errors/{error_id}")
        assert page.status_code == 200, page.get_data(as_text=True)[:300]
    db.session.remove()


FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FUZZ
@given(way=st.sampled_from(WAYS_IN), body=BODY, headers=HEADERS, encode=st.booleans())
def test_random_bodies_never_get_a_5xx(app, client, service, reader, way, body, headers, encode):
    if encode:
        body = _encoded(body, headers["Content-Encoding"])
    response = _post(client, service, way, body, headers)
    assert response.status_code < 500, (way, body[:200], headers, response.data[:300])
    if response.status_code in (200, 201):
        _readable(reader[0], client, reader[1], app)


@FUZZ
@given(parts=ENVELOPE, gzip_it=st.booleans())
def test_random_envelopes_never_get_a_5xx(app, client, service, reader, parts, gzip_it):
    body = _envelope(parts)
    headers = {"Content-Type": "application/x-sentry-envelope"}
    if gzip_it:
        body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
    response = _post(client, service, "envelope", body, headers)
    assert response.status_code < 500, (body[:300], response.data[:300])
    if response.status_code == 200:
        _readable(reader[0], client, reader[1], app)


def test_the_fuzzing_reaches_the_store(app, client, service):
    """The strategies are not all refused at the door: plain valid events are stored."""
    from app.extensions import db

    response = _post(client, service, "/api/errors/", orjson.dumps({"error_type": "E", "message": "m"}),
                     {"Content-Type": "application/json"})
    assert response.status_code == 201
    assert db.session.execute(db.select(ErrorOccurrence)).first() is not None
