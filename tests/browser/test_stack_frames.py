"""An error's frames in a real browser: Java's suppressed exceptions and frames as Java prints them, and a
frame's local variables folded until opened (a screenshot of each is kept under tests/artifacts/)."""
from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.factories import ingest

PASSWORD = "correct horse battery"
RECORDED = Path(__file__).parent.parent / "ingest" / "recorded"


def _sign_in(page, live_server, developer):
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", developer.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")


def test_suppressed_exceptions_and_local_variables_on_the_error_page(page, live_server, client, service, lead):
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    # printStackTrace() of a real Java 17 run (tests/ingest/recorded/ReportExport.java).
    java = ingest(client, service, {"stack_trace": (RECORDED / "java17-report-export.txt").read_text()},
                  path="/webhook/java/").json
    frames = [{"filename": "app/cart.py", "function": "total", "lineno": 12, "in_app": True,
               "context_line": "    return sum(prices) - discount",
               "vars": {"prices": ["'12.50'", "'3.99'"], "discount": "'<b>SPRING</b>'", "user": {"id": "'u-7'"}}}]
    python = ingest(client, service, {"error_type": "TypeError", "message": "bad cart", "frames": frames}).json
    _sign_in(page, live_server, lead)

    page.goto(f"{live_server}/errors/{java['error_id']}")
    heads = page.locator(".exception-head")
    expect(heads).to_have_count(5)
    expect(heads.nth(2)).to_contain_text("Suppressed")
    expect(page.locator(".frame-fn").first).to_have_text("com.acme.export.ReportExport.export (ReportExport.java:36)")
    screenshot(page, "error-detail-java-suppressed")

    page.goto(f"{live_server}/errors/{python['error_id']}")
    variables = page.locator("details.frame-vars")
    expect(variables).to_have_count(1)
    expect(variables.locator("table.vars")).to_be_hidden()  # folded
    variables.locator("summary").click()
    expect(variables.locator("table.vars")).to_be_visible()
    expect(variables.locator("table.vars")).to_contain_text("'<b>SPRING</b>'")  # shown as text
    screenshot(page, "error-detail-local-variables")
    assert problems == []
