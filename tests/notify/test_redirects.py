"""A receiver that answers with a redirect has not received the message: every HTTP channel
(webhooks, Slack, Twilio) records the redirect as a failure with its reason and never follows it."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ErrorLog, ErrorNotification
from app.notify import subscriptions as webhooks_out
from app.notify.channels.base import Message
from app.notify.channels.slack import SlackChannel
from app.notify.channels.sms import SmsChannel
from app.notify.channels.webhook import WebhookChannel
from tests.factories import ingest, make_developer, make_service
from tests.receivers import configure_slack_webhook, redirect_to


def record(client, service, severity="high"):
    response = ingest(client, service, {"error_type": "Redirected", "message": "moved", "severity": severity})
    assert response.status_code == 201, response.json
    return db.session.get(ErrorLog, response.json["error_id"])


def only_row(channel: str) -> ErrorNotification:
    (row,) = db.session.execute(select(ErrorNotification).where(ErrorNotification.channel == channel)).scalars()
    db.session.refresh(row)
    return row


def assert_refused(row: ErrorNotification, elsewhere) -> None:
    assert row.status in ("failed", "retrying") and row.sent_at is None
    assert "302" in row.last_error and "redirect to" in row.last_error and "refused" in row.last_error
    assert "/moved" not in row.last_error and "secret" not in row.last_error  # a path can carry a token
    assert elsewhere.requests == []


def test_a_webhook_subscription_answering_302_is_not_recorded_as_sent(app, client, webhook_receiver, elsewhere):
    service = make_service()
    webhooks_out.create_subscription("moved", f"{webhook_receiver.url}/hook", ["error.created"], None)
    redirect_to(webhook_receiver, elsewhere)

    record(client, service)

    assert len(webhook_receiver.wait_for(1)) == 1
    assert_refused(only_row("webhook"), elsewhere)


def test_a_slack_webhook_answering_302_is_not_recorded_as_sent(app, client, slack_receiver, elsewhere):
    configure_slack_webhook(app.config, slack_receiver)
    make_developer(services=[service := make_service()], on_call=True)
    redirect_to(slack_receiver, elsewhere)

    record(client, service)

    assert len(slack_receiver.wait_for(1)) == 1
    assert_refused(only_row("slack"), elsewhere)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_every_http_channel_refuses_every_redirect(app, slack_receiver, twilio_receiver, webhook_receiver, elsewhere,
                                                   status):
    for receiver in (slack_receiver, twilio_receiver, webhook_receiver):
        redirect_to(receiver, elsewhere, status)
    results = {
        "slack webhook": SlackChannel().send(Message(channel="slack", to=f"{slack_receiver.url}/services/T/B/x",
                                                     text="hi")),
        "slack api": SlackChannel(bot_token="xoxb-1", channel="C0INCIDENTS", api_base=f"{slack_receiver.url}/api")
        .send(Message(channel="slack", to="C0INCIDENTS", text="hi")),
        "twilio": SmsChannel("AC1", "token", "+15005550006", api_base=twilio_receiver.url)
        .send(Message(channel="sms", to="+41790000001", text="hi")),
        "webhook": WebhookChannel().send(Message(channel="webhook", to=f"{webhook_receiver.url}/hook", payload={},
                                                 idempotency_key="k", event="error.created")),
    }
    for name, result in results.items():
        assert not result.ok, name
        assert f"answered {status}: redirect to http://127.0.0.1:" in result.detail and "refused" in result.detail, name
    assert elsewhere.requests == []
