"""Schedules and their rotation layers created, changed and removed from the dashboard's on-call pages:
the same rules as the JSON API (app/triage/oncall.py), the same result for the same input, and a refusal
that names the field and keeps what was typed."""
from __future__ import annotations

from markupsafe import escape
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, OnCallLayer, OnCallSchedule
from app.triage import oncall
from tests.factories import make_developer, make_service

PASSWORD = "correct horse battery"


def login(client, developer):
    assert client.post("/login", data={"email": developer.email, "password": PASSWORD}).status_code == 303


def layer_form(name="Follow the sun", **fields) -> dict:
    form = {"name": name, "frequency": "weekly", "every": "1", "starts_on": "2026-03-23", "handoff_time": "09:00",
            "timezone": "Europe/Berlin", "window_start": "09:00", "window_end": "17:00",
            "days": ["0", "1", "2", "3", "4"]}
    form.update(fields)
    return form


def layer_fields(layer: OnCallLayer) -> dict:
    return {name: getattr(layer, name) for name in ("frequency", "every", "starts_on", "handoff_time", "timezone",
                                                    "participants", "days", "window_start", "window_end")}


def test_a_lead_creates_a_schedule_for_services_from_the_on_call_page(client, lead, service):
    other = make_service("Java Geo", platform="java")
    db.session.commit()
    login(client, lead)
    assert 'action="/oncall/new"' in client.get("/oncall").get_data(as_text=True)
    answer = client.post("/oncall/new", data={"name": "Geo nights", "description": "the geo team",
                                              "service_ids": [str(other.id)]})
    assert answer.status_code == 303
    plan = db.session.execute(select(OnCallSchedule).where(OnCallSchedule.name == "Geo nights")).scalar_one()
    assert answer.headers["Location"].endswith(f"/oncall/{plan.id}")
    assert [s.id for s in plan.services] == [other.id] and plan.description == "the geo team"
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "oncall.schedule_created")).scalar_one()


def test_a_layer_from_the_form_is_the_layer_the_api_makes_of_the_same_input(client, api, lead):
    ann, bob, cat = make_developer("Ann Turn"), make_developer("Bob Turn"), make_developer("Cat Turn")
    plan = oncall.create_schedule(lead, name="Geo")
    login(client, lead)
    # Turn numbers: Bob and Cat share the first turn, Ann has the second; the lead is left out.
    form = layer_form(**{f"turn-{bob.id}": "1", f"turn-{cat.id}": "1", f"turn-{ann.id}": "2"})
    answer = client.post(f"/oncall/{plan.id}/layers", data=form)
    assert answer.status_code == 303
    made = db.session.execute(select(OnCallLayer).where(OnCallLayer.name == "Follow the sun")).scalar_one()
    through_api = api.post(f"/api/schedules/{plan.id}/layers/", json={
        "name": "Through the API", "frequency": "weekly", "every": 1, "starts_on": "2026-03-23",
        "handoff_time": "09:00", "timezone": "Europe/Berlin", "window_start": "09:00", "window_end": "17:00",
        "days": [0, 1, 2, 3, 4], "participants": [[bob.id, cat.id], ann.id]})
    assert through_api.status_code == 201, through_api.get_json()
    db.session.expire_all()
    assert layer_fields(made) == layer_fields(db.session.get(OnCallLayer, through_api.get_json()["id"]))
    assert made.participants == [sorted([bob.id, cat.id]), [ann.id]]
    page = client.get(f"/oncall/{plan.id}").get_data(as_text=True)
    assert f'id="layer-form-{made.id}"' in page and f'name="turn-{ann.id}" min="1" max="999" value="2"' in page


def test_a_refused_layer_names_the_field_keeps_what_was_typed_and_agrees_with_the_api(client, api, lead):
    ann = make_developer("Ann Turn")
    plan = oncall.create_schedule(lead, name="Geo")
    login(client, lead)
    answer = client.post(f"/oncall/{plan.id}/layers",
                         data=layer_form(name="Mars watch", timezone="Mars/Olympus_Mons", **{f"turn-{ann.id}": "1"}))
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    through_api = api.post(f"/api/schedules/{plan.id}/layers/", json={
        "name": "Mars watch", "starts_on": "2026-03-23", "timezone": "Mars/Olympus_Mons", "participants": [ann.id]})
    assert through_api.status_code == 400 and through_api.get_json()["error"]["field"] == "timezone"
    assert str(escape(through_api.get_json()["error"]["message"])) in page  # the same words on both ways in
    assert 'value="Mars watch"' in page and 'value="Mars/Olympus_Mons"' in page
    assert f'name="turn-{ann.id}" min="1" max="999" value="1"' in page
    assert db.session.execute(select(OnCallLayer).where(OnCallLayer.schedule_id == plan.id)).first() is None

    bad_turn = client.post(f"/oncall/{plan.id}/layers", data=layer_form(**{f"turn-{ann.id}": "first"}))
    assert bad_turn.status_code == 400 and "each turn is a whole number" in bad_turn.get_data(as_text=True)
    no_window_end = client.post(f"/oncall/{plan.id}/layers",
                                data=layer_form(window_end="", **{f"turn-{ann.id}": "1"}))
    assert no_window_end.status_code == 400
    assert "a daily window needs both window_start and window_end" in no_window_end.get_data(as_text=True)


def test_a_layer_is_changed_and_removed_from_its_row(client, lead):
    ann, bob = make_developer("Ann Turn"), make_developer("Bob Turn")
    plan = oncall.create_schedule(lead, name="Geo")
    layer = oncall.add_layer(plan, lead, name="weekly", starts_on="2026-03-23", participants=[ann.id, bob.id])
    login(client, lead)
    answer = client.post(f"/oncall/{plan.id}/layers/{layer.id}", data=layer_form(
        name="weekly", handoff_time="10:30", window_start="", window_end="", days=[],
        **{f"turn-{bob.id}": "1", f"turn-{ann.id}": "2"}))
    assert answer.status_code == 303
    db.session.expire_all()
    layer = db.session.get(OnCallLayer, layer.id)
    assert (layer.handoff_time, layer.days, layer.window_start, layer.participants) == ("10:30", None, None,
                                                                                         [[bob.id], [ann.id]])
    assert client.post(f"/oncall/{plan.id}/layers/{layer.id}/remove").status_code == 303
    db.session.expire_all()
    assert db.session.get(OnCallLayer, layer.id) is None
    assert client.post(f"/oncall/{plan.id}/layers/{layer.id}/remove").status_code == 404


def test_the_schedule_settings_rename_and_move_services_and_refuse_a_taken_name(client, lead, service):
    plan = oncall.create_schedule(lead, name="Geo")
    oncall.create_schedule(lead, name="Billing")
    login(client, lead)
    answer = client.post(f"/oncall/{plan.id}/settings", data={"name": "Geo and AI", "service_ids": [str(service.id)]})
    assert answer.status_code == 303
    db.session.expire_all()
    plan = db.session.get(OnCallSchedule, plan.id)
    assert plan.name == "Geo and AI" and [s.id for s in plan.services] == [service.id]
    clash = client.post(f"/oncall/{plan.id}/settings", data={"name": "billing"})
    assert clash.status_code == 409 and "a schedule named billing exists already" in clash.get_data(as_text=True)


def test_a_developer_sees_no_layer_forms_and_cannot_post_them(client, lead):
    dev = make_developer("Dee Developer")
    plan = oncall.create_schedule(lead, name="Geo")
    layer = oncall.add_layer(plan, lead, name="weekly", starts_on="2026-03-23", participants=[dev.id])
    login(client, dev)
    page = client.get(f"/oncall/{plan.id}").get_data(as_text=True)
    assert "layer-form" not in page and 'id="schedule-settings"' not in page
    assert 'id="new-schedule"' not in client.get("/oncall").get_data(as_text=True)
    assert client.post("/oncall/new", data={"name": "Mine"}).status_code == 403
    assert client.post(f"/oncall/{plan.id}/layers", data=layer_form(**{f"turn-{dev.id}": "1"})).status_code == 403
    assert client.post(f"/oncall/{plan.id}/layers/{layer.id}/remove").status_code == 403
    db.session.expire_all()
    assert db.session.get(OnCallLayer, layer.id) is not None
