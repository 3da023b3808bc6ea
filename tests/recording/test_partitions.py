"""PostgreSQL's day partitions of the events (app/models/partitions.py): ingest lands an event in its
day's partition, or in DEFAULT when the day has none yet; the worker's job creates the week ahead once
however many workers run it, moving DEFAULT's events of those days; retention drops whole days past
retention and deletes only DEFAULT's old events in batches; events are found, walked, downloaded and
deleted by id across partitions."""
from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import delete, func, select, text

from app.extensions import db
from app.jobs.scheduled import WORK, run_job
from app.models import ErrorLog, ErrorOccurrence, partitions
from app.models.types import utcnow
from app.platform import settings
from app.recording.retention import purge
from tests.conftest import POSTGRES_URL
from tests.factories import ApiClient, drain_ingest_writer, make_developer, make_token
from tests.jobs.events import record_events

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="error_occurrences is partitioned on PostgreSQL only "
                                                         "(TEST_DATABASE_URL)")
JOB = "create_event_partitions"


def drop_every_day() -> None:
    db.session.rollback()
    with db.engine.connect() as connection:
        existing = list(partitions.day_partitions(connection))
    for day in existing:
        with db.engine.begin() as connection:
            partitions.drop_day(connection, day)


@pytest.fixture
def days(app):
    """No day partitions but the test's own, dropped afterwards (the schema, with its DEFAULT
    partition, is shared by the whole run, and other tests may have made days)."""
    drop_every_day()
    yield
    drop_every_day()


def partition_of(occurrence_id: str) -> str:
    return db.session.execute(text("SELECT tableoid::regclass::text FROM error_occurrences WHERE id = :id"),
                              {"id": occurrence_id}).scalar_one()


def existing_days() -> set[dt.date]:
    with db.engine.connect() as connection:
        return set(partitions.day_partitions(connection))


def create_days(*days: dt.date) -> None:
    for day in days:
        with db.engine.begin() as connection:
            partitions.create_day(connection, day)


def post_event(client, service, **fields) -> str:
    answer = client.post("/api/errors/", json={"error_type": "PartitionProbe", "message": "where am I", **fields},
                         headers={"X-Api-Key": service.ingest_key})
    assert answer.status_code == 201, answer.json
    return answer.json["occurrence_id"]


def test_ingest_lands_in_default_until_the_job_creates_today_then_in_today_s_partition(client, service, days):
    today = utcnow().date()
    early = post_event(client, service)
    assert partition_of(early) == partitions.DEFAULT

    first = run_job(JOB, WORK[JOB])
    assert first["created"] == [partitions.partition_name(d) for d in partitions.days_ahead(today)]
    assert first["moved_from_default"] == 1
    assert partition_of(early) == partitions.partition_name(today)  # moved with its day

    later = post_event(client, service, event_id="5d0c1f4e-8a1b-4c3d-9e2f-0a1b2c3d4e5f")
    assert partition_of(later) == partitions.partition_name(today)
    # A resend of the same event id is stored once, partitions or not.
    assert post_event(client, service, event_id="5d0c1f4e-8a1b-4c3d-9e2f-0a1b2c3d4e5f") == later
    assert db.session.execute(select(func.count()).select_from(ErrorOccurrence)).scalar_one() == 2

    assert run_job(JOB, WORK[JOB]) == {"partitioned": True, "created": [], "moved_from_default": 0}
    assert existing_days() == set(partitions.days_ahead(today))
    drain_ingest_writer(service)


def test_bootstrap_makes_today_s_and_the_week_ahead_s_partitions(app, days):
    result = app.test_cli_runner().invoke(args=["bootstrap"])
    assert result.exit_code == 0, result.output
    assert existing_days() == set(partitions.days_ahead(utcnow().date()))


def test_two_workers_creating_the_week_ahead_at_once_create_each_day_once(app, days):
    today = utcnow().date()
    start, results, failures = threading.Barrier(2), [], []

    def worker():
        try:
            with app.app_context():
                start.wait(timeout=10)
                results.append(partitions.ensure_days(db.engine, today))
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    created = [name for result in results for name in result["created"]]
    assert sorted(created) == sorted(partitions.partition_name(d) for d in partitions.days_ahead(today))
    assert existing_days() == set(partitions.days_ahead(today))


def test_retention_drops_the_day_past_retention_and_keeps_the_newer_ones(app, service, days):
    settings.update_setting("retention_days", 7, None)
    now = utcnow()
    today = now.date()
    gone_day, partial_day, kept_day = today - dt.timedelta(days=9), today - dt.timedelta(days=7), today - dt.timedelta(days=5)
    create_days(gone_day, partial_day, kept_day)
    gone = record_events(service, 4, at=dt.datetime.combine(gone_day, dt.time(12), dt.timezone.utc))
    record_events(service, 2, at=dt.datetime.combine(partial_day, dt.time(0, 30), dt.timezone.utc))
    kept = record_events(service, 3, at=dt.datetime.combine(kept_day, dt.time(12), dt.timezone.utc))
    # Days without a partition: their events wait in DEFAULT, the old one is deleted by batch.
    (old_in_default,) = record_events(service, at=now - dt.timedelta(days=20))
    (new_in_default,) = record_events(service, at=now - dt.timedelta(days=2))
    assert {partition_of(r.occurrence_id) for r in (old_in_default, new_in_default)} == {partitions.DEFAULT}
    assert partition_of(gone[0].occurrence_id) == partitions.partition_name(gone_day)

    counts = purge()

    assert counts["occurrence_days"] == 1 and counts["occurrences"] == 1
    assert existing_days() == {partial_day, kept_day}  # a day goes once all of it is past retention
    stored = set(db.session.execute(select(ErrorOccurrence.id)).scalars())
    assert stored.isdisjoint({r.occurrence_id for r in gone} | {old_in_default.occurrence_id})
    assert {r.occurrence_id for r in kept} | {new_in_default.occurrence_id} <= stored
    assert len(stored) == 2 + 3 + 1
    assert db.session.get(ErrorLog, kept[0].error_id).occurrence_count == 11  # the count stays true
    again = purge()
    assert (again["occurrence_days"], again["occurrences"]) == (0, 0)


def test_events_across_partitions_are_walked_downloaded_and_deleted_by_id(client, service, days):
    today = utcnow().date()
    spread = [today - dt.timedelta(days=n) for n in (3, 2, 1)]
    create_days(*spread)
    recorded = [record_events(service, at=dt.datetime.combine(day, dt.time(9), dt.timezone.utc))[0] for day in spread]
    recorded += record_events(service, at=utcnow() - dt.timedelta(days=6))  # DEFAULT
    ids = [r.occurrence_id for r in recorded]
    assert len({partition_of(i) for i in ids}) == 4
    error_id = recorded[0].error_id
    lead = make_developer("Lena Lead", role="lead", services=[service])
    api = ApiClient(client, make_token(lead))

    newest_first, current = [], ids[2]
    while current:
        body = api.get(f"/api/errors/{error_id}/occurrences/{current}/").json
        newest_first.append(current)
        current = body["previous_id"]
    assert newest_first == [ids[2], ids[1], ids[0], ids[3]]
    download = api.get(f"/api/errors/{error_id}/occurrences/{ids[0]}/download/")
    assert download.status_code == 200 and download.json["occurrence_id"] == ids[0]

    # By id, as the ORM and a job deleting chosen events do, whatever partition they are in.
    db.session.delete(db.session.get(ErrorOccurrence, ids[1]))
    db.session.commit()
    db.session.execute(delete(ErrorOccurrence).where(ErrorOccurrence.id.in_([ids[0], ids[3]])))
    db.session.commit()
    assert list(db.session.execute(select(ErrorOccurrence.id)).scalars()) == [ids[2]]

    admin = make_developer("Ada Admin", role="admin")
    assert ApiClient(client, make_token(admin)).delete(f"/api/errors/{error_id}/").status_code == 204
    assert db.session.execute(select(func.count()).select_from(ErrorOccurrence)).scalar_one() == 0


def test_a_day_held_by_a_long_query_is_kept_for_the_next_run_without_stalling_retention(app, service, days, caplog):
    settings.update_setting("retention_days", 7, None)
    old_day = utcnow().date() - dt.timedelta(days=10)
    create_days(old_day)
    record_events(service, 2, at=dt.datetime.combine(old_day, dt.time(12), dt.timezone.utc))
    reader = db.engine.connect()
    transaction = reader.begin()
    reader.execute(text("SELECT count(*) FROM error_occurrences")).scalar_one()  # holds the table until it ends
    try:
        began = time.monotonic()
        counts = purge()
        waited = time.monotonic() - began
    finally:
        transaction.rollback()
        reader.close()
    assert counts["occurrence_days"] == 0 and old_day in existing_days()
    assert waited < 30 and f"partition {partitions.partition_name(old_day)} kept until the next run" in caplog.text
    assert purge()["occurrence_days"] == 1 and old_day not in existing_days()
