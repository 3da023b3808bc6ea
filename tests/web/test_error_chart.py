"""GET /api/errors/{id}/chart/: an error's events per hour or day, from the hourly rollups, zero-filled."""
from __future__ import annotations

import datetime as dt

import time_machine
from sqlalchemy import delete

from app.extensions import db
from app.models import ErrorOccurrence
from tests.factories import make_error

NOW = dt.datetime(2026, 5, 4, 12, 30, tzinfo=dt.timezone.utc)


def test_the_chart_has_every_bucket_of_its_period_with_the_events_counted_at_ingest(api, service):
    with time_machine.travel(NOW, tick=False):
        for minutes in (10, 20, 90, 60 * 24 * 3):
            error = make_error(service, "KeyError", "'input'", timestamp=(NOW - dt.timedelta(minutes=minutes)).isoformat())
        db.session.execute(delete(ErrorOccurrence))  # deleted events are still counted
        db.session.commit()

        hours = api.get(f"/api/errors/{error.id}/chart/?period=24h").json
        days = api.get(f"/api/errors/{error.id}/chart/").json
        quarter = api.get(f"/api/errors/{error.id}/chart/?period=90d").json

    assert (hours["period"], hours["interval"], len(hours["buckets"]), hours["total"]) == ("24h", "hour", 24, 3)
    assert hours["buckets"][-1] == {"start": "2026-05-04T12:00:00Z", "events": 2}
    assert hours["buckets"][-2] == {"start": "2026-05-04T11:00:00Z", "events": 1}
    assert hours["buckets"][0]["start"] == "2026-05-03T13:00:00Z" and hours["buckets"][0]["events"] == 0
    assert (days["period"], days["interval"], len(days["buckets"]), days["total"]) == ("14d", "day", 14, 4)
    assert days["buckets"][-1] == {"start": "2026-05-04T00:00:00Z", "events": 3}
    assert days["buckets"][-4] == {"start": "2026-05-01T00:00:00Z", "events": 1}
    assert len(quarter["buckets"]) == 90 and quarter["total"] == 4


def test_a_wrong_period_is_a_400_naming_it_and_an_unknown_error_a_404(api, service):
    error = make_error(service)
    answer = api.get(f"/api/errors/{error.id}/chart/?period=7d")
    assert answer.status_code == 400
    assert answer.json["error"]["field"] == "period" and "24h, 14d, 90d" in answer.json["error"]["message"]
    assert api.get("/api/errors/00000000-0000-4000-8000-000000000000/chart/").status_code == 404
    assert api.get(f"/api/errors/{error.id}/chart/").status_code == 200
