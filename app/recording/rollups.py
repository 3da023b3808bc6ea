"""Hourly rollups at ingest: every stored event adds one to its error's and its service's count of the hour.

``error_hourly_counts`` has a row per (error, hour, severity), ``service_hourly_counts`` one per (hour,
service, severity); the hour is the event's timestamp truncated to the UTC hour (the time the charts
and reports have always read). A batch's counts are summed in a dict first and each table gets one
upsert per batch (PostgreSQL: arrays unnested; SQLite, in process: one executemany), in key order, so
that two writers lock rows in the same order, on the transaction's DBAPI cursor as the facets are
(app/recording/facets.py): the rollups run for every event.

Because they are written with the events, the counts stay exact whatever happens to the stored events
afterwards: retention (app/recording/retention.py keeps the rollups longer) and the per-error event
budget (app/recording/budget.py). The read side is app/reports/hourly.py. Migration 0020 fills both
tables from the stored occurrences by the same rules; tests/recording/test_rollups.py checks that the
two agree, and that every report reading them gives the events' counts on whole hours.
"""
from __future__ import annotations

import datetime as dt

from app.platform.sql import driver_execute, pg_array_text, sqlite_time

UTC = dt.timezone.utc
UPSERT_ERRORS_POSTGRESQL = (
    "INSERT INTO error_hourly_counts (error_id, hour, severity, events) "
    "SELECT * FROM unnest(%s::varchar[], %s::timestamptz[], %s::varchar[], %s::int[]) "
    "ON CONFLICT (error_id, hour, severity) DO UPDATE SET events = error_hourly_counts.events + excluded.events"
)
UPSERT_SERVICES_POSTGRESQL = (
    "INSERT INTO service_hourly_counts (hour, service_id, severity, events) "
    "SELECT * FROM unnest(%s::timestamptz[], %s::int[], %s::varchar[], %s::int[]) "
    "ON CONFLICT (hour, service_id, severity) DO UPDATE SET events = service_hourly_counts.events + excluded.events"
)
UPSERT_ERRORS_SQLITE = (
    "INSERT INTO error_hourly_counts (error_id, hour, severity, events) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (error_id, hour, severity) DO UPDATE SET events = events + excluded.events"
)
UPSERT_SERVICES_SQLITE = (
    "INSERT INTO service_hourly_counts (hour, service_id, severity, events) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (hour, service_id, severity) DO UPDATE SET events = events + excluded.events"
)


def _array(plain: list[str]) -> str:
    # Times and numbers need no quoting inside an array literal.
    return "{" + ",".join(plain) + "}"


def hour_of(moment: dt.datetime) -> dt.datetime:
    """The UTC hour a moment falls in (a naive moment is taken as UTC)."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return moment.replace(minute=0, second=0, microsecond=0)


def collect(into: dict, error_id: str, service_id: int, severity: str, timestamp: dt.datetime) -> None:
    """Add one stored event to ``into``: (error id, hour, severity) -> [events, service id]."""
    key = (error_id, hour_of(timestamp), severity)
    entry = into.get(key)
    if entry is None:
        into[key] = [1, service_id]
    else:
        entry[0] += 1


def write(conn, counts: dict, *, services_too: bool = True) -> None:
    """The two upserts of a batch's summed counts, on the transaction's own DBAPI connection (only the
    errors' when ``services_too`` is false: their events moved between errors of one service)."""
    if not counts:
        return
    services: dict[tuple, int] = {}
    for (_, hour, severity), (events, service_id) in counts.items() if services_too else ():
        key = (hour, service_id, severity)
        services[key] = services.get(key, 0) + events
    error_keys, service_keys = sorted(counts), sorted(services)
    postgresql = conn.dialect.name == "postgresql"
    # A batch's events share few hours: each is formatted once.
    hours = {hour: hour.isoformat() if postgresql else sqlite_time(hour) for hour in {k[1] for k in error_keys}}
    if postgresql:  # each column as one array literal, as the facets (app/platform/sql.py, pg_array_text)
        driver_execute(conn, UPSERT_ERRORS_POSTGRESQL, (
            pg_array_text([k[0] for k in error_keys]), _array([hours[k[1]] for k in error_keys]),
            pg_array_text([k[2] for k in error_keys]), _array([str(counts[k][0]) for k in error_keys])))
        if service_keys:
            driver_execute(conn, UPSERT_SERVICES_POSTGRESQL, (
                _array([hours[k[0]] for k in service_keys]), _array([str(k[1]) for k in service_keys]),
                pg_array_text([k[2] for k in service_keys]), _array([str(services[k]) for k in service_keys])))
        return
    driver_execute(conn, UPSERT_ERRORS_SQLITE,
                   [(k[0], hours[k[1]], k[2], counts[k][0]) for k in error_keys])
    if service_keys:
        driver_execute(conn, UPSERT_SERVICES_SQLITE,
                       [(hours[k[0]], k[1], k[2], services[k]) for k in service_keys])


def rebuild_errors(conn, error_ids: list[str]) -> None:
    """The errors' hourly counts again from their stored events (events moved between errors of one
    service by a merge or an unmerge: app/triage/merge.py); the service's counts stay as they are. What
    was counted of events since removed (retention, the event budget) is not kept."""
    from sqlalchemy import delete, select

    from app.models import ErrorHourlyCount, ErrorOccurrence

    conn.execute(delete(ErrorHourlyCount).where(ErrorHourlyCount.error_id.in_(error_ids)))
    o = ErrorOccurrence
    counts: dict = {}
    for row in conn.execute(select(o.error_id, o.service_id, o.severity, o.timestamp).where(o.error_id.in_(error_ids))):
        collect(counts, row.error_id, row.service_id, row.severity, row.timestamp)
    write(conn, counts, services_too=False)
