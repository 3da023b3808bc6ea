"""Swap requests: a developer asks a colleague to take some of their on-call time; accepted, it is an
override (the colleague instead of them); declined or withdrawn, nothing changes; each answer once."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, OnCallOverride
from app.triage import oncall
from tests.factories import ApiClient, make_developer, make_token

WINDOW = {"starts_at": "2026-03-25T10:00:00Z", "ends_at": "2026-03-25T18:00:00Z"}


def setup(client, lead):
    ann, bob, cy = (make_developer(n, password=None) for n in ("Ann", "Bob", "Cy"))
    plan = oncall.create_schedule(lead, name="Pair")
    oncall.add_layer(plan, lead, name="weekly", starts_on="2026-03-23", participants=[[ann.id, cy.id]])
    return plan, {p.name: (p, ApiClient(client, make_token(p))) for p in (ann, bob, cy)}


def test_an_accepted_swap_puts_the_colleague_on_call_instead_of_the_requester(client, lead):
    plan, people = setup(client, lead)
    (ann, ann_api), (bob, bob_api), (cy, cy_api) = people["Ann"], people["Bob"], people["Cy"]
    asked = ann_api.post(f"/api/schedules/{plan.id}/swaps/", json={"colleague_id": bob.id, "note": "wedding", **WINDOW})
    assert asked.status_code == 201 and asked.json["status"] == "pending", asked.json
    assert [s["id"] for s in bob_api.get("/api/swaps/").json["items"]] == [asked.json["id"]]
    assert cy_api.post(f"/api/swaps/{asked.json['id']}/accept/").status_code == 403  # not asked
    assert ann_api.post(f"/api/swaps/{asked.json['id']}/accept/").status_code == 403  # cannot accept her own

    accepted = bob_api.post(f"/api/swaps/{asked.json['id']}/accept/")
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"
    override = db.session.get(OnCallOverride, accepted.json["override_id"])
    assert (override.developer_id, override.replaces_id, override.reason) == (bob.id, ann.id, "wedding")
    now = bob_api.get(f"/api/schedules/{plan.id}/on-call/?at=2026-03-25T12:00:00Z").json["now"]
    assert set(now["developer_ids"]) == {bob.id, cy.id}  # Cy, Ann's partner in the group, stays on call
    assert bob_api.post(f"/api/swaps/{asked.json['id']}/decline/").status_code == 409  # answered already
    actions = [a.action for a in db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()]
    assert actions[-3:] == ["oncall.swap_requested", "oncall.override_added", "oncall.swap_accepted"]


def test_declined_and_withdrawn_requests_change_nothing(client, lead):
    plan, people = setup(client, lead)
    (_, ann_api), (bob, bob_api) = people["Ann"], people["Bob"]
    first = ann_api.post(f"/api/schedules/{plan.id}/swaps/", json={"colleague_id": bob.id, **WINDOW}).json
    assert bob_api.post(f"/api/swaps/{first['id']}/decline/").json["status"] == "declined"
    second = ann_api.post(f"/api/schedules/{plan.id}/swaps/", json={"colleague_id": bob.id, **WINDOW}).json
    assert bob_api.post(f"/api/swaps/{second['id']}/cancel/").status_code == 403
    assert ann_api.post(f"/api/swaps/{second['id']}/cancel/").json["status"] == "cancelled"
    assert bob_api.post(f"/api/swaps/{second['id']}/accept/").status_code == 409
    assert db.session.execute(select(OnCallOverride)).first() is None


def test_bad_swap_requests_are_refused_with_the_field(client, lead):
    plan, people = setup(client, lead)
    (ann, ann_api), (bob, bob_api) = people["Ann"], people["Bob"]
    url = f"/api/schedules/{plan.id}/swaps/"
    assert bob_api.post(url, json={"colleague_id": ann.id, **WINDOW}).json["error"]["field"] == "starts_at"  # not on call
    assert ann_api.post(url, json={"colleague_id": ann.id, **WINDOW}).json["error"]["field"] == "colleague_id"
    assert ann_api.post(url, json={"colleague_id": 424242, **WINDOW}).json["error"]["field"] == "colleague_id"
    assert ann_api.post(url, json={"colleague_id": bob.id, "starts_at": "2026-03-25T10:00:00Z",
                                   "ends_at": "2026-03-25T09:00:00Z"}).json["error"]["field"] == "ends_at"
    assert ann_api.post(url, json={"colleague_id": bob.id, "requester_id": bob.id, **WINDOW}).status_code == 403
    assert ann_api.post("/api/swaps/999/accept/").status_code == 404
