"""Developers through the JSON API: the list, the workload, on-call switches and who may flip them."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.models import AuditEvent
from app.triage import changes as triage
from app.triage import oncall, schedules
from tests.factories import ApiClient, make_developer, make_error, make_service, make_token


@pytest.fixture
def lead(app, service):
    # No password: hashing one (scrypt) would dominate these tests' time.
    return make_developer("Lena Lead", role="lead", services=[service], password=None)


@pytest.fixture
def team(app, service, lead):
    """Dora (on call, full), Omar (off call, one critical error) and Lena (on call, free).

    The errors are recorded while nobody is on call, so routing leaves the assigning to this fixture.
    """
    web = make_service("Laravel web", platform="php")
    dora = make_developer("Dora Dev", email="dora@example.test", services=[service, web], max_load=2,
                          phone="+4915100000001", password=None)
    omar = make_developer("Omar Other", email="omar@example.test", services=[web], password=None)
    for n in range(2):
        triage.assign_error(make_error(service, f"OpenError{n}", "still open"), dora, lead)
    done = make_error(service, "Done", "closed", severity="critical")
    triage.assign_error(done, dora, lead)
    triage.resolve_error(done, lead)
    triage.assign_error(make_error(web, "Crit", "db down", severity="critical"), omar, lead)
    oncall.switch(dora, True)
    oncall.switch(lead, True)
    db.session.commit()
    return {"dora": dora, "omar": omar, "web": web}


def on_call_audit(developer_id: int) -> list[tuple[str, int | None]]:
    rows = db.session.execute(db.select(AuditEvent).where(AuditEvent.object_type == "developer",
                                                          AuditEvent.object_id == str(developer_id),
                                                          AuditEvent.action.like("developer.%_call"))
                              .order_by(AuditEvent.id)).scalars()
    return [(row.action, row.actor_id) for row in rows]


def test_developers_list_with_their_current_load(api, team, lead, service):
    body = api.get("/api/developers/").json
    assert body["total"] == 3
    by_name = {d["name"]: d for d in body["items"]}
    assert list(by_name) == ["Dora Dev", "Lena Lead", "Omar Other"]
    dora = by_name["Dora Dev"]
    assert dora["current_load"] == 2  # the resolved one no longer counts
    assert (dora["max_load"], dora["on_call"], dora["role"], dora["active"]) == (2, True, "developer", True)
    assert sorted(dora["services"]) == sorted([service.slug, team["web"].slug])
    assert dora["phone"] == "+4915100000001"
    assert "password_hash" not in dora
    assert by_name["Omar Other"]["current_load"] == 1 and by_name["Lena Lead"]["current_load"] == 0


def test_workload(api, team):
    items = {row["name"]: row for row in api.get("/api/developers/workload/").json["items"]}
    dora, omar, lena = items["Dora Dev"], items["Omar Other"], items["Lena Lead"]
    assert (dora["current_load"], dora["max_load"], dora["available"]) == (2, 2, False)  # full
    assert dora["open_by_severity"]["high"] == 2 and dora["open_by_severity"]["critical"] == 0
    assert (omar["current_load"], omar["available"]) == (1, False)  # not on call
    assert omar["open_by_severity"]["critical"] == 1
    assert (lena["current_load"], lena["available"]) == (0, True)


def test_a_developer_switches_their_own_on_call_status(client, team):
    dora = team["dora"]
    dora_api = ApiClient(client, make_token(dora))
    response = dora_api.post(f"/api/developers/{dora.id}/on-call/", json={"on_call": False})
    assert response.status_code == 200 and response.json["on_call"] is False
    assert response.json["current_load"] == 2
    db.session.expire_all()
    assert dora.id not in schedules.switched_on_ids()
    assert on_call_audit(dora.id) == [("developer.off_call", dora.id)]


def test_a_developer_may_not_switch_someone_elses_on_call_status(client, team, lead):
    dora_api = ApiClient(client, make_token(team["dora"]))
    for target in (team["omar"], lead):
        response = dora_api.post(f"/api/developers/{target.id}/on-call/", json={"on_call": True})
        assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
    db.session.expire_all()
    assert team["omar"].id not in schedules.switched_on_ids()
    assert on_call_audit(team["omar"].id) == []


@pytest.mark.parametrize("role", ["lead", "manager", "admin"])
def test_leads_managers_and_admins_switch_anyones_on_call_status(client, team, role):
    boss = make_developer(f"Boss {role}", role=role, password=None)
    boss_api = ApiClient(client, make_token(boss))
    omar = team["omar"]
    assert boss_api.post(f"/api/developers/{omar.id}/on-call/", json={"on_call": True}).json["on_call"] is True
    assert boss_api.post(f"/api/developers/{omar.id}/on-call/", json={"on_call": False}).json["on_call"] is False
    assert on_call_audit(omar.id) == [("developer.on_call", boss.id), ("developer.off_call", boss.id)]


def test_setting_the_same_on_call_status_again_writes_no_audit_row(api, team):
    dora = team["dora"]
    assert api.post(f"/api/developers/{dora.id}/on-call/", json={"on_call": True}).status_code == 200
    assert on_call_audit(dora.id) == []


@pytest.mark.parametrize("body", [{}, {"on_call": "yes"}, {"on_call": 1}, {"on_call": None}, {"oncall": True}])
def test_on_call_body_is_validated(api, team, body):
    response = api.post(f"/api/developers/{team['dora'].id}/on-call/", json=body)
    assert response.status_code == 400 and response.json["error"]["field"] == "on_call"


def test_on_call_for_an_unknown_developer_is_404(api):
    response = api.post("/api/developers/999999/on-call/", json={"on_call": True})
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
