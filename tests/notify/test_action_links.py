"""The one-click links of notification e-mails: read from a real message on the loopback SMTP server,
opened (GET changes nothing), used once (POST), refused when replayed, tampered with or expired."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, ErrorAcknowledgement, ErrorLog, UsedActionToken
from tests.factories import ingest, make_developer, make_service


@pytest.fixture
def mailed(app, client, smtp_server):
    """A critical error routed to an on-call developer, and the e-mail they got."""
    smtp_server.configure(app.config)
    service = make_service("Payments")
    developer = make_developer("Ola Oncall", email="ola@example.test", services=[service], on_call=True)
    answer = ingest(client, service, {"error_type": "CardDeclined", "message": "gateway said no", "severity": "critical"})
    assert answer.status_code == 201
    (mail,) = smtp_server.wait_for(1)
    return answer.json["error_id"], developer, mail


def links(mail) -> dict[str, str]:
    text = mail.get_body(("plain",)).get_content()
    found = dict(re.findall(r"^  (Acknowledge|Resolve|Snooze for an hour): (http\S+)", text, re.M))
    html = mail.get_body(("html",)).get_content()
    assert all(url in html for url in found.values())
    return found


def path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def actions(error_id: str, action: str) -> int:
    return db.session.execute(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.error_id == error_id, AuditEvent.action == action)).scalar_one()


def test_the_mail_offers_acknowledge_resolve_and_snooze_for_an_hour(mailed):
    _, _, mail = mailed
    assert sorted(links(mail)) == ["Acknowledge", "Resolve", "Snooze for an hour"]


def test_opening_a_link_changes_nothing_and_its_button_acts_once(client, mailed):
    error_id, developer, mail = mailed
    url = path(links(mail)["Acknowledge"])

    page = client.get(url)
    assert page.status_code == 200 and b'<form method="post">' in page.data and b"CardDeclined" in page.data
    assert page.headers["Cache-Control"] == "no-store"
    assert db.session.get(ErrorAcknowledgement, error_id) is None

    done = client.post(url)
    assert done.status_code == 200 and b"Acknowledged by Ola Oncall" in done.data
    assert db.session.get(ErrorAcknowledgement, error_id).developer_id == developer.id
    assert actions(error_id, "error.acknowledged") == 1

    replay = client.post(url)
    assert replay.status_code == 409 and b"used already" in replay.data
    assert client.get(url).status_code == 409
    assert actions(error_id, "error.acknowledged") == 1


def test_the_snooze_link_snoozes_for_an_hour_as_its_recipient_and_the_chain_waits(client, mailed):
    error_id, developer, mail = mailed
    before = dt.datetime.now(dt.timezone.utc)
    done = client.post(path(links(mail)["Snooze for an hour"]))
    assert done.status_code == 200 and b"Snoozed for an hour by Ola Oncall" in done.data
    error = db.session.get(ErrorLog, error_id)
    db.session.refresh(error)
    assert error.snoozed_at is not None and error.status != "resolved"
    assert dt.timedelta(minutes=59) < error.snoozed_until - before < dt.timedelta(minutes=61)
    assert actions(error_id, "error.snoozed") == 1


def test_the_resolve_link_resolves_as_its_recipient(client, mailed):
    error_id, developer, mail = mailed
    assert client.post(path(links(mail)["Resolve"])).status_code == 200
    error = db.session.get(ErrorLog, error_id)
    db.session.refresh(error)
    assert (error.status, error.resolved_by_id) == ("resolved", developer.id)


def test_a_tampered_link_does_nothing(client, mailed):
    error_id, _, mail = mailed
    url = path(links(mail)["Resolve"])
    forged = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    assert client.post(forged).status_code == 404
    assert client.post("/act/" + "x" * 600).status_code == 404
    assert db.session.get(ErrorLog, error_id).status != "resolved"
    assert db.session.execute(select(func.count()).select_from(UsedActionToken)).scalar_one() == 0


def test_an_expired_link_does_nothing(app, client, mailed):
    error_id, _, mail = mailed
    url = path(links(mail)["Acknowledge"])
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=app.config["ACTION_LINK_HOURS"], minutes=1)
    with time_machine.travel(later, tick=False):
        answer = client.post(url)
    assert answer.status_code == 410 and b"expired" in answer.data
    assert db.session.get(ErrorAcknowledgement, error_id) is None


def test_used_link_ids_are_kept_until_the_links_have_expired(app, client, mailed):
    from app.recording.retention import purge

    _, _, mail = mailed
    assert client.post(path(links(mail)["Acknowledge"])).status_code == 200
    now = dt.datetime.now(dt.timezone.utc)
    assert purge(now + dt.timedelta(hours=app.config["ACTION_LINK_HOURS"]))["used_action_links"] == 0
    assert purge(now + dt.timedelta(hours=app.config["ACTION_LINK_HOURS"] + 25))["used_action_links"] == 1
