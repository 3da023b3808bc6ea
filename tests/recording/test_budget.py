"""The per-error event budget (app/recording/budget.py): past it, the first events, the latest ones and a
uniform sample between are kept by the worker's job; what ingest counted stays exact."""
from __future__ import annotations

import datetime as dt

import time_machine
from sqlalchemy import func, select

from app.extensions import db
from app.ingest.incoming import IncomingError
from app.jobs.scheduled import WORK, run_job
from app.models import ErrorFacet, ErrorHourlyCount, ErrorLog, ErrorOccurrence
from app.platform import settings
from app.platform.settings import SettingError
from app.platform.sql import database_now
from app.recording.budget import JOB_NAME, shares, trim_to_budget
from app.recording.record import record_errors
from app.reports import error_charts

NOW = dt.datetime(2026, 5, 4, 12, 0, tzinfo=dt.timezone.utc)
START = NOW - dt.timedelta(days=2)


def record(service, count: int, first: int = 0) -> str:
    """``count`` events of one error, a minute apart from START + ``first`` minutes, event ids numbered
    from ``first``; the error's id."""
    with time_machine.travel(NOW, tick=False):
        results = record_errors([
            IncomingError(service_id=service.id, source="api", error_type="KeyError", message="'input'",
                          tags={"n": str((first + n) % 3)}, timestamp=START + dt.timedelta(minutes=first + n),
                          event_id=f"00000000-0000-4000-8000-{first + n:012d}")
            for n in range(count)])
    return results[0].error_id


def stored(error_id: str) -> list[str]:
    """The error's stored event ids in their order (time, then id)."""
    db.session.expire_all()
    return list(db.session.execute(select(ErrorOccurrence.id).where(ErrorOccurrence.error_id == error_id)
                                   .order_by(ErrorOccurrence.timestamp, ErrorOccurrence.id)).scalars())


def exact_figures(error_id: str) -> tuple:
    db.session.expire_all()
    return (db.session.get(ErrorLog, error_id).occurrence_count,
            db.session.execute(select(func.sum(ErrorHourlyCount.events))
                               .where(ErrorHourlyCount.error_id == error_id)).scalar_one(),
            dict(db.session.execute(select(ErrorFacet.value, ErrorFacet.events)
                                    .where(ErrorFacet.error_id == error_id, ErrorFacet.key == "t.n")).all()),
            [b["events"] for b in error_charts.error_chart(error_id, "14d", now=NOW)["buckets"][-3:]])


def trim(**kwargs) -> dict:
    with time_machine.travel(NOW, tick=False):
        return trim_to_budget(**kwargs)


def test_the_budget_is_a_setting_checked_like_the_others(app):
    assert settings.get("events_per_error") == 10000
    for wrong in (9, "many", -1):
        try:
            settings.update_setting("events_per_error", wrong, None)
        except SettingError as exc:
            assert exc.field == "events_per_error"
        else:
            raise AssertionError(f"{wrong!r} was taken")
    assert shares(10000) == (1000, 4000, 5000) and shares(20) == (2, 8, 10)


def test_past_the_budget_the_first_the_latest_and_a_sample_between_are_kept(service):
    error_id = record(service, 100)
    before, figures = stored(error_id), exact_figures(error_id)
    settings.update_setting("events_per_error", 20, None)

    result = trim()

    assert (result["deleted"], result["errors"]) == (80, 1)
    after = stored(error_id)
    assert len(after) == 20
    assert after[:2] == before[:2] and after[-8:] == before[-8:]
    middle = set(after[2:-8])
    assert len(middle) == 10 and middle <= set(before[2:-8])
    assert exact_figures(error_id) == figures  # counts, hourly counts, tags and the chart stay exact
    assert figures[0] == 100 and figures[1] == 100 and sum(figures[3]) == 100
    assert trim()["deleted"] == 0  # within the budget now


def test_the_sample_is_the_same_however_often_the_job_runs(app, service):
    settings.update_setting("events_per_error", 20, None)
    once = record(service, 100)
    assert trim()["deleted"] == 80
    kept_at_once = stored(once)
    db.session.execute(ErrorLog.__table__.delete())
    db.session.commit()

    # The same events again, the job running after 60 of them and then after the rest, twenty
    # deletions at a time, each run carrying on where the last stopped.
    again = record(service, 60)
    runs = [trim(max_deletes=20), trim(max_deletes=20), trim(max_deletes=20)]
    assert [r["deleted"] for r in runs] == [20, 20, 0]
    assert runs[0]["complete_until"] is None and runs[2]["complete_until"] is not None
    record(service, 40, first=60)
    while trim(max_deletes=20)["deleted"]:
        pass
    assert stored(again) == kept_at_once


def test_later_events_move_the_latest_and_the_sample_keeps_what_one_run_would(app, service):
    settings.update_setting("events_per_error", 20, None)
    error_id = record(service, 100)
    trim()
    first_two = stored(error_id)[:2]
    record(service, 50, first=100)
    result = trim(since=NOW - dt.timedelta(hours=1))
    after = stored(error_id)
    assert result["deleted"] == 50 and len(after) == 20
    assert after[:2] == first_two
    newest = list(db.session.execute(select(ErrorOccurrence.id).where(ErrorOccurrence.error_id == error_id)
                                     .order_by(ErrorOccurrence.timestamp.desc()).limit(8)).scalars())
    assert set(after[-8:]) == set(newest)
    assert exact_figures(error_id)[0] == 150 and exact_figures(error_id)[1] == 150


def test_the_scheduled_job_looks_only_at_errors_changed_since_its_last_complete_run(app, service):
    settings.update_setting("events_per_error", 20, None)
    error_id = record(service, 30)
    assert run_job(JOB_NAME, WORK[JOB_NAME])["deleted"] == 10
    # An error unchanged since well before that run is not looked at again, whatever the budget now.
    db.session.execute(ErrorLog.__table__.update().values(updated_at=database_now() - dt.timedelta(hours=1)))
    db.session.commit()
    settings.update_setting("events_per_error", 10, None)
    assert run_job(JOB_NAME, WORK[JOB_NAME])["deleted"] == 0
    assert len(stored(error_id)) == 20
    # Its next event brings it back.
    record_errors([IncomingError(service_id=service.id, source="api", error_type="KeyError", message="'input'")])
    assert run_job(JOB_NAME, WORK[JOB_NAME])["deleted"] == 11
    assert len(stored(error_id)) == 10
