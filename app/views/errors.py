"""One JSON error shape for the whole API: ``{"error": {"code", "message", "field"}}``."""
from __future__ import annotations

from flask import Response, jsonify
from werkzeug.exceptions import HTTPException

CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 429: "rate_limited",
    500: "internal_error",
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

    @blueprint.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return error_response(exc.code or 500, exc.description or exc.name)
