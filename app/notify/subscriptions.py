"""Custom webhook subscriptions: who receives which events, and how receivers check the signature.

A subscription has a URL, a secret and an event filter (``WEBHOOK_EVENTS``), optionally limited to
one service. Deliveries go through the notification service like every other channel, so they are
retried, recorded and never sent twice; the body is signed with HMAC-SHA256 over the timestamp and
the body (see app/notify/channels/webhook.py for the header format).
"""
from __future__ import annotations

import hmac
import secrets
import time
import urllib.parse

from sqlalchemy import or_, select

from app.extensions import db
from app.models import WEBHOOK_EVENTS, Developer, Service, WebhookSubscription
from app.notify.channels import guard
from app.notify.channels.webhook import signature
from app.platform.audit import record_audit
from app.platform.refusal import Refused, column_text
from app.triage import permissions

SIGNATURE_TOLERANCE_SECONDS = 300


class WebhookError(Refused):
    """None"""


def check_url(url: str) -> str:
    """The rule for every outbound webhook URL (subscriptions, a developer's own Slack webhook):
    an absolute http(s) address of 1,024 characters at most whose host is not, does not spell
    and does not resolve to an internal address (``guard.check_url_host``); returns it trimmed."""
    url = (url or "").strip()
    if not _is_http_url(url) or len(url) > 1024:
        raise WebhookError("the URL must be an http:// or https:// address (1,024 characters at most)", "url")
    try:
        guard.check_url_host(url)
    except guard.AddressRefused as exc:
        raise WebhookError(str(exc), "url") from None
    return url


def _is_http_url(url: str) -> bool:
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _check_events(events) -> list[str]:
    if isinstance(events, str):
        events = [e.strip() for e in events.split(",")]
    if not isinstance(events, list | tuple) or not events:
        raise WebhookError(f"choose at least one event among {', '.join(WEBHOOK_EVENTS)}", "events")
    unknown = [e for e in events if e not in WEBHOOK_EVENTS]
    if unknown:
        raise WebhookError(f"unknown event {unknown[0]!r}; events are {', '.join(WEBHOOK_EVENTS)}", "events")
    return [e for e in WEBHOOK_EVENTS if e in events]


def safe_url(url: str) -> str:
    """The URL without query or credentials, for the audit trail and the notification rows."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def create_subscription(name: str, url: str, events, actor: Developer | None, *, secret: str | None = None,
                        service: Service | None = None) -> tuple[WebhookSubscription, str]:
    """A new subscription; returns it with its secret (generated unless given), shown to the user once."""
    name = column_text(name, WebhookSubscription.name, "name", refusal=WebhookError,
                       required="a subscription needs a name")
    secret = (secret or "").strip() or "whsec_" + secrets.token_urlsafe(32)
    if len(secret) < 16 or len(secret) > 128:
        raise WebhookError("the secret must be 16 to 128 characters", "secret")
    subscription = WebhookSubscription(name=name, url=check_url(url), secret=secret, events=_check_events(events),
                                       service_id=service.id if service else None, active=True,
                                       created_by_id=actor.id if actor else None)
    db.session.add(subscription)
    db.session.flush()
    record_audit(actor, "webhook.created", "webhook", subscription.id,
                 details={"name": name, "url": safe_url(subscription.url), "events": subscription.events})
    db.session.commit()
    return subscription, secret


def update_subscription(subscription: WebhookSubscription, actor: Developer | None, *, name: str | None = None,
                        url: str | None = None, events=None, active: bool | None = None) -> WebhookSubscription:
    """Change a subscription's name, URL, events or whether it is active."""
    changes: dict = {}
    if name is not None:
        subscription.name = changes["name"] = column_text(name, WebhookSubscription.name, "name", refusal=WebhookError,
                                                          required="a subscription needs a name")
    if url is not None:
        subscription.url = check_url(url)
        changes["url"] = safe_url(subscription.url)
    if events is not None:
        subscription.events = changes["events"] = _check_events(events)
    if active is not None:
        subscription.active = changes["active"] = bool(active)
    record_audit(actor, "webhook.updated", "webhook", subscription.id, details=changes)
    db.session.commit()
    return subscription


def rotate_secret(subscription: WebhookSubscription, actor: Developer | None) -> str:
    """A new secret (returned once); receivers must switch to it."""
    subscription.secret = "whsec_" + secrets.token_urlsafe(32)
    record_audit(actor, "webhook.secret_rotated", "webhook", subscription.id)
    db.session.commit()
    return subscription.secret


def send_test(subscription: WebhookSubscription, actor: Developer | None) -> str:
    """Send a signed ``webhook.test`` event now, so the receiver's check of the signature can be
    tried; returns what the receiver answered (its status, and a short excerpt of its body for
    those who may see the subscription), raises WebhookError when it did not accept it."""
    import secrets as random

    from flask import current_app

    from app.models.types import utcnow
    from app.notify.channels.base import Notice
    from app.notify.channels.webhook import WebhookChannel, compose

    moment = utcnow()
    notice = Notice(event="webhook.test", key=f"webhook.test:{subscription.id}:{random.token_hex(8)}",
                    title="Heartwatch test event", headline="Heartwatch test event", template="error_event",
                    url=f"{current_app.config['BASE_URL']}/", details={"summary": "A test of this subscription.",
                                                                       "subscription": subscription.name},
                    occurred_at=moment.isoformat())
    message = compose(notice, subscription.url, notice.key, subscription.secret)
    result = WebhookChannel.from_config(current_app.config).send(message)
    # The reason and status only: the receiver's own words are not for every reader of the audit trail.
    record_audit(actor, "webhook.tested", "webhook", subscription.id,
                 details={"ok": result.ok, "status": result.answer_status, "reason": result.detail[:200]})
    if result.ok:
        subscription.last_delivery_at = moment
    db.session.commit()
    outcome = result.detail
    if result.answer and permissions.can_manage_settings(actor):  # who may see the subscription
        outcome += f" (it said: {result.answer})"
    if not result.ok:
        raise WebhookError(f"the receiver did not accept the test event: {outcome}", "url", status=502)
    return outcome


def delete_subscription(subscription: WebhookSubscription, actor: Developer | None) -> None:
    record_audit(actor, "webhook.deleted", "webhook", subscription.id,
                 details={"name": subscription.name, "url": safe_url(subscription.url)})
    db.session.delete(subscription)
    db.session.commit()


def subscriptions() -> list[WebhookSubscription]:
    return list(db.session.execute(select(WebhookSubscription).order_by(WebhookSubscription.id)).scalars())


def subscribers(event: str, service_id: int | None = None) -> list[WebhookSubscription]:
    """Active subscriptions to ``event`` (and, for error events, to the error's service or to all)."""
    stmt = select(WebhookSubscription).where(WebhookSubscription.active.is_(True)).order_by(WebhookSubscription.id)
    if service_id is not None:
        stmt = stmt.where(or_(WebhookSubscription.service_id.is_(None), WebhookSubscription.service_id == service_id))
    return [s for s in db.session.execute(stmt).scalars() if event in (s.events or [])]


def verify_signature(secret: str, body: bytes, header: str | None, *, now: float | None = None,
                     tolerance: int = SIGNATURE_TOLERANCE_SECONDS) -> bool:
    """A receiver's check: the header's HMAC matches and its timestamp is recent (no replay)."""
    if not header:
        return False
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), fields.get("v1", ""))
