"""Each channel against a real local receiver: what goes over the wire, and how failures come back."""
from __future__ import annotations

import base64
import json
import urllib.parse

import pytest

from app.notify.channels.base import Message, Notice
from app.notify.channels.email import EmailChannel
from app.notify.channels.email import compose as compose_email
from app.notify.channels.slack import SlackChannel, escape
from app.notify.channels.slack import compose as compose_slack
from app.notify.channels.sms import SMS_LIMIT, SmsChannel
from app.notify.channels.sms import compose as compose_sms
from app.notify.channels.webhook import WebhookChannel, delivery_id
from app.notify.channels.webhook import compose as compose_webhook
from app.notify.subscriptions import verify_signature

HOSTILE = "<script>alert(1)</script> & <!channel> *bold* <@U0EVIL>"


def notice(**overrides) -> Notice:
    values = dict(
        event="error.created", key="error.created:abc:1", title="[CRITICAL] billing: KeyError (new error)",
        headline="New critical error in Billing", template="error_event", url="http://hw.test/errors/abc",
        severity="critical",
        error={"id": "abc", "service": "billing", "service_name": "Billing", "severity": "critical",
               "error_type": "KeyError", "message": HOSTILE, "endpoint": "/pay", "culprit": "charge in pay.py",
               "occurrence_count": 3, "status": "assigned", "environment": "production", "release": "1.2.3",
               "first_seen": "2026-01-01 10:00 UTC", "last_seen": "2026-01-01 11:00 UTC", "assignee_name": "Ada",
               "assignee_slack": "U0ADA0001", "url": "http://hw.test/errors/abc"},
        details={"summary": "Assigned to you.", "frames": ["charge (pay.py:10)"]},
    )
    values.update(overrides)
    return Notice(**values)


def test_email_has_a_text_and_an_escaped_html_part_and_a_stable_message_id(app, smtp_server):
    channel = EmailChannel("127.0.0.1", smtp_server.port, sender="heartwatch@example.test")
    message = compose_email(notice(), "ada@example.test", "key-1", "Ada")
    first = channel.send(message)
    second = channel.send(compose_email(notice(), "ada@example.test", "key-1", "Ada"))

    assert first.ok and second.ok
    received = smtp_server.wait_for(2)
    mail = received[0]
    assert mail["Subject"] == "[CRITICAL] billing: KeyError (new error)"
    assert mail["Message-ID"] == received[1]["Message-ID"] == first.provider_id
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert HOSTILE in text and "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;!channel&gt;" in html
    assert "http://hw.test/errors/abc" in text and 'href="http://hw.test/errors/abc"' in html


def test_email_subject_cannot_inject_headers(app, smtp_server):
    channel = EmailChannel("127.0.0.1", smtp_server.port)
    result = channel.send(Message(channel="email", to="ada@example.test", subject="boom\r\nBcc: evil@example.test",
                                  text="x", idempotency_key="k"))
    assert result.ok
    mail = smtp_server.wait_for(1)[0]
    assert mail["Bcc"] is None and mail["Subject"] == "boom Bcc: evil@example.test"


def test_email_refused_recipient_is_permanent_and_an_unreachable_server_is_not(app, smtp_server):
    smtp_server.refuse.add("gone@example.test")
    channel = EmailChannel("127.0.0.1", smtp_server.port)
    refused = channel.send(Message(channel="email", to="gone@example.test", subject="s", text="t", idempotency_key="k"))
    assert not refused.ok and refused.permanent and "550" in refused.detail

    smtp_server.stop()
    down = channel.send(Message(channel="email", to="ada@example.test", subject="s", text="t", idempotency_key="k"))
    assert not down.ok and not down.permanent and "unreachable" in down.detail


def test_slack_card_escapes_the_clients_text_and_links_the_error(app, slack_receiver):
    channel = SlackChannel(webhook_url=f"{slack_receiver.url}/services/T/B/token")
    message = compose_slack(notice(mentions=["U0ADA0001", "not a member <!here>"]), channel.webhook_url, "key")
    assert channel.send(message).ok

    body = slack_receiver.json_bodies()[0]
    attachment = body["attachments"][0]
    assert attachment["color"] == "#b00020"
    blocks = attachment["blocks"]
    assert blocks[0]["text"]["text"].startswith("<@U0ADA0001> *<http://hw.test/errors/abc|")
    assert "<!here>" not in json.dumps(body)
    plain = [b for b in blocks if b.get("text", {}).get("type") == "plain_text"][0]
    assert plain["text"]["text"] == HOSTILE  # plain_text is never parsed by Slack
    fields = {f["text"].split("\n")[0]: f["text"].split("\n", 1)[1] for f in blocks[3]["fields"]}
    assert fields["*Service*"] == "billing" and fields["*Occurrences*"] == "3" and fields["*Assignee*"] == "Ada"
    assert blocks[-1]["elements"][0]["url"] == "http://hw.test/errors/abc"
    assert escape(HOSTILE) == "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;!channel&gt; *bold* &lt;@U0EVIL&gt;"


def test_slack_web_api_posts_with_the_bot_token_and_replies_in_a_thread(app, slack_receiver):
    slack_receiver.script((200, {"ok": True, "channel": "C0INCIDENTS", "ts": "1700000000.000100"}))
    channel = SlackChannel(bot_token="xoxb-1", channel="C0INCIDENTS", api_base=f"{slack_receiver.url}/api")
    top = channel.send(compose_slack(notice(), "C0INCIDENTS", "k1"))
    reply = channel.send(compose_slack(notice(thread_ts="1700000000.000100"), "C0INCIDENTS", "k2", full_card=False))

    assert top.ok and top.provider_id == "1700000000.000100" and reply.ok
    first, second = slack_receiver.requests
    assert first["path"] == "/api/chat.postMessage" and first["headers"]["Authorization"] == "Bearer xoxb-1"
    assert json.loads(first["body"])["channel"] == "C0INCIDENTS" and "thread_ts" not in json.loads(first["body"])
    assert json.loads(second["body"])["thread_ts"] == "1700000000.000100"


@pytest.mark.parametrize("answer, permanent", [
    ((200, {"ok": False, "error": "channel_not_found"}), True),
    ((200, {"ok": False, "error": "ratelimited"}), False),
    ((429, "slow down"), False),
    ((500, "oops"), False),
])
def test_slack_web_api_failures_say_whether_to_retry(app, slack_receiver, answer, permanent):
    slack_receiver.script(answer)
    channel = SlackChannel(bot_token="xoxb-1", channel="C0INCIDENTS", api_base=f"{slack_receiver.url}/api")
    result = channel.send(compose_slack(notice(), "C0INCIDENTS", "k"))
    assert not result.ok and result.permanent is permanent
    assert "xoxb-1" not in result.detail


def test_sms_goes_to_twilio_as_one_segment_with_basic_auth(app, twilio_receiver):
    channel = SmsChannel("AC123", "auth-token", "+15005550006", api_base=twilio_receiver.url)
    message = compose_sms(notice(), "+41790000001", "k")
    result = channel.send(message)

    assert result.ok and result.provider_id.startswith("SM")
    request = twilio_receiver.requests[0]
    assert request["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(b"AC123:auth-token").decode()
    form = request["form"]
    assert form["To"] == "+41790000001" and form["From"] == "+15005550006"
    assert len(form["Body"]) <= SMS_LIMIT and form["Body"].endswith("http://hw.test/errors/abc")
    assert form["Body"].startswith("[CRITICAL] billing: KeyError") and "\n" not in form["Body"]


def test_sms_text_of_a_long_message_is_cut_and_keeps_the_link(app):
    long = notice(error={**notice().error, "message": "x" * 1000 + "\n\tmore"})
    text = compose_sms(long, "+41790000001", "k").text
    assert len(text) == SMS_LIMIT and text.endswith(" http://hw.test/errors/abc") and "…" in text


def test_sms_refused_number_is_permanent(app, twilio_receiver):
    twilio_receiver.script((400, {"code": 21211, "message": "The 'To' number is not a valid phone number.",
                                  "status": 400}))
    channel = SmsChannel("AC123", "auth-token", "+15005550006", api_base=twilio_receiver.url)
    result = channel.send(compose_sms(notice(), "+1", "k"))
    assert not result.ok and result.permanent and "21211" in result.detail and "auth-token" not in result.detail


def test_webhook_is_signed_with_a_timestamp_and_a_stable_delivery_id(app, webhook_receiver):
    channel = WebhookChannel()
    message = compose_webhook(notice(), f"{webhook_receiver.url}/hooks/heartwatch?token=abc", "key-1", "s3cret-s3cret-s3cret")
    assert channel.send(message).ok and channel.send(message).ok

    first, second = webhook_receiver.requests
    assert first["headers"]["X-Heartwatch-Event"] == "error.created"
    assert first["headers"]["X-Heartwatch-Delivery"] == second["headers"]["X-Heartwatch-Delivery"] == delivery_id("key-1")
    assert verify_signature("s3cret-s3cret-s3cret", first["body"], first["headers"]["X-Heartwatch-Signature"])
    assert not verify_signature("another-secret-value", first["body"], first["headers"]["X-Heartwatch-Signature"])
    assert not verify_signature("s3cret-s3cret-s3cret", first["body"] + b" ", first["headers"]["X-Heartwatch-Signature"])
    timestamp = int(first["headers"]["X-Heartwatch-Timestamp"])
    assert not verify_signature("s3cret-s3cret-s3cret", first["body"], first["headers"]["X-Heartwatch-Signature"],
                                now=timestamp + 3600)  # a replay an hour later is refused
    payload = json.loads(first["body"])
    assert payload["event"] == "error.created" and payload["error"]["message"] == HOSTILE
    assert payload["id"] == delivery_id("key-1")


def test_webhook_receiver_errors_are_retried_except_gone(app, webhook_receiver):
    channel = WebhookChannel()
    message = compose_webhook(notice(), webhook_receiver.url, "k", "s3cret-s3cret-s3cret")
    webhook_receiver.script((503, "busy"))
    assert not channel.send(message).permanent
    webhook_receiver.script((410, "gone"))
    assert channel.send(message).permanent


def test_unreachable_http_receiver_is_a_transient_failure_without_the_url(app):
    channel = SlackChannel(webhook_url="http://127.0.0.1:9/services/T/B/very-secret-token", timeout=2)
    result = channel.send(compose_slack(notice(), channel.webhook_url, "k"))
    assert not result.ok and not result.permanent and "very-secret-token" not in result.detail
    assert urllib.parse.quote("very-secret-token") not in result.detail


def _certificate(folder) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (openssl), trusted through SSL_CERT_FILE."""
    import shutil
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return str(cert), str(key)


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_email_over_tls_with_a_login(app, tmp_path, monkeypatch, mode):
    import ssl

    from aiosmtpd.smtp import AuthResult, LoginPassword

    from tests.receivers import SmtpReceiver

    cert, key = _certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"mailer", b"pa55word")
        logins.append(ok)
        return AuthResult(success=ok)

    # Over implicit TLS aiosmtpd does not know the session is encrypted: it must not insist on STARTTLS.
    options = {"authenticator": authenticator, "auth_require_tls": mode == "starttls"}
    if mode == "starttls":
        receiver = SmtpReceiver(tls_context=server_tls, require_starttls=True, **options)
    else:
        receiver = SmtpReceiver(ssl_context=server_tls, **options)
    receiver.start()
    try:
        good = EmailChannel("127.0.0.1", receiver.port, tls=mode, user="mailer", password="pa55word")
        assert good.send(Message(channel="email", to="ada@example.test", subject="s", text="t", idempotency_key="k")).ok
        # (The test server stalls smtplib's fallback to AUTH LOGIN after a refusal: a short timeout ends it.)
        wrong = EmailChannel("127.0.0.1", receiver.port, tls=mode, user="mailer", password="not-the-password", timeout=1)
        refused = wrong.send(Message(channel="email", to="ada@example.test", subject="s", text="t", idempotency_key="k"))
        assert not refused.ok and not refused.permanent and "not-the-password" not in refused.detail
    finally:
        receiver.close()
    assert logins == [True, False] and len(receiver.messages) == 1


def test_starttls_against_a_server_without_it_is_a_transient_failure(app, smtp_server):
    channel = EmailChannel("127.0.0.1", smtp_server.port, tls="starttls")
    result = channel.send(Message(channel="email", to="ada@example.test", subject="s", text="t", idempotency_key="k"))
    assert not result.ok and not result.permanent and smtp_server.messages == []
