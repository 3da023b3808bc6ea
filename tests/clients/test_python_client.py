"""Tests for the first-party Python capture client (clients/python/heartwatch_client.py).

pytest-httpserver plays the Heartwatch server; assertions are on the JSON bodies it received.
The client is imported by path so these tests need neither the ``app`` package nor an install.
"""
from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
from pathlib import Path

import pytest
from werkzeug.wrappers import Request, Response

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python"))

import heartwatch_client as hw  # noqa: E402

INGEST = "/api/errors/"
KEY = "test-ingest-key"


@pytest.fixture(autouse=True)
def isolated(monkeypatch):
    """No ambient configuration, and a fresh module-level client per test."""
    monkeypatch.delenv("HEARTWATCH_URL", raising=False)
    monkeypatch.delenv("HEARTWATCH_API_KEY", raising=False)
    monkeypatch.setattr(hw, "_client", None)


@pytest.fixture
def server(httpserver):
    httpserver.expect_request(INGEST, method="POST").respond_with_json(
        {"error_id": 1, "occurrence_id": 1, "new": True, "status": "open", "severity": "high"}, status=201)
    return httpserver


@pytest.fixture
def client(server):
    c = hw.Client(url=server.url_for("/"), api_key=KEY, environment="test", release="1.0",
                  default_tags={"team": "core"}, retry_backoff=0.01)
    yield c
    c.flush(5)


def received(httpserver, client=None):
    """JSON bodies posted to the ingest endpoint (after flushing the client)."""
    if client is not None:
        assert client.flush(5)
    bodies = []
    for request, _response in httpserver.log:
        assert request.path == INGEST
        assert request.headers["X-Api-Key"] == KEY
        assert request.headers["Content-Type"] == "application/json"
        bodies.append(json.loads(request.get_data()))
    return bodies


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PaymentError(Exception):
    pass


# --- configuration -------------------------------------------------------------------------------

def test_dsn_and_env_configuration(monkeypatch):
    c = hw.Client("https://k3y@heartwatch.example/prefix/")
    assert (c.ingest_url, c.api_key) == ("https://heartwatch.example/prefix/api/errors/", "k3y")
    c = hw.Client(url="http://localhost:5000/api/errors/?key=abc")
    assert (c.ingest_url, c.api_key) == ("http://localhost:5000/api/errors/", "abc")

    monkeypatch.setenv("HEARTWATCH_URL", "http://hw.local")
    monkeypatch.setenv("HEARTWATCH_API_KEY", "from-env")
    c = hw.get_client()
    assert (c.ingest_url, c.api_key, c.enabled) == ("http://hw.local/api/errors/", "from-env", True)


def test_unconfigured_client_is_a_noop():
    assert not hw.Client().enabled
    assert hw.capture_message("nobody listens") is False
    assert hw.flush(0.1) is True


# --- capture API ---------------------------------------------------------------------------------

def test_capture_exception_with_chained_cause(server, client):
    try:
        try:
            {}["missing"]
        except KeyError as inner:
            raise PaymentError("card declined") from inner
    except PaymentError:
        assert client.capture_exception(tags={"order": 42}, user={"id": "u1"}, extra={"amount": 9.5},
                                        fingerprint=["payments", "declined"], endpoint="/checkout")

    [event] = received(server, client)
    assert event["error_type"] == f"{__name__}.PaymentError"
    assert event["message"] == "card declined"
    assert event["severity"] == "high"
    trace = event["stack_trace"]
    assert "KeyError: 'missing'" in trace
    assert "The above exception was the direct cause of the following exception" in trace
    assert trace.rstrip().endswith("PaymentError: card declined")
    assert event["tags"] == {"team": "core", "order": "42"}
    assert event["user"] == {"id": "u1"}
    assert event["extra"] == {"amount": 9.5}
    assert event["fingerprint"] == ["payments", "declined"]
    assert event["endpoint"] == "/checkout"
    assert (event["environment"], event["release"], event["platform"]) == ("test", "1.0", "python")
    assert event["server_name"] and event["event_id"] and event["timestamp"].endswith("+00:00")


def test_builtin_exception_type_and_single_report(server, client):
    exc = ValueError("bad")
    assert client.capture_exception(exc, severity="medium")
    assert not client.capture_exception(exc)  # the same exception object is reported once
    [event] = received(server, client)
    assert (event["error_type"], event["message"], event["severity"]) == ("ValueError", "bad", "medium")
    assert event["stack_trace"] == "ValueError: bad\n"  # never raised: no frames


def test_capture_message(server, client):
    assert client.capture_message("disk almost full", "low", tags={"disk": "/var"})
    [event] = received(server, client)
    assert (event["error_type"], event["message"], event["severity"]) == ("Message", "disk almost full", "low")
    assert "stack_trace" not in event
    assert event["tags"] == {"team": "core", "disk": "/var"}


def test_decorator_with_module_level_client(server):
    hw.init(url=server.url_for("/"), api_key=KEY, release="2.0")

    @hw.capture_errors
    def charge():
        raise PaymentError("boom")

    @hw.capture_errors(severity="critical", reraise=False)
    def nightly():
        raise RuntimeError("job died")

    with pytest.raises(PaymentError):
        charge()
    assert nightly() is None
    assert charge.__name__ == "charge"

    events = received(server, hw.get_client())
    assert [(e["error_type"], e["severity"]) for e in events] == [
        (f"{__name__}.PaymentError", "high"), ("RuntimeError", "critical")]
    assert events[0]["release"] == "2.0"
    assert events[0]["extra"]["function"].endswith("charge")
    assert "raise PaymentError" in events[0]["stack_trace"]


def test_logging_handler(server, client):
    log = logging.getLogger("tests.heartwatch.orders")
    handler = hw.HeartwatchHandler(client=client)
    log.addHandler(handler)
    try:
        log.warning("ignored at the default ERROR level")
        log.error("order %s failed", 17)
        log.critical("database gone")
        try:
            _ = 1 / 0
        except ZeroDivisionError:
            log.exception("while computing")
        handler.setLevel(logging.WARNING)
        log.warning("slow query")
    finally:
        log.removeHandler(handler)

    events = received(server, client)
    assert [(e["error_type"], e["message"], e["severity"]) for e in events] == [
        ("LogMessage", "order 17 failed", "high"),
        ("LogMessage", "database gone", "critical"),
        ("ZeroDivisionError", "division by zero", "high"),
        ("LogMessage", "slow query", "medium"),
    ]
    assert events[0]["tags"] == {"team": "core", "logger": "tests.heartwatch.orders", "level": "ERROR"}
    assert events[0]["fingerprint"] == ["tests.heartwatch.orders", "order %s failed"]
    assert events[2]["extra"]["log_message"] == "while computing"
    assert "1 / 0" in events[2]["stack_trace"]


# --- WSGI middleware -----------------------------------------------------------------------------

def _wsgi_app(environ, start_response):
    if environ["PATH_INFO"] == "/stream":
        def body():
            yield b"partial"
            raise OSError("stream broke")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body()
    raise LookupError("no such widget")


def test_wsgi_middleware_reports_and_reraises(server, client):
    from werkzeug.test import Client as TestClient

    browser = TestClient(hw.HeartwatchMiddleware(_wsgi_app, client=client))
    with pytest.raises(LookupError):
        browser.get("/widgets/7?color=red", headers={
            "Cookie": "session=secret", "Authorization": "Bearer secret", "X-Api-Key": "secret",
            "User-Agent": "pytest-agent", "Referer": "http://localhost/home"})
    with pytest.raises(OSError):
        browser.get("/stream").get_data()

    first, second = received(server, client)
    assert (first["error_type"], first["endpoint"]) == ("LookupError", "GET /widgets/7")
    request = first["request"]
    assert request["method"] == "GET"
    assert request["url"] == "http://localhost/widgets/7"
    assert request["query_string"] == "color=red"
    assert request["headers"]["User-Agent"] == "pytest-agent"
    assert request["headers"]["Referer"] == "http://localhost/home"
    assert "secret" not in json.dumps(first)
    assert {name.lower() for name in request["headers"]}.isdisjoint({"cookie", "authorization", "x-api-key"})
    assert (second["error_type"], second["message"], second["endpoint"]) == ("OSError", "stream broke", "GET /stream")


@pytest.mark.parametrize("propagate", [False, True])
def test_flask_middleware(server, client, propagate):
    from flask import Flask

    app = Flask("heartwatch_client_test")
    app.config["PROPAGATE_EXCEPTIONS"] = propagate

    @app.route("/orders/<int:order_id>")
    def order(order_id):
        raise PaymentError(f"order {order_id} unpaid")

    app.wsgi_app = hw.HeartwatchMiddleware(app.wsgi_app, client=client)
    browser = app.test_client()
    if propagate:  # debug/testing: Flask re-raises and the middleware sees the exception too
        with pytest.raises(PaymentError):
            browser.get("/orders/5?x=1")
    else:  # production: Flask turns it into a 500 and only its signal tells us
        assert browser.get("/orders/5?x=1").status_code == 500

    [event] = received(server, client)  # reported exactly once either way
    assert event["error_type"] == f"{__name__}.PaymentError"
    assert event["message"] == "order 5 unpaid"
    assert event["endpoint"] == "GET /orders/5"
    assert event["request"]["method"] == "GET"
    assert event["request"]["query_string"] == "x=1"


# --- delivery ------------------------------------------------------------------------------------

def test_full_queue_drops_without_blocking(httpserver):
    entered, release, burst_done = threading.Event(), threading.Event(), threading.Event()

    def slow(request: Request) -> Response:
        entered.set()
        release.wait(30)
        return Response("{}", status=201, content_type="application/json")

    httpserver.expect_request(INGEST, method="POST").respond_with_handler(slow)
    c = hw.Client(url=httpserver.url_for("/"), api_key=KEY, queue_size=2)
    results = []

    def burst():
        results.extend(c.capture_message(f"burst {i}") for i in range(10))
        burst_done.set()

    try:
        assert c.capture_message("in flight")
        assert entered.wait(5)  # the sender thread is now stuck on the slow server
        # A capture that waited for room in the queue could not finish before the server is released.
        threading.Thread(target=burst, daemon=True).start()
        assert burst_done.wait(10), "capture_message blocked on a full queue"
        assert not release.is_set()
        assert results == [True, True] + [False] * 8
        assert c.dropped == 8
    finally:
        release.set()
    assert [e["message"] for e in received(httpserver, c)] == ["in flight", "burst 0", "burst 1"]


def test_dead_server_never_raises_and_flush_returns():
    # (That capturing never waits for delivery is test_full_queue_drops_without_blocking's part.)
    c = hw.Client(url=f"http://127.0.0.1:{closed_port()}", api_key=KEY, timeout=1, retry_backoff=0.01)
    try:
        raise RuntimeError("nobody home")
    except RuntimeError:
        assert c.capture_exception()
    assert c.capture_message("still fine")
    assert c.flush(0.5) is False  # kept, and tried again, while nobody answers
    assert (c.sent, c.failed, c.dropped) == (0, 0, 0)

    slow_retries = hw.Client(url=f"http://127.0.0.1:{closed_port()}", api_key=KEY, retry_backoff=10)
    slow_retries.capture_message("will be retried for a long time")
    start = time.monotonic()
    assert slow_retries.flush(0.2) is False
    assert time.monotonic() - start < 5  # bounded by its timeout, not by the 10 s backoff


def test_events_wait_out_a_server_restart_and_arrive_in_order(tmp_path):
    """Nothing listens for a while (a restart), then the server answers 503 (its database is down
    and its spool full), then it takes events: every event captured meanwhile arrives, once, in order."""
    port = closed_port()
    got, statuses = [], [503, 503]

    def app(environ, start_response):
        body = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        status = statuses.pop(0) if statuses else 201
        if status == 201:
            got.append(body["message"])
        start_response(f"{status} X", [("Content-Type", "application/json"), ("Retry-After", "0")])
        return [b"{}"]

    c = hw.Client(url=f"http://127.0.0.1:{port}", api_key=KEY, timeout=1, retry_backoff=0.05, queue_size=50)
    for n in range(20):
        assert c.capture_message(f"event {n}")
    time.sleep(1.0)  # several tries fail to connect meanwhile
    assert got == [] and c.failed == 0
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert c.flush(20)
    finally:
        server.shutdown()
    assert got == [f"event {n}" for n in range(20)]
    assert (c.sent, c.failed, c.dropped) == (20, 0, 0)


def test_server_errors_are_retried_but_client_errors_are_not(httpserver):
    statuses = [503, 500, 201, 400, 500, 500, 500]
    httpserver.expect_request(INGEST, method="POST").respond_with_handler(
        lambda request: Response("{}", status=statuses.pop(0), content_type="application/json"))
    c = hw.Client(url=httpserver.url_for("/"), api_key=KEY, retry_backoff=0.01)
    c.capture_message("first")
    assert c.flush(5)
    c.capture_message("second")  # a 400 is final
    assert c.flush(5)
    c.capture_message("third")  # a 500 may be the event's own fault: max_retries (2) more tries
    assert c.flush(5)
    assert [e["message"] for e in received(httpserver)] == ["first"] * 3 + ["second"] + ["third"] * 3
    assert (c.sent, c.failed) == (1, 2)


def test_rate_limit_pauses_for_retry_after(httpserver):
    times = []

    def limited_once(request: Request) -> Response:
        times.append(time.monotonic())
        if len(times) == 1:
            return Response('{"error": {"code": "rate_limited"}}', status=429, headers={"Retry-After": "1"},
                            content_type="application/json")
        return Response("{}", status=201, content_type="application/json")

    httpserver.expect_request(INGEST, method="POST").respond_with_handler(limited_once)
    c = hw.Client(url=httpserver.url_for("/"), api_key=KEY, retry_backoff=0.01)
    c.capture_message("a")
    deadline = time.monotonic() + 10
    while not times and time.monotonic() < deadline:
        time.sleep(0.01)
    assert times, "the first event never reached the server"
    c.capture_message("b")
    assert len(times) == 1  # the caller never waits for the pause: "a" is not retried yet
    assert c.flush(5)
    assert [e["message"] for e in received(httpserver)] == ["a", "a", "b"]
    assert times[1] - times[0] >= 0.9  # the retry waited out Retry-After
    assert (c.sent, c.failed) == (2, 0)
