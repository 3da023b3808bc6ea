"""Heartwatch capture client: report Python errors to a Heartwatch server.

Standard library only.  Typical use::

    import heartwatch_client as heartwatch

    heartwatch.init("https://heartwatch.example", api_key="INGEST_KEY",
                    environment="production", release="1.2.3")

    try:
        risky()
    except Exception:
        heartwatch.capture_exception()

    @heartwatch.capture_errors(severity="critical")
    def nightly_job(): ...

    logging.getLogger().addHandler(heartwatch.HeartwatchHandler())
    app.wsgi_app = heartwatch.HeartwatchMiddleware(app.wsgi_app)            # Flask
    application = heartwatch.HeartwatchMiddleware(get_wsgi_application())   # Django

Events are serialised in the calling thread and delivered by one background
daemon thread through a bounded queue, so capturing never waits on the network
and never raises into the host application.  Delivery problems are logged at
DEBUG level to the ``heartwatch_client`` logger.
"""
from __future__ import annotations

import atexit
import email.utils
import functools
import inspect
import json
import logging
import os
import queue
import socket
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
import weakref
from datetime import datetime, timezone
from http.client import HTTPException
from wsgiref.util import request_uri

__version__ = "0.1.0"
__all__ = [
    "Client", "HeartwatchHandler", "HeartwatchMiddleware", "capture_errors", "capture_exception",
    "capture_message", "flush", "get_client", "init",
]

logger = logging.getLogger("heartwatch_client")

# The server truncates beyond these anyway; cutting here keeps bodies far below its size limit (413).
MAX_MESSAGE_CHARS = 8192
MAX_STACK_TRACE_CHARS = 65536
MAX_RETRY_AFTER = 60.0  # a misbehaving Retry-After must not stall delivery for hours
MAX_BACKOFF = 30.0  # the longest wait between two tries while the server is unreachable
# Answers that mean "not now": the event waits and is sent again, however long it takes.
UNAVAILABLE_STATUSES = frozenset({429, 502, 503, 504})
_TRUNCATED = "...[truncated]"

# Request headers worth reporting. An allow-list, so credentials (Cookie, Authorization,
# X-Api-Key, custom auth headers) can never leak into an error report.
SAFE_HEADERS = frozenset({
    "accept", "accept-encoding", "accept-language", "content-length", "content-type", "host", "origin",
    "referer", "user-agent", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip",
    "x-request-id",
})

_REPORTED = "__heartwatch_reported__"
_local = threading.local()  # re-entrancy guard: capturing must never trigger another capture
_clients: weakref.WeakSet = weakref.WeakSet()  # flushed at interpreter exit


class Client:
    """Builds events and hands them to a background sender thread.

    ``dsn_or_url``/``url`` is the Heartwatch base URL (``https://heartwatch.example``); an
    ingest key may be embedded as ``https://KEY@host`` or ``?key=KEY``.  Falls back to the
    ``HEARTWATCH_URL`` and ``HEARTWATCH_API_KEY`` environment variables.  Without both a
    URL and a key the client is disabled and every capture is a no-op.

    Thread-safe.  Meant to live as long as the process (its sender thread keeps it alive).
    """

    def __init__(self, dsn_or_url=None, *, api_key=None, url=None, environment=None, release=None,
                 server_name=None, default_tags=None, queue_size=1000, timeout=5.0, max_retries=2,
                 retry_backoff=0.5):
        try:
            self.ingest_url, self.api_key = _parse_target(url or dsn_or_url, api_key)
        except ValueError as exc:
            logger.warning("heartwatch: invalid URL, reporting disabled: %s", exc)
            self.ingest_url, self.api_key = None, None
        if self.ingest_url and not self.api_key:
            logger.warning("heartwatch: no API key (api_key= or HEARTWATCH_API_KEY), reporting disabled")
        self.environment = environment
        self.release = release
        self.server_name = server_name or socket.gethostname()
        self.default_tags = _str_dict(default_tags)
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        self.dropped = 0  # events discarded because the queue was full
        self.sent = 0
        self.failed = 0  # events rejected by the server or given up on after retries
        self._queue_size = queue_size
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._worker_pid = None
        self._paused_until = 0.0
        _clients.add(self)

    @property
    def enabled(self) -> bool:
        return bool(self.ingest_url and self.api_key)

    # --- capturing (caller's thread) -------------------------------------------------------

    def capture_exception(self, exc=None, *, severity=None, tags=None, user=None, request=None,
                          extra=None, fingerprint=None, endpoint=None) -> bool:
        """Report an exception (default: the one being handled) with its full traceback.

        The traceback includes chained causes and contexts.  Severity defaults to "high".
        An exception object is reported once: stacked decorators, middleware and logging
        that see the same exception do not create duplicates.  Returns True if queued.
        """
        if not self.enabled:
            return False
        try:
            if exc is None:
                exc = sys.exc_info()[1]
            elif isinstance(exc, tuple):  # an exc_info triple
                exc = exc[1]
            if not isinstance(exc, BaseException) or getattr(exc, _REPORTED, False):
                return False
            try:
                setattr(exc, _REPORTED, True)
            except Exception:  # some extension types refuse attributes; a duplicate is acceptable
                pass
        except Exception:
            return False
        error_type = _type_name(type(exc))
        return self._capture(error_type, _safe_str(exc) or error_type, severity or "high", exc=exc,
                             tags=tags, user=user, request=request, extra=extra, fingerprint=fingerprint,
                             endpoint=endpoint)

    def capture_message(self, message, severity="info", *, tags=None, user=None, request=None,
                        extra=None, fingerprint=None, endpoint=None, error_type="Message") -> bool:
        """Report a plain message (no traceback).  Returns True if queued."""
        return self._capture(error_type, _safe_str(message), severity or "info", tags=tags, user=user,
                             request=request, extra=extra, fingerprint=fingerprint, endpoint=endpoint)

    def _capture(self, error_type, message, severity, *, exc=None, **context) -> bool:
        if not self.enabled or getattr(_local, "capturing", False):
            return False
        _local.capturing = True
        try:
            body = json.dumps(self._build_event(error_type, message, severity, exc, **context),
                              default=_safe_str).encode("utf-8")
            return self._enqueue(body)
        except Exception:
            logger.debug("heartwatch: could not build event", exc_info=True)
            return False
        finally:
            _local.capturing = False

    def _build_event(self, error_type, message, severity, exc, *, tags, user, request, extra,
                     fingerprint, endpoint) -> dict:
        event = {
            "event_id": uuid.uuid4().hex,  # lets the server recognise a retried delivery
            "error_type": error_type,
            "message": _truncate(message, MAX_MESSAGE_CHARS),
            "severity": severity,
            "timestamp": datetime.now(timezone.utc).isoformat(),
            "platform": "python",
            "server_name": self.server_name,
        }
        if exc is not None:
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            # Keep the end: it holds the innermost frames and the final exception line.
            if len(text) > MAX_STACK_TRACE_CHARS:
                text = _TRUNCATED + "\n" + text[-(MAX_STACK_TRACE_CHARS - len(_TRUNCATED) - 1):]
            event["stack_trace"] = text
        optional = {"environment": self.environment, "release": self.release, "endpoint": endpoint,
                    "user": user, "request": request, "extra": extra, "fingerprint": fingerprint,
                    "tags": {**self.default_tags, **_str_dict(tags)}}
        event.update((key, value) for key, value in optional.items() if value)
        return event

    def _enqueue(self, body: bytes) -> bool:
        self._ensure_worker()
        try:
            self._queue.put_nowait(body)  # never block the host application
            return True
        except queue.Full:
            with self._lock:
                self.dropped += 1
            logger.debug("heartwatch: queue full, event dropped (%d dropped so far)", self.dropped)
            return False

    def flush(self, timeout=2.0) -> bool:
        """Wait up to ``timeout`` seconds for queued events to be delivered (or given up on).

        Returns True if the queue is empty, False on timeout.
        """
        if self._worker_pid != os.getpid():
            return True  # nothing was queued by this process
        q = self._queue
        deadline = time.monotonic() + max(timeout, 0)
        with q.all_tasks_done:
            while q.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                q.all_tasks_done.wait(remaining)
        return True

    # --- delivery (sender thread) ----------------------------------------------------------

    def _ensure_worker(self):
        pid = os.getpid()
        if self._worker_pid == pid:
            return
        with self._lock:
            if self._worker_pid == pid:
                return
            if self._worker_pid is not None:
                # Forked child (e.g. a gunicorn worker): the parent's thread does not exist
                # here, and the events in the copied queue are the parent's to send.
                self._queue = queue.Queue(maxsize=self._queue_size)
            threading.Thread(target=self._run, args=(self._queue,), name="heartwatch-sender",
                             daemon=True).start()
            self._worker_pid = pid

    def _run(self, q: queue.Queue):
        while True:
            body = q.get()
            try:
                self._deliver(body)
            except Exception:
                logger.debug("heartwatch: unexpected error while sending", exc_info=True)
            finally:
                q.task_done()

    def _deliver(self, body: bytes):
        """POST one event. While Heartwatch cannot take it (unreachable, restarting, 502/503/504, or
        429), the event stays at the head of the queue and is retried with backoff (doubling from
        ``retry_backoff`` to ``MAX_BACKOFF``, or as Retry-After says), however long that lasts: the
        queue (``queue_size`` events) bounds what waits meanwhile, and a full queue drops new events,
        counted in ``dropped``. A 500 may be this event's own fault: it is retried ``max_retries``
        times, then counted in ``failed``; another 4xx is final at once. The event's ``event_id``
        makes a retry of a delivery whose answer was lost harmless: the server stores it once."""
        errors = outage = 0
        while True:
            pause = self._paused_until - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            try:
                self._post(body)
                self.sent += 1
                return
            except urllib.error.HTTPError as exc:
                detail = _error_detail(exc)
                if exc.code in UNAVAILABLE_STATUSES:
                    outage += 1
                    wait = _retry_after(exc.headers.get("Retry-After"), self._outage_backoff(outage))
                    self._paused_until = time.monotonic() + wait
                    logger.debug("heartwatch: HTTP %d, retrying in %.1fs", exc.code, wait)
                    continue
                if exc.code < 500:  # the event itself is unacceptable: retrying cannot help
                    logger.debug("heartwatch: event rejected with HTTP %d: %s", exc.code, detail)
                    break
                errors += 1
                logger.debug("heartwatch: send attempt %d failed: HTTP %d: %s", errors, exc.code, detail)
                if errors > self.max_retries:
                    break
                time.sleep(self.retry_backoff * 2 ** (errors - 1))
            except (OSError, HTTPException) as exc:  # refused, timeout, reset: the server is unreachable
                outage += 1
                wait = self._outage_backoff(outage)
                logger.debug("heartwatch: server unreachable (%r), retrying in %.1fs", exc, wait)
                time.sleep(wait)
            except ValueError as exc:  # a URL urllib cannot use: no retry can help
                logger.debug("heartwatch: cannot send: %r", exc)
                break
        self.failed += 1

    def _outage_backoff(self, failures: int) -> float:
        return min(MAX_BACKOFF, self.retry_backoff * 2 ** (failures - 1))

    def _post(self, body: bytes):
        request = urllib.request.Request(self.ingest_url, data=body, method="POST", headers={
            "Content-Type": "application/json",
            "X-Api-Key": self.api_key,
            "User-Agent": f"heartwatch-client-python/{__version__}",
        })
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            response.read()


# --- module-level API (a default client) -------------------------------------------------------

_client: Client | None = None
_client_lock = threading.Lock()


def init(dsn_or_url=None, *, api_key=None, url=None, environment=None, release=None, server_name=None,
         default_tags=None, queue_size=1000, timeout=5.0) -> Client:
    """Configure the module-level client used by the functions, decorator, handler and middleware."""
    global _client
    _client = Client(dsn_or_url, api_key=api_key, url=url, environment=environment, release=release,
                     server_name=server_name, default_tags=default_tags, queue_size=queue_size,
                     timeout=timeout)
    return _client


def get_client() -> Client:
    """The client set up by ``init()``; without one, a client configured from the environment."""
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                _client = Client()
    return _client


def capture_exception(exc=None, *, severity=None, tags=None, user=None, request=None, extra=None,
                      fingerprint=None, endpoint=None) -> bool:
    """Report an exception with the default client; see ``Client.capture_exception``."""
    return get_client().capture_exception(exc, severity=severity, tags=tags, user=user, request=request,
                                          extra=extra, fingerprint=fingerprint, endpoint=endpoint)


def capture_message(message, severity="info", *, tags=None, user=None, request=None, extra=None,
                    fingerprint=None, endpoint=None) -> bool:
    """Report a message with the default client; see ``Client.capture_message``."""
    return get_client().capture_message(message, severity, tags=tags, user=user, request=request,
                                        extra=extra, fingerprint=fingerprint, endpoint=endpoint)


def flush(timeout=2.0) -> bool:
    """Wait for the default client's queued events to be delivered; see ``Client.flush``."""
    return get_client().flush(timeout)


@atexit.register
def _flush_at_exit():
    for client in list(_clients):
        try:
            client.flush(2.0)
        except Exception:
            pass


def capture_errors(func=None, *, severity=None, reraise=True, client=None):
    """Decorator reporting exceptions raised by the wrapped function (sync or async).

    Use as ``@capture_errors`` or ``@capture_errors(severity="critical", reraise=False)``;
    with ``reraise=False`` the wrapped call returns None after reporting.
    """
    if isinstance(func, str):  # @capture_errors("critical")
        func, severity = None, func

    def decorate(fn):
        def report(exc):
            (client or get_client()).capture_exception(exc, severity=severity,
                                                       extra={"function": _qualname(fn)})

        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def async_wrapper(*args, **kwargs):
                try:
                    return await fn(*args, **kwargs)
                except Exception as exc:
                    report(exc)
                    if reraise:
                        raise
                    return None
            return async_wrapper

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                report(exc)
                if reraise:
                    raise
                return None
        return wrapper

    return decorate(func) if callable(func) else decorate


class HeartwatchHandler(logging.Handler):
    """A logging handler reporting records at ERROR and above (``level`` adjustable).

    Records carrying exception info are reported as that exception; others as messages,
    grouped by their unformatted template so ``log.error("order %s failed", id)`` is one
    error, not one per id.  Logger name and level go into the tags.
    """

    def __init__(self, level=logging.ERROR, client=None):
        super().__init__(level)
        self.client = client

    def emit(self, record):
        if record.name.split(".", 1)[0] == logger.name:
            return  # our own delivery diagnostics must not loop back into the queue
        try:
            client = self.client or get_client()
            severity = _severity_for_level(record.levelno)
            tags = {"logger": record.name, "level": record.levelname}
            message = record.getMessage()
            extra = {"log_message": message, "pathname": record.pathname, "lineno": record.lineno,
                     "funcName": record.funcName}
            exc = record.exc_info[1] if record.exc_info else None
            if exc is not None:
                client.capture_exception(exc, severity=severity, tags=tags, extra=extra)
            else:
                client.capture_message(message, severity, tags=tags, extra=extra, error_type="LogMessage",
                                       fingerprint=[record.name, _safe_str(record.msg)])
        except Exception:
            logger.debug("heartwatch: logging handler failed", exc_info=True)


def _severity_for_level(levelno: int) -> str:
    if levelno >= logging.CRITICAL:
        return "critical"
    if levelno >= logging.ERROR:
        return "high"
    if levelno >= logging.WARNING:
        return "medium"
    return "info"


class HeartwatchMiddleware:
    """WSGI middleware reporting unhandled exceptions with request details, then re-raising.

    Flask: ``app.wsgi_app = HeartwatchMiddleware(app.wsgi_app)``.
    Django: ``application = HeartwatchMiddleware(get_wsgi_application())``.

    Errors raised while the server iterates the response are reported too.  Flask and
    Django turn view exceptions into 500 responses *inside* the WSGI app, so for them the
    middleware also subscribes to their ``got_request_exception`` signal.
    """

    def __init__(self, app, client=None, severity="high"):
        self.app = app
        self.client = client
        self.severity = severity
        _connect_framework_signal(app, self._report)

    def __call__(self, environ, start_response):
        try:
            result = self.app(environ, start_response)
        except Exception as exc:
            self._report(exc, environ)
            raise
        file_wrapper = environ.get("wsgi.file_wrapper")
        if isinstance(result, (list, tuple)) or (isinstance(file_wrapper, type)
                                                  and isinstance(result, file_wrapper)):
            return result  # cannot fail while iterating; keep the server's sendfile fast path
        return _ReportingIterable(result, lambda exc: self._report(exc, environ))

    def _report(self, exc, environ):
        try:
            client = self.client or get_client()
            # "GET /orders/5", as the server derives it from a request: the same error reported by
            # this middleware and by a Sentry SDK gets the same endpoint.
            path = _wsgi_text(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")) or "/"
            method = _wsgi_text(environ.get("REQUEST_METHOD") or "").upper()
            client.capture_exception(exc, severity=self.severity, request=_request_info(environ),
                                     endpoint=f"{method} {path}" if method else path)
        except Exception:
            logger.debug("heartwatch: middleware could not report", exc_info=True)


class _ReportingIterable:
    """Wraps a WSGI response iterable to report exceptions raised while streaming it."""

    def __init__(self, iterable, report):
        self._iterable = iterable
        self._report = report

    def __iter__(self):
        try:
            yield from self._iterable
        except Exception as exc:
            self._report(exc)
            raise

    def close(self):
        close = getattr(self._iterable, "close", None)
        if close is not None:
            try:
                close()
            except Exception as exc:
                self._report(exc)
                raise


def _connect_framework_signal(app, report):
    # Only frameworks the host has already imported are considered: never import them here.
    owner = getattr(app, "__self__", app)  # app.wsgi_app is a bound method of the Flask app
    flask = sys.modules.get("flask")
    if flask is not None and isinstance(owner, flask.Flask):
        def on_flask_exception(sender, exception=None, **kwargs):
            if exception is not None:
                report(exception, flask.request.environ)
        flask.got_request_exception.connect(on_flask_exception, owner, weak=False)
        return
    django_wsgi = sys.modules.get("django.core.handlers.wsgi")
    if django_wsgi is not None and isinstance(owner, django_wsgi.WSGIHandler):
        from django.core.signals import got_request_exception

        def on_django_exception(sender, request=None, **kwargs):
            exc = sys.exc_info()[1]  # Django sends the signal from inside its except block
            if exc is not None:
                report(exc, getattr(request, "META", None) or {})
        got_request_exception.connect(on_django_exception, weak=False)


# --- helpers -------------------------------------------------------------------------------------

def _parse_target(raw, api_key):
    """Return (ingest URL, API key) from a base URL or DSN, falling back to the environment."""
    raw = (raw or os.environ.get("HEARTWATCH_URL") or "").strip()
    key = api_key
    if not raw:
        return None, key or os.environ.get("HEARTWATCH_API_KEY")
    parts = urllib.parse.urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected http(s)://host[/prefix], got {raw!r}")
    if not key and parts.username:
        key = urllib.parse.unquote(parts.username)
    if not key:
        key = (urllib.parse.parse_qs(parts.query).get("key") or [None])[0]
    key = key or os.environ.get("HEARTWATCH_API_KEY")
    path = parts.path.rstrip("/")
    if path.endswith("/api/errors"):  # accept the full endpoint URL too
        path = path[: -len("/api/errors")]
    netloc = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{netloc}{path}/api/errors/", key


def _request_info(environ) -> dict:
    headers = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key
        else:
            continue
        name = name.replace("_", "-").title()
        if value and name.lower() in SAFE_HEADERS:
            headers[name] = _wsgi_text(value)
    info = {"method": environ.get("REQUEST_METHOD", ""), "headers": headers}
    try:
        info["url"] = request_uri(environ, include_query=False)
    except (KeyError, TypeError):  # an incomplete environ: no host to build a URL from
        pass
    if environ.get("QUERY_STRING"):
        info["query_string"] = _wsgi_text(environ["QUERY_STRING"])
    return info


def _wsgi_text(value) -> str:
    # WSGI (PEP 3333) hands over raw bytes decoded as latin-1; recover the UTF-8 text.
    if not isinstance(value, str):
        return _safe_str(value)
    try:
        return value.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:  # already real text (some servers, Django's META copies)
        return value


def _retry_after(value, default: float) -> float:
    """Seconds to wait for a Retry-After header (delta-seconds or an HTTP date)."""
    seconds = default
    if value:
        try:
            seconds = float(value)
        except ValueError:
            try:
                seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError):
                pass
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        with exc:
            return exc.read(1024).decode("utf-8", "replace")
    except Exception:
        return ""


def _type_name(cls) -> str:
    module = getattr(cls, "__module__", None)
    name = getattr(cls, "__qualname__", cls.__name__)
    return name if module in (None, "builtins") else f"{module}.{name}"


def _qualname(fn) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _safe_str(value) -> str:
    try:
        return value if isinstance(value, str) else str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def _str_dict(tags) -> dict:
    if not isinstance(tags, dict):
        return {}
    return {_safe_str(key): _safe_str(value) for key, value in tags.items() if value is not None}


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(_TRUNCATED)] + _TRUNCATED
