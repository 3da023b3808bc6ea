"""The Sentry event normaliser and the envelope reader on samples of what the SDKs send."""
from __future__ import annotations

import datetime as dt
import json
import tracemalloc

import pytest

from app.ingest.envelope import EnvelopeError, parse_envelope
from app.ingest.fingerprint import compute_fingerprint
from app.ingest.scrubbing import scrub_event, scrubber_for
from app.ingest.sources.sentry import event_id_of, normalise

# Shaped after @sentry/browser: no module, URL filenames, colno, no context lines.
BROWSER_EVENT = {
    "exception": {"values": [{
        "type": "TypeError", "value": "Cannot read properties of undefined (reading 'total')",
        "stacktrace": {"frames": [
            {"filename": "https://shop.example/assets/vendor.3f9a1c.js", "function": "r", "in_app": False,
             "lineno": 1, "colno": 9001},
            {"filename": "https://shop.example/assets/cart.js", "function": "renderCart", "in_app": True,
             "lineno": 88, "colno": 14},
        ]},
        "mechanism": {"type": "auto.browser.global_handlers.onerror", "handled": False},
    }]},
    "level": "error", "platform": "javascript", "event_id": "4b2c3d5e6f708192a3b4c5d6e7f80912",
    "timestamp": 1732800000.123, "environment": "production", "release": "shop-web@3.1.0",
    "sdk": {"name": "sentry.javascript.browser", "version": "11.12.0"},
    "request": {"url": "https://shop.example/cart?step=2", "headers": {"User-Agent": "Mozilla/5.0",
                                                                       "Cookie": "session=secret"}},
    "user": {"ip_address": "{{auto}}"},
    "breadcrumbs": {"values": [{"category": "ui.click", "message": "button#pay"}]},
    "contexts": {"browser": {"name": "Chrome"}},
    "tags": [["locale", "de"], ["ab", "B"]],
}


def test_browser_event():
    incoming = normalise(BROWSER_EVENT, 3, client_address="203.0.113.9")
    assert (incoming.source, incoming.service_id, incoming.platform) == ("sentry", 3, "javascript")
    assert incoming.error_type == "TypeError"
    assert incoming.message == "Cannot read properties of undefined (reading 'total')"
    assert incoming.event_id == "4b2c3d5e-6f70-8192-a3b4-c5d6e7f80912"
    assert [f["function"] for f in incoming.frames] == ["r", "renderCart"]
    assert incoming.frames[-1]["colno"] == 14 and incoming.frames[-1]["in_app"] is True
    assert incoming.frames[0]["in_app"] is False
    assert incoming.severity == "high"
    assert incoming.user == {"ip_address": "203.0.113.9"}
    assert incoming.request["headers"]["Cookie"] == "session=secret"  # filtered by prepare: test_scrubbing.py
    assert incoming.endpoint == "/cart"
    assert incoming.tags == {"locale": "de", "ab": "B", "handled": "no",
                             "mechanism": "auto.browser.global_handlers.onerror"}
    assert incoming.extra["breadcrumbs"] == [{"category": "ui.click", "message": "button#pay"}]
    assert incoming.extra["contexts"] == {"browser": {"name": "Chrome"}}
    assert incoming.extra["sdk"]["name"] == "sentry.javascript.browser"
    assert incoming.timestamp == dt.datetime(2024, 11, 28, 13, 20, 0, 123000, tzinfo=dt.timezone.utc)
    assert (incoming.release, incoming.environment) == ("shop-web@3.1.0", "production")


def test_chain_keeps_sentry_order_cause_first():
    event = {"exception": {"values": [
        {"type": "SQLException", "module": "java.sql", "value": "connection reset",
         "stacktrace": {"frames": [{"function": "query", "module": "com.geo.Db", "lineno": 40, "in_app": True}]}},
        {"type": "GeoLookupException", "module": "com.geo", "value": "lookup failed",
         "stacktrace": {"frames": [{"function": "find", "module": "com.geo.Api", "lineno": 12, "in_app": True}]}},
    ]}, "platform": "java", "level": "fatal"}
    incoming = normalise(event, 1)
    assert [e["type"] for e in incoming.exceptions] == ["SQLException", "GeoLookupException"]
    assert incoming.exceptions[0]["module"] == "java.sql"
    assert incoming.error_type == "GeoLookupException"
    assert incoming.severity == "critical"


def test_bare_exception_list_and_context_lines():
    event = {"exception": [{"type": "ValueError", "value": "bad", "stacktrace": {"frames": [{
        "filename": "app/views.py", "abs_path": "/srv/app/views.py", "function": "index", "module": "app.views",
        "lineno": 7, "context_line": "    raise ValueError('bad')", "pre_context": ["def index():"],
        "post_context": [""], "in_app": True, "vars": {"order_id": 12}}]}}]}
    [frame] = normalise(event, 1).frames
    assert frame["context_line"] == "    raise ValueError('bad')"
    assert frame["pre_context"] == ["def index():"] and frame["post_context"] == [""]
    assert frame["abs_path"] == "/srv/app/views.py" and frame["module"] == "app.views"
    assert frame["vars"] == {"order_id": 12}


@pytest.mark.parametrize("event, message", [
    ({"message": "plain text"}, "plain text"),
    ({"message": {"formatted": "disk 91% full"}}, "disk 91% full"),
    ({"logentry": {"message": "user %s failed %d times", "params": ["ada", 3]}}, "user ada failed 3 times"),
    ({"logentry": {"message": "order {} of {}", "params": [5, "acme"]}}, "order 5 of acme"),
    ({"logentry": {"message": "%(who)s left", "params": {"who": "bob"}}}, "bob left"),
    ({"logentry": {"message": "huge %999999999s width", "params": ["x"]}}, "huge %999999999s width"),
    ({"logentry": {"message": "100%% sure %s", "params": ["now"]}}, "100% sure now"),
    ({}, ""),
])
def test_messages(event, message):
    incoming = normalise(event, 1)
    assert incoming.message == message
    assert incoming.error_type == "Message"
    assert incoming.exceptions == []


@pytest.mark.parametrize("params", [{"p": "x" * 100_000}, ["x" * 100_000] * 1600])
def test_a_parameter_referenced_many_times_is_expanded_only_up_to_the_message_kept(params):
    template = "%(p)s" * 1600 if isinstance(params, dict) else "%s" * 1600
    tracemalloc.start()
    try:
        incoming = normalise({"logentry": {"message": template, "params": params}}, 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert incoming.message.startswith("x" * 8000) and incoming.message.endswith("…[truncated]")
    assert peak < 2_000_000  # the whole expansion would be 160 MB


def test_log_message_beside_an_exception_is_kept():
    event = {"logentry": {"formatted": "could not bill order 17"}, "logger": "billing",
             "exception": {"values": [{"type": "KeyError", "value": "'invoice'"}]}}
    incoming = normalise(event, 1)
    assert incoming.message == "'invoice'"
    assert incoming.extra["log_message"] == "could not bill order 17"
    assert incoming.tags["logger"] == "billing" and incoming.extra["logger"] == "billing"


def test_thread_stack_is_used_when_the_exception_has_none():
    frames = {"frames": [{"function": "main", "module": "app", "in_app": True},
                         {"function": "work", "module": "app.jobs", "in_app": True}]}
    event = {"exception": {"values": [{"type": "ANR", "value": "app not responding", "thread_id": 1}]},
             "threads": {"values": [{"id": 2, "stacktrace": {"frames": [{"function": "idle"}]}},
                                    {"id": 1, "crashed": True, "stacktrace": frames}]}}
    assert [f["function"] for f in normalise(event, 1).frames] == ["main", "work"]


def test_message_with_an_attached_thread_stack_groups_by_its_frames():
    event = {"message": "slow checkout 12s",
             "threads": {"values": [{"current": True, "stacktrace": {"frames": [
                 {"function": "checkout", "module": "shop.cart", "in_app": True}]}}]}}
    incoming = normalise(event, 1)
    assert incoming.frames[0]["function"] == "checkout"
    other = normalise({**event, "message": "slow checkout 15s"}, 1)
    assert compute_fingerprint(incoming) == compute_fingerprint(other)


def test_fingerprint_with_default_marker():
    base = {"exception": {"values": [{"type": "TimeoutError", "value": "upstream",
                                      "stacktrace": {"frames": [{"function": "call", "module": "api",
                                                                 "in_app": True}]}}]}}
    plain = normalise(base, 1)
    tenant_a = normalise({**base, "fingerprint": ["{{ default }}", "tenant-a"]}, 1)
    tenant_b = normalise({**base, "fingerprint": ["{{ default }}", "tenant-b"]}, 1)
    assert tenant_a.fingerprint == ["{{ default }}", "tenant-a"]
    assert len({compute_fingerprint(plain), compute_fingerprint(tenant_a), compute_fingerprint(tenant_b)}) == 3


@pytest.mark.parametrize("level, severity", [("fatal", "critical"), ("error", "high"), ("warning", "medium"),
                                             ("info", "info"), ("debug", "info"), (None, "high"),
                                             ("shouting", None)])
def test_levels(level, severity):
    event = {"message": "x"} if level is None else {"message": "x", "level": level}
    assert normalise(event, 1).severity == severity


def test_defaults_and_timestamps():
    incoming = normalise({"message": "x", "timestamp": "2024-11-28T13:20:00.123456789Z"}, 1)
    assert incoming.environment == "production"
    assert incoming.timestamp == dt.datetime(2024, 11, 28, 13, 20, 0, 123456, tzinfo=dt.timezone.utc)
    assert normalise({"message": "x", "timestamp": "never"}, 1).timestamp is None


def test_request_headers_as_pairs_and_response_status():
    event = {"message": "x", "request": {"method": "post", "url": "http://api/v1/orders?x=1",
                                         "headers": [["Authorization", "Bearer t"], ["Accept", "*/*"]],
                                         "cookies": {"sid": "s"}},
             "contexts": {"response": {"status_code": 503}}}
    incoming = normalise(event, 1)
    assert incoming.request["headers"] == {"Authorization": "Bearer t", "Accept": "*/*"}
    scrub_event(incoming, scrubber_for(enabled=False))  # credentials go even with scrubbing off
    assert incoming.request["headers"] == {"Authorization": "[Filtered]", "Accept": "*/*"}
    assert incoming.request["cookies"] == "[Filtered]"
    assert incoming.endpoint == "POST /v1/orders"
    assert incoming.http_status == 503


def test_event_ids():
    assert event_id_of({"event_id": "4B2C3D5E6F708192A3B4C5D6E7F80912"}) == "4b2c3d5e-6f70-8192-a3b4-c5d6e7f80912"
    assert event_id_of({"event_id": "x"}, "4b2c3d5e6f708192a3b4c5d6e7f80912").startswith("4b2c3d5e")
    generated = event_id_of({"event_id": "not an id"})
    assert len(generated) == 36 and generated != event_id_of({})


def test_long_exception_message_is_kept_whole():
    value = "row " + "x" * 5000
    incoming = normalise({"exception": {"values": [{"type": "DataError", "value": value}]}}, 1)
    assert incoming.message == value


# --- envelope reader ----------------------------------------------------------------------------

def test_envelope_items_with_and_without_length():
    body = (b'{"event_id":"abc"}\n'
            b'{"type":"attachment","length":6}\nab\ncd\n\n'
            b'{"type":"session"}\n{"sid":1}\n'
            b'{"type":"event"}\n{"message":"hi"}')
    parsed = parse_envelope(body)
    assert parsed.headers == {"event_id": "abc"}
    assert [(item.type, item.payload) for item in parsed.items] == [
        ("attachment", b"ab\ncd\n"), ("session", b'{"sid":1}'), ("event", b'{"message":"hi"}')]


def test_envelope_item_json_limits():
    parsed = parse_envelope(b'{}\n{"type":"event"}\n' + json.dumps({"m": "x" * 100}).encode())
    with pytest.raises(EnvelopeError) as too_big:
        parsed.items[0].json(50)
    assert too_big.value.status == 413
    assert parsed.items[0].json(1000)["m"] == "x" * 100


def test_empty_body_is_an_empty_envelope():
    assert parse_envelope(b"").items == []
