"""Hourly rollups: written by the ingest transaction (app/recording/rollups.py), filled from stored
occurrences by migration 0020, and read by every chart, stat, threshold and pattern instead of the
events: on whole hours their answers are the events' counts."""
from __future__ import annotations

import datetime as dt
import importlib.util
from collections import Counter
from pathlib import Path

import time_machine
from sqlalchemy import delete, select, text

from app.extensions import db
from app.ingest.incoming import IncomingError
from app.models import ErrorHourlyCount, ErrorLog, ErrorOccurrence, ServiceHourlyCount
from app.recording.record import record_errors
from app.reports import errors as error_reports
from app.reports import error_charts, overview, patterns, stats, thresholds
from app.reports.patterns import analyze_patterns
from tests.factories import make_service, submit_concurrently

MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0020_hourly_rollups.py"
NOW = dt.datetime(2026, 5, 4, 12, 0, tzinfo=dt.timezone.utc)
UTC = dt.timezone.utc


def event(service, error_type="KeyError", message="'input'", **fields) -> IncomingError:
    return IncomingError(service_id=service.id, source="api", error_type=error_type, message=message, **fields)


def error_rows() -> dict:
    db.session.expire_all()
    return {(r.error_id, r.hour, r.severity): r.events for r in db.session.execute(select(ErrorHourlyCount)).scalars()}


def service_rows() -> dict:
    return {(r.hour, r.service_id, r.severity): r.events
            for r in db.session.execute(select(ServiceHourlyCount)).scalars()}


def stored_events() -> list[ErrorOccurrence]:
    db.session.expire_all()
    return list(db.session.execute(select(ErrorOccurrence)).scalars())


def hour(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def test_every_stored_event_counts_once_in_its_error_s_and_its_service_s_hour(service):
    other = make_service("Laravel Web", platform="php")
    at = NOW - dt.timedelta(hours=3)
    event_id = "3f2c1a9e-0000-4000-8000-0000000000aa"
    with time_machine.travel(NOW, tick=False):
        first = record_errors([
            event(service, timestamp=at + dt.timedelta(minutes=5), severity="high", event_id=event_id),
            event(service, timestamp=at + dt.timedelta(minutes=55), severity="high"),
            event(service, timestamp=at + dt.timedelta(minutes=65), severity="critical"),
            # The same moment in another offset is the same UTC hour.
            event(service, timestamp=(at + dt.timedelta(minutes=10)).astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30))),
                  severity="high"),
            event(other, "TypeError", timestamp=at, severity="low"),
        ])
        record_errors([event(service, timestamp=at + dt.timedelta(minutes=5), severity="high", event_id=event_id)])
    key_error, type_error = first[0].error_id, first[4].error_id
    assert error_rows() == {(key_error, at, "high"): 3, (key_error, at + dt.timedelta(hours=1), "critical"): 1,
                            (type_error, at, "low"): 1}
    assert service_rows() == {(at, service.id, "high"): 3, (at + dt.timedelta(hours=1), service.id, "critical"): 1,
                              (at, other.id, "low"): 1}


def test_the_group_commit_writer_sums_a_batch_into_one_row_per_hour(app, service):
    app.config.update(INGEST_BATCH_MAX=50, INGEST_BATCH_WAIT_MS=20)
    answers = submit_concurrently(app, [event(service, severity="high") for _ in range(8)])
    counts = Counter()
    for (error_id, _, _), events in error_rows().items():
        counts[error_id] += events
    assert counts[answers[0].error_id] == 8
    assert sum(service_rows().values()) == 8 + 1  # and the writer's sentinel event


def backfill_statements(dialect: str) -> list[str]:
    spec = importlib.util.spec_from_file_location("migration_0020", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.backfill_statements(dialect)


def _history(service, other) -> None:
    """Three days of events of several errors, severities and services, at minutes all over the hours."""
    with time_machine.travel(NOW, tick=False):
        for n in range(150):
            moment = NOW - dt.timedelta(minutes=23 * n + 7)
            target = other if n % 5 == 0 else service
            record_errors([event(target, error_type=f"Error{n % 4}", message=f"failed at step {n % 4}",
                                 severity=("critical", "high", "low")[n % 3], timestamp=moment)])
        record_errors([IncomingError(service_id=service.id, source="security", kind="security", error_type="csp",
                                     message="blocked inline script", severity="low",
                                     timestamp=NOW - dt.timedelta(minutes=30))])


def test_the_migration_s_backfill_writes_what_ingest_writes(service):
    _history(service, make_service("Laravel Web", platform="php"))
    written = (error_rows(), service_rows())
    db.session.execute(delete(ErrorHourlyCount))
    db.session.execute(delete(ServiceHourlyCount))
    for statement in backfill_statements(db.engine.dialect.name):
        db.session.execute(text(statement))
    db.session.commit()
    assert (error_rows(), service_rows()) == written


def test_on_whole_hours_every_report_gives_the_events_counts(app, service):
    other = make_service("Laravel Web", platform="php")
    _history(service, other)
    events = stored_events()
    kinds = dict(db.session.execute(select(ErrorLog.id, ErrorLog.kind)).all())

    def within(start, end=None, **match):
        return [e for e in events if e.timestamp >= start and (end is None or e.timestamp < end)
                and all(getattr(e, k) == v for k, v in match.items())]

    # The overview's charts: per hour and per day, by severity.
    series = overview.hourly_series(NOW)
    by_hour = Counter((f"{hour(e.timestamp):%Y-%m-%dT%H:00}", e.severity) for e in within(NOW - dt.timedelta(hours=23)))
    assert {(label, s): n[i] for s, n in series["series"].items() for i, label in enumerate(series["labels"])
            if n[i]} == by_hour
    app.config["DASHBOARD_CACHE_SECONDS"] = 0
    daily = overview.daily_series(NOW)
    by_day = Counter((f"{e.timestamp:%Y-%m-%d}", e.severity) for e in events)
    assert {(label, s): n[i] for s, n in daily["series"].items() for i, label in enumerate(daily["labels"])
            if n[i]} == by_day

    # The last 24 hours: top services and top errors.
    day_ago = NOW - dt.timedelta(hours=24)
    per_service = Counter(e.service_id for e in within(day_ago))
    assert {i["id"]: i["events_24h"] for i in overview.top_services(NOW, limit=10)} == per_service
    per_error = Counter(e.error_id for e in within(day_ago))
    assert {i["id"]: i["events_24h"] for i in overview.top_errors(NOW, limit=20)} == per_error

    # An error's chart, by day and by hour.
    busiest = per_error.most_common(1)[0][0]
    mine = [e for e in events if e.error_id == busiest]
    days = error_charts.error_chart(busiest, "14d", now=NOW)["buckets"]
    assert [b["events"] for b in days] == [sum(1 for e in mine if e.timestamp.date() == b["start"].date())
                                           for b in days]
    hours = error_charts.error_chart(busiest, "24h", now=NOW)["buckets"]
    assert [b["events"] for b in hours] == [sum(1 for e in mine if hour(e.timestamp) == b["start"]) for b in hours]

    # The stats API's hours.
    with time_machine.travel(NOW, tick=False):
        per_hour = error_reports.error_stats(hours=48)["occurrences_per_hour"]
    assert {row["hour"]: row["occurrences"] for row in per_hour} == Counter(
        f"{hour(e.timestamp):%Y-%m-%dT%H:00}" for e in within(NOW - dt.timedelta(hours=48)))

    # The daily rollup and the summary's top errors.
    day = (NOW - dt.timedelta(days=1)).date()
    start, end = stats.day_bounds(day)
    stats.rollup_day(day)
    details = stats.summary_details(day)
    assert {(row["service"], s): n for row in details["by_service"] for s, n in row["by_severity"].items()} == Counter(
        ({service.id: service.name, other.id: other.name}[e.service_id], e.severity) for e in within(start, end))
    assert [t["count"] for t in details["top_errors"]] == sorted(
        Counter(e.error_id for e in within(start, end)).values(), reverse=True)

    # The threshold checks (security reports left out) and what is behind them.
    figures = thresholds.measure(NOW)
    routable = [e for e in events if kinds[e.error_id] == "error"]
    last = [e for e in routable if NOW - dt.timedelta(hours=1) <= e.timestamp < NOW]
    assert (figures.errors_last_hour, figures.critical_last_hour, figures.errors_previous_hour) == (
        len(last), sum(1 for e in last if e.severity == "critical"),
        sum(1 for e in routable if NOW - dt.timedelta(hours=2) <= e.timestamp < NOW - dt.timedelta(hours=1)))
    with app.test_request_context():
        services, top = thresholds.behind(NOW)
    hour_ago = within(NOW - dt.timedelta(hours=1), NOW)
    assert {s["count"] for s in services} == set(Counter(e.service_id for e in hour_ago).values())
    assert sorted(t["count"] for t in top) == sorted(Counter(e.error_id for e in hour_ago).values())

    # The patterns' windows and severities.
    ids = sorted({e.error_id for e in events})
    assert patterns._windows(ids, NOW) == {
        i: (len(within(day_ago, NOW, error_id=i)), len(within(NOW - dt.timedelta(hours=48), day_ago, error_id=i)))
        for i in ids if within(NOW - dt.timedelta(hours=48), NOW, error_id=i)}
    since = NOW - dt.timedelta(days=30)
    assert patterns._severities(ids, since, NOW) == {
        i: dict(Counter(e.severity for e in within(since, error_id=i))) for i in ids}
    with time_machine.travel(NOW, tick=False):
        analyze_patterns(NOW)
    pattern_ids = sorted(set(db.session.execute(select(ErrorLog.pattern_id).where(ErrorLog.pattern_id.is_not(None)))
                             .scalars()))
    assert pattern_ids
    pattern_of = dict(db.session.execute(select(ErrorLog.id, ErrorLog.pattern_id)).all())
    first = (NOW - dt.timedelta(days=13)).replace(hour=0)
    labels = [f"{first + dt.timedelta(days=d):%Y-%m-%d}" for d in range(14)]
    assert overview.pattern_sparklines(pattern_ids, now=NOW) == {
        p: [sum(1 for e in events if pattern_of[e.error_id] == p and f"{e.timestamp:%Y-%m-%d}" == label)
            for label in labels] for p in pattern_ids}


def test_a_sliding_window_takes_the_hour_it_cuts_pro_rata(service):
    with time_machine.travel(NOW, tick=False):
        record_errors([event(service, timestamp=NOW - dt.timedelta(minutes=m)) for m in range(1, 41)])  # 11:20-11:59
    # A quarter past: the quarter hour gone by (nothing) and three quarters of the hour before.
    figures = thresholds.measure(NOW + dt.timedelta(minutes=15))
    assert (figures.errors_last_hour, figures.errors_previous_hour) == (30, 10)
    # Every event counts once across neighbouring windows.
    assert thresholds.measure(NOW + dt.timedelta(hours=1, minutes=15)).errors_previous_hour == 30


def test_counts_stay_exact_when_the_events_are_gone(service):
    with time_machine.travel(NOW, tick=False):
        results = record_errors([event(service, timestamp=NOW - dt.timedelta(hours=2)) for _ in range(5)])
    db.session.execute(delete(ErrorOccurrence))
    db.session.commit()
    chart = error_charts.error_chart(results[0].error_id, "24h", now=NOW)
    assert chart["total"] == 5 and len(chart["buckets"]) == 24
    assert overview.top_errors(NOW)[0]["events_24h"] == 5
