"""GET /api/errors/{id}/chart/: an error's events per hour or day, from the hourly rollups, zero-filled."""
from __future__ import annotations

import datetime as dt
import re

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


PASSWORD = "correct horse battery"


def signed_in(client, lead):
    assert client.post("/login", data={"email": lead.email, "password": PASSWORD}).status_code == 303


def bars_of(page: str) -> list[str]:
    figure = page[page.index('id="error-chart"'):]
    figure = figure[:figure.index("</figure>")]
    return re.findall(r"<title>([^<]+)</title>", figure)


def test_the_error_page_charts_the_chosen_period_with_axes_and_a_count_on_each_bar(client, lead, service):
    with time_machine.travel(NOW, tick=False):
        for minutes in (10, 20, 90, 60 * 24 * 3):
            error = make_error(service, "KeyError", "'input'", timestamp=(NOW - dt.timedelta(minutes=minutes)).isoformat())
        signed_in(client, lead)
        fortnight = client.get(f"/errors/{error.id}").get_data(as_text=True)
        day = client.get(f"/errors/{error.id}?chart=24h").get_data(as_text=True)
        fragment = client.get(f"/errors/{error.id}/chart?period=90d", headers={"HX-Request": "true"})
        wrong = client.get(f"/errors/{error.id}?chart=7d").get_data(as_text=True)
    assert len(bars_of(fortnight)) == 14 and bars_of(fortnight)[-1] == "2026-05-04 UTC: 3 events"
    assert "4 events in the last 14 days, per day (UTC)" in fortnight
    assert 'aria-current="true">14 days</a>' in fortnight and 'class="axis-label" text-anchor="end">3</text>' in fortnight
    assert len(bars_of(day)) == 24 and bars_of(day)[-1] == "2026-05-04 12:00 UTC: 2 events"
    assert bars_of(day)[-2] == "2026-05-04 11:00 UTC: 1 event" and "3 events in the last 24 hours, per hour" in day
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and body.lstrip().startswith('<figure class="minichart error-chart"')
    assert len(bars_of(body)) == 90 and "<html" not in body
    assert len(bars_of(wrong)) == 14  # an unknown period shows the default


def test_the_error_list_draws_each_error_s_last_24_hours(client, lead, service):
    with time_machine.travel(NOW, tick=False):
        busy = make_error(service, "KeyError", "'busy'", timestamp=(NOW - dt.timedelta(minutes=5)).isoformat())
        make_error(service, "KeyError", "'busy'", timestamp=(NOW - dt.timedelta(hours=3)).isoformat())
        quiet = make_error(service, "ValueError", "quiet", timestamp=(NOW - dt.timedelta(days=3)).isoformat())
        signed_in(client, lead)
        page = client.get("/errors?status=all").get_data(as_text=True)
    assert "Last 24 h" in page
    row = page[page.index(f'value="{busy.id}"'):]
    assert 'title="2 events in the last 24 hours"' in row[:row.index("</tr>")]
    assert "<polyline points=" in row[:row.index("</tr>")]
    row = page[page.index(f'value="{quiet.id}"'):]
    assert 'title="0 events in the last 24 hours"' in row[:row.index("</tr>")]
