"""Threshold checks: each breach alerts the admins once per cool-down, and every run is recorded."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import func, select

from app.extensions import db
from app.models import AlertState, ErrorEscalation, ErrorLog, MetricSnapshot
from app.platform import settings
from app.jobs.scheduled import WORK
from tests.factories import make_developer, make_service
from tests.jobs.events import record_events

NOW = dt.datetime(2026, 5, 4, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def admins(app, smtp_server):
    smtp_server.configure(app.config)
    make_developer("Dev", email="dev@example.test")  # not an admin: never alerted
    return [make_developer(f"Admin {n}", email=f"admin{n}@example.test", role="admin") for n in (1, 2)]


def alerts(smtp_server, count: int = 0) -> list:
    """The threshold alerts among the mails (the errors themselves are notified too)."""
    from tests.receivers import wait_until

    def found():
        mails = [m for m in smtp_server.messages if m["X-Heartwatch-Event"] == "threshold.breached"]
        return mails if len(mails) >= count else None

    return wait_until(found) if count else [m for m in smtp_server.messages if m["X-Heartwatch-Event"] == "threshold.breached"]


def check(moment=NOW) -> MetricSnapshot:
    """The scheduled job: the report measures and records, then notify alerts the due breaches."""
    with time_machine.travel(moment, tick=False):
        result = WORK["check_error_thresholds"]()
    return db.session.get(MetricSnapshot, result["snapshot"])


def test_quiet_hours_are_recorded_and_alert_nobody(app, admins, smtp_server):
    service = make_service()
    record_events(service, 5, at=NOW - dt.timedelta(minutes=30))
    snapshot = check()
    assert (snapshot.errors_last_hour, snapshot.critical_last_hour, snapshot.breaches, snapshot.alerted) == (5, 0, [], [])
    assert alerts(smtp_server) == []


def test_more_than_a_hundred_errors_in_an_hour_mails_the_admins_with_what_is_behind_it(app, admins, smtp_server):
    api, web = make_service("Search API"), make_service("Web")
    record_events(api, 80, at=NOW - dt.timedelta(minutes=20), error_type="SearchTimeout", message="search timed out")
    record_events(web, 21, at=NOW - dt.timedelta(minutes=50), error_type="RenderError", distinct=True)
    record_events(web, 30, at=NOW - dt.timedelta(minutes=90))  # the hour before: not counted

    snapshot = check()

    assert (snapshot.errors_last_hour, snapshot.errors_previous_hour) == (101, 30)
    assert snapshot.breaches == ["errors_per_hour", "rate_rising"] and snapshot.alerted == snapshot.breaches
    mails = alerts(smtp_server, 2)
    assert sorted(m["To"] for m in mails) == ["admin1@example.test", "admin2@example.test"]
    text = mails[0].get_body(("plain",)).get_content()
    assert "Errors in the last hour: 101 (threshold 100)" in text
    assert "search-api: 80 errors" in text and "web: 21 errors" in text
    assert "SearchTimeout: search timed out (search-api): 80 in the last hour" in text
    for action in ("Review the errors", "Add resources", "Escalate to the team"):
        assert action in text
    assert "errors in the last hour" in mails[0]["Subject"]


def test_more_than_fifty_critical_errors_in_an_hour(app, admins, smtp_server):
    service = make_service()
    record_events(service, 51, severity="critical", at=NOW - dt.timedelta(minutes=5))
    record_events(service, 40, at=NOW - dt.timedelta(minutes=65))
    snapshot = check()
    assert snapshot.breaches == ["critical_per_hour"] and snapshot.critical_last_hour == 51
    assert "Critical errors in the last hour: 51 (threshold 50)" in alerts(smtp_server, 1)[0].get_body(("plain",)).get_content()


def test_a_rising_rate_against_the_hour_before(app, admins, smtp_server):
    service = make_service()
    record_events(service, 20, at=NOW - dt.timedelta(minutes=70))
    record_events(service, 31, at=NOW - dt.timedelta(minutes=10))
    assert check().breaches == ["rate_rising"]
    record_events(service, 5, at=NOW + dt.timedelta(minutes=1))
    # Rising by half (the default) from a small base is not alerted below the minimum volume.
    settings.update_setting("threshold_rate_min_errors", 100, None)
    assert check(NOW + dt.timedelta(minutes=2)).breaches == []


def test_more_than_ten_unresolved_escalations(app, admins, smtp_server):
    service = make_service()
    results = record_events(service, 11, severity="high", distinct=True, at=NOW - dt.timedelta(hours=5))
    for result in results:
        db.session.add(ErrorEscalation(error_id=result.error_id, level=1, reason="slow", automatic=True))
    db.session.commit()
    snapshot = check()
    assert snapshot.breaches == ["escalation_backlog"] and snapshot.unresolved_escalations == 11
    text = alerts(smtp_server, 1)[0].get_body(("plain",)).get_content()
    assert "(escalated)" in text and "Work through the open escalations" in text


def test_the_same_breach_is_not_mailed_again_within_the_cool_down_but_every_run_is_recorded(app, admins, smtp_server):
    service = make_service()
    record_events(service, 60, severity="critical", at=NOW - dt.timedelta(minutes=5))
    assert check().alerted == ["critical_per_hour", "rate_rising"]
    assert len(alerts(smtp_server, 2)) == 2
    record_events(service, 60, severity="critical", at=NOW + dt.timedelta(minutes=10))
    again = check(NOW + dt.timedelta(minutes=15))
    assert again.breaches == ["errors_per_hour", "critical_per_hour", "rate_rising"]
    assert again.alerted == ["errors_per_hour"]  # the new breach is mailed; the others are cooling down
    record_events(service, 60, severity="critical", at=NOW + dt.timedelta(minutes=58))
    later = check(NOW + dt.timedelta(minutes=61))
    assert later.alerted == ["critical_per_hour", "rate_rising"]
    assert len(alerts(smtp_server, 6)) == 6
    assert db.session.execute(select(func.count()).select_from(MetricSnapshot)).scalar_one() == 3
    state = db.session.execute(select(AlertState).where(AlertState.key == "critical_per_hour")).scalar_one()
    assert state.breached and state.alert_count == 2


def test_thresholds_are_settings_and_a_cleared_breach_is_recorded(app, admins, smtp_server):
    settings.update_setting("threshold_errors_per_hour", 3, None)
    service = make_service()
    record_events(service, 4, at=NOW - dt.timedelta(minutes=5))
    assert check().alerted == ["errors_per_hour"]
    later = check(NOW + dt.timedelta(hours=2))
    assert later.breaches == []
    state = db.session.execute(select(AlertState).where(AlertState.key == "errors_per_hour")).scalar_one()
    assert not state.breached and state.cleared_at is not None
    assert db.session.execute(select(func.count()).select_from(ErrorLog)).scalar_one() == 1


def test_threshold_breaches_go_to_webhook_subscribers_signed(app, admins, webhook_receiver):
    import json

    from app.notify import subscriptions as webhooks_out

    subscription, secret = webhooks_out.create_subscription("pager", f"{webhook_receiver.url}/alerts",
                                                            ["threshold.breached"], None)
    record_events(make_service(), 51, severity="critical", at=NOW - dt.timedelta(minutes=5))
    check()
    (request,) = [r for r in webhook_receiver.wait_for(1) if r["path"] == "/alerts"]
    sent_at = int(request["headers"]["X-Heartwatch-Timestamp"])  # signed while the clock said NOW
    assert webhooks_out.verify_signature(secret, request["body"], request["headers"]["X-Heartwatch-Signature"],
                                         now=sent_at)
    payload = json.loads(request["body"])
    assert payload["event"] == "threshold.breached"
    assert [b["key"] for b in payload["data"]["breaches"]] == ["critical_per_hour", "rate_rising"]
    assert payload["data"]["figures"]["critical_last_hour"] == 51
