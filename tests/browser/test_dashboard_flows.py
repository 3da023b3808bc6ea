"""The dashboard in a real browser: the live feed, filters, an error's frames, the triage forms,
on-call switches, and client data that tries to be markup. CSRF protection is on (see conftest)."""
from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from app.extensions import db
from app.models import ErrorLog
from app.triage import schedules
from tests.browser.conftest import screenshot
from tests.factories import make_developer, make_service

PASSWORD = "correct horse battery"
XSS_MESSAGE = "<script>window.__xss = 'message'</script><img src=x onerror=\"window.__xss='img'\">"


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def post_error(base: str, service, **fields) -> str:
    answer = requests.post(f"{base}/api/errors/", json={"error_type": "ValueError", "message": "boom", **fields},
                           headers={"X-Api-Key": service.ingest_key}, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()["error_id"]


def watch_console(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


FRAMES = [
    {"filename": "django/core/handlers/base.py", "function": "_get_response", "lineno": 197, "in_app": False},
    {"filename": "shop/views.py", "function": "checkout", "lineno": 41, "in_app": True,
     "pre_context": ["def checkout(request):", "    cart = load_cart(request)"],
     "context_line": "    total = cart.total()", "post_context": ["    return render(request, total)"]},
    {"filename": "shop/cart.py", "function": "total", "lineno": 12, "in_app": True,
     "pre_context": ["    def total(self):"], "context_line": "        return sum(i.price for i in self.items)",
     "post_context": [""]},
]


@pytest.fixture
def team(app, service, lead):
    dev = make_developer("Dana Dev", email="dana@example.test", services=[service])
    geo = make_service("Java Geo", platform="java")
    return {"dev": dev, "geo": geo, "gus": make_developer("Gus Geo", email="gus@example.test", services=[geo])}


def test_the_feed_shows_an_error_ingested_while_the_page_is_open(page, live_server, service, lead, team):
    problems = watch_console(page)
    post_error(live_server, service, error_type="EarlierError", message="before the page opened", severity="low")
    sign_in(page, live_server, lead.email)
    expect(page.locator("#feed-status")).to_have_attribute("data-state", "live")
    error_id = post_error(live_server, team["geo"], error_type="GeocoderTimeout", message="tiles did not load",
                          severity="critical")
    row = page.locator(f'#feed-list li[data-error-id="{error_id}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("GeocoderTimeout")
    expect(page.locator("#feed-list li").first).to_have_attribute("data-error-id", error_id)  # at the top
    expect(page.locator("#trend-hourly")).to_be_visible()
    screenshot(page, "dashboard-overview")
    # A dropped connection comes back by itself, and the badge says so meanwhile (the offline moment
    # is short, so the badge's states are recorded rather than watched).
    page.evaluate("""() => {
        window.__feedStates = [];
        document.addEventListener('htmx:wsClose', () => setTimeout(() =>
            window.__feedStates.push(document.getElementById('feed-status').dataset.state), 0));
        window.__firstSocket = document.querySelector('[ws-connect]')['htmx-internal-data'].webSocket.socket;
        window.__firstSocket.close();
    }""")
    for _ in range(100):  # wait_for_function evaluates a string, which the content policy forbids
        if page.evaluate("window.__feedStates.length"):
            break
        page.wait_for_timeout(100)
    assert page.evaluate("window.__feedStates[0]") == "offline"
    expect(page.locator("#feed-status")).to_have_attribute("data-state", "live")
    assert page.evaluate("document.querySelector('[ws-connect]')['htmx-internal-data'].webSocket.socket "
                         "!== window.__firstSocket")
    later_id = post_error(live_server, service, error_type="AfterReconnect", message="still live", severity="high")
    expect(page.locator(f'#feed-list li[data-error-id="{later_id}"]')).to_be_visible()
    with page.expect_response(lambda r: r.url.endswith("/overview/daily")) as daily:
        page.click("button[data-show=trend-daily-wrap]")
    assert daily.value.status == 200
    expect(page.locator("#trend-daily")).to_be_visible()
    expect(page.locator("#trend-hourly")).to_be_hidden()
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems


def test_filtering_the_list_updates_the_table_and_the_url(page, live_server, service, lead, team):
    post_error(live_server, service, error_type="CriticalThing", message="db down", severity="critical")
    post_error(live_server, service, error_type="MinorThing", message="slow", severity="low")
    post_error(live_server, team["geo"], error_type="GeoThing", message="no tiles", severity="high")
    sign_in(page, live_server, lead.email)
    page.goto(f"{live_server}/errors")
    expect(page.locator("#error-table tbody tr")).to_have_count(3)

    def table_update(*parts):
        return page.expect_response(lambda r: "/errors?" in r.url and all(p in r.url for p in parts))

    with table_update("severity=critical"):
        page.select_option("select[name=severity]", "critical")
    expect(page.locator("#error-table tbody tr")).to_have_count(1)
    expect(page.locator("#error-table")).to_contain_text("CriticalThing")
    expect(page).to_have_url(re.compile(r"severity=critical"))
    with table_update("severity=&"):
        page.select_option("select[name=severity]", "")
    with table_update("q=tiles"):
        page.fill("input[name=q]", "tiles")
    expect(page.locator("#error-table tbody tr")).to_have_count(1)
    expect(page.locator("#error-table")).to_contain_text("GeoThing")
    page.reload()  # the filtered view is a bookmarkable URL
    expect(page.locator("#error-table tbody tr")).to_have_count(1)
    page.fill("input[name=q]", "")
    expect(page.locator("#error-table tbody tr")).to_have_count(3)
    screenshot(page, "dashboard-errors")


def test_opening_an_error_shows_its_frames(page, live_server, service, lead):
    error_id = post_error(live_server, service, error_type="AttributeError", message="'NoneType' has no 'price'",
                          frames=FRAMES, severity="high")
    sign_in(page, live_server, lead.email)
    page.goto(f"{live_server}/errors")
    page.click("text=AttributeError")
    page.wait_for_url(f"{live_server}/errors/{error_id}")
    frames = page.locator(".stacktrace .frame")
    expect(frames.first).to_contain_text("shop/cart.py")  # the newest frame first
    expect(page.locator(".frame.in-app[open] li.current")).to_have_text("        return sum(i.price for i in self.items)")
    library = page.locator("details.libframes")
    expect(library.locator(".frame")).to_be_hidden()
    library.locator("summary").click()
    expect(library.locator(".frame")).to_contain_text("django/core/handlers/base.py")
    screenshot(page, "dashboard-error-detail")


def test_assign_escalate_and_resolve_through_the_forms(page, live_server, service, lead, team):
    error_id = post_error(live_server, service, error_type="PaymentError", message="card declined", severity="high")
    sign_in(page, live_server, lead.email)
    page.goto(f"{live_server}/errors/{error_id}")
    triage = page.locator("#triage")
    triage.locator("select[name=developer_id]").select_option(value=str(team["dev"].id))
    triage.locator("button", has_text="Assign").click()
    expect(page.locator("#timeline")).to_contain_text("assigned it to Dana Dev")
    expect(page.locator("#error-badges")).to_contain_text("assigned to Dana Dev")
    expect(page.locator("#flash")).to_contain_text("Assigned to Dana Dev.")
    page.locator("#triage textarea[name=reason]").fill("customers cannot pay")
    page.locator("#triage button", has_text="Escalate").click()
    expect(page.locator("#timeline")).to_contain_text("escalated it to level 1")
    expect(page.locator("#triage .escalations")).to_contain_text("customers cannot pay")
    page.locator("#triage textarea[name=note]").fill("retry the charge once")
    page.locator("#triage").get_by_role("button", name="Resolve", exact=True).click()
    expect(page.locator("#error-badges .status")).to_have_text("resolved")
    expect(page.locator("#timeline")).to_contain_text("retry the charge once")
    error = db.session.get(ErrorLog, error_id)
    db.session.refresh(error)
    assert (error.status, error.assigned_to_id, error.resolution_note) == \
        ("resolved", team["dev"].id, "retry the charge once")


def test_a_lead_switches_on_call_and_a_developer_is_refused(page, browser, live_server, lead, team):
    gus = team["gus"]
    sign_in(page, live_server, lead.email)
    page.goto(f"{live_server}/developers")
    switch = page.locator(f"#developer-{gus.id} button.switch")
    expect(switch).to_have_attribute("aria-checked", "false")
    switch.click()
    expect(page.locator(f"#developer-{gus.id} button.switch")).to_have_attribute("aria-checked", "true")
    screenshot(page, "dashboard-developers")
    db.session.expire_all()
    assert (gus.id in schedules.switched_on_ids())

    context = browser.new_context(viewport={"width": 1366, "height": 900})
    other = context.new_page()
    try:
        sign_in(other, live_server, team["dev"].email)
        other.goto(f"{live_server}/developers")
        expect(other.locator(f"#developer-{gus.id} button.switch")).to_have_count(0)
        status = other.evaluate("""async (id) => {
            const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
            const answer = await fetch(`/developers/${id}/on-call`, {method: 'POST',
                headers: {'X-CSRFToken': token, 'Content-Type': 'application/x-www-form-urlencoded'},
                body: 'on_call=0'});
            return answer.status;
        }""", gus.id)
        assert status == 403
    finally:
        context.close()
    db.session.expire_all()
    assert (gus.id in schedules.switched_on_ids())


def test_script_and_onerror_payloads_render_as_text(page, live_server, service, lead):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    frames = [{"filename": "<img src=x onerror=\"window.__xss='file'\">.py", "function": "<script>f()</script>",
               "lineno": 3, "in_app": True, "context_line": "<script>window.__xss='context'</script>"}]
    sign_in(page, live_server, lead.email)
    expect(page.locator("#feed-status")).to_have_attribute("data-state", "live")
    error_id = post_error(live_server, service, error_type="<img src=x onerror=alert(1)>", message=XSS_MESSAGE,
                          frames=frames, tags={"<b>t</b>": "<img src=x onerror=alert('tag')>"},
                          user={"name": "<script>alert('user')</script>"})
    expect(page.locator(f'#feed-list li[data-error-id="{error_id}"]')).to_be_visible()  # through the websocket
    for path in ("/", "/errors", f"/errors/{error_id}"):
        if path != "/":
            page.goto(f"{live_server}{path}")
        expect(page.locator("body")).to_contain_text("window.__xss = 'message'")
        assert page.locator("img[src=x]").count() == 0, path
        assert page.evaluate("window.__xss") is None, path
        assert page.evaluate("[...document.scripts].filter(s => s.textContent.includes('__xss')).length") == 0
    expect(page.locator(".frame.in-app li.current")).to_have_text("<script>window.__xss='context'</script>")
    assert dialogs == []
