"""The outbound address guard: a URL somebody typed (a webhook subscription, a developer's own Slack
webhook) may not reach loopback, link-local, private or reserved addresses in any spelling, when
it is saved and again when it is sent; the connection goes to the address that was checked
(DNS rebinding), redirects are never followed, OUTBOUND_ALLOWED_NETWORKS allows networks on
purpose, and the operator's own endpoints are not checked.

These tests run without the loopback allowance of the test settings (``no_allowance``) unless
they say otherwise: the local receivers listen on 127.0.0.1.
"""
from __future__ import annotations

import html
import json
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import AuditEvent, ErrorNotification
from app.notify import subscriptions as webhooks_out
from app.notify.channels import guard
from app.notify.channels.base import Message
from app.notify.channels.slack import SlackChannel
from app.notify.channels.sms import SmsChannel
from app.notify.channels.webhook import WebhookChannel
from app.notify.subscriptions import WebhookError
from tests.factories import ingest, make_developer, make_service
from tests.receivers import configure_slack_api, configure_slack_webhook, configure_twilio, redirect_to

PASSWORD = "correct horse battery"
LOOPBACK = "127.0.0.0/8,::1/128"
# Every spelling of an internal address that the socket layer would connect to.
INTERNAL_HOSTS = [
    "127.0.0.1", "0x7f000001", "2130706433", "0177.0.0.1", "127.1", "0x7f.0.0.1", "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]", "[::1]", "[::127.0.0.1]", "[2002:7f00:1::1]", "[64:ff9b::7f00:1]", "localhost",
    "169.254.169.254", "[fe80::1]", "10.0.0.5", "172.16.3.4", "192.168.1.1", "100.64.0.1", "0.0.0.0", "[::]",
    "[fd00::1]", "224.0.0.1", "240.0.0.1",
]


@pytest.fixture
def no_allowance(app):
    app.config["OUTBOUND_ALLOWED_NETWORKS"] = ""


def webhook_message(url: str) -> Message:
    return Message(channel="webhook", to=url, payload={"event": "webhook.test"}, idempotency_key="guard-test",
                   event="webhook.test")


def with_port(host: str, port: int) -> str:
    return f"http://{host}:{port}/hook"


# --- save time ---------------------------------------------------------------------------------

@pytest.mark.parametrize("host", INTERNAL_HOSTS)
def test_a_subscription_to_an_internal_address_is_refused_whatever_its_spelling(app, no_allowance, host):
    with pytest.raises(WebhookError) as refused:
        webhooks_out.create_subscription("inside", f"http://{host}/hook", ["error.created"], None)
    assert refused.value.field == "url"
    assert "outbound requests go to public addresses only" in refused.value.message
    assert "OUTBOUND_ALLOWED_NETWORKS" in refused.value.message


def test_the_same_message_on_every_way_in(app, client, no_allowance, service):
    url = "http://0x7f000001/hook"
    with pytest.raises(WebhookError) as refused:
        webhooks_out.create_subscription("inside", url, ["error.created"], None)
    message = refused.value.message
    assert message == ("the URL points at a loopback address, 0x7f000001 (127.0.0.1); outbound requests go to "
                       "public addresses only (an operator allows other networks with OUTBOUND_ALLOWED_NETWORKS)")
    subscription, _ = webhooks_out.create_subscription("public", "https://93.184.216.34/hook", ["error.created"], None)
    with pytest.raises(WebhookError) as changed:
        webhooks_out.update_subscription(subscription, None, url=url)
    assert changed.value.message == message

    admin = make_developer("Ada Admin", role="admin")
    assert client.post("/login", data={"email": admin.email, "password": PASSWORD}).status_code == 303
    form = client.post("/settings/webhooks", data={"name": "inside", "url": url, "events": ["error.created"]})
    assert form.status_code == 400 and html.escape(message) in form.get_data(as_text=True)
    preferences = client.post("/preferences", data={"channels_critical": ["email"], "slack_webhook_url": url})
    assert preferences.status_code == 400 and html.escape(message) in preferences.get_data(as_text=True)
    assert admin.slack_webhook_url is None
    assert [s.name for s in webhooks_out.subscriptions()] == ["public"]


def test_public_addresses_and_allowed_networks_are_accepted(app, no_allowance):
    webhooks_out.create_subscription("public", "https://93.184.216.34/hook", ["error.created"], None)
    webhooks_out.create_subscription("v6", "https://[2606:4700::1111]/hook", ["error.created"], None)
    webhooks_out.create_subscription("unknown name", "https://hooks.example.test/in", ["error.created"], None)
    app.config["OUTBOUND_ALLOWED_NETWORKS"] = "10.20.0.0/16, fd00::/8"
    webhooks_out.create_subscription("office", "http://10.20.1.2/hook", ["error.created"], None)
    webhooks_out.create_subscription("office v6", "http://[fd00::7]/hook", ["error.created"], None)
    with pytest.raises(WebhookError):
        webhooks_out.create_subscription("not allowed", "http://10.21.0.1/hook", ["error.created"], None)
    with pytest.raises(WebhookError):
        webhooks_out.create_subscription("loopback still", "http://127.0.0.1/hook", ["error.created"], None)


def test_an_allowed_network_covers_the_ipv4_an_ipv6_address_carries():
    loopback = guard.parse_networks(LOOPBACK)
    assert guard.refusal(guard.ipaddress.ip_address("::ffff:127.0.0.1"), loopback) is None
    assert guard.refusal(guard.ipaddress.ip_address("::ffff:127.0.0.1")) == "loopback"
    assert guard.refusal(guard.ipaddress.ip_address("::ffff:93.184.216.34")) is None
    assert guard.refusal(guard.ipaddress.ip_address("2002:7f00:1::1")) == "loopback"
    assert guard.refusal(guard.ipaddress.ip_address("93.184.216.34")) is None


def test_a_network_that_is_not_a_cidr_stops_the_start(tmp_path):
    with pytest.raises(RuntimeError, match="OUTBOUND_ALLOWED_NETWORKS: 'office' is not a network"):
        create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'x.db'}",
                   OUTBOUND_ALLOWED_NETWORKS="10.0.0.0/8,office")


# --- send time ---------------------------------------------------------------------------------

def test_loopback_is_refused_at_send_time_without_the_allowance(app, no_allowance, webhook_receiver):
    result = WebhookChannel().send(webhook_message(f"{webhook_receiver.url}/hook"))
    assert not result.ok and result.permanent
    assert "not sent: the URL points at a loopback address, 127.0.0.1" in result.detail
    assert webhook_receiver.requests == []


@pytest.mark.parametrize("host", ["127.0.0.1", "0x7f000001", "2130706433", "0177.0.0.1", "127.1",
                                  "[::ffff:127.0.0.1]", "localhost"])
def test_every_spelling_of_loopback_is_refused_at_send_time(app, no_allowance, webhook_receiver, host):
    result = WebhookChannel().send(webhook_message(with_port(host, webhook_receiver.server.port)))
    assert not result.ok and result.permanent and "loopback" in result.detail, result.detail
    assert webhook_receiver.requests == []


@pytest.mark.parametrize("host", ["0x7f000001", "2130706433", "0177.0.0.1"])
def test_the_odd_spellings_do_reach_loopback_once_it_is_allowed(app, webhook_receiver, host):
    # What the guard checks is what the socket would reach: these spellings are 127.0.0.1.
    result = WebhookChannel().send(webhook_message(with_port(host, webhook_receiver.server.port)))
    assert result.ok, result.detail
    assert len(webhook_receiver.wait_for(1)) == 1


def test_a_subscription_saved_while_allowed_is_refused_at_send_time_once_it_is_not(app, client, webhook_receiver):
    webhooks_out.create_subscription("local", f"{webhook_receiver.url}/hook", ["error.created"], None)
    app.config["OUTBOUND_ALLOWED_NETWORKS"] = ""
    response = ingest(client, make_service(), {"error_type": "Inside", "message": "x", "severity": "high"})
    assert response.status_code == 201
    (row,) = db.session.execute(select(ErrorNotification).where(ErrorNotification.channel == "webhook")).scalars()
    db.session.refresh(row)
    assert row.status == "failed" and "loopback" in row.last_error
    assert [(a.outcome, a.answer_status) for a in row.attempts] == [("failed", None)]
    assert webhook_receiver.requests == []


def test_a_personal_slack_webhook_on_loopback_is_refused_but_the_operators_is_not(app, no_allowance, slack_receiver):
    configure_slack_webhook(app.config, slack_receiver)
    slack = SlackChannel.from_config(app.config)
    team = slack.send(Message(channel="slack", to=app.config["SLACK_WEBHOOK_URL"], text="team"))
    personal = slack.send(Message(channel="slack", to=f"{slack_receiver.url}/services/T/B/personal", text="mine"))
    assert team.ok, team.detail
    assert not personal.ok and personal.permanent and "loopback" in personal.detail
    assert [r["path"] for r in slack_receiver.wait_for(1)] == ["/services/T000/B000/secret-token"]


def test_the_operators_own_endpoints_are_not_checked(app, no_allowance, slack_receiver, twilio_receiver, smtp_server):
    configure_slack_api(app.config, slack_receiver)
    slack_receiver.script((200, {"ok": True, "ts": "1700000000.000100", "channel": "C0INCIDENTS"}))
    configure_twilio(app.config, twilio_receiver)
    smtp_server.configure(app.config)
    from app.notify.channels.email import EmailChannel

    assert SlackChannel.from_config(app.config).send(Message(channel="slack", to="C0INCIDENTS", text="hi")).ok
    assert SmsChannel.from_config(app.config).send(Message(channel="sms", to="+41790000001", text="hi")).ok
    assert EmailChannel.from_config(app.config).send(Message(channel="email", to="ops@example.test", subject="hi",
                                                             text="hi", idempotency_key="k")).ok


# --- DNS rebinding: the connection goes to the address that was checked ---------------------------

@pytest.fixture
def resolver(monkeypatch):
    """Stands in for a DNS server for names under .rebind.test: ``answers[name]`` is the list of
    addresses it gives, one per lookup (the last repeats); other names go to the real resolver."""
    real = socket.getaddrinfo
    answers: dict[str, list[str]] = {}
    lookups: list[str] = []

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        if not (name or "").endswith(".rebind.test"):
            return real(host, port, family, type, proto, flags)
        lookups.append(name)
        queue = answers[name]
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        return real(address, port, family, type, proto, socket.AI_NUMERICHOST)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers, lookups


def test_a_name_public_when_saved_and_loopback_when_sent_is_refused(app, client, no_allowance, webhook_receiver,
                                                                      resolver):
    answers, lookups = resolver
    answers["hooks.rebind.test"] = ["93.184.216.34", "127.0.0.1"]
    url = f"http://hooks.rebind.test:{webhook_receiver.server.port}/hook"
    webhooks_out.create_subscription("rebinding", url, ["error.created"], None)  # public at save time

    response = ingest(client, make_service(), {"error_type": "Rebound", "message": "x", "severity": "high"})
    assert response.status_code == 201
    (row,) = db.session.execute(select(ErrorNotification).where(ErrorNotification.channel == "webhook")).scalars()
    db.session.refresh(row)
    assert row.status == "failed"
    assert "loopback address, hooks.rebind.test (127.0.0.1)" in row.last_error
    assert lookups == ["hooks.rebind.test", "hooks.rebind.test"]
    assert webhook_receiver.requests == []


def test_the_connection_goes_to_the_address_that_was_checked(app, webhook_receiver, resolver):
    answers, lookups = resolver
    # A second lookup would answer an address nothing listens on: the send must not make one.
    answers["pinned.rebind.test"] = ["127.0.0.1", "192.0.2.1"]
    port = webhook_receiver.server.port
    result = WebhookChannel(timeout=3).send(webhook_message(f"http://pinned.rebind.test:{port}/hook"))
    assert result.ok, result.detail
    assert lookups == ["pinned.rebind.test"]
    (request,) = webhook_receiver.wait_for(1)
    assert request["headers"]["Host"] == f"pinned.rebind.test:{port}"


def test_a_name_with_one_internal_address_among_public_ones_is_refused(app, no_allowance, monkeypatch):
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "mixed.rebind.test":
            return real("93.184.216.34", port, type=socket.SOCK_STREAM) + real("10.0.0.8", port, type=socket.SOCK_STREAM)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(guard.AddressRefused, match="private address, mixed.rebind.test"):
        guard.connect_checked("mixed.rebind.test", 80, 1)


def test_connect_checked_refuses_localhost_unless_loopback_is_allowed(webhook_receiver):
    port = webhook_receiver.server.port
    with pytest.raises(guard.AddressRefused, match="loopback address, localhost"):
        guard.connect_checked("localhost", port, 2)
    sock = guard.connect_checked("localhost", port, 2, guard.parse_networks(LOOPBACK))
    try:
        assert sock.getpeername()[0] in ("127.0.0.1", "::1")
    finally:
        sock.close()


def _self_signed(tmp_path, name: str):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}"],
                   check=True, capture_output=True, timeout=60)
    return key, cert


def test_https_to_the_checked_address_keeps_the_name_for_sni_and_the_certificate(tmp_path, resolver):
    answers, lookups = resolver
    name = "tls.rebind.test"
    answers[name] = ["127.0.0.1", "192.0.2.1"]
    key, cert = _self_signed(tmp_path, name)
    seen: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            seen["host"] = self.headers["Host"]
            self.rfile.read(int(self.headers["Content-Length"] or 0))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    def remember_sni(sock, server_name, context):
        seen.setdefault("sni", []).append(server_name)

    server_context.sni_callback = remember_sni
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client_context = ssl.create_default_context(cafile=str(cert))
        connection = guard.CheckedHTTPSConnection(name, server.server_port, timeout=5, context=client_context,
                                                  allowed=guard.parse_networks(LOOPBACK))
        connection.request("POST", "/hook", body=b"{}", headers={"Content-Type": "application/json"})
        assert connection.getresponse().status == 200
        connection.close()
        # The certificate is checked against the name, not the address connected to.
        with pytest.raises(ssl.SSLCertVerificationError):
            other = guard.CheckedHTTPSConnection("127.0.0.1", server.server_port, timeout=5, context=client_context,
                                                 allowed=guard.parse_networks(LOOPBACK))
            other.request("POST", "/hook", body=b"{}")
    finally:
        server.shutdown()
        thread.join(5)
    assert seen["sni"][0] == name and seen["host"] == f"{name}:{server.server_port}"
    assert lookups == [name]


# --- redirects -----------------------------------------------------------------------------------

def test_a_redirect_is_not_followed_even_to_an_allowed_address(app, webhook_receiver, elsewhere):
    redirect_to(webhook_receiver, elsewhere, 307)
    result = WebhookChannel().send(webhook_message(f"{webhook_receiver.url}/hook"))
    assert not result.ok and result.permanent and "answered 307: redirect to http://127.0.0.1:" in result.detail
    assert elsewhere.requests == []


def test_a_redirect_to_the_metadata_address_is_not_followed(app, webhook_receiver):
    webhook_receiver.script((302, "moved", 0.0, {"Location": "http://169.254.169.254/latest/meta-data/"}))
    result = WebhookChannel(timeout=3).send(webhook_message(f"{webhook_receiver.url}/hook"))
    assert not result.ok and "redirect to http://169.254.169.254 refused" in result.detail
    assert len(webhook_receiver.requests) == 1


# --- what is kept of a receiver's answer -------------------------------------------------------------

def test_only_a_short_excerpt_of_the_answer_is_kept_and_never_in_the_reason(app, client, webhook_receiver):
    body = "<script>alert(1)</script>\n" + "stack trace line\n" * 200
    webhook_receiver.script((500, body))
    webhooks_out.create_subscription("noisy", f"{webhook_receiver.url}/hook", ["error.created"], None)
    ingest(client, make_service(), {"error_type": "Noisy", "message": "x", "severity": "high"})
    (row,) = db.session.execute(select(ErrorNotification).where(ErrorNotification.channel == "webhook")).scalars()
    db.session.refresh(row)
    assert row.last_error == "webhook receiver answered 500"
    (attempt,) = row.attempts
    assert attempt.answer.startswith("<script>alert(1)</script> stack trace line") and len(attempt.answer) <= 200
    assert "\n" not in attempt.answer


def test_the_test_send_shows_the_excerpt_to_the_admin_and_keeps_it_out_of_the_audit_trail(app, client,
                                                                                           webhook_receiver):
    webhook_receiver.script((500, "<i>secret internal detail</i>"))
    subscription, _ = webhooks_out.create_subscription("bot", f"{webhook_receiver.url}/hook", ["error.created"], None)
    admin = make_developer("Ada Admin", role="admin")
    assert client.post("/login", data={"email": admin.email, "password": PASSWORD}).status_code == 303
    page = client.post(f"/settings/webhooks/{subscription.id}", data={"action": "test"})
    text = page.get_data(as_text=True)
    assert page.status_code == 502 and "webhook receiver answered 500" in text
    assert html.escape("<i>secret internal detail</i>") in text and "<i>secret" not in text
    audit = json.dumps([a.details for a in db.session.execute(select(AuditEvent)
                                                                .where(AuditEvent.action == "webhook.tested")).scalars()])
    assert "secret internal detail" not in audit and '"status": 500' in audit

    with pytest.raises(WebhookError) as refused:
        webhooks_out.send_test(subscription, make_developer("Lee Lead", role="lead"))
    assert "answered 500" in refused.value.message and "secret internal detail" not in refused.value.message
