"""E-mail over SMTP: an HTML part and a plain-text part rendered from a template pair.

Settings: SMTP_HOST (unset: e-mail is off), SMTP_PORT, SMTP_USER, SMTP_PASSWORD, SMTP_TLS (none,
starttls, ssl), MAIL_FROM. The Message-ID is derived from the delivery's idempotency key, so a
resent message (a worker killed between sending and recording) is recognisable as the same one.
"""
from __future__ import annotations

import hashlib
import logging
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from flask import render_template

from app.notify.channels.base import Channel, DeliveryResult, Message, Notice, single_line

log = logging.getLogger("heartwatch.notify")
SUBJECT_LIMIT = 200


class EmailChannel(Channel):
    name = "email"

    def __init__(self, host: str, port: int = 25, *, tls: str = "none", user: str | None = None,
                 password: str | None = None, sender: str = "heartwatch@localhost", timeout: float = 10):
        if tls not in ("none", "starttls", "ssl"):
            raise ValueError("SMTP_TLS must be none, starttls or ssl")
        self.host, self.port, self.tls = host, port, tls
        self.user, self._password = user, password
        self.sender, self.timeout = sender, timeout

    @classmethod
    def from_config(cls, config) -> EmailChannel | None:
        """The channel as configured, or None while SMTP_HOST is unset."""
        if not config.get("SMTP_HOST"):
            return None
        return cls(config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25),
                   tls=(config.get("SMTP_TLS") or "none").lower(), user=config.get("SMTP_USER"),
                   password=config.get("SMTP_PASSWORD"), sender=config.get("MAIL_FROM") or "heartwatch@localhost",
                   timeout=float(config.get("NOTIFY_TIMEOUT_SECONDS") or 10))

    def build(self, message: Message) -> EmailMessage:
        """The MIME message: text first, HTML as the preferred alternative."""
        mail = EmailMessage()
        mail["Subject"] = single_line(message.subject, SUBJECT_LIMIT)
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Date"] = formatdate(localtime=False)
        domain = self.sender.rpartition("@")[2] or "heartwatch"
        digest = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
        mail["Message-ID"] = f"<{digest}@{domain}>"
        if message.event:
            mail["X-Heartwatch-Event"] = message.event
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.text or "")
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        return mail

    def send(self, message: Message) -> DeliveryResult:
        """Hand the message to the SMTP server; a refused recipient is a permanent failure."""
        try:
            mail = self.build(message)
        except (ValueError, TypeError) as exc:
            return DeliveryResult(False, f"message could not be built: {exc}", permanent=True)
        try:
            if self.tls == "ssl":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.tls == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self._password or "")
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            return DeliveryResult(False, f"recipient refused ({', '.join(map(str, codes))})",
                                  permanent=all(code >= 500 for code in codes), answer_status=max(codes, default=None))
        except smtplib.SMTPAuthenticationError as exc:
            # A wrong password is fixed by an operator; the retries then deliver.
            return DeliveryResult(False, f"SMTP authentication failed ({exc.smtp_code})", answer_status=exc.smtp_code)
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
            return DeliveryResult(False, f"SMTP server answered {exc.smtp_code}: {text[:200]}",
                                  permanent=exc.smtp_code >= 500 and exc.smtp_code != 530, answer_status=exc.smtp_code)
        except (smtplib.SMTPException, OSError, socket.timeout, ssl.SSLError) as exc:
            return DeliveryResult(False, f"SMTP server unreachable: {exc.__class__.__name__}: {exc}")
        if refused:
            return DeliveryResult(False, f"recipient refused: {', '.join(refused)}", permanent=True)
        return DeliveryResult(True, f"accepted by {self.host}:{self.port}", provider_id=mail["Message-ID"])


def subject_for(notice: Notice) -> str:
    """Severity, service and error type first, so an inbox can be scanned and filtered."""
    return single_line(notice.title, SUBJECT_LIMIT)


def compose(notice: Notice, to: str, idempotency_key: str, recipient_name: str | None = None,
            actions: list[dict] | None = None) -> Message:
    """The e-mail for one recipient: the notice's template pair, HTML autoescaped, text verbatim.
    ``actions`` are the recipient's one-click links (app/notify/action_links.py)."""
    context = {"notice": notice, "error": notice.error or {}, "details": notice.details, "url": notice.url,
               "recipient_name": recipient_name, "actions": actions or []}
    html = render_template(f"notify/{notice.template}.html", **context)
    text = render_template(f"notify/{notice.template}.txt", **context)
    return Message(channel="email", to=to, subject=subject_for(notice), text=text, html=html,
                   idempotency_key=idempotency_key, event=notice.event)
