"""The error list's search language, an event's JSON download and an admin's deletion, in a real browser:
each term kind narrows the table as the API's `q` does, a malformed term names itself, the downloaded file
is the stored event, and a deleted error is gone from the list."""
from __future__ import annotations

import json

from playwright.sync_api import expect

from app.extensions import db
from app.models import AuditEvent, ErrorLog
from tests.browser.conftest import screenshot
from tests.browser.test_dashboard_flows import post_error, sign_in
from tests.factories import make_developer, make_service


def test_each_kind_of_search_term_narrows_the_list_as_the_api_does(page, live_server, service, lead):
    geo = make_service("Java Geo", platform="java")
    db.session.commit()
    checkout = post_error(live_server, service, error_type="CheckoutError", message="card declined at checkout",
                          severity="critical", environment="production", release="shop@2.0",
                          user={"email": "ada@example.test"}, tags={"plan": "enterprise"})
    staging = post_error(live_server, service, error_type="StagingOnly", message="payment failed in staging",
               severity="low", environment="staging", release="shop@1.9", tags={"plan": "free"})
    tiles = post_error(live_server, geo, error_type="TileError", message="no tiles", severity="high",
                       environment="production")
    sign_in(page, live_server, lead.email)
    page.goto(f"{live_server}/errors")
    rows = page.locator("#error-table tbody tr")
    expect(rows).to_have_count(3)
    search = page.locator("input[name=q]")
    cases = [
        ("severity:>=high env:production", {checkout, tiles}),
        ("service:java-geo", {tiles}),
        ("release:shop@2.0", {checkout}),
        ("user:ada@example.test", {checkout}),
        ("plan:enterprise", {checkout}),
        ("!plan:enterprise is:unresolved", {staging, tiles}),
        ('"payment failed"', {staging}),
        ("is:unresolved checkout", {checkout}),
    ]
    for query, wanted in cases:
        with page.expect_response(lambda r: "/errors?" in r.url and "q=" in r.url):
            search.fill(query)
        shown = {row.locator("input[name=error_id]").get_attribute("value")
                 for row in rows.all() if row.locator("input[name=error_id]").count()}
        api = page.request.get(f"{live_server}/api/errors/", params={"q": query, "status": ""},
                               headers={"Authorization": f"Bearer {lead_token(lead)}"}).json()
        assert shown == wanted == {item["error_id"] for item in api["items"]}, query
    with page.expect_response(lambda r: "/errors?" in r.url and "q=" in r.url):
        search.fill("severity:loud")
    expect(page.locator("#error-table .flash-error")).to_contain_text("severity:loud")
    screenshot(page, "dashboard-search-refused")


_tokens: dict[int, str] = {}


def lead_token(lead) -> str:
    from tests.factories import make_token

    if lead.id not in _tokens:
        _tokens[lead.id] = make_token(lead)
    return _tokens[lead.id]


def test_an_event_downloads_as_its_stored_json(page, live_server, service, lead):
    error_id = post_error(live_server, service, error_type="DownloadError", message="keep me",
                          tags={"plan": "pro"})
    sign_in(page, live_server, lead.email)
    page.goto(f"{live_server}/errors/{error_id}")
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download JSON").click()
    stored = json.loads(open(downloading.value.path()).read())
    assert stored["error_id"] == error_id and stored["tags"] == {"plan": "pro"}
    assert downloading.value.suggested_filename.endswith(".json")


def test_an_admin_deletes_an_error_after_confirming_and_it_is_gone(page, live_server, service):
    admin = make_developer("Ada Admin", role="admin")
    db.session.commit()
    error_id = post_error(live_server, service, error_type="DeleteMe", message="to be deleted")
    sign_in(page, live_server, admin.email)
    page.goto(f"{live_server}/errors/{error_id}")
    page.get_by_role("link", name="Delete this error…").click()
    expect(page.locator("h1")).to_have_text("Delete this error?")
    page.get_by_role("button", name="Delete the error and its events").click()
    page.wait_for_url(f"{live_server}/errors")
    expect(page.locator("#error-table")).not_to_contain_text("DeleteMe")
    db.session.expire_all()
    assert db.session.get(ErrorLog, error_id) is None
    assert db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "error.deleted")).first() is not None
