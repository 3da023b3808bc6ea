"""The dashboard under its content security policy in a real browser: the main pages, the live
feed's websocket and the charts work with no policy violation; a copied cookie jar is worthless
once its session is signed out."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.factories import ingest, make_developer, make_service

PASSWORD = "correct horse battery"
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""
PAGES = [
    ("/", "#feed-status[data-state=live]"),
    ("/errors", "#error-table tbody tr"),
    ("/developers", "#workload-chart"),
    ("/patterns", "h1"),
    ("/notifications", "h1"),
    ("/escalations", "h1"),
    ("/preferences", "form.form-card"),
    ("/tokens", "h1"),
    ("/account/password", "input[name=current_password]"),
    ("/settings/users", "table.users"),
    ("/settings/alerts", "table.settings"),
]


@pytest.fixture
def admin(app, client):
    admin = make_developer("Avery Admin", email="avery@example.test", role="admin")
    service = make_service("Checkout", platform="python")
    for n in range(3):
        ingest(client, service, {"error_type": "ValueError", "message": f"bad value {n}", "severity": "high"})
    return admin


def sign_in(page, live_server, email):
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")


def test_the_main_pages_work_under_the_policy_without_a_violation(page, live_server, admin):
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"{page.url}: {e}"))
    page.add_init_script(WATCH_VIOLATIONS)
    sign_in(page, live_server, admin.email)
    for path, ready in PAGES:
        response = page.goto(f"{live_server}{path}")
        assert response.status == 200, path
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
        expect(page.locator(ready).first).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__violations") == [], path
    page.goto(f"{live_server}/account/password")
    screenshot(page, "account-password")
    page.goto(f"{live_server}/developers")
    expect(page.locator("#workload-chart")).to_be_visible()
    assert page.evaluate("document.querySelector('#workload-chart canvas, canvas#workload-chart') !== null")
    assert not problems, problems
    missing = page.goto(f"{live_server}/no/such/page")
    assert missing.status == 404 and "frame-ancestors 'none'" in missing.headers["content-security-policy"]
    assert page.evaluate("window.__violations") == []
    screenshot(page, "security-policy-404")


def test_the_policy_is_enforced_so_the_check_can_fail(page, live_server, admin):
    page.add_init_script(WATCH_VIOLATIONS)
    sign_in(page, live_server, admin.email)
    ran = page.evaluate("""() => {
        window.__ran = false;
        const s = document.createElement('script');
        s.textContent = 'window.__ran = true';
        document.body.appendChild(s);
        return window.__ran;
    }""")
    assert ran is False
    assert any(v.startswith("script-src") for v in page.evaluate("window.__violations"))


def test_a_copied_cookie_jar_is_signed_out_with_its_session(browser, page, live_server, admin):
    sign_in(page, live_server, admin.email)
    copied = page.context.cookies()
    assert {c["name"] for c in copied} >= {"session"}
    page.click("header button:has-text('Sign out')")
    page.wait_for_url(f"{live_server}/login")
    thief = browser.new_context()
    try:
        thief.add_cookies(copied)
        other = thief.new_page()
        other.goto(f"{live_server}/errors")
        assert other.url.startswith(f"{live_server}/login")
    finally:
        thief.close()
