"""Details of the dashboard's pages: an event's card says each thing once, breadcrumb times read like
every other time, contexts are tables, the trail names an error by its short id, a load at its
maximum is not flagged, and an override that starts later says when."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from app.extensions import db
from app.models import ErrorLog
from app.models.types import utcnow
from app.triage import changes as triage
from app.triage import oncall
from tests.factories import ingest, make_developer

PASSWORD = "correct horse battery"


def login(client, developer):
    assert client.post("/login", data={"email": developer.email, "password": PASSWORD}).status_code == 303


def sentry_event(client, service, message: str, **fields) -> ErrorLog:
    event = {"platform": "python", "level": "error",
             "exception": {"values": [{"type": "KeyError", "value": message, "stacktrace": {"frames": [
                 {"filename": "billing/views.py", "function": "checkout", "lineno": 42, "in_app": True}]}}]},
             **fields}
    response = client.post(f"/api/{service.id}/store/", json=event, headers={
        "X-Sentry-Auth": f"Sentry sentry_key={service.ingest_key}, sentry_version=7"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return db.session.execute(select(ErrorLog).order_by(ErrorLog.last_seen.desc()).limit(1)).scalar_one()


def event_card(page: str) -> str:
    return page[page.index('id="event"'):page.index("</section>", page.index('id="event"'))]


def test_the_event_card_prints_a_later_event_s_message_once(client, service, lead):
    sentry_event(client, service, "'customer_id'")
    error = sentry_event(client, service, "'order_id'")
    login(client, lead)
    card = event_card(client.get(f"/errors/{error.id}").get_data(as_text=True))
    assert card.count("&#39;order_id&#39;") == 1
    assert 'class="exception-value"' in card


def test_breadcrumb_times_read_like_the_page_with_the_iso_time_kept(client, service, lead):
    error = sentry_event(client, service, "'x'", breadcrumbs={"values": [
        {"timestamp": "2026-03-25T12:00:01.500Z", "category": "http", "message": "GET /api/cart"},
        {"timestamp": 1774440002.25, "category": "query", "message": "SELECT 1"},
        {"timestamp": "yesterday-ish", "category": "ui.click", "message": "button#pay"}]})
    login(client, lead)
    page = client.get(f"/errors/{error.id}").get_data(as_text=True)
    assert '<time datetime="2026-03-25T12:00:01.500000+00:00" title="2026-03-25T12:00:01.500Z">' \
           '2026-03-25 12:00:01 UTC</time>' in page
    assert '<time datetime="2026-03-25T12:00:02.250000+00:00" title="1774440002.25">2026-03-25 12:00:02 UTC</time>' in page
    assert ">yesterday-ish</time>" in page  # not a time: shown as it came
    assert "2026-03-25T12:00:01.500Z</td>" not in page


def test_contexts_are_a_table_each_with_nested_values_folded(client, service, lead):
    error = sentry_event(client, service, "'x'", contexts={
        "os": {"name": "Linux", "version": "6.1", "kernel": {"release": "6.1.0-18", "arch": "x86_64"}},
        "runtime": {"name": "CPython", "version": "3.11.9"}})
    login(client, lead)
    page = client.get(f"/errors/{error.id}").get_data(as_text=True)
    contexts = page[page.index('id="contexts"'):]
    contexts = contexts[:contexts.index("</section>")]
    assert re.search(r'<h3 class="context-name">os</h3>\s*<table class="table compact kv">', contexts)
    assert '<th scope="row">name</th><td><span class="mono">Linux</span></td>' in contexts
    assert '<th scope="row">version</th><td><span class="mono">3.11.9</span></td>' in contexts
    assert re.search(r'<th scope="row">kernel</th><td><details class="folded"><summary>2 keys</summary>', contexts)
    assert "<th>contexts</th>" not in page and '"kernel": {' not in page


def test_the_trail_names_the_error_by_its_short_id(client, service, lead):
    error = sentry_event(client, service, "'x'")
    login(client, lead)
    page = client.get(f"/errors/{error.id}").get_data(as_text=True)
    trail = page[page.index('<nav class="crumbs">'):page.index("</nav>", page.index('<nav class="crumbs">'))]
    assert f'<span class="mono" title="{error.id}">{error.id[:8]}</span>' in trail
    assert f">{error.id}<" not in trail


def test_only_a_load_over_the_maximum_is_flagged(client, service, lead):
    make_developer("Ada Admin", role="admin", max_load=0)
    full = make_developer("Dana Dev", services=[service], max_load=1)
    over = make_developer("Otto Over", services=[service], max_load=1)
    for n, person in enumerate((full, over, over)):
        error_id = ingest(client, service, {"error_type": f"Error{chr(65 + n)}", "message": "m"}).json["error_id"]
        triage.assign_error(db.session.get(ErrorLog, error_id), person, lead)
    login(client, lead)
    page = client.get("/developers").get_data(as_text=True)

    def load(name):
        row = page[page.index(f"<strong>{name}</strong>"):]
        return re.search(r'<span class="([a-z]*)">(\d+/\d+)</span>', row[:row.index("</tr>")]).groups()

    assert load("Ada Admin") == ("", "0/0")
    assert load("Dana Dev") == ("", "1/1")
    assert load("Otto Over") == ("over", "2/1")


def test_an_override_that_starts_later_says_when_it_starts(client, lead):
    plan = oncall.create_schedule(lead, name="Geo")
    ann = make_developer("Ann Later")
    login(client, lead)
    start = (utcnow() + dt.timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    response = client.post(f"/oncall/{plan.id}/overrides", data={
        "developer_id": ann.id, "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")}, follow_redirects=True)
    expected = f"Ann Later is on call from {start:%a %d %b} 09:00 until {start:%a %d %b} 12:00."
    assert expected in response.get_data(as_text=True)
    now = utcnow()
    response = client.post(f"/oncall/{plan.id}/overrides", data={
        "developer_id": lead.id, "starts_at": (now - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (now + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")}, follow_redirects=True)
    assert f"Lena Lead is on call until {(now + dt.timedelta(hours=1)):%a %d %b %H:%M}." in response.get_data(as_text=True)
