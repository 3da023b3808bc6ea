"""Patterns, the notification audit trail (filters and retry) and escalations."""
from __future__ import annotations

import pytest
from werkzeug import Response

from app.extensions import db
from app.models import ErrorEscalation, ErrorLog, ErrorNotification
from app.triage import escalation
from app.reports import patterns
from app.triage import changes as triage
from app.notify import subscriptions as webhooks_out
from tests.factories import ingest, make_developer, make_service

PASSWORD = "correct horse battery"


def login(client, developer):
    assert client.post("/login", data={"email": developer.email, "password": PASSWORD}).status_code == 303


def record(client, service, **fields) -> str:
    response = ingest(client, service, {"error_type": "ValueError", "message": "bad value", **fields})
    assert response.status_code == 201, response.json
    return response.json["error_id"]


# --- notifications -------------------------------------------------------------------------------

def test_an_empty_audit_trail_says_which_settings_turn_the_channels_on(app, client, lead):
    login(client, lead)
    body = client.get("/notifications").get_data(as_text=True)
    assert "No notifications sent yet" in body and "No channel is configured" in body
    for setting in ("SMTP_HOST", "SLACK_WEBHOOK_URL", "SLACK_BOT_TOKEN", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
                    "TWILIO_FROM_NUMBER"):
        assert setting in body
    app.config.update(SMTP_HOST="127.0.0.1", SLACK_BOT_TOKEN="xoxb-1", SLACK_CHANNEL="C0123")
    body = client.get("/notifications").get_data(as_text=True)
    assert "No channel is configured" not in body and "Off in this deployment" in body
    assert "TWILIO_ACCOUNT_SID" in body and "SMTP_HOST" not in body and "SLACK_WEBHOOK_URL" not in body
    # Filters that match nothing are about the filters, not the settings.
    assert "TWILIO_ACCOUNT_SID" not in client.get("/notifications?status=dead").get_data(as_text=True)


# --- patterns ------------------------------------------------------------------------------------

def test_patterns_page_shows_services_endpoints_severities_and_a_sparkline(client, service, lead):
    geo = make_service("Java Geo", platform="java")
    for svc, n in ((service, 17), (geo, 23), (geo, 23)):
        record(client, svc, error_type="TimeoutError", message=f"upstream timed out after {n}000 ms",
               severity="high", endpoint="GET /api/route")
    record(client, service, error_type="TimeoutError", message="upstream timed out after 9000 ms", severity="critical",
           endpoint="GET /api/route")
    assert patterns.analyze_patterns()["patterns"] == 1
    login(client, lead)
    body = client.get("/patterns").get_data(as_text=True)
    assert "TimeoutError" in body and "java-geo" in body and service.slug in body
    assert "GET /api/route" in body
    assert '<rect x="0"' in body and 'class="fill-critical"' in body and 'class="fill-high"' in body
    assert '<svg class="spark"' in body and "<polyline points=" in body


def test_patterns_page_empty_state(client, lead):
    login(client, lead)
    assert "No patterns detected yet" in client.get("/patterns").get_data(as_text=True)


# --- notifications -----------------------------------------------------------------------------------

def _row(error_id, developer, channel="email", status="sent", key="k", last_error=None):
    row = ErrorNotification(error_id=error_id, recipient_id=developer.id if developer else None,
                            recipient=developer.email if developer else "https://hooks.example/x",
                            channel=channel, status=status, idempotency_key=key, last_error=last_error,
                            subject="[high] ValueError")
    db.session.add(row)
    db.session.commit()
    return row


def test_notifications_are_filtered_by_channel_status_and_recipient(client, service, lead):
    dev = make_developer("Dana Dev", email="dana@example.test", services=[service])
    error_id = record(client, service)
    _row(error_id, lead, "email", "sent", "a")
    _row(error_id, dev, "sms", "dead", "b", last_error="Twilio 21211: invalid 'To' number")
    _row(error_id, dev, "email", "failed", "c", last_error="SMTP timeout")
    login(client, lead)
    everything = client.get("/notifications").get_data(as_text=True)
    assert "<strong>3</strong> deliveries" in everything
    assert "Twilio 21211: invalid &#39;To&#39; number" in everything
    assert "<strong>1</strong> delivery" in client.get("/notifications?channel=sms").get_data(as_text=True)
    assert "<strong>2</strong> deliveries" in client.get("/notifications?recipient=dana").get_data(as_text=True)
    assert "<strong>2</strong> deliveries" in client.get("/notifications?recipient=Dana+Dev").get_data(as_text=True)
    assert "<strong>1</strong> delivery" in client.get("/notifications?status=failed&recipient=dana").get_data(
        as_text=True)
    bad = client.get("/notifications?channel=pigeon")
    assert bad.status_code == 400 and "channel must be one of" in bad.get_data(as_text=True)


def test_notifications_empty_state(client, lead):
    login(client, lead)
    assert "No notifications sent yet" in client.get("/notifications").get_data(as_text=True)


@pytest.fixture
def failing_receiver(httpserver):
    """A webhook receiver that is gone (410) until it is told to come back."""
    state = {"up": False, "received": 0}

    def handler(request):
        if not state["up"]:
            return Response("gone", status=410)
        state["received"] += 1
        return Response("ok")

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
    return httpserver.url_for("/hook"), state


def test_a_failed_delivery_is_retried_from_the_dashboard(client, service, lead, failing_receiver):
    url, state = failing_receiver
    webhooks_out.create_subscription("Receiver", url, ["error.created"], lead)
    error_id = record(client, service, error_type="Dead", message="letter")
    row = db.session.execute(db.select(ErrorNotification).where(ErrorNotification.channel == "webhook")).scalar_one()
    assert row.status == "failed" and "410" in row.last_error  # permanent: no automatic retry
    login(client, lead)
    page = client.get("/notifications?status=failed").get_data(as_text=True)
    assert f'action="/notifications/{row.id}/retry"' in page
    state["up"] = True
    response = client.post(f"/notifications/{row.id}/retry", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith(f'<tr id="notification-{row.id}"')
    assert "nstatus-sent" in body and state["received"] == 1
    db.session.refresh(row)
    assert row.status == "sent" and row.error_id == error_id


def test_retry_is_refused_to_developers_and_for_sent_deliveries(client, service, lead):
    dev = make_developer("Dana Dev", services=[service])
    error_id = record(client, service)
    dead = _row(error_id, dev, "email", "dead", "dead-1", last_error="bounced")
    sent = _row(error_id, dev, "email", "sent", "sent-1")
    login(client, dev)
    assert 'action="/notifications/' not in client.get("/notifications").get_data(as_text=True)
    assert client.post(f"/notifications/{dead.id}/retry").status_code == 403
    db.session.refresh(dead)
    assert dead.status == "dead"
    client.post("/logout")
    login(client, lead)
    assert client.post(f"/notifications/{sent.id}/retry").status_code == 409
    assert client.post("/notifications/99999/retry").status_code == 404


# --- escalations ---------------------------------------------------------------------------------

def test_escalations_page_shows_open_and_past_with_level_reason_from_and_to(client, service, lead):
    admin = make_developer("Ada Admin", role="admin")
    dev = make_developer("Dana Dev", services=[service])
    open_error = db.session.get(ErrorLog, record(client, service, error_type="StillBroken", message="x"))
    done_error = db.session.get(ErrorLog, record(client, service, error_type="NowFixed", message="y"))
    triage.assign_error(open_error, dev, lead)
    escalation.escalate_error(open_error, lead, "customers cannot pay", to=admin)
    escalation.escalate_error(done_error, lead, "was urgent")
    triage.resolve_error(done_error, lead, "fixed")
    login(client, lead)
    body = client.get("/escalations").get_data(as_text=True)
    open_part, past_part = body.split("<h2>Past</h2>")
    assert "StillBroken" in open_part and "customers cannot pay" in open_part
    assert "Dana Dev" in open_part and "Ada Admin" in open_part and "L1" in open_part
    assert "NowFixed" in past_part and "was urgent" in past_part
    assert db.session.execute(db.select(db.func.count()).select_from(ErrorEscalation)).scalar_one() == 2


def test_escalations_empty_state(client, lead):
    login(client, lead)
    body = client.get("/escalations").get_data(as_text=True)
    assert "No open escalations" in body and "No past escalations" in body


# --- the timeline ----------------------------------------------------------------------------------

def test_the_timeline_says_why_routing_assigned_nobody(client, lead):
    from app.triage import routing

    geo = make_service("Geo API", platform="java")
    make_developer("Off Duty", services=[geo], on_call=False)
    error_id = record(client, geo, severity="high")
    routing.route_error(error_id, "error.regressed")
    login(client, lead)
    body = client.get(f"/errors/{error_id}").get_data(as_text=True)
    timeline = body[body.index('<section id="timeline"'):]
    timeline = timeline[:timeline.index("</section>")]
    assert 'Not routed (regressed): <span class="tl-reason">none of the service&#39;s developers is on call</span>.' \
        in timeline
    assert ": unrouted." not in timeline
