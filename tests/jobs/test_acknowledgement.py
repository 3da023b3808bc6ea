"""Acknowledging an error holds its escalation chain; without progress in time the chain goes on.
Escalation never targets the person it escalates from."""
from __future__ import annotations

import datetime as dt

import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, ErrorAcknowledgement, ErrorEscalation, ErrorLog
from app.platform import settings
from app.triage import changes as triage
from app.triage.acknowledge import acknowledge_error
from app.triage.escalation import escalate_error
from tests.factories import ApiClient, make_developer, make_token
from tests.jobs.events import record_events
from tests.jobs.test_escalation import T0, at, escalation_rows


def _error(error_id: str) -> ErrorLog:
    return db.session.get(ErrorLog, error_id)


def _ack(error_id: str, who, minutes: int) -> None:
    with time_machine.travel(T0 + dt.timedelta(minutes=minutes), tick=False):
        acknowledge_error(_error(error_id), who, via="dashboard")


def _actions(error_id: str) -> list[str]:
    return list(db.session.execute(select(AuditEvent.action).where(AuditEvent.error_id == error_id)
                                   .order_by(AuditEvent.id)).scalars())


def test_an_acknowledgement_holds_the_next_level_until_it_lapses(app, team):
    service, lead, _ = team
    settings.update_setting("ack_timeout_minutes", 90, None)
    (result,) = record_events(service, severity="critical", at=T0)
    assert len(at(dt.timedelta(minutes=61))) == 1
    _ack(result.error_id, lead, 70)

    assert at(dt.timedelta(minutes=122)) == []  # level 2 was due: the acknowledgement holds it
    assert at(dt.timedelta(minutes=159)) == []
    assert len(at(dt.timedelta(minutes=161))) == 1  # 90 minutes without progress: the chain goes on
    assert [e.level for e in escalation_rows(result.error_id)] == [1, 2]
    actions = _actions(result.error_id)
    assert actions.index("error.acknowledged") < actions.index("error.acknowledgement_lapsed")
    assert db.session.get(ErrorAcknowledgement, result.error_id) is None


def test_progress_in_time_keeps_the_chain_stopped(app, team):
    service, lead, _ = team
    (result,) = record_events(service, severity="critical", at=T0)
    _ack(result.error_id, lead, 5)
    with time_machine.travel(T0 + dt.timedelta(minutes=20), tick=False):
        triage.set_status(_error(result.error_id), "in_progress", lead)
    assert at(dt.timedelta(hours=8)) == []
    assert escalation_rows(result.error_id) == []


def test_progress_too_late_does_not_bring_back_a_lapsed_acknowledgement(app, team):
    service, lead, _ = team
    (result,) = record_events(service, severity="critical", at=T0)
    _ack(result.error_id, lead, 5)  # the default timeout: 30 minutes
    with time_machine.travel(T0 + dt.timedelta(minutes=50), tick=False):
        triage.set_status(_error(result.error_id), "in_progress", lead)
    assert len(at(dt.timedelta(minutes=61))) == 1


def test_a_regression_is_not_covered_by_an_older_acknowledgement(app, team):
    service, lead, _ = team
    (first,) = record_events(service, severity="critical", at=T0)
    _ack(first.error_id, lead, 5)
    with time_machine.travel(T0 + dt.timedelta(minutes=10), tick=False):
        triage.set_status(_error(first.error_id), "in_progress", lead)
        triage.resolve_error(_error(first.error_id), lead)
    record_events(service, severity="critical", at=T0 + dt.timedelta(hours=5))
    assert len(at(dt.timedelta(hours=6, minutes=1))) == 1


def test_resolving_closes_the_open_escalations_and_a_closed_error_is_not_acknowledged(app, client, team):
    service, lead, _ = team
    (result,) = record_events(service, severity="critical", at=T0)
    at(dt.timedelta(minutes=61))
    api = ApiClient(client, make_token(lead))
    assert api.post(f"/api/errors/{result.error_id}/acknowledge/").status_code == 200
    assert api.post(f"/api/errors/{result.error_id}/resolve/").status_code == 200
    (level1,) = escalation_rows(result.error_id)
    assert level1.resolved_at is not None and level1.note == "resolved"
    answer = api.post(f"/api/errors/{result.error_id}/acknowledge/")
    assert answer.status_code == 409 and answer.json["error"]["field"] == "status"


def test_the_api_and_the_dashboard_acknowledge_through_the_same_rule(app, client, team):
    service, lead, _ = team
    other = make_developer("Other Dev", email="other@example.test", services=[service])
    db.session.commit()
    (result,) = record_events(service, severity="critical", at=T0)
    triage.assign_error(_error(result.error_id), lead, None)
    refused = ApiClient(client, make_token(other)).post(f"/api/errors/{result.error_id}/acknowledge/")
    assert refused.status_code == 403
    answer = ApiClient(client, make_token(lead)).post(f"/api/errors/{result.error_id}/acknowledge/")
    assert answer.status_code == 200
    assert answer.json["acknowledged_by"]["id"] == lead.id and answer.json["acknowledgement_holds"] is True
    via = db.session.execute(select(AuditEvent.details).where(AuditEvent.action == "error.acknowledged")).scalar_one()
    assert via == {"via": "api", "renewed": False}


def test_a_lead_assigned_to_their_own_error_is_not_escalated_to_themself(app, team):
    service, lead, admins = team
    manager = make_developer("Mia Manager", email="mia@example.test", role="manager")
    db.session.commit()
    (result,) = record_events(service, severity="critical", at=T0)
    triage.assign_error(_error(result.error_id), lead, None)
    assert len(at(dt.timedelta(minutes=61))) == 1
    (level1,) = escalation_rows(result.error_id)
    assert (level1.escalated_from_id, level1.escalated_to_id) == (lead.id, manager.id)


def test_an_admin_assigned_is_not_among_the_admins_of_level_two(app, team):
    from app.notify.planning import escalation_recipients
    service, lead, admins = team
    (result,) = record_events(service, severity="critical", at=T0)
    triage.assign_error(_error(result.error_id), admins[0], None)
    at(dt.timedelta(minutes=61))
    at(dt.timedelta(minutes=122))
    level2 = escalation_rows(result.error_id)[1]
    assert level2.escalated_to_id == admins[1].id
    assert [d.id for d in escalation_recipients(level2)] == [admins[1].id]


def test_an_escalation_is_not_directed_at_the_assignee(app, team):
    from app.triage.changes import TriageError
    service, lead, admins = team
    (result,) = record_events(service, severity="critical", at=T0)
    error = _error(result.error_id)
    triage.assign_error(error, lead, None)
    try:
        escalate_error(error, admins[0], "look", to=lead)
    except TriageError as exc:
        assert exc.field == "to"
    else:
        raise AssertionError("an escalation to the assignee was accepted")
    assert db.session.execute(select(ErrorEscalation)).first() is None


def test_acknowledging_a_settled_acknowledgement_again_keeps_it_settled(app, team):
    service, lead, _ = team
    (result,) = record_events(service, severity="critical", at=T0)
    _ack(result.error_id, lead, 5)
    with time_machine.travel(T0 + dt.timedelta(minutes=10), tick=False):
        triage.set_status(_error(result.error_id), "in_progress", lead)
    _ack(result.error_id, lead, 50)
    assert at(dt.timedelta(hours=3)) == []
