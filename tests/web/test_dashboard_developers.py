"""Developers and workload: the team page, on-call switches and shifts, editing, own preferences."""
from __future__ import annotations


import pytest

from app.extensions import db
from app.models import AuditEvent, Developer, ErrorLog
from app.accounts import preferences
from app.triage import changes as triage
from app.triage import schedules
from tests.factories import ingest, make_developer, make_service

PASSWORD = "correct horse battery"
HTMX = {"HX-Request": "true"}


def login(client, developer):
    assert client.post("/login", data={"email": developer.email, "password": PASSWORD}).status_code == 303


@pytest.fixture
def team(service, lead):
    other = make_service("Java Geo", platform="java")
    return {
        "dana": make_developer("Dana Dev", services=[service], max_load=2),
        "gus": make_developer("Gus Geo", services=[other]),
        "admin": make_developer("Ada Admin", role="admin"),
        "geo_lead": make_developer("Gil Geolead", role="lead", services=[other]),
    }


def test_team_page_lists_everyone_with_load_and_the_workload_chart(client, service, lead, team):
    error_id = ingest(client, service, {"error_type": "E", "message": "m", "severity": "critical"}).json["error_id"]
    triage.assign_error(db.session.get(ErrorLog, error_id), team["dana"], lead)
    login(client, lead)
    body = client.get("/developers").get_data(as_text=True)
    for name in ("Dana Dev", "Gus Geo", "Ada Admin", "Lena Lead"):
        assert name in body
    assert 'id="workload-data"' in body and '"max_load"' in body
    row = body[body.index('id="developer-%d"' % team["dana"].id):]
    row = row[:row.index("</tr>")]
    assert "1/2" in row and "sev-critical" in row


def test_a_lead_switches_someone_on_call_and_it_is_audited(client, lead, team):
    login(client, lead)
    response = client.post(f"/developers/{team['gus'].id}/on-call", data={"on_call": "1"}, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<tr id="developer-{team["gus"].id}"') and 'aria-checked="true"' in body
    assert "Gus Geo is on call." in body
    db.session.expire_all()
    assert (team["gus"].id in schedules.switched_on_ids())
    assert db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "developer.on_call")).scalar_one()
    plain = client.post(f"/developers/{team['gus'].id}/on-call", data={"on_call": "0"})
    assert plain.status_code == 303
    db.session.expire_all()
    assert team["gus"].id not in schedules.switched_on_ids()


def test_a_developer_is_refused_on_someone_elses_switch_and_nothing_changes(client, lead, team):
    login(client, team["dana"])
    page = client.get("/developers").get_data(as_text=True)
    assert f'action="/developers/{lead.id}/on-call"' not in page
    assert f'action="/developers/{team["dana"].id}/on-call"' in page  # their own
    for headers in ({}, HTMX):
        refused = client.post(f"/developers/{lead.id}/on-call", data={"on_call": "0"}, headers=headers)
        assert refused.status_code == 403
    db.session.expire_all()
    assert (lead.id in schedules.switched_on_ids())
    assert client.post(f"/developers/{team['dana'].id}/on-call", data={"on_call": "1"}).status_code == 303
    db.session.expire_all()
    assert (team["dana"].id in schedules.switched_on_ids())


def test_unknown_developer_is_404(client, lead):
    login(client, lead)
    assert client.post("/developers/9999/on-call", data={"on_call": "1"}).status_code == 404


def test_a_lead_edits_developers_of_their_services_only(client, service, lead, team):
    login(client, lead)
    assert client.get(f"/developers/{team['dana'].id}/edit").status_code == 200
    saved = client.post(f"/developers/{team['dana'].id}/edit",
                        data={"name": "Dana D.", "phone": "+41 79 555 01 23", "slack_member_id": "u0123abcd",
                              "max_load": "7", "service_id": [str(service.id)]})
    assert saved.status_code == 303
    dana = db.session.get(Developer, team["dana"].id)
    db.session.refresh(dana)
    assert (dana.name, dana.phone, dana.slack_member_id, dana.max_load) == ("Dana D.", "+41795550123", "U0123ABCD", 7)
    assert client.get(f"/developers/{team['gus'].id}/edit").status_code == 403
    assert client.post(f"/developers/{team['gus'].id}/edit", data={"max_load": "99"}).status_code == 403
    assert client.get(f"/developers/{team['admin'].id}/edit").status_code == 403
    db.session.expire_all()
    assert db.session.get(Developer, team["gus"].id).max_load == 10


def test_a_lead_cannot_move_someone_onto_a_service_they_do_not_lead(client, service, lead, team):
    geo = team["gus"].services[0]
    login(client, lead)
    refused = client.post(f"/developers/{team['dana'].id}/edit",
                          data={"name": "Dana Dev", "max_load": "2", "service_id": [str(service.id), str(geo.id)]})
    assert refused.status_code == 403 and "leads change only the services they know or lead" in \
        refused.get_data(as_text=True)
    db.session.expire_all()
    assert [s.id for s in db.session.get(Developer, team["dana"].id).services] == [service.id]


def test_edit_form_errors_are_explained_and_nothing_is_saved(client, lead, team):
    login(client, lead)
    for data, message in (({"name": "D", "max_load": "lots"}, "max load must be a whole number"),
                          ({"name": "D", "max_load": "5", "phone": "call me"}, "international form"),
                          ({"name": " ", "max_load": "5"}, "a name is required")):
        response = client.post(f"/developers/{team['dana'].id}/edit", data=data)
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Developer, team["dana"].id).name == "Dana Dev"


def test_a_developer_cannot_edit_anyone(client, lead, team):
    login(client, team["dana"])
    assert client.get(f"/developers/{team['dana'].id}/edit").status_code == 403


# --- own preferences ------------------------------------------------------------------------------

TWILIO = {"TWILIO_ACCOUNT_SID": "AC0123", "TWILIO_AUTH_TOKEN": "secret", "TWILIO_FROM_NUMBER": "+15550100"}


def test_preferences_show_the_defaults_then_save_choices(app, client, team):
    app.config.update(SMTP_HOST="127.0.0.1", **TWILIO)
    dana = team["dana"]
    login(client, dana)
    page = client.get("/preferences").get_data(as_text=True)
    assert 'name="channels_critical" value="sms" aria-label="sms for critical" checked' in page
    saved = client.post("/preferences", data={
        "channels_critical": ["email", "sms"], "channels_high": ["email"], "channels_medium": [],
        "phone": "0041 79 555 01 99", "quiet_hours_start": "22:00", "quiet_hours_end": "7:00",
        "timezone": "Europe/Zurich"})
    assert saved.status_code == 303
    db.session.expire_all()
    dana = db.session.get(Developer, dana.id)
    assert preferences.channels_for(dana)["critical"] == ["email", "sms"]
    assert preferences.channels_for(dana)["medium"] == []
    assert (dana.phone, dana.quiet_hours_start, dana.quiet_hours_end, dana.timezone) == \
        ("+41795550199", "22:00", "07:00", "Europe/Zurich")


def test_preferences_offer_only_the_channels_this_deployment_has_on(app, client, team):
    dana = team["dana"]
    login(client, dana)
    page = client.get("/preferences").get_data(as_text=True)
    assert 'type="checkbox" name="channels_critical"' not in page
    assert "No channel is configured" in page
    assert "SMTP_HOST" in page and "SLACK_WEBHOOK_URL" in page and "TWILIO_ACCOUNT_SID" in page

    app.config.update(SMTP_HOST="127.0.0.1")
    page = client.get("/preferences").get_data(as_text=True)
    assert 'value="email" aria-label="email for critical" checked' in page
    assert 'value="sms" aria-label' not in page and 'value="slack" aria-label' not in page
    assert "Off in this deployment" in page and "SMTP_HOST" not in page and "TWILIO_FROM_NUMBER" in page
    # Saving keeps the choices of the channels that are off (the defaults: SMS and Slack for critical).
    assert client.post("/preferences", data={"channels_critical": ["email", "sms", "slack"], "phone": "+41795550199",
                                              "slack_member_id": "U012AB3CD"}).status_code == 303
    db.session.expire_all()
    assert preferences.channels_for(db.session.get(Developer, dana.id))["critical"] == ["email", "slack", "sms"]

    app.config.update(SLACK_WEBHOOK_URL="https://hooks.slack.example/T0/B0/x", **TWILIO)
    page = client.get("/preferences").get_data(as_text=True)
    for channel in ("email", "slack", "sms"):
        assert f'value="{channel}" aria-label="{channel} for critical" checked' in page
    assert "Off in this deployment" not in page


def test_a_personal_slack_webhook_offers_slack_without_a_team_channel(app, client, team):
    dana = team["dana"]
    dana.slack_webhook_url = "https://hooks.slack.example/T0/B0/mine"
    db.session.commit()
    login(client, dana)
    page = client.get("/preferences").get_data(as_text=True)
    assert 'value="slack" aria-label="slack for critical" checked' in page
    assert "<strong>Slack</strong>" not in page and "<strong>SMS</strong>" in page


@pytest.mark.parametrize("data, message", [
    ({"channels_critical": []}, "critical errors need at least one channel"),
    ({"channels_critical": ["sms"]}, "SMS needs a phone number"),
    ({"channels_critical": ["slack"]}, "Slack needs your member id"),
    ({"channels_critical": ["email"], "quiet_hours_start": "22:00"}, "quiet hours need both"),
    ({"channels_critical": ["email"], "quiet_hours_start": "25:00", "quiet_hours_end": "07:00"}, "HH:MM"),
    ({"channels_critical": ["email"], "timezone": "Mars/Olympus"}, "unknown time zone"),
    ({"channels_critical": ["pigeon"]}, "unknown channel"),
    ({"channels_critical": ["email"], "slack_member_id": "<script>"}, "member id looks like"),
])
def test_invalid_preferences_are_explained_and_nothing_is_saved(client, team, data, message):
    login(client, team["dana"])
    response = client.post("/preferences", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and message in body
    assert "<script>" not in body.split("</header>", 1)[1]
    db.session.expire_all()
    assert db.session.get(Developer, team["dana"].id).notification_preferences is None


def test_preferences_belong_to_their_owner():
    one, other = Developer(id=1, name="a", email="a@x"), Developer(id=2, name="b", email="b@x")
    with pytest.raises(preferences.PreferenceError):
        preferences.update_preferences(one, other, channels={"critical": ["email"]}, quiet_hours_start=None,
                                       quiet_hours_end=None, timezone=None, phone=None, slack_member_id=None)
