"""Resetting a forgotten password by a link sent by e-mail (only while e-mail is configured).

The link carries a token signed with SECRET_KEY that names the developer and binds their session
version and a fingerprint of their password hash: it expires after ``MAX_AGE_SECONDS``, and works
once, since using it sets a new password (a new hash, a raised session version). Asking for a link
answers the same whether or not the address belongs to anyone; the mail is sent off the request
thread, so the answer takes no longer for a real address either. At most ``MAILS_PER_HOUR`` links are
mailed to one account an hour (counted in app/platform/kv, shared by the web processes with Redis),
so the form cannot be used to flood someone's inbox; further requests are answered the same and
logged.
"""
from __future__ import annotations

import hashlib
import logging
import threading

from flask import current_app, render_template
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.extensions import db
from app.models import Developer
from app.accounts import passwords
from app.accounts.developers import AccountError, developer_by_email
from app.notify.channels import email as email_channel
from app.notify.channels import is_configured
from app.notify.channels.base import Message
from app.platform import kv
from app.platform.audit import record_audit

log = logging.getLogger("heartwatch.auth")
SALT = "heartwatch.password-reset"
MAX_AGE_SECONDS = 3600
MAX_TOKEN_LENGTH = 512
MAILS_PER_HOUR = 3
KEY_PREFIX = "heartwatch:password-reset:"


def available() -> bool:
    """Resets by e-mail exist only while e-mail is configured."""
    return is_configured("email")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(developer: Developer) -> str:
    return hashlib.sha256((developer.password_hash or "").encode()).hexdigest()[:16]


def make_token(developer: Developer) -> str:
    return _serializer().dumps({"d": developer.id, "v": developer.session_version or 0,
                                "p": _fingerprint(developer)})


def developer_for_token(token: str) -> Developer | None:
    """The developer a token is for, while it is unexpired, unused and the account active."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        data = _serializer().loads(token, max_age=MAX_AGE_SECONDS)
    except BadSignature:  # a bad signature, or an expired one
        return None
    if not isinstance(data, dict) or not isinstance(data.get("d"), int) or not 0 < data["d"] < 2**31:
        return None
    developer = db.session.get(Developer, data["d"])
    if developer is None or not developer.active or not developer.password_hash:
        return None
    if data.get("v") != (developer.session_version or 0) or data.get("p") != _fingerprint(developer):
        return None
    return developer


def request_reset(email: str, link_for) -> None:
    """Mail a reset link to the active developer with this address, if there is one.

    ``link_for(token)`` makes the absolute URL of the reset page. Nothing tells the caller whether
    a mail was sent."""
    if not available() or "\x00" in (email or ""):
        return
    developer = developer_by_email(email)
    if developer is None or not developer.active or not developer.password_hash:
        return
    if not _within_hourly_mails(developer):
        log.warning("password reset for developer %s not mailed: %d links mailed this hour already",
                    developer.id, MAILS_PER_HOUR)
        return
    token = make_token(developer)
    context = {"developer": developer, "url": link_for(token), "minutes": MAX_AGE_SECONDS // 60}
    message = Message(channel="email", to=developer.email, subject="Reset your Heartwatch password",
                      text=render_template("auth/password_reset_mail.txt", **context),
                      idempotency_key=f"password-reset:{token}", event="password_reset")
    record_audit(None, "developer.password_reset_requested", "developer", developer.id)
    db.session.commit()
    channel = email_channel.EmailChannel.from_config(current_app.config)
    threading.Thread(target=_send, args=(channel, message, developer.id), daemon=True).start()


def _within_hourly_mails(developer: Developer) -> bool:
    try:
        return kv.store().incr(f"{KEY_PREFIX}{developer.id}", 1, 3600) <= MAILS_PER_HOUR
    except Exception:  # Redis down: the link still goes out (a locked-out user is worse than one more mail)
        log.warning("could not count password reset mails; mailing this one", exc_info=True)
        return True


def forget_requests() -> None:
    """Forget the hourly counts (between tests)."""
    kv.store().delete_prefix(KEY_PREFIX)


def _send(channel: email_channel.EmailChannel, message: Message, developer_id: int) -> None:
    result = channel.send(message)
    if not result.ok:
        log.warning("password reset mail for developer %s not sent: %s", developer_id, result.detail)


def reset_password(token: str, new: str, confirm: str) -> Developer:
    """Set the password a valid link was sent for; the link stops working."""
    developer = developer_for_token(token)
    if developer is None:
        raise AccountError("this reset link has expired or was used already", "token")
    if (new or "") != (confirm or ""):
        raise AccountError("the new password and its repetition differ", "confirm")
    return passwords.set_password(developer, new, None, reason="reset by e-mail")
