"""An error's page in a real browser: stepping through its events with the keys h and l, the styled
404, 405 and 500 pages, the error list's filter form after Back and Forward, and the error page at
three widths (screenshots under tests/artifacts/)."""
from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from app.extensions import db
from app.models import ErrorOccurrence
from tests.browser.conftest import screenshot
from tests.browser.test_dashboard_flows import FRAMES, post_error, sign_in, watch_console
from tests.factories import make_developer, make_service

WIDTHS = (1440, 1024, 390)


def events_of(error_id: str) -> list[str]:
    """The error's events, oldest first, in the order the navigation walks."""
    db.session.expire_all()
    return list(db.session.execute(db.select(ErrorOccurrence.id).where(ErrorOccurrence.error_id == error_id)
                                   .order_by(ErrorOccurrence.timestamp, ErrorOccurrence.id)).scalars())


@pytest.fixture
def busy_error(live_server, service):
    """A Python error with frames, request, user and tags, seen four times a minute apart."""
    error_id = None
    for n in range(4):
        error_id = post_error(
            live_server, service, error_type="AttributeError", message="'NoneType' object has no attribute 'price'",
            frames=FRAMES, severity="high", environment="production", release="shop@2.4.1",
            timestamp=f"2026-12-03T09:0{n}:00Z", endpoint="POST /checkout",
            request={"url": "https://shop.example/checkout", "method": "POST",
                     "headers": {"User-Agent": "Mozilla/5.0", "Accept": "text/html"}},
            user={"id": f"u-{100 + n}", "email": f"buyer{n}@example.org"},
            tags={"browser": "Firefox 132", "event": f"number-{n + 1}"})
    return error_id


def test_keys_h_and_l_step_through_the_events(page, live_server, service, lead, busy_error):
    problems = watch_console(page)
    order = events_of(busy_error)
    sign_in(page, live_server, lead.email)
    page.goto(f"{live_server}/errors/{busy_error}")
    count = page.locator(".event-count")
    expect(count).to_have_text("Event 4 of 4")
    page.keyboard.press("h")
    page.wait_for_url(re.compile(rf"/errors/{busy_error}/events/{order[2]}"))
    expect(count).to_have_text("Event 3 of 4")
    expect(page.locator(".tags")).to_contain_text("number-3")
    page.keyboard.press("h")
    page.wait_for_url(re.compile(rf"/events/{order[1]}"))
    page.keyboard.press("l")
    page.wait_for_url(re.compile(rf"/events/{order[2]}"))
    expect(count).to_have_text("Event 3 of 4")
    # First and latest, as links; at either end the step that goes past it is not a link.
    page.click("a[rel=first]")
    page.wait_for_url(re.compile(rf"/events/{order[0]}"))
    expect(page.locator(".event-nav span.disabled")).to_have_count(2)  # First and Older
    page.keyboard.press("h")  # nothing older: the page stays
    page.wait_for_timeout(300)
    assert page.url.endswith(f"/events/{order[0]}#event")
    page.click("a[rel=last]")
    page.wait_for_url(re.compile(rf"/events/{order[3]}"))
    expect(count).to_have_text("Event 4 of 4")
    # Keys typed into a field are text, not steps.
    note = page.locator("#triage textarea").first
    note.click()
    page.keyboard.type("hello")
    page.wait_for_timeout(300)
    assert page.url.endswith(f"/events/{order[3]}#event") and note.input_value() == "hello"
    assert not problems, problems


def test_error_page_at_three_widths(page, live_server, service, lead, busy_error):
    make_developer("Dana Dev", email="dana@example.test", services=[service], on_call=True)
    order = events_of(busy_error)
    sign_in(page, live_server, lead.email)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server}/errors/{busy_error}/events/{order[2]}")
        nav = page.locator(".event-nav")
        expect(nav).to_be_visible()
        box = nav.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (width, box)
        # Nothing wider than the window: no sideways scrolling on a phone either.
        assert page.evaluate("document.documentElement.scrollWidth") <= width, width
        screenshot(page, f"dashboard-error-detail-{width}")


@pytest.fixture
def failing(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def fail():
        raise RuntimeError("a bug in a view")

    app.add_url_rule("/__failing", "failing", fail)
    return app


def test_error_pages_are_styled_and_keep_the_content_policy(page, live_server, failing, lead):
    problems = watch_console(page)
    for path, status, title in (("/no/such/page", 404, "Page not found"), ("/logout", 405, "Method not allowed"),
                                ("/__failing", 500, "Something went wrong")):
        response = page.goto(f"{live_server}{path}")
        assert response.status == status, path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        expect(page.locator("h1")).to_have_text(title)
        code = page.locator(".problem-code")
        expect(code).to_have_text(str(status))
        # The style sheet applied: the code is big, the card has its border.
        assert page.evaluate("getComputedStyle(document.querySelector('.problem-code')).fontSize") == "44px"
        expect(page.get_by_role("link", name="Sign in")).to_be_visible()
        screenshot(page, f"error-page-{status}")
    sign_in(page, live_server, lead.email)
    page.goto(f"{live_server}/errors/00000000-0000-0000-0000-000000000000", referer=f"{live_server}/errors")
    expect(page.locator(".problem-message")).to_contain_text("No error with id")
    page.get_by_role("link", name="← Back").click()
    page.wait_for_url(f"{live_server}/errors")
    assert requests.get(f"{live_server}/api/no/such/", timeout=10).json()["error"]["code"] == "not_found"
    # The console reports each page's own status; nothing else (no refused script or style, no error).
    own = re.compile(r"Failed to load resource: the server responded with a status of (404|405|500) ")
    assert [p for p in problems if not own.match(p)] == [] and len(problems) <= 4, problems


def test_back_and_forward_bring_the_filter_form_along(page, live_server, service, lead):
    geo = make_service("Java Geo", platform="java")
    post_error(live_server, service, error_type="CriticalThing", message="db down", severity="critical")
    post_error(live_server, service, error_type="MinorThing", message="slow", severity="low")
    post_error(live_server, geo, error_type="GeoThing", message="no tiles", severity="critical")
    sign_in(page, live_server, lead.email)
    page.goto(f"{live_server}/errors")
    rows = page.locator("#error-table tbody tr")
    expect(rows).to_have_count(3)

    def table_update(*parts):
        return page.expect_response(lambda r: "/errors?" in r.url and all(p in r.url for p in parts))

    with table_update("severity=critical"):
        page.select_option("select[name=severity]", "critical")
    expect(rows).to_have_count(2)
    with table_update("service=java-geo"):
        page.select_option("select[name=service]", "java-geo")
    expect(rows).to_have_count(1)
    with table_update("q=tiles"):
        page.fill("input[name=q]", "tiles")
    expect(page).to_have_url(re.compile(r"q=tiles"))

    def form():
        return (page.input_value("select[name=severity]"), page.input_value("select[name=service]"),
                page.input_value("input[name=q]"), page.input_value("select[name=status]"))

    page.go_back()
    expect(page).not_to_have_url(re.compile(r"q=tiles"))
    expect(rows).to_have_count(1)
    assert form() == ("critical", "java-geo", "", "")  # the default option: open errors
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"service=java-geo"))
    expect(rows).to_have_count(2)
    assert form() == ("critical", "", "", "")  # the default option: open errors
    page.go_back()
    expect(page).to_have_url(f"{live_server}/errors")
    expect(rows).to_have_count(3)
    assert form() == ("", "", "", "")  # the default option: open errors
    page.go_forward()
    expect(page).to_have_url(re.compile(r"severity=critical"))
    expect(rows).to_have_count(2)
    assert form() == ("critical", "", "", "")  # the default option: open errors
    # And the restored form goes on from what it shows.
    with table_update("status=all"):
        page.select_option("select[name=status]", "all")
    expect(page).to_have_url(re.compile(r"severity=critical.*status=all|status=all.*severity=critical"))


def test_the_chart_s_period_links_swap_the_chart_in_place(page, live_server, service, lead, busy_error):
    sign_in(page, live_server, lead.email)
    page.goto(f"{live_server}/errors/{busy_error}")
    chart = page.locator("#error-chart")
    expect(chart.locator("rect")).to_have_count(14)
    chart.get_by_role("link", name="90 days").click()
    expect(page.locator("#error-chart rect")).to_have_count(90)
    expect(page.locator("#error-chart figcaption")).to_contain_text("in the last 90 days, per day")
    assert page.url.endswith(f"/errors/{busy_error}")  # swapped in place, not a new page
    page.locator("#error-chart").get_by_role("link", name="24 hours").click()
    expect(page.locator("#error-chart rect")).to_have_count(24)
    expect(page.locator("#error-chart a[aria-current=true]")).to_have_text("24 hours")
    page.goto(f"{live_server}/errors?status=all")
    expect(page.locator(f'tr:has(input[value="{busy_error}"]) td.spark-cell svg.spark')).to_have_count(1)
    screenshot(page, "dashboard-errors-sparklines")
    page.goto(f"{live_server}/errors/{busy_error}?chart=90d")
    screenshot(page, "dashboard-error-chart-90d")
