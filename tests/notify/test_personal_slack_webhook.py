"""A developer's own Slack incoming webhook: set on their preferences page, checked like outbound
webhook URLs, never shown back or audited, and where their Slack notices go."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Developer, ErrorNotification
from tests.factories import ingest, make_developer

PASSWORD = "correct horse battery"
PERSONAL_PATH = "/services/T000/B000/personal-secret"


def login(client, developer):
    assert client.post("/login", data={"email": developer.email, "password": PASSWORD}).status_code == 303


def stored(developer) -> str | None:
    db.session.expire_all()
    return db.session.get(Developer, developer.id).slack_webhook_url


def test_a_high_error_reaches_the_personal_webhook_set_on_the_preferences_page(app, client, service, slack_receiver):
    developer = make_developer("Ada", services=[service], on_call=True)
    login(client, developer)
    url = f"{slack_receiver.url}{PERSONAL_PATH}"
    saved = client.post("/preferences", data={"channels_critical": ["email", "slack"], "channels_high": ["slack"],
                                              "slack_webhook_url": url})
    assert saved.status_code == 303
    assert stored(developer) == url
    page = client.get("/preferences").get_data(as_text=True)
    assert "personal-secret" not in page and "A personal Slack webhook is set" in page

    response = ingest(client, service, {"error_type": "CheckoutFailed", "message": "card declined", "severity": "high"})
    assert response.status_code == 201

    (request,) = slack_receiver.wait_for(1)
    assert request["path"] == PERSONAL_PATH
    assert "CheckoutFailed" in json.loads(request["body"])["text"]
    (row,) = db.session.execute(select(ErrorNotification).where(ErrorNotification.channel == "slack")).scalars()
    assert (row.status, row.recipient_id, row.recipient) == ("sent", developer.id, "Slack webhook of Ada")
    audit = json.dumps([a.details for a in db.session.execute(select(AuditEvent)).scalars()])
    assert "personal-secret" not in audit and "personal-secret" not in (row.last_error or "")


def test_saving_without_a_new_url_keeps_the_webhook_and_removing_it_clears_it(app, client, service):
    developer = make_developer(services=[service])
    login(client, developer)
    url = f"https://hooks.slack.example.test{PERSONAL_PATH}"
    assert client.post("/preferences", data={"channels_critical": ["slack"], "slack_webhook_url": url}).status_code == 303
    assert client.post("/preferences", data={"channels_critical": ["slack"], "slack_webhook_url": ""}).status_code == 303
    assert stored(developer) == url
    # Slack without a member id needs the personal webhook: it cannot be removed while Slack is chosen.
    refused = client.post("/preferences", data={"channels_critical": ["slack"], "remove_slack_webhook": "1"})
    assert refused.status_code == 400 and "Slack needs your member id" in refused.get_data(as_text=True)
    assert client.post("/preferences", data={"channels_critical": ["email"], "remove_slack_webhook": "1"}).status_code == 303
    assert stored(developer) is None


@pytest.mark.parametrize("url", ["ftp://hooks.example.test/x", "hooks.slack.com/services/T/B/x", "javascript:alert(1)",
                                 "https://", "https://hooks.example.test/" + "x" * 1100])
def test_a_url_that_outbound_webhooks_refuse_is_refused_here_too(app, client, service, url):
    developer = make_developer(services=[service])
    login(client, developer)
    response = client.post("/preferences", data={"channels_critical": ["email"], "slack_webhook_url": url})
    assert response.status_code == 400
    assert "the URL must be an http:// or https:// address" in response.get_data(as_text=True)
    assert stored(developer) is None


def test_a_url_longer_than_the_column_is_refused_with_the_limit(app, client, service):
    developer = make_developer(services=[service])
    login(client, developer)
    response = client.post("/preferences", data={"channels_critical": ["email"],
                                                 "slack_webhook_url": "https://hooks.example.test/" + "x" * 600})
    assert response.status_code == 400 and "512 characters at most" in response.get_data(as_text=True)
    assert stored(developer) is None
