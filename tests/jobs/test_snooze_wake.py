"""Snoozed errors: silent while snoozed (no notification, no escalation), woken by the scheduled job at their
time or by the ingest at their count or rate, and then told like a regression, saying why."""
from __future__ import annotations

import datetime as dt

import time_machine
from sqlalchemy import select

from app.extensions import db
from app.jobs.scheduled import WORK
from app.models import AuditEvent, ErrorEscalation, ErrorLog, ErrorNotification
from app.models.types import utcnow
from app.triage import snooze
from app.triage.snoozed import is_snoozed
from app.triage.escalation import escalate_unresolved
from tests.jobs.events import record_events
from tests.receivers import wait_until

T0 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.timezone.utc)


def fresh(error_id: str) -> ErrorLog:
    return db.session.get(ErrorLog, error_id, populate_existing=True)


def notifications(event: str) -> list[ErrorNotification]:
    return list(db.session.execute(select(ErrorNotification).where(ErrorNotification.event == event)
                                   .order_by(ErrorNotification.id)).scalars())


def woke(error_id: str) -> list[dict]:
    return [a.details for a in db.session.execute(select(AuditEvent).where(
        AuditEvent.error_id == error_id, AuditEvent.action == "error.woke")).scalars()]


def mail_text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def snoozed(service, now: dt.datetime, **rule) -> ErrorLog:
    (result,) = record_events(service, severity="high", at=now)
    error = fresh(result.error_id)
    with time_machine.travel(now, tick=False):
        return snooze.snooze_error(error, None, snooze.read_rule(rule, now), now=now)


def test_the_job_wakes_a_snooze_at_its_time_and_tells_it_like_a_regression_saying_why(app, team, smtp_server):
    service, lead, _ = team
    error = snoozed(service, T0, minutes=60)
    created_mails = len(smtp_server.wait_for(1))

    assert snooze.wake_due(T0 + dt.timedelta(minutes=59)) == []
    assert is_snoozed(fresh(error.id))
    assert snooze.wake_due(T0 + dt.timedelta(minutes=61)) == [error.id]
    assert snooze.wake_due(T0 + dt.timedelta(minutes=62)) == []  # once

    error = fresh(error.id)
    assert not is_snoozed(error) and error.status == "assigned" and error.regression_count == 1
    assert error.regressed_at == T0 + dt.timedelta(minutes=61)  # a new open stretch begins
    assert woke(error.id) == [{"reason": "snoozed until 2026-05-04 10:00 UTC", "marker": "r1"}]
    assert {n.recipient for n in notifications("error.regressed")} >= {"dev@example.test"}
    mails = smtp_server.wait_for(created_mails + 1)
    told = [m for m in mails if "woke" in m["Subject"]]
    assert told and "woke: snoozed until 2026-05-04 10:00 UTC" in mail_text(told[0])
    assert "A snoozed error woke in Checkout" in mail_text(told[0])


def test_the_scheduled_job_runs_the_wake_with_the_clock(app, team):
    service, _, _ = team
    error = snoozed(service, T0, minutes=30)
    with time_machine.travel(T0 + dt.timedelta(minutes=31), tick=False):
        assert WORK["wake_snoozed_errors"]() == {"woken": 1}
    assert not is_snoozed(fresh(error.id))


def test_a_snoozed_error_is_told_nothing_and_escalated_no_further_until_it_wakes(app, team):
    service, _, _ = team
    error = snoozed(service, T0, minutes=24 * 60)
    before = len(db.session.execute(select(ErrorNotification)).all())

    record_events(service, severity="critical", at=T0 + dt.timedelta(minutes=5))  # graver: told to nobody
    assert fresh(error.id).severity == "critical"
    with time_machine.travel(T0 + dt.timedelta(hours=5), tick=False):
        assert escalate_unresolved() == []
    assert db.session.execute(select(ErrorEscalation)).first() is None
    assert len(db.session.execute(select(ErrorNotification)).all()) == before

    assert snooze.wake_due(T0 + dt.timedelta(hours=25)) == [error.id]
    with time_machine.travel(T0 + dt.timedelta(hours=26, minutes=1), tick=False):
        assert len(escalate_unresolved()) == 1  # an hour after it woke, as critical


def test_ingest_wakes_a_snooze_at_its_count_and_says_so(app, team, smtp_server):
    service, _, _ = team
    error = snoozed(service, T0, events=3)
    assert error.snooze_wake_count == 4
    record_events(service, 2, severity="high", at=T0 + dt.timedelta(minutes=1))
    assert is_snoozed(fresh(error.id)) and notifications("error.regressed") == []

    record_events(service, 1, severity="high", at=T0 + dt.timedelta(minutes=2))
    error = fresh(error.id)
    assert not is_snoozed(error) and error.regression_count == 1
    assert woke(error.id)[0]["reason"] == "3 more events since snoozed"
    assert notifications("error.regressed")
    told = wait_until(lambda: [m for m in smtp_server.messages if "woke" in m["Subject"]])
    assert "woke: 3 more events since snoozed" in mail_text(told[0])


def test_ingest_wakes_a_snooze_when_more_than_its_rate_comes_within_an_hour(app, team):
    service, _, _ = team
    now = utcnow() - dt.timedelta(hours=3)
    error = snoozed(service, now, per_hour=3)
    record_events(service, 2, at=now + dt.timedelta(minutes=1))
    record_events(service, 1, at=now + dt.timedelta(minutes=70))  # the first two are more than an hour older
    record_events(service, 1, at=now + dt.timedelta(minutes=75))
    assert is_snoozed(fresh(error.id))
    record_events(service, 2, at=now + dt.timedelta(minutes=80))  # four within the hour before 80 min
    assert not is_snoozed(fresh(error.id))
    assert woke(error.id)[0]["reason"] == "more than 3 events in an hour"
