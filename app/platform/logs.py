"""Heartwatch's logs: plain lines by default, one JSON object per line with ``LOG_FORMAT=json``.

In JSON, every line of the web carries the id of the request it belongs to, and every answer
carries that id in ``X-Request-ID``: a caller's own ``X-Request-ID`` (a proxy's, say) is kept when it
is well formed, otherwise Heartwatch makes one. gunicorn's access log (``WEB_ACCESS_LOG``) prints the
same id, as a JSON line too with ``LOG_FORMAT=json`` (``GunicornLogger``, named in gunicorn.conf.py).
"""
from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import os
import re
import secrets

from flask import Flask, Response, request

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy's id may look like to be kept: a UUID, a hex string, nginx's $request_id, a trace id.
_GOOD_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("heartwatch_request_id", default=None)


class LogFormatInvalid(ValueError):
    pass


def log_format(environ=os.environ) -> str:
    value = (environ.get("LOG_FORMAT") or "text").strip().lower()
    if value not in LOG_FORMATS:
        raise LogFormatInvalid(f"setting LOG_FORMAT is {value!r}: it must be one of {', '.join(LOG_FORMATS)}")
    return value


def current_request_id() -> str | None:
    return _request_id.get()


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, the request id when
    there is one, and the traceback of an exception as one string."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or _request_id.get()
        if request_id:
            line["request_id"] = request_id
        access = getattr(record, "access", None)
        if access:  # gunicorn's access line: its fields at the top level
            line.update(access)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter_for(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)


def configure(app: Flask) -> None:
    """The ``heartwatch`` loggers' level (``LOG_LEVEL``) and format (``LOG_FORMAT``); with JSON, or
    with an access log, every request gets an id."""
    fmt = log_format()
    app.config["LOG_FORMAT"] = fmt
    root = logging.getLogger("heartwatch")
    if not root.handlers:
        handler = logging.StreamHandler()
        root.addHandler(handler)
    for handler in root.handlers:
        handler.setFormatter(formatter_for(fmt))
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    if fmt == "json" or os.environ.get("WEB_ACCESS_LOG"):
        app.before_request(_take_request_id)
        app.after_request(_answer_request_id)


def use_json_everywhere() -> None:
    """Every handler of the root logger writes JSON (the worker's consumer sets its own up after the
    app is built: this runs at its start)."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonFormatter())


def _take_request_id() -> None:
    given = request.headers.get(REQUEST_ID_HEADER)
    _request_id.set(given if given and _GOOD_REQUEST_ID.fullmatch(given) else secrets.token_hex(8))


def _answer_request_id(response: Response) -> Response:
    request_id = _request_id.get()
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    return response


try:  # gunicorn is the web's server in production; the worker and the CLI run without it
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover
    _GunicornLogger = object


class GunicornLogger(_GunicornLogger):
    """gunicorn's logs as JSON lines: its own messages, and one access line per request with the
    request id Heartwatch answered with."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        headers = dict((name.lower(), value) for name, value in resp.headers)
        line = {
            "remote": environ.get("REMOTE_ADDR", "-"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": environ.get("QUERY_STRING") or None,
            "status": int(status),
            "bytes": getattr(resp, "sent", None),
            "ms": round(request_time.total_seconds() * 1000, 3),
            "user_agent": environ.get("HTTP_USER_AGENT"),
        }
        self.access_log.info("access", extra={"request_id": headers.get("x-request-id"), "access": line})
