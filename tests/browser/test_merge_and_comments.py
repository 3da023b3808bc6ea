"""Merging from the error list's bulk actions, commenting on the error page, and the page's tag breakdowns at
two widths (screenshots under tests/artifacts/), in a real browser."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_dashboard_flows import post_error, sign_in, watch_console
from tests.factories import make_developer


@pytest.fixture
def lead(app, service):
    """Nobody on call: the errors stay unassigned, as the list shows them."""
    return make_developer("Lena Lead", role="lead", services=[service], email="lena@example.test")


def test_merge_from_the_lists_bulk_actions(page, live_server, service, lead):
    problems = watch_console(page)
    a = post_error(live_server, service, error_type="CartError", message="no cart", fingerprint=["cart"])
    post_error(live_server, service, error_type="CartError", message="no cart", fingerprint=["cart"])
    b = post_error(live_server, service, error_type="BasketError", message="no basket", fingerprint=["basket"])
    sign_in(page, live_server, lead.email)
    page.goto(f"{live_server}/errors")
    expect(page.locator("a.error-title")).to_have_count(2)
    page.get_by_label("Select CartError").check()
    page.get_by_label("Select BasketError").check()
    page.get_by_label("Bulk action").select_option("merge")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("a.error-title")).to_have_count(1)
    expect(page.locator("a.error-title")).to_have_text("CartError")

    page.goto(f"{live_server}/errors/{a}")
    expect(page.locator("#merged-from")).to_contain_text("BasketError")
    expect(page.locator("#timeline")).to_contain_text("merged 1 error into it")
    # A new event of the merged error's fingerprint arrives in the error it was merged into.
    assert post_error(live_server, service, error_type="BasketError", message="no basket",
                      fingerprint=["basket"]) == a
    page.reload()
    expect(page.locator(".facts div", has_text="Events")).to_contain_text("4")
    page.goto(f"{live_server}/errors/{b}")
    expect(page.locator(".merged-banner")).to_contain_text("Merged into CartError")
    assert not problems, problems


def test_a_comment_is_shown_escaped_with_its_line_breaks(page, live_server, service, lead):
    problems = watch_console(page)
    error_id = post_error(live_server, service, error_type="KeyError", message="'sku'")
    sign_in(page, live_server, lead.email)
    page.goto(f"{live_server}/errors/{error_id}")
    page.get_by_label("Your comment").fill("first line\n<b>second</b> line")
    page.get_by_role("button", name="Comment").click()
    body = page.locator(".comment-body")
    expect(body).to_have_count(1)
    assert body.inner_text() == "first line\n<b>second</b> line"
    expect(page.locator(".comment-body b")).to_have_count(0)
    expect(page.locator("#timeline")).to_contain_text("Lena Lead commented")
    assert not problems, problems


def test_the_error_page_with_its_tag_breakdowns_at_two_widths(browser, live_server, service, lead):
    browsers = [("Chrome", "120.0"), ("Chrome", "120.0"), ("Firefox", "121.0"), ("Safari", "17.2"),
                ("Chrome", "119.0")]
    systems = [("Windows", "10"), ("Mac OS X", "14.1"), ("Windows", "11"), ("iOS", "17.2"), ("Android", "14")]
    for n, ((browser_name, browser_version), (os_name, os_version)) in enumerate(zip(browsers, systems, strict=True)):
        event = {"platform": "javascript", "level": "error", "environment": "production" if n % 4 else "staging",
                 "release": f"shop@2.{n % 2}.0", "server_name": f"web-{n % 3}",
                 "exception": {"values": [{"type": "TypeError", "value": "Cannot read properties of undefined"}]},
                 "user": {"id": f"u-{n % 3}"}, "tags": {"route": "/checkout" if n % 2 else "/cart"},
                 "contexts": {"browser": {"name": browser_name, "version": browser_version},
                              "os": {"name": os_name, "version": os_version}}}
        answer = requests.post(f"{live_server}/api/{service.id}/store/?sentry_key={service.ingest_key}", json=event,
                               timeout=10)
        assert answer.status_code == 200, answer.text
    for width in (1440, 390):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        sign_in(page, live_server, lead.email)
        page.goto(f"{live_server}/errors")
        page.locator("a.error-title").first.click()
        breakdown = page.locator("#tags-breakdown")
        expect(breakdown).to_contain_text("Chrome 120")
        expect(breakdown.locator(".breakdown")).to_have_count(6)  # environment, release, server, browser, os, route
        expect(page.locator("#affected-users")).to_contain_text("3 affected")
        # Each bar has its share in words for whoever cannot see it.
        expect(breakdown.locator(".share-row").first).to_contain_text("of 5 events")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page scrolls sideways at {width} px"
        screenshot(page, f"error-tags-{width}")
        context.close()
