"""POST /webhook/frontend/: browser error events (window.onerror, unhandledrejection, React), normalised."""
from __future__ import annotations

import pytest

from app.ingest.fingerprint import compute_fingerprint
from app.ingest.incoming import InvalidPayload
from app.ingest.sources.frontend import normalise

CHROME_STACK = """TypeError: Cannot read properties of undefined (reading 'map')
    at OrderList (https://shop.example.com/static/js/main.4f3a2b1c.js:2:10534)
    at renderWithHooks (https://shop.example.com/static/js/vendors~main.1a2b3c4d.chunk.js:1:20345)
    at async loadOrders (https://shop.example.com/static/js/main.4f3a2b1c.js:2:9000)
    at new Promise (<anonymous>)"""

FIREFOX_STACK = """OrderList@https://shop.example.com/static/js/main.77e0d1aa.js:2:10533
renderWithHooks@https://shop.example.com/static/js/vendors~main.1a2b3c4d.chunk.js:1:20345
loadOrders@https://shop.example.com/static/js/main.77e0d1aa.js:2:8999
"""

REACT_18_COMPONENT_STACK = """
    at OrderList (https://shop.example.com/static/js/main.4f3a2b1c.js:2:10534)
    at div
    at ErrorBoundary (https://shop.example.com/static/js/main.4f3a2b1c.js:1:400)
    at App (https://shop.example.com/static/js/main.4f3a2b1c.js:1:120)"""

# What capture.js posts from window.onerror in Chrome inside a React app.
CHROME_ERROR_EVENT = {
    "type": "error",
    "message": "Uncaught TypeError: Cannot read properties of undefined (reading 'map')",
    "name": "TypeError",
    "stack": CHROME_STACK,
    "filename": "https://shop.example.com/static/js/main.4f3a2b1c.js",
    "lineno": 2,
    "colno": 10534,
    "url": "https://shop.example.com/orders?page=2",
    "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "componentStack": REACT_18_COMPONENT_STACK,
    "framework": "react",
    "release": "shop-web@1.8.0",
    "user": {"id": "u_77"},
}

FIREFOX_ERROR_EVENT = {
    "message": "TypeError: can't access property \"map\", orders is undefined",
    "stack": FIREFOX_STACK,
    "filename": "https://shop.example.com/static/js/main.77e0d1aa.js",
    "lineno": 2,
    "colno": 10533,
    "url": "https://shop.example.com/orders",
    "userAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
}


def test_chrome_error_event():
    incoming = normalise(dict(CHROME_ERROR_EVENT), 4)
    assert incoming.source == "frontend" and incoming.platform == "javascript"
    assert incoming.error_type == "TypeError"
    # Neither the "Uncaught " prefix nor the repeated type stay in the message.
    assert incoming.message == "Cannot read properties of undefined (reading 'map')"
    assert [f["function"] for f in incoming.frames] == ["new Promise", "loadOrders", "renderWithHooks", "OrderList"]
    assert [f["in_app"] for f in incoming.frames] == [False, True, False, True]
    assert incoming.frames[-1]["lineno"] == 2 and incoming.frames[-1]["colno"] == 10534
    assert incoming.request == {"url": "https://shop.example.com/orders?page=2",
                                "headers": {"User-Agent": CHROME_ERROR_EVENT["userAgent"]}}
    assert incoming.endpoint == "/orders"
    assert incoming.tags == {"framework": "react"}
    assert incoming.release == "shop-web@1.8.0" and incoming.user == {"id": "u_77"}


def test_react_component_stack_is_kept_parsed_and_raw():
    incoming = normalise(dict(CHROME_ERROR_EVENT), 4)
    assert incoming.extra["component_stack"] == ["OrderList", "div", "ErrorBoundary", "App"]
    assert incoming.extra["component_stack_raw"] == REACT_18_COMPONENT_STACK


def test_react_16_component_stack_form():
    stack = "\n    in OrderList (created by App)\n    in div (created by App)\n    in App"
    incoming = normalise({**CHROME_ERROR_EVENT, "componentStack": stack}, 4)
    assert incoming.extra["component_stack"] == ["OrderList", "div", "App"]


def test_firefox_error_event_without_a_name():
    incoming = normalise(dict(FIREFOX_ERROR_EVENT), 4)
    assert incoming.error_type == "TypeError"
    assert incoming.message == "can't access property \"map\", orders is undefined"
    assert [f["function"] for f in incoming.frames] == ["loadOrders", "renderWithHooks", "OrderList"]


def test_the_same_bug_from_chrome_and_firefox_and_two_deploys_is_one_error():
    chrome = normalise(dict(CHROME_ERROR_EVENT), 4)
    firefox = normalise(dict(FIREFOX_ERROR_EVENT), 4)
    # Different browsers word the message differently and each deploy renames the bundle;
    # the in-app call path is the same.
    assert compute_fingerprint(chrome) == compute_fingerprint(firefox)


def test_unhandled_rejection_with_an_error_reason():
    event = {
        "type": "unhandledrejection",
        "reason": {"name": "ChunkLoadError", "message": "Loading chunk 7 failed.\n(error: https://shop.example.com/7.js)",
                   "stack": "ChunkLoadError: Loading chunk 7 failed.\n"
                            "    at __webpack_require__.f.j (https://shop.example.com/static/js/main.4f3a2b1c.js:1:3390)"},
        "url": "https://shop.example.com/checkout",
    }
    incoming = normalise(event, 4)
    assert incoming.error_type == "ChunkLoadError"
    assert incoming.message.startswith("Loading chunk 7 failed.")
    assert incoming.tags["event_type"] == "unhandledrejection"
    assert [f["function"] for f in incoming.frames] == ["__webpack_require__.f.j"]


def test_unhandled_rejection_reason_type_comes_from_its_stack_when_unnamed():
    event = {"type": "unhandledrejection",
             "reason": {"message": "x is not a function",
                        "stack": "TypeError: x is not a function\n    at pay (https://shop.example.com/js/app.js:3:4)"}}
    assert normalise(event, 4).error_type == "TypeError"


@pytest.mark.parametrize(("reason", "message"), [("request timed out", "request timed out"), (404, "404")])
def test_unhandled_rejection_with_a_plain_value(reason, message):
    incoming = normalise({"type": "unhandledrejection", "reason": reason}, 4)
    assert incoming.error_type == "UnhandledRejection"
    assert incoming.message == message
    assert incoming.exceptions[-1]["frames"] == []


def test_chrome_in_promise_prefix_is_dropped():
    incoming = normalise({"type": "unhandledrejection", "message": "Uncaught (in promise) Error: boom"}, 4)
    assert (incoming.error_type, incoming.message) == ("Error", "boom")


def test_without_a_stack_the_reported_location_is_the_frame():
    incoming = normalise({"message": "Script error.", "filename": "https://shop.example.com/js/app.js",
                          "lineno": "14", "colno": 3}, 4)
    assert incoming.error_type == "Error"
    assert [(f["filename"], f["lineno"], f["colno"]) for f in incoming.frames] == [
        ("https://shop.example.com/js/app.js", 14, 3)]


def test_angular_event_with_tags_and_severity():
    incoming = normalise({"message": "NG0100: ExpressionChangedAfterItHasBeenCheckedError", "name": "Error",
                          "framework": "angular", "severity": "warning", "tags": {"route": "/admin/users"}}, 4)
    assert incoming.tags == {"framework": "angular", "route": "/admin/users"}
    assert incoming.severity == "medium"


@pytest.mark.parametrize(("data", "field"), [
    ({}, "message"),
    ({"type": "unhandledrejection"}, "message"),
    ({"message": ["x"]}, "message"),
    ({"message": "x", "stack": {"frames": []}}, "stack"),
    ({"message": "x", "filename": "a.js", "lineno": "ten"}, "lineno"),
    ({"message": "x", "filename": "a.js", "colno": [1]}, "colno"),
    ({"type": "unhandledrejection", "reason": {"message": {"text": "x"}}}, "reason.message"),
    ({"message": "x", "componentStack": {"a": 1}}, "componentStack"),
    ({"message": "x", "userAgent": ["Chrome"]}, "userAgent"),
    ({"message": "x", "name": {}}, "name"),
    ({"message": "x", "tags": "a"}, "tags"),
])
def test_bad_shapes_are_refused_naming_the_field(data, field):
    with pytest.raises(InvalidPayload) as caught:
        normalise(data, 4)
    assert caught.value.field == field
