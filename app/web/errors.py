"""One JSON error shape for every JSON answer (API, ingest, dashboard, live feed):
``{"error": {"code", "message", "field"}}``."""
from __future__ import annotations

from flask import Response, current_app, jsonify
from werkzeug.exceptions import HTTPException

from app.platform.refusal import Refused

CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 429: "rate_limited",
    500: "internal_error", 503: "unavailable",
}


class ApiError(Exception):
    """Raised anywhere in an API view; answered as the JSON error shape."""

    def __init__(self, status: int, message: str, field: str | None = None, code: str | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field
        self.code = code or CODES.get(status, "error")
        self.headers = headers or {}


def error_response(status: int, message: str, field: str | None = None, code: str | None = None,
                   headers: dict | None = None) -> Response:
    body = {"error": {"code": code or CODES.get(status, "error"), "message": message, "field": field}}
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_json_errors(blueprint) -> None:
    """Every error a JSON blueprint raises is answered in the JSON shape, never an HTML page."""

    @blueprint.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.message, exc.field, exc.code, exc.headers)

    @blueprint.errorhandler(Refused)
    def _refused(exc: Refused):
        retry_after = getattr(exc, "retry_after", None)
        return error_response(exc.status, exc.message, exc.field,
                              headers={"Retry-After": str(retry_after)} if retry_after else None)

    @blueprint.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return from_http_exception(exc)

    blueprint.record(_answer_routing_errors_in_json)


def _answer_routing_errors_in_json(state) -> None:
    """An unknown URL or method under a JSON blueprint's prefix is answered in JSON too.

    Flask hands routing errors (404, 405) to the app's handlers only, since no blueprint matched;
    a client posting to ``/webhook/lavarel/`` must still get the JSON shape it can read. The app's
    handlers (app/web/error_pages.py) ask :func:`under_json_prefix`.
    """
    prefixes = state.app.extensions.setdefault("heartwatch_json_prefixes", set())
    prefixes.add((state.url_prefix or "").rstrip("/") + "/")


def under_json_prefix(path: str) -> bool:
    """Whether ``path`` is under the prefix of a JSON blueprint (/api/, /webhook/)."""
    prefixes = current_app.extensions.get("heartwatch_json_prefixes", ())
    return any(path.startswith(p) for p in prefixes if p != "/")


def from_http_exception(exc: HTTPException) -> Response:
    # Keep the exception's own headers (Allow on a 405), not its HTML content type.
    headers = {name: value for name, value in exc.get_headers() if name.lower() != "content-type"}
    return error_response(exc.code or 500, exc.description or exc.name, headers=headers)
