"""Changing errors through the JSON API: PATCH, resolve, assign, escalate; who may do what; the audit trail."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.models import AuditEvent, ErrorEscalation, ErrorLog
from app.triage import changes as triage
from tests.factories import ApiClient, make_developer, make_error, make_token


# Nobody here is on call, so routing (which runs in-line after each ingest) assigns nothing by itself
# and every assignment in these tests is the one the test makes. No passwords: hashing one (scrypt)
# would dominate these tests' time.

@pytest.fixture
def lead(app, service):
    return make_developer("Lena Lead", role="lead", services=[service], password=None)


@pytest.fixture
def error(app, service):
    return make_error(service, "ReadTimeout", "upstream timed out")


@pytest.fixture
def dev(app, service):
    return make_developer("Dora Dev", services=[service], password=None)


@pytest.fixture
def other_dev(app, service):
    return make_developer("Omar Other", services=[service], password=None)


@pytest.fixture
def dev_api(client, dev):
    return ApiClient(client, make_token(dev))


def audit(error_id: str) -> list[tuple[str, int | None]]:
    """The error's timeline of changes people made (routing's own entries have no actor)."""
    rows = db.session.execute(db.select(AuditEvent).where(AuditEvent.error_id == error_id,
                                                          AuditEvent.actor_id.is_not(None))
                              .order_by(AuditEvent.id)).scalars()
    return [(row.action, row.actor_id) for row in rows]


def fresh(error: ErrorLog) -> ErrorLog:
    db.session.expire_all()
    return db.session.get(ErrorLog, error.id)


# --- PATCH -------------------------------------------------------------------------------------

def test_patch_status_severity_and_assignee(api, error, lead, dev):
    response = api.patch(f"/api/errors/{error.id}/", json={"assigned_to": dev.id, "severity": "critical",
                                                           "status": "in_progress"})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["assigned_to"]["id"] == dev.id
    assert (body["severity"], body["status"]) == ("critical", "in_progress")
    stored = fresh(error)
    assert (stored.assigned_to_id, stored.severity, stored.severity_level, stored.status) == (dev.id, "critical", 5,
                                                                                             "in_progress")
    assert audit(error.id) == [("error.assigned", lead.id), ("error.severity_changed", lead.id),
                               ("error.status_changed", lead.id)]


def test_patch_unassign(api, error, lead, dev):
    triage.assign_error(error, dev, lead)
    response = api.patch(f"/api/errors/{error.id}/", json={"assigned_to": None})
    assert response.status_code == 200 and response.json["assigned_to"] is None
    assert fresh(error).status == "new"
    assert audit(error.id)[-1] == ("error.unassigned", lead.id)


def test_patch_status_resolved_resolves_with_the_note(api, error, lead):
    response = api.patch(f"/api/errors/{error.id}/", json={"status": "resolved", "note": "retry added"})
    assert response.status_code == 200
    stored = fresh(error)
    assert stored.resolved and stored.resolved_by_id == lead.id and stored.resolution_note == "retry added"
    assert audit(error.id) == [("error.resolved", lead.id)]


def test_patch_reopening_clears_the_resolution(api, error, lead):
    triage.resolve_error(error, lead, "done")
    response = api.patch(f"/api/errors/{error.id}/", json={"status": "new"})
    assert response.status_code == 200
    stored = fresh(error)
    assert (stored.status, stored.resolved, stored.resolved_at) == ("new", False, None)


def test_patch_without_change_writes_no_audit_row(api, error):
    assert api.patch(f"/api/errors/{error.id}/", json={"status": "new", "severity": error.severity}).status_code == 200
    assert audit(error.id) == []


@pytest.mark.parametrize(("body", "field"), [
    ({"status": "done"}, "status"),
    ({"status": 3}, "status"),
    ({"severity": "urgent"}, "severity"),
    ({"severity": None}, "severity"),
    ({"assigned_to": "dora"}, "assigned_to"),
    ({"assigned_to": True}, "assigned_to"),
    ({"assigned_to": 999999}, "assigned_to"),
    ({"note": ["x"], "status": "resolved"}, "note"),
    ({"title": "x"}, "title"),
])
def test_patch_is_validated(api, error, body, field):
    response = api.patch(f"/api/errors/{error.id}/", json=body)
    assert response.status_code == 400
    assert response.json["error"]["field"] == field
    assert audit(error.id) == []


def test_patch_changes_nothing_when_one_field_is_invalid(api, error, dev):
    response = api.patch(f"/api/errors/{error.id}/", json={"assigned_to": dev.id, "status": "finished"})
    assert response.status_code == 400
    assert fresh(error).assigned_to_id is None
    assert audit(error.id) == []


def test_patch_refused_with_409_changes_nothing(api, error, lead, dev):
    triage.resolve_error(error, lead, "done")
    before = fresh(error).severity
    response = api.patch(f"/api/errors/{error.id}/", json={"severity": "low", "assigned_to": dev.id,
                                                           "status": "resolved"})
    assert response.status_code == 409, response.json
    assert response.json["error"]["field"] == "status"
    stored = fresh(error)
    assert (stored.severity, stored.assigned_to_id, stored.status) == (before, None, "resolved")
    assert audit(error.id) == [("error.resolved", lead.id)]


def test_patch_assigning_an_inactive_developer_names_the_field(api, error, dev):
    dev.active = False
    db.session.commit()
    response = api.patch(f"/api/errors/{error.id}/", json={"assigned_to": dev.id})
    assert response.status_code == 400 and response.json["error"]["field"] == "assigned_to"


@pytest.mark.parametrize("body", [b"{", b"[]", b'"x"'])
def test_patch_with_a_malformed_body_is_400(api, error, body):
    response = api.patch(f"/api/errors/{error.id}/", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json["error"]["code"] == "malformed_json"


def test_patch_unknown_error_is_404(api):
    assert api.patch("/api/errors/nope/", json={"status": "new"}).status_code == 404


# --- resolve -----------------------------------------------------------------------------------

def test_resolve_with_a_note(api, error, lead):
    response = api.post(f"/api/errors/{error.id}/resolve/", json={"note": "fixed by raising the timeout"})
    assert response.status_code == 200
    body = response.json
    assert (body["status"], body["resolved"], body["resolution_note"]) == ("resolved", True,
                                                                         "fixed by raising the timeout")
    assert body["resolved_by"]["id"] == lead.id and body["resolved_at"]
    assert audit(error.id) == [("error.resolved", lead.id)]


def test_resolve_without_a_body(api, error):
    assert api.post(f"/api/errors/{error.id}/resolve/").status_code == 200
    assert fresh(error).resolution_note is None


def test_resolving_twice_is_a_409(api, error):
    api.post(f"/api/errors/{error.id}/resolve/", json={})
    response = api.post(f"/api/errors/{error.id}/resolve/", json={})
    assert response.status_code == 409


def test_resolve_note_must_be_text(api, error):
    response = api.post(f"/api/errors/{error.id}/resolve/", json={"note": 5})
    assert response.status_code == 400 and response.json["error"]["field"] == "note"


def test_a_developer_resolves_their_own_or_an_unassigned_error(dev_api, error, dev, lead, service):
    assert dev_api.post(f"/api/errors/{error.id}/resolve/", json={}).status_code == 200
    mine = make_error(service, "KeyError", "mine")
    triage.assign_error(mine, dev, lead)
    assert dev_api.post(f"/api/errors/{mine.id}/resolve/", json={}).status_code == 200


def test_a_developer_may_not_resolve_an_error_assigned_to_someone_else(dev_api, error, other_dev, lead):
    triage.assign_error(error, other_dev, lead)
    response = dev_api.post(f"/api/errors/{error.id}/resolve/", json={"note": "not mine"})
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
    assert fresh(error).status == "assigned"
    assert [action for action, _ in audit(error.id)] == ["error.assigned"]
    # The other ways to resolve or change it are closed too.
    assert dev_api.patch(f"/api/errors/{error.id}/", json={"status": "resolved"}).status_code == 403
    assert dev_api.patch(f"/api/errors/{error.id}/", json={"severity": "low"}).status_code == 403


# --- assign ------------------------------------------------------------------------------------

def test_assign(api, error, lead, dev):
    response = api.post(f"/api/errors/{error.id}/assign/", json={"developer_id": dev.id})
    assert response.status_code == 200
    assert response.json["assigned_to"] == {"id": dev.id, "name": dev.name, "email": dev.email}
    assert response.json["status"] == "assigned"
    assert audit(error.id) == [("error.assigned", lead.id)]
    assert db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "error.assigned")).scalar_one() \
        .details == {"from": None, "to": dev.id, "reason": None}


def test_a_developer_may_take_an_unassigned_error(dev_api, error, dev):
    assert dev_api.post(f"/api/errors/{error.id}/assign/", json={"developer_id": dev.id}).status_code == 200
    assert fresh(error).assigned_to_id == dev.id


def test_a_developer_may_not_assign_others(dev_api, error, other_dev):
    response = dev_api.post(f"/api/errors/{error.id}/assign/", json={"developer_id": other_dev.id})
    assert response.status_code == 403
    assert fresh(error).assigned_to_id is None and audit(error.id) == []
    assert dev_api.patch(f"/api/errors/{error.id}/", json={"assigned_to": other_dev.id}).status_code == 403


def test_a_developer_may_not_take_an_error_assigned_to_someone_else(dev_api, error, dev, other_dev, lead):
    triage.assign_error(error, other_dev, lead)
    assert dev_api.post(f"/api/errors/{error.id}/assign/", json={"developer_id": dev.id}).status_code == 403
    assert fresh(error).assigned_to_id == other_dev.id


@pytest.mark.parametrize(("body", "code"), [({}, "missing_field"), ({"developer_id": "7"}, "bad_request"),
                                            ({"developer_id": 999999}, "bad_request"),
                                            ({"developer_id": None}, "bad_request")])
def test_assign_is_validated(api, error, body, code):
    response = api.post(f"/api/errors/{error.id}/assign/", json=body)
    assert response.status_code == 400
    assert response.json["error"] == {**response.json["error"], "field": "developer_id", "code": code}


# --- escalate ----------------------------------------------------------------------------------

def test_escalate_to_a_named_developer(api, error, lead, service):
    manager = make_developer("Mia Manager", role="manager", password=None)
    response = api.post(f"/api/errors/{error.id}/escalate/", json={"to": manager.id, "reason": "customers affected"})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["level"] == 1 and body["automatic"] is False and body["reason"] == "customers affected"
    assert body["escalated_to"]["id"] == manager.id
    row = db.session.get(ErrorEscalation, body["id"])
    assert (row.error_id, row.created_by_id) == (error.id, lead.id)
    assert audit(error.id) == [("error.escalated", lead.id)]


def test_escalate_goes_one_level_up_each_time(api, error, service, lead):
    service.lead_id = lead.id
    admin = make_developer("Ada Admin", role="admin", password=None)
    db.session.commit()
    first = api.post(f"/api/errors/{error.id}/escalate/", json={"reason": "stuck"}).json
    second = api.post(f"/api/errors/{error.id}/escalate/", json={"reason": "still stuck"}).json
    assert (first["level"], first["escalated_to"]["id"]) == (1, lead.id)
    assert (second["level"], second["escalated_to"]["id"]) == (2, admin.id)


@pytest.mark.parametrize(("body", "field"), [({}, "reason"), ({"reason": "  "}, "reason"), ({"reason": 5}, "reason"),
                                             ({"reason": "x", "to": "boss"}, "to"),
                                             ({"reason": "x", "to": 999999}, "to")])
def test_escalate_is_validated(api, error, body, field):
    response = api.post(f"/api/errors/{error.id}/escalate/", json=body)
    assert response.status_code == 400 and response.json["error"]["field"] == field
    assert db.session.execute(db.select(ErrorEscalation)).first() is None


def test_resolving_closes_the_open_escalations_with_the_note(api, error, lead, service):
    service.lead_id = lead.id
    db.session.commit()
    api.post(f"/api/errors/{error.id}/escalate/", json={"reason": "stuck"})
    api.post(f"/api/errors/{error.id}/escalate/", json={"reason": "still stuck"})
    assert api.post(f"/api/errors/{error.id}/resolve/", json={"note": "pool size raised"}).status_code == 200
    rows = db.session.execute(db.select(ErrorEscalation).order_by(ErrorEscalation.level)).scalars().all()
    assert [(r.level, r.note) for r in rows] == [(1, "resolved: pool size raised"), (2, "resolved: pool size raised")]
    assert all(r.resolved_at is not None for r in rows)


def test_ignoring_closes_the_open_escalations_and_reopening_keeps_them_closed(api, error):
    api.post(f"/api/errors/{error.id}/escalate/", json={"reason": "stuck"})
    assert api.patch(f"/api/errors/{error.id}/", json={"status": "ignored"}).status_code == 200
    (row,) = db.session.execute(db.select(ErrorEscalation)).scalars().all()
    closed_at = row.resolved_at
    assert closed_at is not None and row.note == "ignored"
    api.patch(f"/api/errors/{error.id}/", json={"status": "new"})
    db.session.refresh(row)
    assert row.resolved_at == closed_at


def test_resolved_is_the_status_alone(api, error):
    api.post(f"/api/errors/{error.id}/resolve/", json={})
    assert api.get(f"/api/errors/{error.id}/").json["resolved"] is True
    api.patch(f"/api/errors/{error.id}/", json={"status": "in_progress"})
    assert api.get(f"/api/errors/{error.id}/").json["resolved"] is False
    assert "resolved" not in ErrorLog.__table__.columns


def test_a_resolved_error_cannot_be_escalated(api, error, lead):
    triage.resolve_error(error, lead)
    assert api.post(f"/api/errors/{error.id}/escalate/", json={"reason": "x"}).status_code == 409


def test_a_developer_may_not_escalate_someone_elses_error(dev_api, error, other_dev, lead):
    triage.assign_error(error, other_dev, lead)
    assert dev_api.post(f"/api/errors/{error.id}/escalate/", json={"reason": "x"}).status_code == 403


def test_a_developer_may_escalate_their_own_error(dev_api, error, dev, lead):
    triage.assign_error(error, dev, lead)
    response = dev_api.post(f"/api/errors/{error.id}/escalate/", json={"reason": "beyond me"})
    assert response.status_code == 201
    assert audit(error.id)[-1] == ("error.escalated", dev.id)


def test_a_developer_may_not_direct_an_escalation_at_a_colleague(dev_api, error, dev, other_dev, lead):
    triage.assign_error(error, dev, lead)
    response = dev_api.post(f"/api/errors/{error.id}/escalate/", json={"reason": "look", "to": other_dev.id})
    assert response.status_code == 403, response.json
    assert response.json["error"]["code"] == "forbidden" and response.json["error"]["field"] == "to"
    assert db.session.execute(db.select(ErrorEscalation)).first() is None


def test_a_lead_may_direct_an_escalation_at_anyone(api, error, other_dev):
    response = api.post(f"/api/errors/{error.id}/escalate/", json={"reason": "look", "to": other_dev.id})
    assert response.status_code == 201 and response.json["escalated_to"]["id"] == other_dev.id


@pytest.mark.parametrize("action", ["resolve", "assign", "escalate"])
def test_actions_on_an_unknown_error_are_404(api, action):
    response = api.post(f"/api/errors/00000000-0000-0000-0000-000000000000/{action}/", json={})
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
