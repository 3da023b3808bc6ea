"""Escalation chains as the sweep walks them: steps in order with their waits, never twice, held by an
acknowledgement, past the assignee, repeats bounded, a regression back at the first step."""
from __future__ import annotations

import datetime as dt
import json
import threading

import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import ErrorEscalation, ErrorLog, ErrorNotification
from app.notify import subscriptions as webhooks_out
from app.triage import acknowledge, chain_plans, chains, oncall
from app.triage import changes as triage
from app.triage.escalation import advance_error, escalate_unresolved, escalation_candidates
from tests.factories import make_developer, make_service
from tests.jobs.events import record_events
from tests.jobs.test_escalation import T0, at, escalation_rows
from tests.receivers import configure_slack_api


def _error(error_id: str) -> ErrorLog:
    return db.session.get(ErrorLog, error_id)


def _told(event="error.escalated") -> list[tuple[str, str]]:
    return sorted((r.recipient, r.channel) for r in db.session.execute(
        select(ErrorNotification).where(ErrorNotification.event == event)).scalars())


def _paging_chain(service, *steps, severity="critical", **fields):
    return chains.create_chain(None, name=f"{service.name} {severity}", service_id=service.id, severity=severity,
                               steps=list(steps), **fields)


def _schedule_with(person):
    plan = oncall.create_schedule(None, name=f"Rota of {person.name}")
    oncall.add_layer(plan, None, name="weekly", frequency="weekly", starts_on="2026-01-05", participants=[person.id])
    return plan


def test_step_one_fires_then_step_two_after_its_wait(app, team):
    service, lead, admins = team
    oskar = make_developer("Oskar On-call", email="oskar@example.test", phone="+41790000030")
    rota = _schedule_with(oskar)
    _paging_chain(service, {"kind": "oncall", "schedule_id": rota.id, "channels": ["sms"]},
                  {"kind": "wait", "minutes": 10}, {"kind": "person", "developer_id": admins[0].id,
                                                     "channels": ["email"]})
    (result,) = record_events(service, severity="critical", at=T0)

    first = at(dt.timedelta(minutes=1))  # no wait before the first step
    assert len(first) == 1
    (step1,) = escalation_rows(result.error_id)
    assert (step1.level, step1.step_index, step1.repeat_round, step1.escalated_to_id) == (1, 0, 0, oskar.id)
    assert step1.plan["recipients"] == [oskar.id] and step1.chain_id is not None
    assert [told for told in _told() if told[1] != "slack"] == [("+41790000030", "sms")]

    assert at(dt.timedelta(minutes=10)) == []  # the wait counts from when step 1 fired
    assert at(dt.timedelta(minutes=11)) != []
    rows = escalation_rows(result.error_id)
    assert [(r.level, r.step_index, r.escalated_to_id) for r in rows] == [(1, 0, oskar.id), (2, 2, admins[0].id)]
    assert ("admin1@example.test", "email") in _told()
    assert "after the level 1 escalation" in rows[1].reason and "step 3" in rows[1].reason
    assert at(dt.timedelta(hours=5)) == []  # the end of the chain: nothing more


def test_a_step_never_fires_twice_however_often_the_sweep_runs(app, team):
    service, lead, _ = team
    _paging_chain(service, {"kind": "lead", "channels": ["email"]})
    (result,) = record_events(service, severity="critical", at=T0)
    moment = T0 + dt.timedelta(minutes=5)
    with time_machine.travel(moment, tick=False):
        assert len(advance_error(result.error_id, moment)) == 1
        assert advance_error(result.error_id, moment) == []
        assert escalate_unresolved(moment) == []
    assert len(escalation_rows(result.error_id)) == 1


def test_an_acknowledgement_stops_the_chain_and_its_lapse_lets_it_go_on(app, team):
    from app.platform import settings

    service, lead, admins = team
    settings.update_setting("ack_timeout_minutes", 30, None)
    _paging_chain(service, {"kind": "lead", "channels": ["email"]}, {"kind": "wait", "minutes": 5},
                  {"kind": "role", "role": "admin", "channels": ["email"]})
    (result,) = record_events(service, severity="critical", at=T0)
    assert len(at(dt.timedelta(minutes=1))) == 1
    with time_machine.travel(T0 + dt.timedelta(minutes=2), tick=False):
        acknowledge.acknowledge_error(_error(result.error_id), lead, via="api")
    assert at(dt.timedelta(minutes=10)) == []  # held
    assert at(dt.timedelta(minutes=31)) == []
    assert len(at(dt.timedelta(minutes=33))) == 1  # lapsed at 32 without progress: level 2 goes out
    assert [e.level for e in escalation_rows(result.error_id)] == [1, 2]


def test_a_step_that_would_reach_only_the_assignee_is_passed_over(app, team):
    service, lead, admins = team
    oskar = make_developer("Oskar On-call", email="oskar@example.test")
    rota = _schedule_with(oskar)
    _paging_chain(service, {"kind": "wait", "minutes": 15},
                  {"kind": "oncall", "schedule_id": rota.id, "channels": ["email"]},
                  {"kind": "wait", "minutes": 10},
                  {"kind": "person", "developer_id": admins[1].id, "channels": ["email"]})
    (result,) = record_events(service, severity="critical", at=T0)
    triage.assign_error(_error(result.error_id), oskar, None)

    assert at(dt.timedelta(minutes=20)) == []  # step 2 passed over; step 4 waits 10 min from when it was due
    assert len(at(dt.timedelta(minutes=26))) == 1
    (only,) = escalation_rows(result.error_id)
    assert (only.level, only.step_index, only.escalated_from_id, only.escalated_to_id) == (2, 3, oskar.id,
                                                                                            admins[1].id)
    assert ("oskar@example.test", "email") not in _told()


def test_critical_pages_repeat_every_n_minutes_until_acknowledged_at_most_k_times(app, team):
    service, lead, _ = team
    _paging_chain(service, {"kind": "wait", "minutes": 30}, {"kind": "lead", "channels": ["sms"]},
                  repeat_times=2, repeat_every_minutes=5)
    (result,) = record_events(service, severity="critical", at=T0)
    fired = [len(at(dt.timedelta(minutes=m))) for m in (29, 31, 34, 36, 40, 42, 60, 120)]
    # Page at 31, again 5 min later (36; the leading 30 min are the first run's), again at 41: three pages.
    assert fired == [0, 1, 0, 1, 0, 1, 0, 0]
    rows = escalation_rows(result.error_id)
    assert [(r.level, r.repeat_round) for r in rows] == [(1, 0), (2, 1), (3, 2)]
    assert "repeat 2 of 2" in rows[2].reason


def test_repeats_stop_while_acknowledged(app, team):
    service, lead, _ = team
    _paging_chain(service, {"kind": "lead", "channels": ["sms"]}, repeat_times=5, repeat_every_minutes=5)
    (result,) = record_events(service, severity="critical", at=T0)
    assert len(at(dt.timedelta(minutes=1))) == 1
    with time_machine.travel(T0 + dt.timedelta(minutes=2), tick=False):
        acknowledge.acknowledge_error(_error(result.error_id), lead)
    with time_machine.travel(T0 + dt.timedelta(minutes=3), tick=False):
        triage.set_status(_error(result.error_id), "in_progress", lead)  # progress: it holds for the stretch
    assert [len(at(dt.timedelta(minutes=m))) for m in (7, 30, 300)] == [0, 0, 0]


def test_a_regression_restarts_the_chain_at_its_first_step(app, team):
    service, lead, admins = team
    _paging_chain(service, {"kind": "lead", "channels": ["email"]}, {"kind": "wait", "minutes": 10},
                  {"kind": "role", "role": "admin", "channels": ["email"]})
    (first,) = record_events(service, severity="critical", at=T0)
    at(dt.timedelta(minutes=1))
    at(dt.timedelta(minutes=12))
    with time_machine.travel(T0 + dt.timedelta(minutes=20), tick=False):
        triage.resolve_error(_error(first.error_id), lead)
    record_events(service, severity="critical", at=T0 + dt.timedelta(hours=2))
    assert len(at(dt.timedelta(hours=2, minutes=1))) == 1
    rows = escalation_rows(first.error_id)
    assert sorted((r.level, r.resolved_at is None) for r in rows) == [(1, False), (1, True), (2, False)]


def test_ignoring_an_error_closes_its_open_escalations_and_stops_its_chain(app, team):
    service, lead, _ = team
    _paging_chain(service, {"kind": "lead", "channels": ["email"]}, {"kind": "wait", "minutes": 5},
                  {"kind": "role", "role": "admin", "channels": ["email"]})
    (result,) = record_events(service, severity="critical", at=T0)
    at(dt.timedelta(minutes=1))
    with time_machine.travel(T0 + dt.timedelta(minutes=2), tick=False):
        triage.set_status(_error(result.error_id), "ignored", lead)
    assert at(dt.timedelta(hours=1)) == []
    (row,) = escalation_rows(result.error_id)
    assert row.resolved_at is not None and row.note == "ignored"
    assert db.session.execute(escalation_candidates(T0 + dt.timedelta(hours=1))).all() == []


def test_the_service_chain_wins_over_the_default_and_a_default_row_over_the_built_in(app, team):
    service, lead, admins = team
    chains.create_chain(None, name="Default high", service_id=None, severity="high",
                        steps=[{"kind": "wait", "minutes": 20},
                               {"kind": "person", "developer_id": admins[1].id, "channels": ["email"]}])
    other = make_service("Search", lead=lead)
    _paging_chain(service, {"kind": "person", "developer_id": admins[0].id, "channels": ["email"]}, severity="high")
    (own,) = record_events(service, severity="high", at=T0, error_type="Own")
    (fallback,) = record_events(other, severity="high", at=T0, error_type="Fallback")
    assert len(at(dt.timedelta(minutes=21))) == 2
    assert escalation_rows(own.error_id)[0].escalated_to_id == admins[0].id
    assert escalation_rows(fallback.error_id)[0].escalated_to_id == admins[1].id
    # Medium has no chain at all: such errors are not even candidates.
    (medium,) = record_events(service, severity="medium", at=T0, error_type="Calm")
    ids = set(db.session.execute(escalation_candidates(T0 + dt.timedelta(hours=9))).scalars())
    assert medium.error_id not in ids and own.error_id in ids


def test_slack_and_webhook_steps_post_where_they_say(app, team, slack_receiver, webhook_receiver):
    service, lead, _ = team
    configure_slack_api(app.config, slack_receiver)
    slack_receiver.script((200, {"ok": True, "ts": "1700000000.000100", "channel": "C0OPS"}))
    subscription, _ = webhooks_out.create_subscription("pager bridge", f"{webhook_receiver.url}/hook",
                                                       ["error.resolved"], None)
    _paging_chain(service, {"kind": "slack", "slack_channel": "#ops"},
                  {"kind": "webhook", "webhook_id": subscription.id}, severity="high")
    (result,) = record_events(service, severity="high", at=T0)
    slack_receiver.requests.clear()
    assert len(at(dt.timedelta(minutes=1))) == 2  # two steps without a wait between them: one sweep
    rows = escalation_rows(result.error_id)
    assert [(r.plan["kind"], r.escalated_to_id) for r in rows] == [("slack", None), ("webhook", None)]
    posted = [json.loads(r["body"]) for r in slack_receiver.wait_for(1)]
    assert "#ops" in [p.get("channel") for p in posted]
    hooks = [json.loads(r["body"]) for r in webhook_receiver.wait_for(1)]
    assert hooks[0]["event"] == "error.escalated"


def test_migrated_default_chain_reproduces_the_fixed_rule(app, team):
    """The default chains as migration 0017 writes them, stored: the same escalations as the built-in rule."""
    service, lead, admins = team
    for severity, (setting, channels) in chain_plans.BUILT_IN.items():
        wait = {"kind": "wait", "setting": setting}
        chains.create_chain(None, name=f"Default {severity}", service_id=None, severity=severity,
                            steps=[wait, {"kind": "lead", "channels": channels}, wait,
                                   {"kind": "role", "role": "admin", "channels": channels}])
    (result,) = record_events(service, severity="critical", at=T0)
    assert at(dt.timedelta(minutes=59)) == []
    assert len(at(dt.timedelta(minutes=61))) == 1
    assert at(dt.timedelta(minutes=120)) == []
    assert len(at(dt.timedelta(minutes=122))) == 1
    rows = escalation_rows(result.error_id)
    assert [(r.level, r.escalated_to_id) for r in rows] == [(1, lead.id), (2, admins[0].id)]
    assert sorted(rows[1].plan["recipients"]) == sorted(a.id for a in admins)
    assert ("+41790000010", "sms") in _told() and ("admin2@example.test", "email") in _told()
    assert db.session.execute(select(ErrorEscalation.chain_id).where(ErrorEscalation.level == 2)).scalar_one() \
        is not None


def test_two_workers_sweeping_at_once_fire_each_step_once(app, team):
    service, lead, _ = team
    _paging_chain(service, {"kind": "lead", "channels": ["email"]},
                  {"kind": "role", "role": "admin", "channels": ["email"]})
    errors = [record_events(service, severity="critical", at=T0, error_type=f"Busy{n}")[0].error_id for n in range(4)]
    moment = T0 + dt.timedelta(minutes=5)
    start = threading.Barrier(2)
    fired: list[list[int]] = []

    def worker():
        with app.app_context():
            try:
                start.wait()
                fired.append(escalate_unresolved(moment))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    db.session.expire_all()
    rows = db.session.execute(select(ErrorEscalation.error_id, ErrorEscalation.level)).all()
    assert sorted(rows) == sorted((error_id, level) for error_id in errors for level in (1, 2))
    assert len(fired) == 2 and sum(len(ids) for ids in fired) == len(rows)
