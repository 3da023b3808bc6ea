"""The JSON API of escalation chains: leads edit their services' chains, admins every chain and the
defaults; steps replace all in order; refusals name the field; answers match the OpenAPI document."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.models import AuditEvent, EscalationChain, EscalationStep
from app.triage import oncall
from tests.factories import ApiClient, make_developer, make_service, make_token
from tests.receivers import configure_twilio, twilio_receiver, _http_receivers  # noqa: F401
from tests.web.test_openapi import assert_valid


@pytest.fixture
def document(client):
    return client.get("/api/openapi.json").json


@pytest.fixture
def rota(app, lead):
    plan = oncall.create_schedule(None, name="AI rota")
    return plan


def _body(service_id, **extra):
    return {"name": "AI critical", "service_id": service_id, "severity": "critical", **extra,
            "steps": extra.pop("steps", [{"kind": "lead", "channels": ["email"]}])}


def test_a_lead_creates_replaces_reorders_and_deletes_a_chain_of_their_service(api, service, rota, document):
    body = _body(service.id, steps=[
        {"kind": "oncall", "schedule_id": rota.id, "channels": ["email", "sms"]},
        {"kind": "wait", "minutes": 15},
        {"kind": "role", "role": "admin", "channels": ["email"]}], repeat_times=3, repeat_every_minutes=10)
    created = api.post("/api/escalation-chains/", json=body)
    assert created.status_code == 201, created.json
    assert_valid(document, "Chain", created.json)
    chain = created.json
    assert [s["kind"] for s in chain["steps"]] == ["oncall", "wait", "role"]
    assert chain["steps"][0]["description"] == "whoever is on call in AI rota by e-mail, SMS"
    assert (chain["repeat_times"], chain["repeat_every_minutes"]) == (3, 10)

    reordered = dict(body, steps=[body["steps"][2], body["steps"][1], body["steps"][0]], name="AI pages")
    replaced = api.put(f"/api/escalation-chains/{chain['id']}/", json=reordered)
    assert replaced.status_code == 200, replaced.json
    assert [s["kind"] for s in replaced.json["steps"]] == ["role", "wait", "oncall"]
    assert [s["position"] for s in replaced.json["steps"]] == [0, 1, 2]
    assert replaced.json["name"] == "AI pages"
    assert db.session.query(EscalationStep).count() == 3

    listed = api.get("/api/escalation-chains/")
    assert listed.status_code == 200
    assert_valid(document, "ChainList", listed.json)
    assert [c["id"] for c in listed.json["items"]] == [chain["id"]]
    assert api.get(f"/api/escalation-chains/{chain['id']}/").json == replaced.json

    assert api.delete(f"/api/escalation-chains/{chain['id']}/").status_code == 204
    assert api.get(f"/api/escalation-chains/{chain['id']}/").status_code == 404
    assert db.session.query(EscalationStep).count() == 0
    actions = [a.action for a in db.session.query(AuditEvent).order_by(AuditEvent.id)]
    assert [a for a in actions if a.startswith("escalation_chain.")] == [
        "escalation_chain.created", "escalation_chain.changed", "escalation_chain.deleted"]


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"steps": [{"kind": "oncall", "schedule_id": 999, "channels": ["email"]}]}, "steps.0.schedule_id",
     "no schedule with id 999"),
    ({"steps": [{"kind": "person", "developer_id": 999, "channels": ["email"]}]}, "steps.0.developer_id",
     "no developer"),
    ({"steps": [{"kind": "role", "role": "wizard", "channels": ["email"]}]}, "steps.0.role", "must be one of"),
    ({"steps": [{"kind": "lead", "channels": ["pigeon"]}]}, "steps.0.channels", "unknown channel 'pigeon'"),
    ({"steps": [{"kind": "lead", "channels": []}]}, "steps.0.channels", "at least one channel"),
    ({"steps": [{"kind": "lead", "channels": ["email"]}, {"kind": "wait", "minutes": 0}]}, "steps.1.minutes",
     "between 1 and 10080"),
    ({"steps": [{"kind": "wait", "minutes": 10081}]}, "steps.0.minutes", "between 1 and 10080"),
    ({"steps": [{"kind": "wait", "setting": "retention_days"}]}, "steps.0.setting", "must be one of"),
    ({"steps": [{"kind": "teleport"}]}, "steps.0.kind", "must be one of"),
    ({"steps": [{"kind": "webhook", "webhook_id": 5}]}, "steps.0.webhook_id", "no webhook subscription"),
    ({"repeat_times": 11, "repeat_every_minutes": 5}, "repeat_times", "between 0 and 10"),
    ({"repeat_times": 2}, "repeat_every_minutes", "required when the chain repeats"),
    ({"repeat_times": 1, "repeat_every_minutes": 2000}, "repeat_every_minutes", "between 1 and 1440"),
    ({"severity": "dire"}, "severity", "must be one of"),
    ({"service_id": 4242}, "service_id", "no service with id 4242"),
    ({"steps": [{"kind": "wait", "minutes": "ten"}]}, "steps.0.minutes", "valid integer"),
])
def test_refusals_name_the_field(api, service, change, field, words):
    answer = api.post("/api/escalation-chains/", json={**_body(service.id), **change})
    assert answer.status_code == 400, answer.json
    assert answer.json["error"]["field"] == field
    assert words in answer.json["error"]["message"]
    assert db.session.query(EscalationChain).count() == 0


def test_one_chain_per_service_and_severity(api, service):
    assert api.post("/api/escalation-chains/", json=_body(service.id)).status_code == 201
    again = api.post("/api/escalation-chains/", json=_body(service.id))
    assert again.status_code == 409 and again.json["error"]["field"] == "severity"


def test_who_may_edit_which_chain(client, api, service, lead):
    admin = ApiClient(client, make_token(make_developer("Ada Admin", role="admin")))
    developer = ApiClient(client, make_token(make_developer("Dan Dev", services=[service])))
    elsewhere = make_service("Search")

    assert developer.post("/api/escalation-chains/", json=_body(service.id)).status_code == 403
    assert api.post("/api/escalation-chains/", json=_body(elsewhere.id)).status_code == 403
    refused = api.post("/api/escalation-chains/", json=_body(None))
    assert refused.status_code == 403 and "default" in refused.json["error"]["message"]
    default = admin.post("/api/escalation-chains/", json=_body(None, name="Default critical"))
    assert default.status_code == 201
    assert api.put(f"/api/escalation-chains/{default.json['id']}/", json=_body(None)).status_code == 403
    assert api.delete(f"/api/escalation-chains/{default.json['id']}/").status_code == 403
    own = api.post("/api/escalation-chains/", json=_body(service.id))
    assert own.status_code == 201
    # A lead cannot move their chain to a service that is not theirs.
    moved = api.put(f"/api/escalation-chains/{own.json['id']}/", json=_body(elsewhere.id))
    assert moved.status_code == 403
    assert developer.get("/api/escalation-chains/").json["total"] == 2  # everyone reads


def test_the_list_says_which_channels_are_configured(app, api, twilio_receiver):  # noqa: F811
    before = api.get("/api/escalation-chains/").json["channels"]
    configure_twilio(app.config, twilio_receiver)
    after = api.get("/api/escalation-chains/").json["channels"]
    assert "sms" not in before and "sms" in after
