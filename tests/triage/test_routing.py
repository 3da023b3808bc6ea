"""Routing: who gets an error, and why nobody did."""
from __future__ import annotations

import datetime as dt
import itertools
import threading

import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, ErrorLog
from app.models.types import utcnow
from app.triage import oncall
from app.triage import routing
from app.triage import changes as triage
from tests.factories import make_developer, make_service

_fingerprints = itertools.count(1)


def make_error(service, severity="high", status="new") -> ErrorLog:
    from app.models import SEVERITY_LEVEL

    error = ErrorLog(service_id=service.id, fingerprint=f"{next(_fingerprints):040d}", severity=severity,
                     severity_level=SEVERITY_LEVEL[severity], error_type="RoutingError", message="m", status=status,
                     occurrence_count=1, regression_count=0)
    db.session.add(error)
    db.session.commit()
    return error


def test_only_on_call_developers_of_the_service_under_their_max_load_are_candidates(app):
    service, other = make_service(), make_service()
    stranger = make_developer("Stranger", services=[other], on_call=True)
    off = make_developer("Off", services=[service], on_call=False)
    full = make_developer("Full", services=[service], on_call=True, max_load=0)
    gone = make_developer("Gone", services=[service], on_call=True)
    gone.active = False
    chosen = make_developer("Chosen", services=[service], on_call=True)
    db.session.commit()

    assert [d.id for d, _ in routing.candidates(service.id)] == [chosen.id]
    decision = routing.route_error(make_error(service).id, "error.created")
    assert decision.assignee_id == chosen.id and decision.assigned_now
    assert stranger.id not in decision.notify_ids and off.id not in decision.notify_ids and full.id != chosen.id


def test_least_loaded_first_and_ties_go_to_the_least_recently_assigned(app):
    service = make_service()
    ann = make_developer("Ann", services=[service], on_call=True)
    bob = make_developer("Bob", services=[service], on_call=True)
    first = make_error(service)
    assert routing.route_error(first.id, "error.created").assignee_id == ann.id  # both empty, neither assigned yet
    assert routing.route_error(make_error(service).id, "error.created").assignee_id == bob.id  # Ann has one

    triage.resolve_error(db.session.get(ErrorLog, first.id), None)  # Ann back to zero, Bob has one
    assert routing.route_error(make_error(service).id, "error.created").assignee_id == ann.id
    triage.resolve_error(db.session.execute(select(ErrorLog).where(ErrorLog.assigned_to_id == bob.id)).scalar_one(), None)
    # Both have one open error now; Bob was assigned longer ago than Ann: round robin gives it to him.
    assert routing.route_error(make_error(service).id, "error.created").assignee_id == bob.id


def test_nobody_available_keeps_the_error_unassigned_and_says_why(app):
    service = make_service()
    lead = make_developer("Lead", role="lead")
    service.lead_id = lead.id
    db.session.commit()
    error = make_error(service)
    decision = routing.route_error(error.id, "error.created")
    assert (decision.assignee_id, decision.fallback, decision.notify_ids) == (None, True, [lead.id])
    assert decision.reason == "no active developer knows this service"

    make_developer("Resting", services=[service], on_call=False)
    assert routing.route_error(make_error(service).id, "error.created").reason == \
        "none of the service's developers is on call"
    make_developer("Busy", services=[service], on_call=True, max_load=0)
    assert routing.route_error(make_error(service).id, "error.created").reason == \
        "every developer on call for this service is at their max load"

    audit = db.session.execute(select(AuditEvent).where(AuditEvent.action == "error.unrouted")).scalars().all()
    assert len(audit) == 3 and db.session.get(ErrorLog, error.id).assigned_to_id is None


def test_the_schedule_of_the_error_s_service_decides_who_is_on_call_and_an_override_stands_in(app):
    service, elsewhere = make_service(), make_service()
    lead = make_developer("Lead", role="lead")
    turn = make_developer("Turn", services=[service, elsewhere])
    cover = make_developer("Cover", services=[service])
    flagged = make_developer("Flagged", services=[service, elsewhere], on_call=True)
    now = utcnow()
    plan = oncall.create_schedule(lead, name="Service", service_ids=[service.id])
    oncall.add_layer(plan, lead, name="weekly", starts_on=(now - dt.timedelta(days=1)).date().isoformat(),
                     participants=[turn.id], frequency="weekly", handoff_time="00:00")
    assert routing.route_error(make_error(service).id, "error.created").assignee_id == turn.id
    # The other service has no schedule of its own: the default one, where the switch is on for Flagged.
    assert routing.route_error(make_error(elsewhere).id, "error.created").assignee_id == flagged.id

    oncall.add_override(plan, cover, now - dt.timedelta(minutes=5), now + dt.timedelta(hours=2), lead, replaces=turn)
    assert oncall.on_call_ids([turn.id, cover.id], service_id=service.id) == {cover.id}
    assert routing.route_error(make_error(service).id, "error.created").assignee_id == cover.id
    with time_machine.travel(now + dt.timedelta(hours=3), tick=False):
        assert oncall.on_call_ids([turn.id, cover.id], service_id=service.id) == {turn.id}


def test_an_existing_assignee_keeps_a_new_error_and_a_regression_while_on_call(app):
    service = make_service()
    owner = make_developer("Owner", services=[service], on_call=True)
    make_developer("Other", services=[service], on_call=True)
    error = make_error(service)
    triage.assign_error(error, owner, None, commit=True)
    decision = routing.route_error(error.id, "error.created")
    assert (decision.assignee_id, decision.assigned_now) == (owner.id, False)

    error = db.session.get(ErrorLog, error.id)
    error.status = "new"  # as the ingest upsert leaves a regressed error
    db.session.commit()
    decision = routing.route_error(error.id, "error.regressed")
    assert (decision.assignee_id, decision.assigned_now) == (owner.id, True)
    assert db.session.get(ErrorLog, error.id).status == "assigned"


def test_a_regression_whose_assignee_went_off_call_is_routed_again(app):
    service = make_service()
    owner = make_developer("Owner", services=[service], on_call=True)
    other = make_developer("Other", services=[service], on_call=True, max_load=20)
    error = make_error(service)
    triage.assign_error(error, owner, None)
    oncall.switch(owner, False)
    db.session.commit()
    assert routing.route_error(error.id, "error.regressed").assignee_id == other.id


def test_two_errors_routed_at_once_never_push_a_developer_past_max_load(app):
    service = make_service()
    only = make_developer("Only", services=[service], on_call=True, max_load=1)
    errors = [make_error(service).id for _ in range(4)]
    barrier = threading.Barrier(len(errors))
    decisions = []

    def route(error_id):
        with app.app_context():
            barrier.wait()
            decisions.append(routing.route_error(error_id, "error.created").assignee_id)
            db.session.remove()

    threads = [threading.Thread(target=route, args=(e,)) for e in errors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(decisions, key=str) == sorted([only.id, None, None, None], key=str)


def test_quiet_hours_hold_back_sms_and_slack_even_across_midnight(app):
    developer = make_developer(phone="+41790000009")
    developer.quiet_hours_start, developer.quiet_hours_end, developer.timezone = "22:00", "07:00", "Europe/Zurich"
    everywhere = lambda d, c: True  # noqa: E731
    night = dt.datetime(2026, 1, 15, 23, 30, tzinfo=dt.timezone.utc)  # 00:30 in Zurich
    day = dt.datetime(2026, 1, 15, 10, 0, tzinfo=dt.timezone.utc)
    assert routing.in_quiet_hours(developer, night) and not routing.in_quiet_hours(developer, day)
    assert routing.personal_channels(developer, "critical", everywhere, night) == ["email"]
    assert routing.personal_channels(developer, "critical", everywhere, day) == ["email", "slack", "sms"]
    assert routing.personal_channels(developer, "low", everywhere, day) == []


def test_critical_falls_back_to_a_reachable_channel(app):
    developer = make_developer()
    developer.notification_preferences = {"critical": ["sms"], "high": []}
    only_slack = lambda d, c: c == "slack"  # noqa: E731
    assert routing.personal_channels(developer, "critical", only_slack) == ["slack"]
    assert routing.personal_channels(developer, "high", only_slack) == []
