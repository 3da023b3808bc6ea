"""Every main page with the demo data set, in a real browser: it renders, its scripts run under the
content security policy without a console error, and a screenshot is kept under tests/artifacts/."""
from __future__ import annotations

import socket

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import ErrorLog, Service
from app.reports import patterns
from app.notify import subscriptions as webhooks_out
from app.demo.loader import load_demo
from tests.browser.conftest import screenshot
from tests.factories import ingest, make_developer

PASSWORD = "correct horse battery"


def closed_port_url() -> str:
    """A webhook receiver that is not there: deliveries fail, as they do in real life sometimes."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/heartwatch"


@pytest.fixture
def demo(app, client):
    admin = make_developer("Avery Admin", email="avery@example.test", role="admin")
    webhooks_out.create_subscription("Incident bot", closed_port_url(), ["error.created", "error.escalated"], admin)
    load_demo(240)
    # The same failure in three services: what the pattern analysis is for.
    services = db.session.execute(select(Service).order_by(Service.id).limit(3)).scalars().all()
    for n, service in enumerate(services):
        for attempt in range(n + 2):
            ingest(client, service, {"error_type": "ConnectionResetError", "severity": "high" if attempt else "critical",
                                     "message": f"connection reset by peer (10.0.{n}.{attempt + 10}:5432)",
                                     "endpoint": "POST /api/checkout"})
    patterns.analyze_patterns()
    return admin


PAGES = [
    ("/", "overview", "#feed-status[data-state=live]"),
    ("/errors", "errors", "#error-table tbody tr"),
    ("/developers", "developers", "#workload-chart"),
    ("/oncall", "oncall", "table.oncall-schedules"),
    ("/oncall/mine", "oncall-mine", "h1"),
    ("/patterns", "patterns", "table.patterns"),
    ("/notifications", "notifications", "table.notifications"),
    ("/escalations", "escalations", "table.escalations-table"),
    ("/preferences", "preferences", "form.form-card"),
    ("/tokens", "tokens", "h1"),
    ("/settings/services", "settings-services", "h2"),
    ("/settings/users", "settings-users", "table.users"),
    ("/settings/alerts", "settings-alerts", "table.settings"),
    ("/settings/webhooks", "settings-webhooks", "h2"),
]


def test_every_main_page_renders_cleanly_with_demo_data(page, live_server, demo):
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"{page.url}: {e}"))
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", demo.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    for path, name, ready in PAGES:
        response = page.goto(f"{live_server}{path}")
        assert response.status == 200, path
        expect(page.locator(ready).first).to_be_visible()
        screenshot(page, f"dashboard-page-{name}")
    richest = db.session.execute(select(ErrorLog).where(ErrorLog.platform == "java")
                                 .order_by(ErrorLog.occurrence_count.desc()).limit(1)).scalar_one()
    page.goto(f"{live_server}/errors/{richest.id}")
    expect(page.locator(".stacktrace .frame").first).to_be_visible()
    screenshot(page, "dashboard-page-error-detail")
    service = db.session.execute(select(Service).order_by(Service.id).limit(1)).scalar_one()
    page.goto(f"{live_server}/settings/services/{service.id}")
    page.click("label[for=tab-flutter]")
    expect(page.locator("#snippet-flutter")).to_be_visible()
    expect(page.locator("#snippet-django")).to_be_hidden()
    screenshot(page, "dashboard-page-settings-service")
    page.set_viewport_size({"width": 1024, "height": 768})  # a small laptop screen: nothing sticks out
    for path, name in (("/", "overview"), ("/errors", "errors"), (f"/errors/{richest.id}", "error-detail"),
                       ("/developers", "developers")):
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
        screenshot(page, f"dashboard-page-{name}-1024")
    favicon = [p for p in problems if "favicon" in p]
    assert not problems, problems + favicon


def test_pages_read_without_javascript(browser, live_server, demo):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login")
        page.fill("input[name=email]", demo.email)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/")
        expect(page.locator(".counter").first).to_be_visible()
        expect(page.locator("#feed-list li").first).to_be_visible()  # the latest errors, rendered on the server
        page.goto(f"{live_server}/errors")
        page.select_option("select[name=severity]", "critical")
        page.click("#error-filters button[type=submit]")  # shown only without JavaScript
        page.wait_for_url("**/errors?*severity=critical*")
        rows = page.locator("#error-table tbody tr")
        assert rows.count() >= 1
        for sev in page.locator("#error-table tbody .sev").all_inner_texts():
            assert sev == "critical"
        screenshot(page, "dashboard-no-javascript-errors")
    finally:
        context.close()
