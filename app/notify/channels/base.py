"""The one small interface every channel implements: ``send(message) -> DeliveryResult``.

A channel knows its medium (SMTP, Slack, Twilio, HTTP) and nothing about errors or routing: the
notification service composes a ``Notice`` (what happened), each channel module turns it into a
``Message`` for one recipient (``compose``) and sends it. Every failure comes back as a result,
never as an exception, with ``permanent`` set when retrying cannot help.
"""
from __future__ import annotations

import abc
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from app.notify.channels import guard

USER_AGENT = "Heartwatch-Notify/1"
DETAIL_LIMIT = 500
# What is kept of a receiver's own words: a short excerpt, one line, never in ``detail`` (which
# every reader of the audit trail sees).
ANSWER_LIMIT = 200


@dataclass
class Notice:
    """What happened, in the words of every medium: an error event, a threshold alert, a summary."""

    event: str
    key: str
    title: str
    headline: str
    template: str
    url: str
    severity: str | None = None
    error: dict | None = None
    details: dict = field(default_factory=dict)
    # Slack members to mention in the shared channel post.
    mentions: list[str] = field(default_factory=list)
    # Web API mode: the error's first message, under which follow-ups are threaded.
    thread_ts: str | None = None
    occurred_at: str | None = None


@dataclass
class Message:
    """One message on one channel to one recipient, ready to send."""

    channel: str
    to: str
    subject: str = ""
    text: str = ""
    html: str | None = None
    payload: dict | None = None
    idempotency_key: str = ""
    event: str = ""
    thread_ts: str | None = None
    # Webhook signing secret: never printed, logged or stored with the notification.
    secret: str | None = field(default=None, repr=False)


@dataclass
class DeliveryResult:
    """The outcome of one attempt. ``detail`` is the short reason (what answered, with which
    status, or why nothing did), never a secret and never the receiver's body; ``answer_status``
    is the receiver's status (HTTP status, SMTP reply code) and ``answer`` an excerpt of what it
    said, kept for those who may see the destination."""

    ok: bool
    detail: str = ""
    permanent: bool = False
    provider_id: str | None = None
    retry_after: int | None = None
    answer_status: int | None = None
    answer: str = ""
    # Extra facts a caller may keep (for Slack: the channel id the message went to).
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.detail = (self.detail or "")[:DETAIL_LIMIT]
        self.answer = single_line(self.answer, ANSWER_LIMIT)


class Channel(abc.ABC):
    """A way to reach people. ``send`` never raises for delivery problems."""

    name = "channel"

    @abc.abstractmethod
    def send(self, message: Message) -> DeliveryResult:
        """Deliver one message; the result says whether it arrived and whether to retry."""


@dataclass
class HttpAnswer:
    status: int
    body: bytes
    headers: dict

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> dict:
        try:
            value = json.loads(self.body or b"null")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


class TransportError(Exception):
    """The request did not get an HTTP answer (refused, reset, timed out); ``permanent`` when it
    was not even tried because the guard refused the destination (``app.notify.channels.guard``)."""

    def __init__(self, text: str, permanent: bool = False):
        super().__init__(text)
        self.permanent = permanent


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is the receiver's answer, not a delivery: urllib would turn a redirected POST
    into a GET of the new address and report its 200, so a message nobody got would count as sent."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx, answered below like any refusal


# The operator's own endpoints (Slack's and Twilio's APIs, the team's Slack webhook) are posted
# through this opener; an address somebody typed goes through ``_checked_opener`` instead.
_OPENER = urllib.request.build_opener(_RefuseRedirects)


def _checked_opener() -> urllib.request.OpenerDirector:
    """An opener that connects only where the outbound guard allows, to the address it checked."""
    return urllib.request.build_opener(_RefuseRedirects, *guard.checked_handlers(guard.allowed_networks()))


def _origin(url: str) -> str:
    """Scheme, host and port only: a redirect's path can carry an incoming webhook's token."""
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return "an address that is not absolute"
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def http_post(url: str, body: bytes, headers: dict, timeout: float, *, operator_endpoint: bool = False) -> HttpAnswer:
    """POST and return the answer, whatever its status (a redirect is returned, never followed);
    raises TransportError without one. Unless ``operator_endpoint`` (an address from the
    operator's own settings), the outbound guard checks the destination and the connection goes
    to the address it checked.

    Exception texts are kept free of the URL: incoming-webhook URLs carry their token.
    """
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"User-Agent": USER_AGENT, **headers})
    opener = _OPENER if operator_endpoint else _checked_opener()
    try:
        with opener.open(request, timeout=timeout) as response:  # http(s) only, checked by callers
            return HttpAnswer(response.status, response.read(65536), dict(response.headers))
    except urllib.error.HTTPError as exc:
        try:
            payload = exc.read(65536)
        except Exception:
            payload = b""
        return HttpAnswer(exc.code, payload, dict(exc.headers or {}))
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, guard.AddressRefused):
            raise TransportError(f"not sent: {exc.reason}", permanent=True) from None
        raise TransportError(f"no answer: {exc.reason}") from None
    except guard.AddressRefused as exc:
        raise TransportError(f"not sent: {exc}", permanent=True) from None
    except (socket.timeout, TimeoutError):
        raise TransportError(f"no answer within {timeout:g} s") from None
    except (ConnectionError, OSError) as exc:
        raise TransportError(f"no answer: {exc.__class__.__name__}: {exc.strerror or exc}") from None


def http_outcome(answer: HttpAnswer, what: str) -> DeliveryResult:
    """Success for 2xx; 408, 429 and 5xx are worth retrying, other refusals (redirects too: the
    address has to be changed) are not."""
    said = {"answer_status": answer.status, "answer": answer.text[:4 * ANSWER_LIMIT]}
    if 200 <= answer.status < 300:
        return DeliveryResult(True, f"{what} answered {answer.status}", **said)
    if 300 <= answer.status < 400:
        location = answer.headers.get("Location") or answer.headers.get("location") or ""
        target = _origin(location) if location else "an unnamed address"
        return DeliveryResult(False, f"{what} answered {answer.status}: redirect to {target} refused", permanent=True,
                              **said)
    retry_after = None
    raw = answer.headers.get("Retry-After") or answer.headers.get("retry-after")
    if raw and str(raw).strip().isdigit():
        retry_after = int(str(raw).strip())
    transient = answer.status in (408, 425, 429) or answer.status >= 500
    return DeliveryResult(False, f"{what} answered {answer.status}", permanent=not transient,
                          retry_after=retry_after, **said)


def single_line(text: str | None, limit: int) -> str:
    """Text for a one-line medium: control characters and runs of whitespace become one space."""
    cleaned = "".join(" " if (ch.isspace() or ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0) else ch for ch in (text or ""))
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > limit:
        cleaned = cleaned[: max(0, limit - 1)].rstrip() + "…"
    return cleaned
