"""SMS through Twilio's Messages REST API: one short line and a link.

Settings: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER (all three or SMS is off) and
TWILIO_API_BASE (Twilio's API by default; tests point it at a local server). By default only
critical errors go out by SMS (the SMS_SEVERITIES setting).
"""
from __future__ import annotations

import base64
import urllib.parse

from app.models.error import short_ref
from app.notify.channels.base import Channel, DeliveryResult, Message, Notice, TransportError, http_outcome, http_post, single_line

SMS_LIMIT = 160  # one GSM segment; longer texts cost more and arrive split


class SmsChannel(Channel):
    name = "sms"

    def __init__(self, account_sid: str, auth_token: str, from_number: str, *,
                 api_base: str = "https://api.twilio.com", timeout: float = 10):
        self.account_sid, self._auth_token, self.from_number = account_sid, auth_token, from_number
        self.api_base, self.timeout = api_base.rstrip("/"), timeout

    @classmethod
    def from_config(cls, config) -> SmsChannel | None:
        """The channel as configured, or None unless SID, token and sender are all set."""
        sid, token, sender = (config.get("TWILIO_ACCOUNT_SID"), config.get("TWILIO_AUTH_TOKEN"),
                              config.get("TWILIO_FROM_NUMBER"))
        if not (sid and token and sender):
            return None
        return cls(sid, token, sender, api_base=config.get("TWILIO_API_BASE") or "https://api.twilio.com",
                   timeout=float(config.get("NOTIFY_TIMEOUT_SECONDS") or 10))

    def send(self, message: Message) -> DeliveryResult:
        """Create the message with Twilio; its SID comes back as the provider id."""
        url = f"{self.api_base}/2010-04-01/Accounts/{urllib.parse.quote(self.account_sid)}/Messages.json"
        form = urllib.parse.urlencode({"To": message.to, "From": self.from_number, "Body": message.text}).encode()
        credentials = base64.b64encode(f"{self.account_sid}:{self._auth_token}".encode()).decode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {credentials}"}
        try:
            answer = http_post(url, form, headers, self.timeout, operator_endpoint=True)
        except TransportError as exc:
            return DeliveryResult(False, f"Twilio: {exc}")
        if 200 <= answer.status < 300:
            body = answer.json()
            return DeliveryResult(True, f"Twilio accepted ({body.get('status') or answer.status})",
                                  provider_id=body.get("sid"), answer_status=answer.status, answer=answer.text)
        result = http_outcome(answer, "Twilio")
        body = answer.json()
        if body.get("code"):
            result.detail = f"Twilio answered {answer.status}: error {body.get('code')}: {body.get('message', '')}"[:500]
        if answer.status in (401, 403):
            result.permanent = False  # wrong credentials are fixed by an operator, then the retries deliver
        return result


def sms_text(notice: Notice) -> str:
    """At most one segment: severity, service, type and message, how to answer (``Reply ACK 1a2b3c4d``,
    for an open error, when it fits), then the link (kept whole)."""
    error = notice.error or {}
    message = error.get("message")
    text = f"{notice.title}: {message}" if message else notice.title
    room = SMS_LIMIT - len(notice.url) - 1
    hint = f"Reply ACK {short_ref(error['id'])}" if error.get("id") and error.get("status") in (
        "new", "assigned", "in_progress") else ""
    if hint and room - len(hint) - 1 >= 40:
        return f"{single_line(text, room - len(hint) - 1)} {hint} {notice.url}"
    if room >= 40:
        return f"{single_line(text, room)} {notice.url}"
    return single_line(text, SMS_LIMIT)


def compose(notice: Notice, to: str, idempotency_key: str) -> Message:
    text = sms_text(notice)
    return Message(channel="sms", to=to, subject=notice.title, text=text, idempotency_key=idempotency_key,
                   event=notice.event)
