"""Checking that a request comes from Slack or Twilio, as each documents it. Pure functions: the
views pass the raw body, the headers and the time; a refusal is an ``InboundRefused`` (401 or 403).

- Slack signs every request with the app's signing secret: ``X-Slack-Signature`` is ``v0=`` and the hex
  HMAC-SHA256 of ``v0:{X-Slack-Request-Timestamp}:{raw body}``; a timestamp more than five minutes away
  is refused, so a captured request cannot be replayed later.
- Twilio signs with the account's auth token: ``X-Twilio-Signature`` is the base64 HMAC-SHA1 of the full
  URL it called (the public one: HEARTWATCH_BASE_URL and the path) followed by every POST parameter,
  sorted by name, as name and value with nothing between.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from app.platform.refusal import Refused

SLACK_MAX_SKEW_SECONDS = 5 * 60


class InboundRefused(Refused):
    """A request that did not prove where it came from: nothing is done."""


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def check_slack(secret: str | None, headers, body: bytes, now: float) -> None:
    """Refuse unless the request carries Slack's valid, fresh signature."""
    if not secret:
        raise InboundRefused("Slack answers are not set up (SLACK_SIGNING_SECRET)", status=503)
    timestamp = (headers.get("X-Slack-Request-Timestamp") or "").strip()
    signature = (headers.get("X-Slack-Signature") or "").strip()
    if not timestamp.isdigit() or not signature:
        raise InboundRefused("a Slack signature is required", "X-Slack-Signature", status=401)
    if abs(now - int(timestamp)) > SLACK_MAX_SKEW_SECONDS:
        raise InboundRefused("the Slack request is too old or from the future", "X-Slack-Request-Timestamp",
                             status=401)
    if not hmac.compare_digest(slack_signature(secret, timestamp, body), signature):
        raise InboundRefused("the Slack signature does not match", "X-Slack-Signature", status=401)


def twilio_signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    data = url + "".join(name + value for name, value in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def check_twilio(auth_token: str | None, url: str, params: list[tuple[str, str]], signature: str | None) -> None:
    """Refuse unless the request carries Twilio's valid signature for this URL and these parameters."""
    if not auth_token:
        raise InboundRefused("SMS replies are not set up (TWILIO_AUTH_TOKEN)", status=503)
    if not signature:
        raise InboundRefused("a Twilio signature is required", "X-Twilio-Signature", status=403)
    if not hmac.compare_digest(twilio_signature(auth_token, url, params), signature.strip()):
        raise InboundRefused("the Twilio signature does not match", "X-Twilio-Signature", status=403)
