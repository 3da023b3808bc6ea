"""Custom webhooks: a JSON body signed with HMAC-SHA256 and a timestamp against replay.

Headers: ``X-Heartwatch-Event``, ``X-Heartwatch-Delivery`` (the same on every retry of one delivery,
so a receiver can drop a repeat), ``X-Heartwatch-Timestamp`` and ``X-Heartwatch-Signature:
t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>``. Receivers recompute the HMAC with their
secret and refuse timestamps older than a few minutes (``app.notify.subscriptions.verify_signature``).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time

from app.notify.channels.base import Channel, DeliveryResult, Message, Notice, TransportError, http_outcome, http_post


def delivery_id(idempotency_key: str) -> str:
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The v1 signature: hex HMAC-SHA256 over "<timestamp>." followed by the raw body."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


class WebhookChannel(Channel):
    name = "webhook"

    def __init__(self, timeout: float = 10):
        self.timeout = timeout

    @classmethod
    def from_config(cls, config) -> WebhookChannel:
        return cls(timeout=float(config.get("NOTIFY_TIMEOUT_SECONDS") or 10))

    def send(self, message: Message) -> DeliveryResult:
        """POST the body, signed now (a fresh timestamp on every attempt)."""
        if not message.to.startswith(("https://", "http://")):
            return DeliveryResult(False, "webhook URL must be http(s)", permanent=True)
        body = json.dumps(message.payload or {}, separators=(",", ":"), sort_keys=True).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "X-Heartwatch-Event": message.event,
            "X-Heartwatch-Delivery": delivery_id(message.idempotency_key),
            "X-Heartwatch-Timestamp": str(timestamp),
        }
        if message.secret:
            headers["X-Heartwatch-Signature"] = f"t={timestamp},v1={signature(message.secret, timestamp, body)}"
        try:
            answer = http_post(message.to, body, headers, self.timeout)
        except TransportError as exc:
            return DeliveryResult(False, f"webhook: {exc}", permanent=exc.permanent)
        result = http_outcome(answer, "webhook receiver")
        if not result.ok and answer.status in (401, 403, 404, 410):
            result.permanent = answer.status == 410  # 410 Gone: the receiver is no more
        return result


def compose(notice: Notice, to: str, idempotency_key: str, secret: str | None) -> Message:
    """The JSON document for a subscriber: the delivery id, the event and its facts."""
    payload = {
        "id": delivery_id(idempotency_key),
        "event": notice.event,
        "occurred_at": notice.occurred_at,
        "title": notice.title,
        "url": notice.url,
        "severity": notice.severity,
        "error": notice.error,
        "data": notice.details,
    }
    text = json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str)
    return Message(channel="webhook", to=to, subject=notice.title, text=text, payload=json.loads(text),
                   idempotency_key=idempotency_key, event=notice.event, secret=secret)
