"""Snoozing from the error page and the releases page, in a real browser (CSRF on): the snooze form swaps
the triage panel, the error leaves the default list and comes back with ``is:snoozed``; the releases page
lists each release with its new errors and regressions and fits 1440 and 390 px (screenshots under
tests/artifacts/)."""
from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect

from app.extensions import db
from app.models import ErrorLog
from app.models.types import utcnow
from app.triage import changes
from tests.browser.conftest import screenshot
from tests.browser.test_dashboard_flows import post_error, sign_in, watch_console


def test_snoozing_from_the_error_page(page, live_server, service, lead):
    problems = watch_console(page)
    error_id = post_error(live_server, service, error_type="QuotaExceeded", message="quota of tenant 7 exceeded",
                          severity="high")
    sign_in(page, live_server, lead.email)
    page.goto(f"{live_server}/errors/{error_id}")
    form = page.locator("form[action$='/snooze']")
    form.locator("select[name=minutes]").select_option("480")
    form.locator("input[name=events]").fill("100")
    form.locator("button[type=submit]").click()
    note = page.locator("#snoozed-note")
    expect(note).to_contain_text("after 100 more events (at 101)")
    expect(page.locator("#error-badges")).to_contain_text("snoozed")
    expect(page.locator("#timeline")).to_contain_text("snoozed it")
    screenshot(page, "dashboard-error-snoozed")
    db.session.expire_all()
    assert db.session.get(ErrorLog, error_id).snooze_events == 100

    page.goto(f"{live_server}/errors")
    expect(page.locator("#error-table")).not_to_contain_text("QuotaExceeded")
    page.goto(f"{live_server}/errors?q=is%3Asnoozed")
    expect(page.locator("#error-table")).to_contain_text("QuotaExceeded")

    page.goto(f"{live_server}/errors/{error_id}")
    page.locator("form[action$='/unsnooze'] button").click()
    expect(page.locator("#snoozed-note")).to_have_count(0)
    assert problems == []


def test_the_releases_page(page, live_server, service, lead):
    problems = watch_console(page)
    start = utcnow() - dt.timedelta(days=6)

    def at(days: float) -> str:
        return (start + dt.timedelta(days=days)).isoformat()

    for days, release, error_type, message, severity in [
        (0, "shop@2.3.0", "KeyError", "'basket'", "high"),
        (0.5, "shop@2.3.0", "TimeoutError", "payment gateway took 30 s", "medium"),
        (2, "shop@2.4.0", "AttributeError", "'NoneType' object has no attribute 'price'", "critical"),
        (4, "shop@2.4.1", "ValueError", "invalid literal for int() with base 10: 'two'", "low"),
        (4.2, "shop@2.4.1", "ZeroDivisionError", "division by zero in shipping.estimate", "high"),
    ]:
        post_error(live_server, service, error_type=error_type, message=message, release=release, severity=severity,
                   timestamp=at(days))
    regressed = post_error(live_server, service, error_type="KeyError", message="'basket'", release="shop@2.3.0",
                           timestamp=at(1))
    db.session.expire_all()
    changes.resolve_error(db.session.get(ErrorLog, regressed), lead)
    post_error(live_server, service, error_type="KeyError", message="'basket'", release="shop@2.4.1",
               timestamp=at(5))

    sign_in(page, live_server, lead.email)
    page.goto(f"{live_server}/releases")
    expect(page.locator("h1")).to_have_text(f"Releases of {service.name}")
    cards = page.locator("section.release")
    expect(cards).to_have_count(3)
    expect(cards.nth(0).locator("h2")).to_have_text("shop@2.4.1")
    expect(cards.nth(0)).to_contain_text("ZeroDivisionError")
    expect(cards.nth(0).locator("h3", has_text="Regressions")).to_contain_text("1")
    expect(cards.nth(0)).to_contain_text("KeyError")
    expect(cards.nth(2).locator("h2")).to_have_text("shop@2.3.0")
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        assert page.evaluate("document.documentElement.scrollWidth") <= width, width
        screenshot(page, f"dashboard-releases-{width}")
    cards.nth(0).get_by_role("link", name="ZeroDivisionError").click()
    expect(page.locator(".facts")).to_contain_text("shop@2.4.1")
    assert problems == []


def test_resolving_in_the_next_release_from_the_error_page_holds_until_a_newer_release(page, live_server, service,
                                                                                       lead):
    problems = watch_console(page)
    error_id = post_error(live_server, service, error_type="CartTotalError", message="total off by one",
                          severity="high", release="shop@2.0")
    sign_in(page, live_server, lead.email)
    page.goto(f"{live_server}/errors/{error_id}")
    page.get_by_role("button", name="Resolve in next release").click()
    expect(page.locator("#error-badges")).to_contain_text("resolved")
    post_error(live_server, service, error_type="CartTotalError", message="total off by one", severity="high",
               release="shop@2.0")  # the same release: still resolved
    page.reload()
    expect(page.locator("#error-badges")).to_contain_text("resolved")
    post_error(live_server, service, error_type="CartTotalError", message="total off by one", severity="high",
               release="shop@2.1")  # newer: a regression of 2.1
    page.reload()
    expect(page.locator("#error-badges")).not_to_contain_text("resolved")
    expect(page.locator("#timeline")).to_contain_text("regress")
    db.session.expire_all()
    error = db.session.get(ErrorLog, error_id)
    assert error.status in ("new", "assigned") and (error.regression_count, error.occurrence_count) == (1, 3)
    assert problems == []
