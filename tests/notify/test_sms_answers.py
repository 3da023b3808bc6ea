"""SMS replies as Twilio's inbound webhook posts them: a form signed with X-Twilio-Signature (base64
HMAC-SHA1 of the full URL and the sorted parameters, keyed by the auth token), answered with TwiML."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, ErrorAcknowledgement, ErrorLog
from app.notify.inbound import twilio_signature
from tests.factories import ingest, make_developer, make_service
from tests.receivers import configure_twilio

PATH = "/webhook/twilio/sms/"
AUTH_TOKEN = "twilio-secret-token"  # configure_twilio's


def inbound_sms(sender: str, text: str) -> dict:
    """The parameters Twilio posts for an incoming message."""
    return {"ToCountry": "US", "ToState": "CA", "SmsMessageSid": "SM1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c",
            "NumMedia": "0", "ToCity": "", "FromZip": "", "SmsSid": "SM1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c",
            "FromState": "", "SmsStatus": "received", "FromCity": "", "Body": text, "FromCountry": "CH",
            "To": "+15005550006", "ToZip": "", "NumSegments": "1", "MessageSid": "SM1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c",
            "AccountSid": "AC0123456789", "From": sender, "ApiVersion": "2010-04-01"}


def signature(url: str, params: dict, token: str = AUTH_TOKEN) -> str:
    """Twilio's documented algorithm, written out here apart from Heartwatch's."""
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


@pytest.fixture
def texted(app, client, twilio_receiver, smtp_server):
    """A critical error texted to the on-call developer."""
    smtp_server.configure(app.config)
    configure_twilio(app.config, twilio_receiver)
    service = make_service("Payments")
    developer = make_developer("Ola Oncall", email="ola@example.test", services=[service], on_call=True,
                               phone="+41 79 000 00 10")
    answer = ingest(client, service, {"error_type": "CardDeclined", "message": "no", "severity": "critical"})
    (sms,) = twilio_receiver.wait_for(1)
    return answer.json["error_id"], developer, sms["form"]["Body"]


def post(client, app, params: dict, sig: str | None = None):
    url = app.config["BASE_URL"] + PATH
    return client.post(PATH, data=params, headers={"X-Twilio-Signature": sig or signature(url, params)})


def test_the_signature_is_twilio_s_documented_example():
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234", "From": "+12349013030",
              "To": "+18005551212"}
    assert twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", list(params.items())) == \
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_the_sms_says_how_to_answer(texted):
    error_id, _, body = texted
    assert f"Reply ACK {error_id[:8]}" in body and len(body) <= 160


def test_ack_reply_acknowledges_and_answers_twiml(app, client, texted):
    error_id, developer, body = texted
    ref = re.search(r"Reply ACK (\w+)", body).group(1)
    answer = post(client, app, inbound_sms("+41790000010", f"ack {ref}"))
    assert answer.status_code == 200 and answer.mimetype == "text/xml"
    assert answer.data.decode() == ('<?xml version="1.0" encoding="UTF-8"?><Response><Message>Acknowledged by '
                                    'Ola Oncall: the escalation waits.</Message></Response>')
    row = db.session.get(ErrorAcknowledgement, error_id)
    assert (row.developer_id, row.via) == (developer.id, "sms")


def test_resolve_reply_resolves(app, client, texted):
    error_id, developer, _ = texted
    assert post(client, app, inbound_sms("+41790000010", f"RESOLVE {error_id[:8]}")).status_code == 200
    error = db.session.get(ErrorLog, error_id)
    db.session.refresh(error)
    assert (error.status, error.resolved_by_id) == ("resolved", developer.id)


@pytest.mark.parametrize("tamper", ["token", "body", "missing"])
def test_bad_signatures_are_refused_and_change_nothing(app, client, texted, tamper):
    error_id, _, _ = texted
    params = inbound_sms("+41790000010", f"ACK {error_id[:8]}")
    url = app.config["BASE_URL"] + PATH
    if tamper == "token":
        answer = post(client, app, params, signature(url, params, token="wrong"))
    elif tamper == "body":
        answer = post(client, app, {**params, "Body": f"RESOLVE {error_id[:8]}"}, signature(url, params))
    else:
        answer = client.post(PATH, data=params)
    assert answer.status_code == 403
    assert db.session.get(ErrorAcknowledgement, error_id) is None
    assert db.session.get(ErrorLog, error_id).status != "resolved"


def test_an_unknown_number_or_a_garbled_reply_changes_nothing(app, client, texted):
    error_id, _, _ = texted
    assert b"not a Heartwatch developer" in post(client, app, inbound_sms("+15550000000", f"ACK {error_id[:8]}")).data
    assert b"Reply ACK" in post(client, app, inbound_sms("+41790000010", "thanks!")).data
    assert b"no error" in post(client, app, inbound_sms("+41790000010", "ACK ffffffff")).data
    assert db.session.execute(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "error.acknowledged")).scalar_one() == 0
