"""Tag breakdowns and affected users: kept at ingest in the facets, read through the JSON API and the error
page, and the error list's Users column (the API's ``users`` and ``sort=users``)."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.ingest.sources import NORMALISERS
from app.models import ErrorFacet, ErrorLog
from app.recording.record import record_errors
from tests.factories import ingest, make_developer

PASSWORD = "correct horse battery"


@pytest.fixture
def lead(app, service):
    """Nobody is on call: routing assigns nothing, so every assignment here is the test's own."""
    return make_developer("Lena Lead", role="lead", services=[service])


def record(client, service, **fields) -> str:
    payload = {"error_type": "ValueError", "message": "bad value", **fields}
    response = ingest(client, service, payload)
    assert response.status_code == 201, response.json
    return response.json["error_id"]


def sentry_event(client, service, browser: dict | None = None, os: dict | None = None, **fields) -> str:
    contexts = {name: value for name, value in (("browser", browser), ("os", os)) if value}
    event = {"platform": "javascript", "level": "error", "environment": "production",
             "exception": {"values": [{"type": "TypeError", "value": "x is undefined"}]}, "contexts": contexts,
             **fields}
    response = client.post(f"/api/{service.id}/store/?sentry_key={service.ingest_key}", json=event)
    assert response.status_code == 200, response.get_data(as_text=True)
    return db.session.execute(db.select(ErrorLog.id).where(ErrorLog.error_type == "TypeError")).scalar_one()


def fresh(error_id: str) -> ErrorLog:
    db.session.expire_all()
    return db.session.get(ErrorLog, error_id)


@pytest.fixture
def spread(client, service) -> str:
    """One error seen 6 times: 4 in production, 2 in staging; 3 releases; 3 users (one twice by id, one by
    e-mail only, one by address only), one event without a user; a tag on some."""
    events = [
        {"environment": "production", "release": "1.0", "user": {"id": 7, "email": "ada@example.test"},
         "tags": {"region": "eu"}},
        {"environment": "production", "release": "1.0", "user": {"id": 7}, "tags": {"region": "eu"}},
        {"environment": "production", "release": "1.1", "user": {"email": "bob@example.test"}, "tags": {"region": "us"}},
        {"environment": "production", "release": "1.1", "user": {"ip_address": "10.0.0.9"}},
        {"environment": "staging", "release": "2.0"},
        {"environment": "staging", "release": "2.0", "user": {"id": "7"}},
    ]
    ids = {record(client, service, fingerprint=["spread"], server_name="web-1", **event) for event in events}
    (error_id,) = ids
    return error_id


def test_breakdown_lists_each_key_with_its_top_values_counts_and_shares(api, spread):
    response = api.get(f"/api/errors/{spread}/tags/")
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["error_id"], body["events"], body["users"]) == (spread, 6, 3)
    keys = {k["key"]: k for k in body["keys"]}
    assert [k["key"] for k in body["keys"]] == ["environment", "release", "server", "t.region"]
    environment = keys["environment"]
    assert (environment["name"], environment["total"], environment["values"]) == ("environment", 6, 2)
    assert environment["top"] == [{"value": "production", "count": 4, "share": 0.6667},
                                  {"value": "staging", "count": 2, "share": 0.3333}]
    assert keys["t.region"]["name"] == "region"
    assert keys["t.region"]["top"][0] == {"value": "eu", "count": 2, "share": 0.6667}
    # The user's own fields are the affected users, not breakdowns.
    assert not [k for k in keys if k.startswith("user")]
    top_one = api.get(f"/api/errors/{spread}/tags/?top=1").json
    assert all(len(k["top"]) == 1 for k in top_one["keys"])


def test_all_values_of_one_key_are_paged_most_seen_first(api, spread):
    first = api.get(f"/api/errors/{spread}/tags/release/?per_page=2").json
    assert (first["key"], first["total"], first["values"], first["page"], first["per_page"]) == ("release", 6, 3, 1, 2)
    assert [v["value"] for v in first["items"]] == ["1.0", "1.1"]
    second = api.get(f"/api/errors/{spread}/tags/release/?per_page=2&page=2").json
    assert second["items"] == [{"value": "2.0", "count": 2, "share": 0.3333}]
    assert api.get(f"/api/errors/{spread}/tags/t.region/").json["name"] == "region"


def test_unknown_keys_and_bad_pages_are_clear_errors(api, spread):
    missing = api.get(f"/api/errors/{spread}/tags/browser/")
    assert missing.status_code == 404 and missing.json["error"]["field"] == "key"
    assert api.get(f"/api/errors/{spread}/tags/user.email/").status_code == 404
    assert api.get(f"/api/errors/{spread}/tags/nonsense/").status_code == 404
    bad = api.get(f"/api/errors/{spread}/tags/release/?page=0")
    assert bad.status_code == 400 and bad.json["error"]["field"] == "page"
    assert api.get(f"/api/errors/{spread}/tags/?top=50").json["error"]["field"] == "top"
    assert api.get("/api/errors/00000000-0000-4000-8000-000000000000/tags/").status_code == 404


def test_browser_and_os_come_from_a_sentry_events_contexts(api, client, service):
    chrome = {"name": "Chrome", "version": "120.0.6099"}
    error_id = sentry_event(client, service, chrome, {"name": "Windows", "version": "10"})
    sentry_event(client, service, chrome, {"name": "Mac OS X", "version": "14.1"})
    sentry_event(client, service, {"name": "Firefox", "version": "121.0"})
    sentry_event(client, service, {"name": "", "version": "1"}, {"version": "3"})  # no name: no value
    keys = {k["key"]: k for k in api.get(f"/api/errors/{error_id}/tags/").json["keys"]}
    assert keys["browser"]["top"] == [{"value": "Chrome 120", "count": 2, "share": 0.6667},
                                      {"value": "Firefox 121", "count": 1, "share": 0.3333}]
    assert [v["value"] for v in keys["os"]["top"]] == ["Mac OS X 14", "Windows 10"]
    assert keys["os"]["total"] == 2


def test_users_counts_distinct_users_across_batches_and_within_one(app, service):
    def event(user):
        incoming = NORMALISERS["api"]({"error_type": "E", "message": "m", "fingerprint": ["batch"], "user": user},
                                      service.id)
        return incoming

    # One transaction: the same user three times and two others count three.
    first = record_errors([event({"id": 1}), event({"id": 1}), event({"email": "x@example.test"}), event({"id": 1}),
                           event({"ip_address": "10.1.1.1"}), event(None)])
    error_id = first[0].error_id
    assert fresh(error_id).users_count == 3
    # A later batch: one known (counted already), two new, one new twice.
    record_errors([event({"id": 1}), event({"id": 2}), event({"id": 3}), event({"id": 3})])
    assert fresh(error_id).users_count == 5
    rows = db.session.execute(db.select(ErrorFacet.value, ErrorFacet.events)
                              .where(ErrorFacet.error_id == error_id, ErrorFacet.key == "user")
                              .order_by(ErrorFacet.value)).all()
    assert rows == [("email:x@example.test", 1), ("id:1", 4), ("id:2", 1), ("id:3", 2), ("ip:10.1.1.1", 1)]


def test_the_error_list_sorts_by_users_in_the_api_and_the_dashboard(api, client, service, lead):
    many = record(client, service, fingerprint=["many"], error_type="ManyUsers", user={"id": 1})
    for n in (2, 3):
        record(client, service, fingerprint=["many"], error_type="ManyUsers", user={"id": n})
    few = record(client, service, fingerprint=["few"], error_type="FewUsers", user={"id": 1})
    none = record(client, service, fingerprint=["none"], error_type="NoUsers")

    listed = api.get("/api/errors/?sort=-users").json["items"]
    assert [(e["error_id"], e["users"]) for e in listed] == [(many, 3), (few, 1), (none, 0)]
    assert [e["error_id"] for e in api.get("/api/errors/?sort=users").json["items"]] == [none, few, many]
    assert api.get("/api/errors/?sort=people").json["error"]["field"] == "sort"

    client.post("/login", data={"email": lead.email, "password": PASSWORD})
    page = client.get("/errors?sort=-users").get_data(as_text=True)
    assert re.findall(r'class="error-title" href="/errors/[^"]+">([^<]+)</a>', page) == ["ManyUsers", "FewUsers",
                                                                                           "NoUsers"]
    assert ">Users ↓</a>" in page


def test_the_error_page_shows_breakdowns_with_shares_and_its_users(client, spread, lead):
    client.post("/login", data={"email": lead.email, "password": PASSWORD})
    page = client.get(f"/errors/{spread}").get_data(as_text=True)
    section = page[page.index('id="tags-breakdown"'):page.index('id="affected-users"')]
    assert "production" in section and "67%" in section and "of 6 events," in section
    assert 'class="share-fill" d="M0 0H66.7V8H0Z"' in section
    users = page[page.index('id="affected-users"'):]
    users = users[:users.index("</section>")]
    assert "3 affected" in users
    assert "7 (id)" in users and "bob@example.test (e-mail)" in users and "10.0.0.9 (address)" in users


def test_tag_values_are_escaped_on_the_page(client, service, lead):
    error_id = record(client, service, tags={"note": "<script>alert(1)</script>"})
    client.post("/login", data={"email": lead.email, "password": PASSWORD})
    page = client.get(f"/errors/{error_id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
