"""Slack's buttons and slash command, posted as Slack posts them (signed with the signing secret) to
the running app; the message Heartwatch posted is updated in place through the response_url."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, ErrorAcknowledgement, ErrorLog
from app.notify.inbound import slack_signature
from tests.factories import ingest, make_developer, make_service
from tests.notify.slack_wire import SIGNING_SECRET, block_actions, buttons, signed_headers, slash_command
from tests.receivers import configure_slack_webhook

ACTIONS = "/webhook/slack/actions/"
COMMANDS = "/webhook/slack/commands/"


@pytest.fixture
def posted(app, client, slack_receiver, smtp_server):
    """A high error posted to the team's Slack channel, with the answer buttons; Lena's member id is stored."""
    smtp_server.configure(app.config)
    configure_slack_webhook(app.config, slack_receiver)
    app.config["SLACK_SIGNING_SECRET"] = SIGNING_SECRET
    service = make_service("Checkout")
    lena = make_developer("Lena Lead", email="lena@example.test", role="lead", services=[service], on_call=True)
    lena.slack_member_id = "U0LENA001"
    db.session.commit()
    answer = ingest(client, service, {"error_type": "Timeout", "message": "upstream timed out", "severity": "high"})
    error_id = answer.json["error_id"]
    (message,) = slack_receiver.json_bodies()
    slack_receiver.requests.clear()
    return error_id, lena, message, f"{slack_receiver.url}/actions/T0HEART/1234/response-secret"


def acked(error_id: str) -> int:
    return db.session.execute(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.error_id == error_id, AuditEvent.action == "error.acknowledged")).scalar_one()


def test_the_signature_is_slack_s_documented_example():
    body = (b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
            b"channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
            b"response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
            b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
    assert slack_signature(SIGNING_SECRET, "1531420618", body) == \
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_the_message_carries_the_answer_buttons(posted):
    error_id, _, message, _ = posted
    assert buttons(message) == {"open_error": None, "hw_acknowledge": error_id, "hw_resolve": error_id,
                                "hw_assign_to_me": error_id}


def test_acknowledge_button_acts_as_the_clicker_and_updates_the_message(client, posted, slack_receiver):
    error_id, lena, message, response_url = posted
    body = block_actions(message, "hw_acknowledge", error_id, user_id="U0LENA001", response_url=response_url)
    answer = client.post(ACTIONS, data=body, headers=signed_headers(body))
    assert answer.status_code == 200 and answer.data == b""

    row = db.session.get(ErrorAcknowledgement, error_id)
    assert (row.developer_id, row.via) == (lena.id, "slack")
    (update,) = slack_receiver.wait_for(1)
    assert update["path"] == "/actions/T0HEART/1234/response-secret"
    replaced = slack_receiver.json_bodies()[0]
    assert replaced["replace_original"] is True
    assert "Acknowledged by Lena Lead" in str(replaced["attachments"][0]["blocks"][-1])
    assert "hw_resolve" in buttons(replaced)  # still open: the other answers stay


def test_resolve_button_resolves_and_the_buttons_go(client, posted, slack_receiver):
    error_id, lena, message, response_url = posted
    body = block_actions(message, "hw_resolve", error_id, user_id="U0LENA001", response_url=response_url)
    assert client.post(ACTIONS, data=body, headers=signed_headers(body)).status_code == 200
    error = db.session.get(ErrorLog, error_id)
    db.session.refresh(error)
    assert (error.status, error.resolved_by_id) == ("resolved", lena.id)
    slack_receiver.wait_for(1)
    assert buttons(slack_receiver.json_bodies()[0]) == {"open_error": None}


def test_assign_to_me_button(client, posted):
    error_id, _, message, response_url = posted
    other = make_developer("Sam Second", email="sam@example.test", role="lead")
    other.slack_member_id = "U0SAM0002"
    db.session.commit()
    body = block_actions(message, "hw_assign_to_me", error_id, user_id="U0SAM0002", response_url=response_url)
    assert client.post(ACTIONS, data=body, headers=signed_headers(body)).status_code == 200
    error = db.session.get(ErrorLog, error_id)
    db.session.refresh(error)
    assert error.assigned_to_id == other.id


@pytest.mark.parametrize("headers", [
    lambda body: signed_headers(body, secret="not-the-secret"),
    lambda body: signed_headers(body, timestamp=int(time.time()) - 6 * 60),
    lambda body: {**signed_headers(body), "X-Slack-Signature": ""},
    lambda body: {"Content-Type": "application/x-www-form-urlencoded"},
])
def test_bad_or_stale_signatures_are_refused_and_change_nothing(client, posted, slack_receiver, headers):
    error_id, _, message, response_url = posted
    body = block_actions(message, "hw_acknowledge", error_id, user_id="U0LENA001", response_url=response_url)
    answer = client.post(ACTIONS, data=body, headers=headers(body))
    assert answer.status_code == 401 and answer.json["error"]["message"]
    assert acked(error_id) == 0 and slack_receiver.requests == []


def test_a_replayed_body_with_another_timestamp_is_refused(client, posted):
    error_id, _, message, response_url = posted
    body = block_actions(message, "hw_acknowledge", error_id, user_id="U0LENA001", response_url=response_url)
    stale = signed_headers(body, timestamp=int(time.time()) - 10 * 60)
    fresh_ts = {**stale, "X-Slack-Request-Timestamp": str(int(time.time()))}
    assert client.post(ACTIONS, data=body, headers=fresh_ts).status_code == 401
    assert acked(error_id) == 0


def test_someone_slack_does_not_know_is_told_and_nothing_changes(client, posted, slack_receiver):
    error_id, _, message, response_url = posted
    body = block_actions(message, "hw_acknowledge", error_id, user_id="U0STRANGER", response_url=response_url)
    assert client.post(ACTIONS, data=body, headers=signed_headers(body)).status_code == 200
    assert acked(error_id) == 0
    slack_receiver.wait_for(1)
    note = slack_receiver.json_bodies()[0]
    assert note["response_type"] == "ephemeral" and "not linked" in note["text"]


def test_without_a_signing_secret_the_endpoints_are_off(app, client, posted):
    app.config["SLACK_SIGNING_SECRET"] = None
    body = slash_command("oncall checkout", user_id="U0LENA001", response_url="https://hooks.slack.com/x")
    assert client.post(COMMANDS, data=body, headers=signed_headers(body)).status_code == 503


def test_slash_command_acknowledges_by_short_reference(client, posted):
    error_id, lena, _, response_url = posted
    body = slash_command(f"ack {error_id[:8]}", user_id="U0LENA001", response_url=response_url)
    answer = client.post(COMMANDS, data=body, headers=signed_headers(body))
    assert answer.status_code == 200 and answer.json["response_type"] == "in_channel"
    assert "Acknowledged by Lena Lead" in answer.json["text"]
    assert db.session.get(ErrorAcknowledgement, error_id).developer_id == lena.id


def test_slash_command_tells_who_is_on_call(client, posted):
    _, _, _, response_url = posted
    body = slash_command("oncall Checkout", user_id="U0LENA001", response_url=response_url)
    answer = client.post(COMMANDS, data=body, headers=signed_headers(body))
    assert answer.json == {"response_type": "ephemeral", "replace_original": False,
                           "text": "On call for Checkout now: Lena Lead."}
    body = slash_command("dance", user_id="U0LENA001", response_url=response_url)
    assert "Usage" in client.post(COMMANDS, data=body, headers=signed_headers(body)).json["text"]
