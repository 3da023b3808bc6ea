"""The daily summary: yesterday's counts, top errors, open criticals and time to resolve, once a day at 08:00."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.jobs.scheduled import WORK, claim_due
from app.models import ErrorLog, ErrorStat
from app.triage import changes as triage
from tests.factories import make_developer, make_service
from tests.jobs.events import record_events

ZURICH = "Europe/Zurich"
# 4 May 2026 in Zurich (UTC+2): the day runs from 22:00 UTC on the 3rd to 22:00 UTC on the 4th.
DAY = dt.date(2026, 5, 4)


def utc(hour, minute=0, day=4):
    return dt.datetime(2026, 5, day, hour, minute, tzinfo=dt.timezone.utc)


@pytest.fixture
def readers(app, smtp_server):
    smtp_server.configure(app.config)
    app.config["TIMEZONE"] = ZURICH
    people = [make_developer("Lead", email="lead@example.test", role="lead"),
              make_developer("Manager", email="manager@example.test", role="manager"),
              make_developer("Admin", email="admin@example.test", role="admin", password=None)]
    make_developer("Dev", email="dev@example.test")
    return people


def generate_daily_summary() -> dict:
    """The scheduled job: the report rolls the day up, then notify sends its summary."""
    return WORK["generate_daily_error_summary"]()


def summaries(smtp_server):
    return [m for m in smtp_server.messages if m["X-Heartwatch-Event"] == "summary.daily"]


def test_the_summary_shows_yesterday_by_service_and_severity_and_writes_the_rollup(app, readers, smtp_server):
    lead = readers[0]
    billing, search = make_service("Billing"), make_service("Search")
    record_events(billing, 7, severity="critical", error_type="CardDeclined", message="card declined", at=utc(8))
    record_events(billing, 2, severity="high", error_type="Slow", at=utc(21, 30))
    record_events(search, 3, severity="medium", error_type="IndexLag", at=utc(23, 30, day=3))  # 01:30 local
    record_events(search, 4, severity="low", error_type="TooEarly", at=utc(21, 30, day=3))  # the day before
    record_events(search, 5, severity="low", error_type="TooLate", at=utc(22, 30))  # the day after
    (fixed,) = record_events(billing, severity="high", error_type="Fixed", at=utc(6))
    with time_machine.travel(utc(9), tick=False):
        triage.resolve_error(db.session.get(ErrorLog, fixed.error_id), lead)

    with time_machine.travel(dt.datetime(2026, 5, 5, 5, 0, tzinfo=dt.timezone.utc), tick=False):  # 07:00 Zurich
        assert "generate_daily_error_summary" not in claim_due()  # the worker's first tick: not yet its time
    with time_machine.travel(dt.datetime(2026, 5, 5, 6, 1, tzinfo=dt.timezone.utc), tick=False):  # 08:01 Zurich
        assert "generate_daily_error_summary" in claim_due()
        result = generate_daily_summary()

    assert result == {"day": "2026-05-04", "notifications": 3}
    stats = {s.service_id: s for s in db.session.execute(select(ErrorStat).where(ErrorStat.day == DAY)).scalars()}
    assert stats[billing.id].total == 10 and stats[billing.id].by_severity == {"critical": 7, "high": 3}
    assert stats[search.id].total == 3 and stats[search.id].by_severity == {"medium": 3}
    assert stats[billing.id].avg_resolution_seconds == 3 * 3600

    mails = summaries(smtp_server)
    assert sorted(m["To"] for m in mails) == ["admin@example.test", "lead@example.test", "manager@example.test"]
    text = mails[0].get_body(("plain",)).get_content()
    assert "13 errors on 2026-05-04 (Europe/Zurich) across 2 services." in text
    assert "Mean time to resolve: 3 h (1 resolved)." in text
    assert "- Billing: 10 (critical 7, high 3, medium 0, low 0, info 0)" in text
    assert "1. CardDeclined: card declined (Billing, critical): 7 occurrences" in text
    assert "Unresolved critical errors:\n- CardDeclined: card declined (Billing)" in text.replace("\r\n", "\n")
    assert "TooEarly" not in text and "TooLate" not in text
    html = mails[0].get_body(("html",)).get_content()
    assert "<td>Billing</td>" in html


def test_a_second_run_the_same_day_sends_nothing(app, readers, smtp_server):
    record_events(make_service(), 2, at=utc(10))
    moment = dt.datetime(2026, 5, 5, 6, 5, tzinfo=dt.timezone.utc)
    with time_machine.travel(moment, tick=False):
        generate_daily_summary()
        generate_daily_summary()
    assert len(summaries(smtp_server)) == 3


def test_the_summary_is_due_at_eight_local_time_once_a_day(app, readers):
    def due(moment):
        with time_machine.travel(moment, tick=False):
            return "generate_daily_error_summary" in claim_due()

    # First start: not at once (yesterday's 08:00 was before the worker was first seen), but at 08:00.
    assert not due(dt.datetime(2026, 5, 5, 5, 58, tzinfo=dt.timezone.utc))
    assert not due(dt.datetime(2026, 5, 5, 5, 59, tzinfo=dt.timezone.utc))  # 07:59 in Zurich
    assert due(dt.datetime(2026, 5, 5, 6, 0, tzinfo=dt.timezone.utc))  # 08:00 in Zurich
    assert not due(dt.datetime(2026, 5, 5, 6, 15, tzinfo=dt.timezone.utc))
    assert not due(dt.datetime(2026, 5, 6, 5, 59, tzinfo=dt.timezone.utc))
    assert due(dt.datetime(2026, 5, 6, 6, 0, tzinfo=dt.timezone.utc))
