"""The JSON API of schedules: create and change schedules, layers and overrides, ask who is on call now
and next per schedule and per service; refusals name their field."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.models import AuditEvent, OnCallLayer
from tests.factories import ApiClient, make_developer, make_service, make_token


@pytest.fixture
def people(app, service):
    return {name: make_developer(name, services=[service], password=None) for name in ("Ann", "Bob", "Cy")}


def test_a_lead_builds_a_schedule_for_a_service_and_asks_who_is_on_call_across_a_dst_change(api, service, people):
    ann, bob, cy = people["Ann"], people["Bob"], people["Cy"]
    created = api.post("/api/schedules/", json={"name": "AI API", "service_ids": [service.id]})
    assert created.status_code == 201, created.json
    plan = created.json
    assert (plan["service_ids"], plan["layers"], plan["is_default"]) == ([service.id], [], False)
    layer = api.post(f"/api/schedules/{plan['id']}/layers/", json={
        "name": "weekly", "frequency": "weekly", "starts_on": "2026-03-23", "handoff_time": "09:00",
        "timezone": "Europe/Berlin", "participants": [ann.id, bob.id]})
    assert layer.status_code == 201 and layer.json["participants"] == [[ann.id], [bob.id]]

    answer = api.get(f"/api/services/{service.id}/on-call/?at=2026-03-25T12:00:00Z").json
    assert answer["schedule_id"] == plan["id"]
    assert (answer["now"]["developer_ids"], answer["now"]["starts_at"], answer["now"]["ends_at"]) == (
        [ann.id], "2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z")
    assert (answer["next"]["developer_ids"], answer["next"]["starts_at"]) == ([bob.id], "2026-03-30T07:00:00Z")

    override = api.post(f"/api/schedules/{plan['id']}/overrides/", json={
        "developer_id": cy.id, "replaces_id": ann.id, "starts_at": "2026-03-25T10:00:00Z",
        "ends_at": "2026-03-25T14:00:00+00:00", "reason": "dentist"})
    assert override.status_code == 201, override.json
    now = api.get(f"/api/schedules/{plan['id']}/on-call/?at=2026-03-25T12:00:00Z").json["now"]
    assert (now["developer_ids"], now["override_ids"]) == ([cy.id], [override.json["id"]])
    moved = api.patch(f"/api/schedules/{plan['id']}/overrides/{override.json['id']}/",
                      json={"ends_at": "2026-03-25T11:00:00Z"})
    assert moved.status_code == 200 and moved.json["ends_at"] == "2026-03-25T11:00:00Z"
    listed = api.get(f"/api/schedules/{plan['id']}/overrides/?since=2026-03-20T00:00:00Z&days=10").json
    assert [o["id"] for o in listed["items"]] == [override.json["id"]]
    assert api.delete(f"/api/schedules/{plan['id']}/overrides/{override.json['id']}/").status_code == 204

    changed = api.patch(f"/api/schedules/{plan['id']}/layers/{layer.json['id']}/", json={"participants": [bob.id]})
    assert changed.status_code == 200
    assert api.get(f"/api/services/{service.id}/on-call/?at=2026-03-25T12:00:00Z").json["now"]["developer_ids"] == [
        bob.id]
    assert api.delete(f"/api/schedules/{plan['id']}/layers/{layer.json['id']}/").status_code == 204
    assert db.session.get(OnCallLayer, layer.json["id"]) is None
    actions = {a.action for a in db.session.execute(db.select(AuditEvent)).scalars()}
    assert {"oncall.schedule_created", "oncall.layer_added", "oncall.override_added", "oncall.layer_removed"} <= actions


def test_a_service_without_a_schedule_answers_from_the_default_one(api, lead, service):
    other = make_service("Search")
    answer = api.get(f"/api/services/{other.id}/on-call/").json
    listed = {s["name"]: s for s in api.get("/api/schedules/").json["items"]}
    assert answer["schedule_id"] == listed["Default"]["id"] and answer["now"]["developer_ids"] == [lead.id]
    assert api.patch(f"/api/schedules/{listed['Default']['id']}/", json={"name": "Everyone"}).json["name"] == "Everyone"


@pytest.mark.parametrize("body, field", [
    ({"name": "x", "starts_on": "2026-13-01", "participants": [1]}, "starts_on"),
    ({"name": "x", "starts_on": "2026-03-01", "participants": [1], "timezone": "Europe/Nowhere"}, "timezone"),
    ({"name": "x", "starts_on": "2026-03-01", "participants": [1], "handoff_time": "25:00"}, "handoff_time"),
    ({"name": "x", "starts_on": "2026-03-01", "participants": [1], "frequency": "monthly"}, "frequency"),
    ({"name": "x", "starts_on": "2026-03-01", "participants": ["1"]}, "participants.0.int"),
    ({"name": "x", "starts_on": "2026-03-01", "participants": [424242]}, "participants"),
    ({"name": "x", "starts_on": "2026-03-01", "participants": [1], "days": [9]}, "days.0"),
    ({"name": "x", "starts_on": "2026-03-01", "participants": [1], "window_start": "22:00"}, "window_end"),
    ({"starts_on": "2026-03-01", "participants": [1]}, "name"),
    ({"name": "x", "starts_on": "2026-03-01", "participants": [1], "colour": "red"}, "colour"),
])
def test_bad_layers_are_a_400_naming_the_field(api, lead, body, field):
    plan = api.post("/api/schedules/", json={"name": "P"}).json
    body = {**body, "participants": [lead.id if p == 1 else p for p in body.get("participants", [])]} \
        if "participants" in body else body
    answer = api.post(f"/api/schedules/{plan['id']}/layers/", json=body)
    assert answer.status_code == 400 and answer.json["error"]["field"].startswith(field.split(".")[0]), answer.json
    if "." not in field:
        assert answer.json["error"]["field"] == field


@pytest.mark.parametrize("body, field", [
    ({"starts_at": "soon", "ends_at": "2026-03-01T10:00:00Z"}, "starts_at"),
    ({"starts_at": "2026-03-01T10:00:00Z", "ends_at": "2026-03-01T09:00:00Z"}, "ends_at"),
    ({"starts_at": "2026-03-01T10:00:00Z", "ends_at": "2026-05-01T10:00:00Z"}, "ends_at"),
    ({"starts_at": "2026-03-01T10:00:00Z", "ends_at": "2026-03-01T11:00:00Z", "reason": "r" * 256}, "reason"),
    ({"starts_at": "2026-03-01T10:00:00Z", "ends_at": "2026-03-01T11:00:00Z", "replaces_id": 424242}, "replaces_id"),
])
def test_bad_overrides_are_a_400_naming_the_field(api, lead, body, field):
    plan = api.post("/api/schedules/", json={"name": "P"}).json
    answer = api.post(f"/api/schedules/{plan['id']}/overrides/", json={"developer_id": lead.id, **body})
    assert answer.status_code == 400 and answer.json["error"]["field"] == field, answer.json


def test_developers_read_schedules_but_only_supervisors_change_them(client, api, people):
    dev_api = ApiClient(client, make_token(people["Ann"]))
    plan = api.post("/api/schedules/", json={"name": "P"}).json
    assert dev_api.get("/api/schedules/").status_code == 200
    assert dev_api.post("/api/schedules/", json={"name": "Mine"}).status_code == 403
    assert dev_api.post(f"/api/schedules/{plan['id']}/layers/", json={
        "name": "x", "starts_on": "2026-03-01", "participants": [people["Ann"].id]}).status_code == 403
    assert dev_api.post(f"/api/schedules/{plan['id']}/overrides/", json={
        "developer_id": people["Bob"].id, "starts_at": "2026-03-01T10:00:00Z",
        "ends_at": "2026-03-01T11:00:00Z"}).status_code == 403
    assert api.post("/api/schedules/", json={"name": "p"}).status_code == 409
    assert api.get("/api/schedules/999/").status_code == 404
    assert api.get("/api/schedules/999/on-call/").status_code == 404
    assert api.get(f"/api/schedules/{plan['id']}/on-call/?at=yesterday").json["error"]["field"] == "at"
