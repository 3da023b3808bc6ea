"""Retention: old occurrences, long-resolved errors and the old audit trail go, in batches; the rest stays."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import func, select

from app.extensions import db
from app.jobs.scheduled import WORK
from app.models import ErrorLog, ErrorNotification, ErrorOccurrence
from app.models.types import utcnow
from app.platform import settings
from app.triage import changes as triage
from app.notify.planning import PlannedDelivery, record_planned
from app.recording.retention import purge
from tests.conftest import POSTGRES_URL
from tests.factories import make_developer, make_service
from tests.jobs.events import record_events


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_everything_past_retention_is_deleted_in_batches_and_the_rest_is_kept(app):
    service = make_service()
    developer = make_developer()
    now = utcnow()
    old_open = record_events(service, 5, error_type="OldButOpen", at=now - dt.timedelta(days=120))
    record_events(service, 3, error_type="OldButOpen", at=now - dt.timedelta(days=10))
    (long_resolved,) = record_events(service, error_type="LongResolved", at=now - dt.timedelta(days=200))
    (recently_resolved,) = record_events(service, error_type="RecentlyResolved", at=now - dt.timedelta(days=100))
    with time_machine.travel(now - dt.timedelta(days=95), tick=False):
        triage.resolve_error(db.session.get(ErrorLog, long_resolved.error_id), developer)
    triage.resolve_error(db.session.get(ErrorLog, recently_resolved.error_id), developer)
    with time_machine.travel(now - dt.timedelta(days=100), tick=False):
        record_planned([PlannedDelivery(f"summary.daily:2026-01-0{n}", "summary.daily", "email", f"dev:{developer.id}",
                                        developer.email, developer.id) for n in range(1, 4)], None)
    pending = db.session.execute(select(ErrorNotification).order_by(ErrorNotification.id)).scalars().first()
    for row in db.session.execute(select(ErrorNotification)).scalars():
        row.status = "sent"
    pending.status = "retrying"
    db.session.commit()

    deleted = purge(batch=2)

    assert deleted["occurrences"] == 5 + 1 + 1 and deleted["resolved_errors"] == 1 and deleted["notifications"] == 2
    remaining = {e.error_type for e in db.session.execute(select(ErrorLog)).scalars()}
    assert remaining == {"OldButOpen", "RecentlyResolved"}
    assert db.session.get(ErrorLog, old_open[0].error_id).occurrence_count == 8  # the count stays true
    assert count(ErrorOccurrence) == 3
    assert [n.status for n in db.session.execute(select(ErrorNotification)).scalars()] == ["retrying"]
    assert purge() == {k: 0 for k in deleted}


def test_retention_periods_are_settings(app):
    service = make_service()
    now = utcnow()
    record_events(service, 2, at=now - dt.timedelta(days=8))
    settings.update_setting("retention_days", 7, None)
    assert purge()["occurrences"] == 2


def test_hourly_counts_outlive_the_events_and_go_after_their_own_retention(app):
    from app.models import ErrorHourlyCount, ServiceHourlyCount

    service = make_service()
    now = utcnow()
    record_events(service, 1, at=now - dt.timedelta(days=50))
    record_events(service, 2, at=now - dt.timedelta(days=100))
    record_events(service, 3, at=now - dt.timedelta(days=200))

    def kept() -> list[int]:
        db.session.expire_all()
        return sorted(r.events for r in db.session.execute(select(ErrorHourlyCount)).scalars())

    deleted = purge()
    # Occurrences go after 90 days; their counts stay for twice as long by default.
    assert deleted["occurrences"] == 5 and count(ErrorOccurrence) == 1
    assert (deleted["error_hourly_counts"], deleted["service_hourly_counts"]) == (1, 1)
    assert kept() == [1, 2] and count(ServiceHourlyCount) == 2
    # Never before the events they count: a shorter setting waits for the occurrences' 90 days.
    settings.update_setting("retention_rollup_days", 30, None)
    assert purge(batch=1)["error_hourly_counts"] == 1
    assert kept() == [1] and count(ServiceHourlyCount) == 1 and count(ErrorOccurrence) == 1
@pytest.mark.skipif(bool(POSTGRES_URL), reason="on PostgreSQL whole days are dropped (tests/recording/test_partitions.py)")
def test_sqlite_deletes_old_occurrences_in_batches_and_has_no_partitions_to_make(app):
    service = make_service()
    record_events(service, 3, at=utcnow() - dt.timedelta(days=100))
    assert purge(batch=2)["occurrences"] == 3
    assert WORK["create_event_partitions"]() == {"partitioned": False}
