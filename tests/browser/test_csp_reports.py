"""Chromium itself reporting a Content-Security-Policy violation to a live Heartwatch: a page on
an origin of its own, whose policy's report-uri is the service's security endpoint."""
from __future__ import annotations

import contextlib
import http.server
import time

from tests.browser.conftest import serve_handler
from tests.sentry.stored import stored_errors, stored_occurrences

PAGE = (b"<!doctype html><html><head><title>Shop</title></head><body><h1>Shop</h1>"
        b"<script src='https://cdn.evil.example/tracker.js'></script>"
        b"<img src='https://evil.example/pixel.gif'></body></html>")


@contextlib.contextmanager
def policed_page(policy: str):
    """A page served with ``policy`` as its Content-Security-Policy, on a loopback port of its own."""
    class Page(http.server.BaseHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Security-Policy", policy)
            self.end_headers()
            self.wfile.write(PAGE)

    with serve_handler(Page) as origin:
        yield origin


def _wait_for(service_id: int, count: int, timeout: float = 15.0) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        errors = stored_errors(service_id)
        if len(errors) >= count:
            return errors
        time.sleep(0.2)
    return stored_errors(service_id)


def test_chromium_reports_a_csp_violation_to_heartwatch(page, live_server, service, lead):
    report_uri = f"{live_server}/api/{service.id}/security/?sentry_key={service.ingest_key}&sentry_environment=web"
    with policed_page(f"default-src 'self'; report-uri {report_uri}") as origin:
        page.goto(f"{origin}/cart")
        errors = _wait_for(service.id, 2)
    titles = sorted(e.error_type for e in errors)
    assert titles == ["Blocked 'image' from 'evil.example'", "Blocked 'script' from 'cdn.evil.example'"]
    assert all(e.kind == "security" and e.severity == "low" and e.assigned_to_id is None for e in errors)
    assert all(e.environment == "web" for e in errors)
    fields = {o.extra["security"]["effective-directive"]: o.extra["security"] for o in stored_occurrences(service.id)}
    assert fields["img-src"]["document-uri"] == f"{origin}/cart"
    assert fields["script-src-elem"]["blocked-uri"] == "https://cdn.evil.example/tracker.js"
    assert fields["script-src-elem"]["original-policy"].startswith("default-src 'self'; report-uri ")
