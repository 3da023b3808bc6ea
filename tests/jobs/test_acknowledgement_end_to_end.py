"""End to end, on the real channels' local receivers: a critical error is told (step one), escalated to
the lead when nobody acknowledges it (step two), and an acknowledgement from the lead by the Slack
button, the e-mail link or an SMS reply stops the chain: nothing more is sent until it lapses."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from sqlalchemy import func, select

from app.extensions import db
from app.models import ErrorAcknowledgement, ErrorNotification
from app.platform import settings
from tests.jobs.events import record_events
from tests.jobs.test_escalation import T0, at, escalation_rows
from tests.notify.slack_wire import SIGNING_SECRET, block_actions, signed_headers
from tests.notify.test_sms_answers import inbound_sms, signature

LEAD_PHONE = "+41790000010"


def sent() -> int:
    return db.session.execute(select(func.count()).select_from(ErrorNotification)).scalar_one()


def acknowledge_by_slack(app, client, error_id, slack_receiver, smtp_server, twilio_receiver):
    (post,) = [b for b in slack_receiver.json_bodies() if "escalated, level 1" in str(b)]
    body = block_actions(post, "hw_acknowledge", error_id, user_id="U0LENA001",
                         response_url=f"{slack_receiver.url}/actions/T0HEART/1/secret")
    assert client.post("/webhook/slack/actions/", data=body, headers=signed_headers(body)).status_code == 200


def acknowledge_by_email(app, client, error_id, slack_receiver, smtp_server, twilio_receiver):
    (mail,) = [m for m in smtp_server.to("lena@example.test") if "escalated" in m["Subject"]]
    text = mail.get_body(("plain",)).get_content()
    url = re.search(r"^  Acknowledge: (http\S+)", text, re.M).group(1)
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    assert client.get(path).status_code == 200
    assert db.session.get(ErrorAcknowledgement, error_id) is None  # opening the link is not acknowledging
    assert client.post(path).status_code == 200


def acknowledge_by_sms(app, client, error_id, slack_receiver, smtp_server, twilio_receiver):
    (text,) = [r["form"]["Body"] for r in twilio_receiver.requests
               if r["form"]["To"] == LEAD_PHONE and "escalated, level 1" in r["form"]["Body"]]
    ref = re.search(r"Reply ACK (\w+)", text).group(1)
    params = inbound_sms(LEAD_PHONE, f"ACK {ref}")
    url = app.config["BASE_URL"] + "/webhook/twilio/sms/"
    answer = client.post("/webhook/twilio/sms/", data=params, headers={"X-Twilio-Signature": signature(url, params)})
    assert b"Acknowledged by Lena Lead" in answer.data


@pytest.mark.parametrize("acknowledge", [acknowledge_by_slack, acknowledge_by_email, acknowledge_by_sms],
                         ids=["slack", "email", "sms"])
def test_an_acknowledgement_stops_the_chain_and_nothing_more_is_sent(app, client, team, slack_receiver, smtp_server,
                                                                     twilio_receiver, acknowledge):
    service, lead, admins = team
    app.config["SLACK_SIGNING_SECRET"] = SIGNING_SECRET
    settings.update_setting("escalate_critical_after_minutes", 20, None)
    settings.update_setting("ack_timeout_minutes", 240, None)
    (result,) = record_events(service, severity="critical", at=T0)
    assert sent() > 0  # step one: the on-call developer and the team channel are told

    assert at(dt.timedelta(minutes=19)) == []
    assert len(at(dt.timedelta(minutes=21))) == 1  # nobody acknowledged: step two, the lead
    (level1,) = escalation_rows(result.error_id)
    assert level1.escalated_to_id == lead.id

    with time_machine.travel(T0 + dt.timedelta(minutes=25), tick=False):
        acknowledge(app, client, result.error_id, slack_receiver, smtp_server, twilio_receiver)
    assert db.session.get(ErrorAcknowledgement, result.error_id).developer_id == lead.id
    before = (sent(), len(smtp_server.messages), len(twilio_receiver.requests),
              len([r for r in slack_receiver.requests if "/services/" in r["path"]]))

    for minutes in (42, 60, 120, 240):  # level 2 was due 20 minutes after level 1
        assert at(dt.timedelta(minutes=minutes)) == []
    assert [e.level for e in escalation_rows(result.error_id)] == [1]
    after = (sent(), len(smtp_server.messages), len(twilio_receiver.requests),
             len([r for r in slack_receiver.requests if "/services/" in r["path"]]))
    assert after == before  # nothing more was sent to anyone

    # Four hours without progress: the acknowledgement lapses and the chain goes on to the admins.
    assert len(at(dt.timedelta(minutes=25 + 241))) == 1
    assert [e.level for e in escalation_rows(result.error_id)] == [1, 2]
