"""Security headers on every answer Heartwatch gives: pages, fragments, JSON, ingest, static files
and error pages (404, 405, 500) alike, from one ``after_request`` hook on the app.

Every answer says ``nosniff`` and a referrer policy; HTML answers carry a strict content security
policy as well (scripts and styles only from Heartwatch itself, so even markup that slipped through
escaping could not run; the live feed's websocket to this host; no framing by other sites).
"""
from __future__ import annotations

from functools import lru_cache

from flask import Flask, Response, request

EVERY_ANSWER = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"))


def content_security_policy(host: str) -> str:
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
            f"connect-src 'self' ws://{host} wss://{host}; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'")


@lru_cache(maxsize=64)
def _html_headers(host: str) -> tuple[tuple[str, str], ...]:
    return (*EVERY_ANSWER, ("Content-Security-Policy", content_security_policy(host)), ("X-Frame-Options", "DENY"))


def security_headers(response: Response) -> Response:
    # Built once (per host for HTML) and added where the view did not set its own: a lookup of each
    # name by Headers.setdefault raised and caught a KeyError per missing header, on every ingest answer.
    headers = response.headers
    wanted = _html_headers(request.host) if response.mimetype == "text/html" else EVERY_ANSWER
    present = {name.lower() for name, _ in headers}
    for name, value in wanted:
        if name.lower() not in present:
            headers.add(name, value)
    return response


def register(app: Flask) -> None:
    app.after_request(security_headers)
