"""Real local receivers for the notification tests: an SMTP server on loopback (aiosmtpd) and
HTTP servers standing in for Slack, Twilio and webhook subscribers (pytest-httpserver).

Each receiver records what it got; ``wait_for`` polls with a deadline (never a timing assertion).
The fixtures are imported by the conftest of each test package that needs them.
"""
from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time

import pytest
from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer, URIPattern
from pytest_httpserver.httpserver import METHOD_ALL
from werkzeug import Request, Response

DEADLINE = 15.0


def _bound_socket(port: int = 0) -> socket.socket:
    """A loopback TCP socket bound (not listening) to ``port``, 0 for one the kernel picks: while it
    is held no other server can take the port, and connections to it are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def wait_until(predicate, timeout: float = DEADLINE, interval: float = 0.05):
    """Poll until ``predicate()`` is truthy; returns its value, or the last one at the deadline."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


class _Collector:
    def __init__(self, receiver: SmtpReceiver):
        self.receiver = receiver

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.receiver.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.receiver.lock:
            self.receiver.messages.append(message)
        return "250 Message accepted for delivery"


class _SocketController(Controller):
    """aiosmtpd's threaded controller serving on a socket bound beforehand."""

    def __init__(self, handler, sock: socket.socket, **options):
        super().__init__(handler, hostname="127.0.0.1", port=sock.getsockname()[1], **options)
        self.sock = sock

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self.sock, ssl=self.ssl_context)


class SmtpReceiver:
    """An SMTP server on a loopback port of its own that can be stopped and started again.

    The port is bound once, here, and held while the server is stopped (connections are then
    refused), so the app's settings stay right and no other server can take it meanwhile.
    ``options`` go to aiosmtpd's controller (TLS contexts, an authenticator)."""

    def __init__(self, **options):
        self.options = options
        self._held: socket.socket | None = _bound_socket()
        self.port = self._held.getsockname()[1]
        self.messages: list = []
        self.refuse: set[str] = set()
        self.lock = threading.Lock()
        self.controller: Controller | None = None

    def start(self) -> None:
        if self.controller is None:
            sock, self._held = self._held or _bound_socket(self.port), None
            self.controller = _SocketController(_Collector(self), sock, **self.options)
            self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()  # closes the listening socket
            self.controller = None
            self._held = _bound_socket(self.port)

    def close(self) -> None:
        """Stop, and let the port go."""
        self.stop()
        if self._held is not None:
            self._held.close()
            self._held = None

    def configure(self, config) -> None:
        config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=self.port, SMTP_TLS="none", MAIL_FROM="heartwatch@example.test")

    def env(self) -> dict:
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.port), "SMTP_TLS": "none",
                "MAIL_FROM": "heartwatch@example.test"}

    def to(self, address: str) -> list:
        with self.lock:
            return [m for m in self.messages if address in (m["To"] or "")]

    def wait_for(self, count: int, timeout: float = DEADLINE) -> list:
        wait_until(lambda: len(self.messages) >= count, timeout)
        with self.lock:
            return list(self.messages)


class HttpReceiver:
    """A local HTTP server that records every request and answers from a script of responses
    (status codes, JSON bodies, delays); the last scripted answer repeats."""

    def __init__(self, name: str, method: str = "POST"):
        self.name = name
        self.server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        self.requests: list[dict] = []
        self.answers: list[tuple[int, object, float, dict]] = [(200, "ok", 0.0, {})]
        self.lock = threading.Lock()
        self.server.expect_request(_AnyPath(), method=method).respond_with_handler(self._handle)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def script(self, *answers) -> None:
        """Answers in order: (status, body[, delay seconds[, headers]])."""
        with self.lock:
            self.answers = [(a[0], a[1], a[2] if len(a) > 2 else 0.0, a[3] if len(a) > 3 else {}) for a in answers]

    def _handle(self, request: Request) -> Response:
        record = {"method": request.method, "path": request.path, "headers": dict(request.headers), "body": request.get_data(),
                  "form": dict(request.form) if request.mimetype == "application/x-www-form-urlencoded" else None,
                  "answered": False}
        with self.lock:
            self.requests.append(record)
            status, body, delay, headers = self.answers[0] if len(self.answers) == 1 else self.answers.pop(0)
        if delay:
            time.sleep(delay)
        record["answered"] = status
        if isinstance(body, (dict, list)):
            return Response(json.dumps(body), status=status, content_type="application/json", headers=headers)
        return Response(str(body), status=status, content_type="text/plain", headers=headers)

    def json_bodies(self) -> list[dict]:
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests if r["body"][:1] in (b"{", b"[")]

    def wait_for(self, count: int, timeout: float = DEADLINE) -> list[dict]:
        wait_until(lambda: len(self.requests) >= count, timeout)
        with self.lock:
            return list(self.requests)

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        if self.server.is_running():
            self.server.clear_all_handlers()
            self.server.stop()


class _AnyPath(URIPattern):
    """A pytest-httpserver URI matcher that accepts every path."""

    def match(self, uri: str) -> bool:
        return True


@pytest.fixture
def smtp_server():
    receiver = SmtpReceiver()
    receiver.start()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def _http_receivers():
    """One server per role for the whole run (stopping a server costs half a second); each test
    gets it reset by the fixtures below."""
    receivers = {name: HttpReceiver(name) for name in ("slack", "twilio", "webhook")}
    # Where a redirect points: it answers every method, as a real site would answer the GET that
    # a redirected POST turns into.
    receivers["elsewhere"] = HttpReceiver("elsewhere", method=METHOD_ALL)
    for receiver in receivers.values():
        receiver.start()
    yield receivers
    for receiver in receivers.values():
        receiver.stop()


def _fresh(receiver: HttpReceiver, *answers) -> HttpReceiver:
    with receiver.lock:
        receiver.requests.clear()
    receiver.script(*(answers or [(200, "ok")]))
    return receiver


@pytest.fixture
def slack_receiver(_http_receivers):
    """Stands in for Slack: incoming webhooks answer "ok"; script JSON answers for chat.postMessage."""
    return _fresh(_http_receivers["slack"])


@pytest.fixture
def twilio_receiver(_http_receivers):
    return _fresh(_http_receivers["twilio"], (201, {"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"}))


@pytest.fixture
def webhook_receiver(_http_receivers):
    return _fresh(_http_receivers["webhook"])


@pytest.fixture
def elsewhere(_http_receivers):
    """A server that redirects point to (see ``redirect_to``): it must never be reached."""
    return _fresh(_http_receivers["elsewhere"])


def redirect_to(receiver: HttpReceiver, target: HttpReceiver, status: int = 302) -> str:
    """Script ``receiver`` to answer every request with a redirect to ``target``; returns the location."""
    location = f"{target.url}/moved/secret-token?token=redirect-secret"
    receiver.script((status, "moved", 0.0, {"Location": location}))
    return location


def configure_slack_webhook(config, receiver: HttpReceiver) -> None:
    config.update(SLACK_WEBHOOK_URL=f"{receiver.url}/services/T000/B000/secret-token", SLACK_BOT_TOKEN=None,
                  SLACK_CHANNEL=None)


def configure_slack_api(config, receiver: HttpReceiver) -> None:
    config.update(SLACK_WEBHOOK_URL=None, SLACK_BOT_TOKEN="xoxb-test-token", SLACK_CHANNEL="C0INCIDENTS",
                  SLACK_API_BASE=f"{receiver.url}/api")


def configure_twilio(config, receiver: HttpReceiver) -> None:
    config.update(TWILIO_ACCOUNT_SID="AC0123456789", TWILIO_AUTH_TOKEN="twilio-secret-token",
                  TWILIO_FROM_NUMBER="+15005550006", TWILIO_API_BASE=receiver.url)
