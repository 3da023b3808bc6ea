"""The dashboard's chain editor without a browser: the same rules as the JSON API (one function), HTMX
answers with the editor, refusals name the field and change nothing, and only editors see the forms."""
from __future__ import annotations

from app.extensions import db
from app.models import EscalationChain
from app.triage import chains
from tests.factories import make_developer, make_service

PASSWORD = "correct horse battery"
HTMX = {"HX-Request": "true", "HX-Target": "chain-editor"}


def login(client, developer):
    assert client.post("/login", data={"email": developer.email, "password": PASSWORD}).status_code == 303


def _chain(service):
    return chains.create_chain(None, name="AI critical", service_id=service.id, severity="critical",
                               steps=[{"kind": "lead", "channels": ["email"]}, {"kind": "wait", "minutes": 5},
                                      {"kind": "role", "role": "admin", "channels": ["email"]}])


def test_a_lead_creates_a_chain_for_their_service_and_edits_its_steps_with_htmx(client, lead, service):
    login(client, lead)
    page = client.get("/escalations/chains").get_data(as_text=True)
    assert 'id="new-chain"' in page and "every service without its own" not in page  # the default: admins only
    created = client.post("/escalations/chains", data={"name": "AI pages", "service_id": service.id,
                                                       "severity": "critical"})
    assert created.status_code == 303
    chain = db.session.query(EscalationChain).one()
    added = client.post(f"/escalations/chains/{chain.id}/steps", headers=HTMX,
                        data={"kind": "role", "role": "manager", "channels": ["email"]})
    assert added.status_code == 200 and added.get_data(as_text=True).startswith('<div id="chain-editor"')
    client.post(f"/escalations/chains/{chain.id}/steps", headers=HTMX, data={"kind": "wait", "minutes": "7"})
    moved = client.post(f"/escalations/chains/{chain.id}/steps/1/move", headers=HTMX, data={"direction": "up"})
    assert moved.status_code == 200
    db.session.expire_all()
    assert [s.kind for s in db.session.get(EscalationChain, chain.id).steps] == ["wait", "role"]


def test_refusals_name_the_field_and_change_nothing(client, lead, service):
    chain = _chain(service)
    login(client, lead)
    answer = client.post(f"/escalations/chains/{chain.id}/steps", headers=HTMX,
                         data={"kind": "oncall", "schedule_id": "999", "channels": ["email"]})
    assert answer.status_code == 400
    assert "&#39;steps.3.schedule_id&#39;: no schedule with id 999" in answer.get_data(as_text=True)
    bad_repeat = client.post(f"/escalations/chains/{chain.id}", headers=HTMX,
                             data={"name": "AI critical", "service_id": service.id, "severity": "critical",
                                   "repeat_times": "3"})
    assert bad_repeat.status_code == 400 and "repeat_every_minutes" in bad_repeat.get_data(as_text=True)
    nowhere = client.post(f"/escalations/chains/{chain.id}/steps/7/move", headers=HTMX, data={"direction": "up"})
    assert nowhere.status_code == 400
    db.session.expire_all()
    stored = db.session.get(EscalationChain, chain.id)
    assert [s.kind for s in stored.steps] == ["lead", "wait", "role"] and stored.repeat_times == 0


def test_who_sees_the_forms_and_who_is_refused(client, service):
    chain = _chain(service)
    other = make_developer("Olga Other", role="lead", services=[make_service("Search")])
    developer = make_developer("Dan Dev", services=[service])
    db.session.commit()
    for person in (developer, other):
        client.post("/logout")
        login(client, person)
        page = client.get(f"/escalations/chains/{chain.id}").get_data(as_text=True)
        assert "every admin by e-mail" in page and 'id="add-step"' not in page
        refused = client.post(f"/escalations/chains/{chain.id}/steps/0/remove", headers=HTMX)
        assert refused.status_code == 403
    db.session.expire_all()
    assert len(db.session.get(EscalationChain, chain.id).steps) == 3
