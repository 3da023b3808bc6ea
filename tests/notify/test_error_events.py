"""An error event reaches the right people on the right channels, through real local servers."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, ErrorEventDispatch, ErrorLog, ErrorNotification
from app.models.types import utcnow
from app.notify import delivery
from app.notify import subscriptions as webhooks_out
from tests.factories import ApiClient, ingest, make_developer, make_service, make_token
from tests.receivers import configure_slack_api, configure_slack_webhook, configure_twilio


@pytest.fixture
def channels(app, smtp_server, slack_receiver, twilio_receiver):
    """E-mail, Slack (incoming webhook) and SMS all configured against the local receivers."""
    smtp_server.configure(app.config)
    configure_slack_webhook(app.config, slack_receiver)
    configure_twilio(app.config, twilio_receiver)
    return smtp_server, slack_receiver, twilio_receiver


def record(client, service, severity="critical", error_type="PaymentGatewayTimeout", message="gateway timed out", **extra):
    response = ingest(client, service, {"error_type": error_type, "message": message, "severity": severity,
                                        "endpoint": "/pay", **extra})
    assert response.status_code == 201, response.json
    return db.session.get(ErrorLog, response.json["error_id"])


def rows(**filters):
    stmt = select(ErrorNotification).order_by(ErrorNotification.id)
    for name, value in filters.items():
        stmt = stmt.where(getattr(ErrorNotification, name) == value)
    return list(db.session.execute(stmt).scalars())


def test_critical_error_reaches_the_on_call_developer_by_email_slack_and_sms(app, client, channels):
    smtp, slack, twilio = channels
    service = make_service("Billing API", platform="python")
    developer = make_developer("Ada", email="ada@example.test", services=[service], on_call=True, phone="+41790000001")

    error = record(client, service)

    messages = smtp.wait_for(1)
    assert [m["To"] for m in messages] == ["ada@example.test"]
    assert "CRITICAL" in messages[0]["Subject"] and "billing-api" in messages[0]["Subject"]
    assert "PaymentGatewayTimeout" in messages[0]["Subject"]
    assert f"/errors/{error.id}" in messages[0].get_body(("plain",)).get_content()
    assert len(slack.wait_for(1)) == 1 and len(twilio.wait_for(1)) == 1
    assert error.assigned_to_id == developer.id and error.status == "assigned"
    assert sorted((r.channel, r.status) for r in rows()) == [("email", "sent"), ("slack", "sent"), ("sms", "sent")]
    assert "Assigned to you" in messages[0].get_body(("plain",)).get_content()


def test_high_goes_by_email_and_slack_medium_by_email_and_low_stays_on_the_dashboard(app, client, channels):
    smtp, slack, twilio = channels
    service = make_service()
    make_developer(services=[service], on_call=True, phone="+41790000002", max_load=50)

    high = record(client, service, "high", error_type="HighError")
    medium = record(client, service, "medium", error_type="MediumError")
    low = record(client, service, "low", error_type="LowError")
    info = record(client, service, "info", error_type="InfoError")

    assert sorted(r.channel for r in rows(error_id=high.id)) == ["email", "slack"]
    assert [r.channel for r in rows(error_id=medium.id)] == ["email"]
    assert rows(error_id=low.id) == [] and rows(error_id=info.id) == []
    assert low.assigned_to_id is not None  # routed, just not pushed to anyone
    assert twilio.requests == []


def test_nobody_on_call_leaves_the_error_unassigned_records_why_and_tells_the_lead(app, client, channels):
    smtp, _, _ = channels
    lead = make_developer("Lena Lead", email="lena@example.test", role="lead")
    service = make_service("Geo API", lead=lead)
    make_developer("Off Duty", email="off@example.test", services=[service], on_call=False)

    error = record(client, service, "high")

    assert error.assigned_to_id is None and error.status == "new"
    reason = db.session.execute(select(AuditEvent).where(AuditEvent.action == "error.unrouted")).scalar_one()
    assert reason.error_id == error.id and reason.details["reason"] == "none of the service's developers is on call"
    mail = smtp.wait_for(1)[0]
    assert mail["To"] == "lena@example.test"
    assert "Nobody could be assigned (none of the service's developers is on call)" in mail.get_body(("plain",)).get_content()


def test_without_a_lead_the_managers_and_admins_are_told(app, client, channels):
    smtp, _, _ = channels
    manager = make_developer("Mia Manager", email="mia@example.test", role="manager")
    admin = make_developer("Al Admin", email="al@example.test", role="admin")
    make_developer("Dev", email="dev@example.test", role="developer")
    service = make_service("Mobile")

    record(client, service, "medium")

    assert sorted(m["To"] for m in smtp.wait_for(2)) == [admin.email, manager.email]


def test_full_developers_are_skipped_for_the_least_loaded(app, client, channels):
    service = make_service()
    busy = make_developer("Busy", services=[service], on_call=True, max_load=1)
    free = make_developer("Free", services=[service], on_call=True, max_load=5)

    first = record(client, service, "low", error_type="First")
    second = record(client, service, "low", error_type="Second")
    third = record(client, service, "low", error_type="Third")

    # Both start at 0: round robin by id gives the first to Busy, who is then full.
    assert (first.assigned_to_id, second.assigned_to_id, third.assigned_to_id) == (busy.id, free.id, free.id)


def test_preferences_narrow_the_channels_and_quiet_hours_hold_back_sms_and_slack(app, client, channels):
    smtp, slack, twilio = channels
    service = make_service()
    developer = make_developer(services=[service], on_call=True, phone="+41790000003")
    developer.notification_preferences = {"high": ["email"]}
    developer.slack_member_id = "U0QUIET01"
    db.session.commit()

    high = record(client, service, "high", error_type="HighError")
    # The team channel still sees the card, without calling the developer out.
    assert [(r.channel, r.recipient_id) for r in rows(error_id=high.id)] == [("email", developer.id), ("slack", None)]
    assert "U0QUIET01" not in slack.wait_for(1)[0]["body"].decode()

    now = utcnow()
    developer.quiet_hours_start = (now - dt.timedelta(hours=1)).strftime("%H:%M")
    developer.quiet_hours_end = (now + dt.timedelta(hours=1)).strftime("%H:%M")
    developer.timezone = "UTC"
    db.session.commit()
    critical = record(client, service, "critical", error_type="CriticalError")
    assert [(r.channel, r.recipient_id) for r in rows(error_id=critical.id)] == [("email", developer.id), ("slack", None)]
    assert twilio.requests == [] and "U0QUIET01" not in slack.wait_for(2)[1]["body"].decode()


def test_a_critical_error_reaches_someone_even_when_preferences_exclude_every_channel(app, client, channels):
    smtp, _, _ = channels
    service = make_service()
    developer = make_developer(email="picky@example.test", services=[service], on_call=True)
    developer.notification_preferences = {"critical": ["sms"]}  # and no phone number
    db.session.commit()

    error = record(client, service, "critical")

    assert [(r.channel, r.recipient) for r in rows(error_id=error.id, recipient_id=developer.id)] == [
        ("email", "picky@example.test")]
    assert smtp.wait_for(1)[0]["To"] == "picky@example.test"


def test_assignment_by_a_lead_tells_the_assignee(app, client, channels):
    smtp, _, _ = channels
    service = make_service()
    lead = make_developer("Lena", role="lead", services=[service])
    newcomer = make_developer("Nico", email="nico@example.test", services=[service])
    error = record(client, service, "low")  # nobody on call: unassigned, lead not told for low errors
    assert rows() == []

    response = ApiClient(client, make_token(lead)).post(f"/api/errors/{error.id}/assign/",
                                                       json={"developer_id": newcomer.id})
    assert response.status_code == 200, response.json

    mail = smtp.wait_for(1)[0]
    assert mail["To"] == "nico@example.test" and "assigned to Nico" in mail["Subject"]
    assert "It is assigned to you." in mail.get_body(("plain",)).get_content()
    assert [(r.event, r.channel, r.status) for r in rows()] == [("error.assigned", "email", "sent")]


def test_a_regression_goes_back_to_the_assignee_and_notifies_again(app, client, channels):
    smtp, _, _ = channels
    service = make_service()
    developer = make_developer(email="owner@example.test", services=[service], on_call=True)
    error = record(client, service, "medium", error_type="FlakyError")
    token = make_token(developer)
    assert ApiClient(client, token).post(f"/api/errors/{error.id}/resolve/", json={"note": "fixed"}).status_code == 200

    again = record(client, service, "medium", error_type="FlakyError")

    assert again.id == error.id and again.status == "assigned" and again.assigned_to_id == developer.id
    subjects = [m["Subject"] for m in smtp.wait_for(2)]
    assert len(subjects) == 2 and "(regressed)" in subjects[1]


def test_handling_an_event_again_sends_nothing_twice(app, client, channels):
    smtp, slack, twilio = channels
    service = make_service()
    make_developer(services=[service], on_call=True, phone="+41790000004")
    error = record(client, service, "critical")
    smtp.wait_for(1)

    again = delivery.handle_error_event(error.id, "error.created")
    delivery.handle_error_event(error.id, "error.created")

    assert len(again) == 3  # the same three rows, found by their keys
    assert len(rows()) == 3 and all(r.status == "sent" for r in rows())
    assert len(smtp.messages) == 1 and len(slack.requests) == 1 and len(twilio.requests) == 1
    dispatch = db.session.execute(select(ErrorEventDispatch).where(ErrorEventDispatch.event == "error.created")).scalar_one()
    assert dispatch.status == "done" and dispatch.attempts == 1


def test_webhook_subscribers_get_their_events_signed_and_nothing_else(app, client, channels, webhook_receiver):
    service = make_service()
    developer = make_developer(services=[service], on_call=True)
    subscription, secret = webhooks_out.create_subscription(
        "ops", f"{webhook_receiver.url}/hook?token=query-secret", ["error.created", "error.resolved"], None)
    assigned_only, _ = webhooks_out.create_subscription("assignments", f"{webhook_receiver.url}/assigned",
                                                        ["error.assigned"], None)

    error = record(client, service, "low")
    ApiClient(client, make_token(developer)).post(f"/api/errors/{error.id}/resolve/", json={})

    requests = webhook_receiver.wait_for(3)
    by_path = {}
    for request in requests:
        by_path.setdefault(request["path"], []).append(json.loads(request["body"]))
        secret_for = secret if request["path"] == "/hook" else assigned_only.secret
        assert webhooks_out.verify_signature(secret_for, request["body"], request["headers"]["X-Heartwatch-Signature"])
    assert [b["event"] for b in by_path["/hook"]] == ["error.created", "error.resolved"]
    assert [b["event"] for b in by_path["/assigned"]] == ["error.assigned"]  # the routing's assignment
    assert by_path["/hook"][0]["error"]["id"] == error.id
    webhook_rows = rows(channel="webhook")
    assert all("query-secret" not in r.recipient for r in webhook_rows)
    assert len(webhook_rows) == 3


def test_slack_web_api_threads_what_happens_next_under_the_first_message(app, client, smtp_server, slack_receiver):
    configure_slack_api(app.config, slack_receiver)
    slack_receiver.script((200, {"ok": True, "channel": "C0INCIDENTS", "ts": "1700000000.000100"}))
    service = make_service()
    lead = make_developer("Lena", role="lead", services=[service])
    developer = make_developer("Dev", services=[service], on_call=True)
    developer.slack_member_id = "U0DEV0001"
    db.session.commit()
    error = record(client, service, "high")
    assert error.slack_thread_ts == "1700000000.000100" and error.slack_channel == "C0INCIDENTS"

    api = ApiClient(client, make_token(lead))
    api.post(f"/api/errors/{error.id}/assign/", json={"developer_id": lead.id})
    api.post(f"/api/errors/{error.id}/escalate/", json={"reason": "customers are waiting"})
    api.post(f"/api/errors/{error.id}/resolve/", json={"note": "rolled back"})
    record(client, service, "high")  # the regression

    bodies = [json.loads(r["body"]) for r in slack_receiver.wait_for(5)]
    assert len(bodies) == 5
    assert "thread_ts" not in bodies[0] and bodies[0]["attachments"][0]["blocks"][0]["text"]["text"].startswith("<@U0DEV0001>")
    assert [b.get("thread_ts") for b in bodies[1:]] == ["1700000000.000100"] * 4
    texts = [b["text"] for b in bodies]
    assert "(assigned to Lena)" in texts[1] and "(escalated, level 1)" in texts[2]
    assert "(resolved)" in texts[3] and "(regressed)" in texts[4]
    assert all(r["headers"]["Authorization"] == "Bearer xoxb-test-token" for r in slack_receiver.requests)


def test_secrets_never_reach_the_rows_the_audit_trail_or_the_logs(app, client, channels, webhook_receiver, caplog):
    _, slack, _ = channels
    slack.script((500, "down"))
    service = make_service()
    make_developer(services=[service], on_call=True, phone="+41790000005")
    webhooks_out.create_subscription("ops", f"{webhook_receiver.url}/hook", ["error.created"], None,
                                     secret="whsec_this-is-the-shared-secret")

    with caplog.at_level("DEBUG"):
        record(client, service, "critical")

    stored = json.dumps([[r.recipient, r.subject, r.body, r.last_error, r.idempotency_key] for r in rows()])
    audit = json.dumps([a.details for a in db.session.execute(select(AuditEvent)).scalars()])
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("heartwatch"))
    assert "notification" in logged
    for secret in ("secret-token", "twilio-secret-token", "whsec_this-is-the-shared-secret"):
        assert secret not in stored and secret not in audit and secret not in logged
    assert [r.status for r in rows(channel="slack")] == ["retrying"]


def test_a_rise_in_severity_tells_the_assignee_again_on_the_graver_channels(app, client, channels):
    smtp, slack, twilio = channels
    service = make_service()
    developer = make_developer(email="owner@example.test", services=[service], on_call=True, phone="+41790000006")
    error = record(client, service, "medium", error_type="GrowingError")
    assert [r.channel for r in rows()] == ["email"]

    graver = record(client, service, "critical", error_type="GrowingError")

    assert graver.id == error.id and graver.severity == "critical" and graver.assigned_to_id == developer.id
    raised = rows(event="error.severity_raised")
    assert sorted((r.channel, r.status) for r in raised) == [("email", "sent"), ("slack", "sent"), ("sms", "sent")]
    assert "(severity raised)" in smtp.wait_for(2)[1]["Subject"] and len(twilio.wait_for(1)) == 1
    assert webhooks_out.subscribers("error.severity_raised") == []  # not a webhook event
