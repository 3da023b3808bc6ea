"""``POST /webhook/laravel/``: what a Laravel exception reporter posts.

``{"exception": {"class", "message", "code", "file", "line", "trace": [...], "previous": {...}},
"request": {"url", "method", ...}, "user": {...}, "environment", "level"}``
"""
from __future__ import annotations

from app.ingest.incoming import MAX_MESSAGE_CHARS, IncomingError, InvalidPayload, apply_common_fields, truncate
from app.ingest.sources.api import http_status_of
from app.ingest.stacktraces import php_exception_chain

KNOWN = frozenset({"exception", "status_code", "http_status"})


def normalise(payload: dict, service_id: int) -> IncomingError:
    exception = payload.get("exception")
    if not isinstance(exception, dict):
        raise InvalidPayload("'exception' is required and must be an object with class and message",
                             "exception", "missing_field" if exception is None else "invalid_field")
    error_class = exception.get("class")
    if error_class is not None and not isinstance(error_class, str):
        raise InvalidPayload("'exception.class' must be the exception's class name", "exception.class")
    if not error_class or not error_class.strip():
        raise InvalidPayload("'exception.class' is required", "exception.class", "missing_field")
    # getTrace() gives a list; reporters that only have getTraceAsString() send its text.
    if exception.get("trace") is not None and not isinstance(exception.get("trace"), (list, str)):
        raise InvalidPayload("'exception.trace' must be a list of frames or the trace as text", "exception.trace")
    message = exception.get("message")
    message = truncate(str(message), MAX_MESSAGE_CHARS) if message not in (None, "") else error_class
    chain = php_exception_chain(exception)
    incoming = IncomingError(service_id=service_id, source="laravel", error_type=truncate(error_class, 255),
                             message=message, platform="php", exceptions=chain,
                             http_status=http_status_of(payload))
    code = exception.get("code")
    if code not in (None, 0, "0", ""):
        incoming.extra["exception_code"] = code
        if isinstance(code, int) and 400 <= code <= 599 and incoming.http_status is None:
            incoming.http_status = code
    return apply_common_fields(incoming, payload, KNOWN)
