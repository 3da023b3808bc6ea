"""The overview: counters, trend series, top services and errors, and the short cache in front of them."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from app.extensions import db
from app.models import ErrorLog
from app.models.types import utcnow
from app.reports import overview as dashboard
from app.reports import team as team_view
from app.triage import changes as triage
from tests.factories import ingest, make_developer, make_service

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fresh_cache(app):
    app.config["DASHBOARD_CACHE_SECONDS"] = 0
    dashboard.clear_cache()
    yield
    dashboard.clear_cache()


def login(client, developer):
    assert client.post("/login", data={"email": developer.email, "password": PASSWORD}).status_code == 303


def record(client, service, **fields) -> str:
    response = ingest(client, service, {"error_type": "ValueError", "message": "bad value", **fields})
    assert response.status_code == 201, response.json
    return response.json["error_id"]


def ago(**delta) -> str:
    return (utcnow() - dt.timedelta(**delta)).isoformat()


@pytest.fixture
def history(client, service, lead):
    """Events over the last days: critical and high today, medium two days ago, one resolved error."""
    web = make_service("Laravel Web", platform="php")
    crit = record(client, service, error_type="DatabaseDown", message="db down", severity="critical")
    record(client, service, error_type="DatabaseDown", message="db down", severity="critical")
    high = record(client, web, error_type="TypeError", message="x is null", severity="high", timestamp=ago(hours=3))
    old = record(client, web, error_type="OldWarning", message="slow", severity="medium", timestamp=ago(days=2))
    gone = record(client, service, error_type="Fixed", message="fixed", severity="low", timestamp=ago(hours=5))
    triage.resolve_error(db.session.get(ErrorLog, gone), lead, "done")
    # The on-call lead got the Django errors by routing; leave the critical one to nobody.
    triage.assign_error(db.session.get(ErrorLog, crit), None, lead)
    return {"crit": crit, "high": high, "old": old, "gone": gone, "web": web}


def test_counters(history):
    counters = dashboard.counters()
    assert counters["open"] == 3  # crit, high, old
    assert counters["critical_open"] == 1
    # first_seen is the event's own time: only the critical error is from the last hour.
    assert counters["new_last_hour"] == 1
    assert counters["unassigned"] == 3  # crit (unassigned by hand) and both Laravel errors (nobody on call)


def test_hourly_series_counts_events_by_severity_in_their_hour(history):
    series = dashboard.hourly_series()
    assert len(series["labels"]) == 24
    assert series["labels"][-1] == utcnow().strftime("%Y-%m-%dT%H:00")
    assert series["series"]["critical"][-1] == 2
    three_hours = (utcnow() - dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:00")
    assert series["series"]["high"][series["labels"].index(three_hours)] == 1
    assert sum(series["series"]["medium"]) == 0  # two days ago is outside the window


def test_daily_series_covers_thirty_days(history):
    series = dashboard.daily_series()
    assert len(series["labels"]) == 30 and series["labels"][-1] == utcnow().strftime("%Y-%m-%d")
    two_days = (utcnow() - dt.timedelta(days=2)).strftime("%Y-%m-%d")
    assert series["series"]["medium"][series["labels"].index(two_days)] == 1
    assert sum(series["series"]["critical"]) == 2 and sum(series["series"]["high"]) == 1


def test_top_services_and_errors(history, service):
    services = dashboard.top_services()
    assert [s["slug"] for s in services] == ["laravel-web", service.slug]
    assert services[1]["critical_open"] == 1 and services[1]["events_24h"] == 3
    errors = dashboard.top_errors()
    assert errors[0]["id"] == history["crit"] and errors[0]["events_24h"] == 2
    assert history["old"] not in [e["id"] for e in errors]  # nothing in the last 24 hours


def test_overview_page_renders_counters_charts_feed_and_tops(client, lead, history):
    login(client, lead)
    body = client.get("/").get_data(as_text=True)
    assert re.search(r'<span class="counter-value">3</span><span class="counter-label">Open errors', body)
    data = json.loads(re.search(r'<script type="application/json" id="trend-hourly-data">(.*?)</script>',
                                body, re.S).group(1))
    assert data["series"]["critical"][-1] == 2
    assert 'ws-connect="/feed/ws"' in body and 'id="feed-status"' in body
    assert "DatabaseDown" in body and "Laravel Web" in body


def test_counters_fragment_refreshes_alone(client, lead, history):
    login(client, lead)
    body = client.get("/overview/counters", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert body.lstrip().startswith('<section id="counters"') and "<html" not in body


def test_empty_overview_explains_itself(client, lead):
    login(client, lead)
    body = client.get("/").get_data(as_text=True)
    assert "No errors yet" in body and "No open errors in any service" in body
    assert "No events in the last 24 hours" in body


def test_figures_are_cached_for_a_few_seconds_then_recomputed(app, client, service, lead):
    app.config["DASHBOARD_CACHE_SECONDS"] = 60
    first = dashboard.overview()
    record(client, service, severity="critical")
    assert dashboard.overview()["counters"] == first["counters"]  # served from the cache
    dashboard.clear_cache()
    assert dashboard.overview()["counters"]["open"] == first["counters"]["open"] + 1


def test_the_cache_lives_in_redis_when_redis_is_configured(app, client, service):
    if not app.config.get("REDIS_URL"):
        pytest.skip("REDIS_URL not set")
    import redis

    app.config["DASHBOARD_CACHE_SECONDS"] = 60
    dashboard.overview()
    client_ = redis.Redis.from_url(app.config["REDIS_URL"])
    assert client_.exists(dashboard.CACHE_PREFIX + "overview")
    assert 0 < client_.pttl(dashboard.CACHE_PREFIX + "overview") <= 60000


def test_without_redis_the_cache_is_per_app_in_process(app, client, service):
    if app.config.get("REDIS_URL"):
        pytest.skip("runs without REDIS_URL")
    app.config["DASHBOARD_CACHE_SECONDS"] = 60
    dashboard.overview()
    assert app.extensions["heartwatch.kv"].get(dashboard.CACHE_PREFIX + "overview") is not None


def test_past_days_are_cached_longer_than_today(app, client, service, lead):
    app.config["DASHBOARD_CACHE_SECONDS"] = 60
    record(client, service, severity="medium", timestamp=ago(days=3))
    before = dashboard.daily_series()
    record(client, service, error_type="Late", message="late", severity="medium", timestamp=ago(days=3))
    record(client, service, error_type="Today", message="today", severity="medium")
    after = dashboard.daily_series()
    three_days = before["labels"].index((utcnow() - dt.timedelta(days=3)).strftime("%Y-%m-%d"))
    assert after["series"]["medium"][three_days] == before["series"]["medium"][three_days]  # cached history
    assert after["series"]["medium"][-1] == before["series"]["medium"][-1] + 1  # today is counted live


def test_workload_chart_data(client, service, lead):
    dev = make_developer("Dana Dev", services=[service], max_load=3)
    error = db.session.get(ErrorLog, record(client, service, severity="high"))
    triage.assign_error(error, dev, lead)
    rows = team_view.team()
    chart = team_view.workload_chart(rows)
    i = chart["labels"].index("Dana Dev")
    assert chart["series"]["high"][i] == 1 and chart["max_load"][i] == 3


def test_the_thirty_day_series_comes_on_demand_as_json_or_a_table(client, lead, history):
    login(client, lead)
    page = client.get("/").get_data(as_text=True)
    assert 'data-url="/overview/daily"' in page and "trend-daily-data" not in page
    series = client.get("/overview/daily", headers={"Accept": "application/json"}).json
    assert len(series["labels"]) == 30 and sum(series["series"]["medium"]) == 1
    table = client.get("/overview/daily").get_data(as_text=True)
    assert "Events per day, last 30 days" in table and "<td class=\"nowrap\">" + series["labels"][-1] in table


def test_new_in_the_last_hour_links_to_the_errors_first_seen_in_the_last_hour(client, lead, history):
    import re

    from tests.factories import ApiClient, make_token

    # Seen again just now, first seen three hours ago: not new.
    record(client, history["web"], error_type="TypeError", message="x is null", severity="high")
    assert dashboard.counters()["new_last_hour"] == 1
    login(client, lead)
    overview = client.get("/").get_data(as_text=True)
    link = re.search(r'<a class="counter" href="([^"]+)"><span class="counter-value">1</span>'
                     r'<span class="counter-label">New in the last hour', overview).group(1).replace("&amp;", "&")
    assert "first_seen=1h" in link and "range=" not in link
    listed = client.get(link).get_data(as_text=True)
    assert re.findall(r'class="error-title" href="/errors/([^"]+)"', listed) == [history["crit"]]
    assert '<option value="1h" selected>last 1h</option>' in listed  # the form shows the filter
    since = (utcnow() - dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    api = ApiClient(client, make_token(lead)).get(f"/api/errors/?first_seen_since={since}")
    assert [item["error_id"] for item in api.json["items"]] == [history["crit"]]
    assert ApiClient(client, make_token(lead)).get("/api/errors/?first_seen_since=yesterday").json["error"]["field"] \
        == "first_seen_since"


def test_figures_as_of_moves_with_the_counters_it_refreshes(app, client, lead, history):
    login(client, lead)
    page = client.get("/").get_data(as_text=True)
    shown = re.search(r'<p id="figures-as-of" class="muted">Figures as of <time datetime="([^"]+)">', page).group(1)
    app.config["DASHBOARD_CACHE_SECONDS"] = 60
    dashboard.clear_cache()
    snapshot = dashboard.overview()
    assert snapshot["computed_at"] != shown
    body = client.get("/overview/counters", headers={"HX-Request": "true"}).get_data(as_text=True)
    # Out of band beside the counters: htmx puts it in the page's place of the same id.
    tail = body[body.index("</section>"):]
    assert f'<p id="figures-as-of" class="muted" hx-swap-oob="true">Figures as of <time datetime="{snapshot["computed_at"]}">' \
        in tail
