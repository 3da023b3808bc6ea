"""Automatic escalation: critical after an hour, high after four, level by level, never twice."""
from __future__ import annotations

import datetime as dt

import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import ErrorEscalation, ErrorLog, ErrorNotification
from app.models.types import utcnow
from app.triage.escalation import escalate_unresolved
from app.triage import changes as triage
from tests.factories import ApiClient, make_token
from tests.jobs.events import record_events

T0 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.timezone.utc)
SHARED = "Slack default channel (incoming webhook)"


def escalation_rows(error_id):
    return list(db.session.execute(select(ErrorEscalation).where(ErrorEscalation.error_id == error_id)
                                   .order_by(ErrorEscalation.level)).scalars())


def deliveries(event="error.escalated"):
    return sorted((r.recipient, r.channel) for r in db.session.execute(
        select(ErrorNotification).where(ErrorNotification.event == event)).scalars())


def at(delta: dt.timedelta):
    with time_machine.travel(T0 + delta, tick=False):
        return escalate_unresolved()


def test_critical_goes_to_the_lead_after_an_hour_then_to_the_admins_an_hour_later(app, team, twilio_receiver):
    service, lead, admins = team
    (result,) = record_events(service, severity="critical", at=T0)

    assert at(dt.timedelta(minutes=59)) == []
    first = at(dt.timedelta(minutes=61))
    assert len(first) == 1
    (level1,) = escalation_rows(result.error_id)
    assert (level1.level, level1.automatic, level1.escalated_to_id) == (1, True, lead.id)
    assert "more than 1 h" in level1.reason
    # The lead by e-mail and SMS; the team channel sees it in the error's story.
    assert deliveries() == [("+41790000010", "sms"), (SHARED, "slack"), ("lena@example.test", "email")]

    assert at(dt.timedelta(minutes=75)) == []  # never the same level twice
    assert at(dt.timedelta(minutes=120)) == []  # an hour after level 1, not after first seen
    second = at(dt.timedelta(minutes=122))
    assert len(second) == 1
    levels = escalation_rows(result.error_id)
    assert [e.level for e in levels] == [1, 2] and levels[1].escalated_to_id in {a.id for a in admins}
    assert deliveries() == sorted([("+41790000010", "sms"), ("lena@example.test", "email"), (SHARED, "slack"),
                                   ("+41790000021", "sms"), ("admin1@example.test", "email"),
                                   ("+41790000022", "sms"), ("admin2@example.test", "email"), (SHARED, "slack")])
    assert at(dt.timedelta(hours=6)) == []  # two levels, then the admins own it
    sms_texts = [r["form"]["Body"] for r in twilio_receiver.requests]
    assert sum("escalated, level 2" in text for text in sms_texts) == 2


def test_high_goes_after_four_hours_by_email_and_slack(app, team, slack_receiver):
    service, lead, _ = team
    (result,) = record_events(service, severity="high", at=T0)
    slack_receiver.requests.clear()

    assert at(dt.timedelta(hours=3, minutes=59)) == []
    assert len(at(dt.timedelta(hours=4, minutes=1))) == 1
    assert deliveries() == [(SHARED, "slack"), ("lena@example.test", "email")]
    post = slack_receiver.wait_for(1)[0]["body"].decode()
    assert "<@U0LENA001>" in post and "escalated, level 1" in post


def test_resolved_errors_and_lower_severities_are_left_alone(app, team):
    service, lead, _ = team
    (critical,) = record_events(service, severity="critical", at=T0, error_type="Fixed")
    record_events(service, severity="medium", at=T0, error_type="Medium")
    triage.resolve_error(db.session.get(ErrorLog, critical.error_id), lead)
    assert at(dt.timedelta(days=2)) == []


def test_a_regression_counts_from_when_it_came_back(app, team):
    service, lead, _ = team
    (first,) = record_events(service, severity="critical", at=T0)
    triage.resolve_error(db.session.get(ErrorLog, first.error_id), lead)
    record_events(service, severity="critical", at=T0 + dt.timedelta(hours=5))
    assert at(dt.timedelta(hours=5, minutes=30)) == []
    assert len(at(dt.timedelta(hours=6, minutes=1))) == 1


def test_a_manual_escalation_takes_level_one_and_the_job_continues_from_there(app, client, team):
    service, lead, admins = team
    (result,) = record_events(service, severity="critical", at=T0)
    with time_machine.travel(T0 + dt.timedelta(minutes=10), tick=False):
        response = ApiClient(client, make_token(lead)).post(f"/api/errors/{result.error_id}/escalate/",
                                                           json={"reason": "payments are failing"})
    assert response.status_code == 201 and response.json["level"] == 1 and not response.json["automatic"]

    assert at(dt.timedelta(minutes=65)) == []  # level 1 exists: not escalated again at that level
    assert at(dt.timedelta(minutes=71)) != []  # an hour after the manual level 1
    assert [(e.level, e.automatic) for e in escalation_rows(result.error_id)] == [(1, False), (2, True)]


def test_escalation_times_are_settings(app, team):
    from app.platform import settings

    service, _, _ = team
    settings.update_setting("escalate_critical_after_minutes", 10, None)
    record_events(service, severity="critical", at=T0)
    assert len(at(dt.timedelta(minutes=11))) == 1


def test_the_scheduled_task_runs_the_same_escalation(app, team):
    from app.jobs import tasks_of

    service, _, _ = team
    (result,) = record_events(service, severity="critical", at=utcnow() - dt.timedelta(hours=2))
    assert tasks_of(app)["escalate_unresolved_errors"]().get() == {"escalations": 1}
    assert [e.level for e in escalation_rows(result.error_id)] == [1]


def test_a_regression_starts_the_levels_again_from_the_lead(app, team):
    service, lead, admins = team
    (first,) = record_events(service, severity="critical", at=T0)
    assert len(at(dt.timedelta(minutes=61))) == 1
    with time_machine.travel(T0 + dt.timedelta(minutes=70), tick=False):
        triage.resolve_error(db.session.get(ErrorLog, first.error_id), lead)
    record_events(service, severity="critical", at=T0 + dt.timedelta(hours=3))

    # Not straight to the admins because an old level 1 is more than an hour old: the wait starts again.
    assert at(dt.timedelta(hours=3, minutes=1)) == []
    assert len(at(dt.timedelta(hours=4, minutes=1))) == 1
    assert len(at(dt.timedelta(hours=5, minutes=2))) == 1
    rows = escalation_rows(first.error_id)
    assert [(e.level, e.escalated_to_id == lead.id) for e in rows] == [(1, True), (1, True), (2, False)]
    assert rows[0].resolved_at is not None and rows[1].resolved_at is None


def test_a_rise_in_severity_starts_the_levels_again(app, team):
    service, lead, _ = team
    (high,) = record_events(service, severity="high", at=T0, error_type="Rising")
    assert len(at(dt.timedelta(hours=4, minutes=1))) == 1
    record_events(service, severity="critical", at=T0 + dt.timedelta(hours=5), error_type="Rising")
    assert db.session.get(ErrorLog, high.error_id).severity == "critical"

    assert at(dt.timedelta(hours=5, minutes=30)) == []  # the level 1 of the high stretch does not count
    assert len(at(dt.timedelta(hours=6, minutes=1))) == 1
    assert [e.level for e in escalation_rows(high.error_id)] == [1, 1]
