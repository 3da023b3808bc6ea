"""Security headers on every answer Heartwatch gives: pages, fragments, JSON, ingest, static files
and error pages (404, 405, 500) alike, from one ``after_request`` hook on the app.

Every answer says ``nosniff`` and a referrer policy; HTML answers carry a strict content security
policy as well (scripts and styles only from Heartwatch itself, so even markup that slipped through
escaping could not run; the live feed's websocket to this host; no framing by other sites).
"""
from __future__ import annotations

from flask import Flask, Response, request


def content_security_policy(host: str) -> str:
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
            f"connect-src 'self' ws://{host} wss://{host}; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'")


def security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", content_security_policy(request.host))
        response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def register(app: Flask) -> None:
    app.after_request(security_headers)
