"""The dashboard on a phone, in the dark and from the keyboard, in a real browser: every main page
fits 390 px with the navigation folded under a menu button, the dark theme follows the system and a
remembered toggle with readable contrast, j/k/Enter, /, ? and Escape work, and form fields line up."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import ErrorLog, OnCallSchedule
from tests.browser.conftest import screenshot
from tests.browser.test_dashboard_flows import post_error, sign_in, watch_console
from tests.browser.test_dashboard_pages import PAGES, demo  # noqa: F401  (demo: the demo data fixture)

PHONE = {"width": 390, "height": 844}

# The WCAG contrast ratio of an element's text against the first opaque background behind it.
CONTRAST = """(selector) => {
  const el = document.querySelector(selector);
  if (!el) return null;
  const rgb = (text) => text.match(/[\\d.]+/g).map(Number);
  const lum = (c) => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
                       return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  let back = el, bg = null;
  while (back) { const c = rgb(getComputedStyle(back).backgroundColor); if (c.length < 4 || c[3] > 0.9) { bg = c; break; } back = back.parentElement; }
  bg = bg || [255, 255, 255];
  const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""
READ = ["main h1", "main .muted", "main a", ".table td", ".table th", ".mainnav a", ".btn"]


def test_every_main_page_fits_a_phone_with_the_navigation_under_a_menu(browser, live_server, demo):  # noqa: F811
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    problems = watch_console(page)
    try:
        sign_in(page, live_server, demo.email)
        nav = page.locator("#mainnav")
        expect(nav).to_be_hidden()
        menu = page.locator("button[data-nav-toggle]")
        expect(menu).to_have_attribute("aria-expanded", "false")
        menu.click()
        expect(nav).to_be_visible()
        expect(page.locator("#usermenu a", has_text="My tokens")).to_be_visible()
        expect(menu).to_have_attribute("aria-expanded", "true")
        nav.get_by_role("link", name="Patterns").click()
        page.wait_for_url(f"{live_server}/patterns")
        expect(page.locator("#mainnav")).to_be_hidden()  # each page starts folded

        richest = db.session.execute(select(ErrorLog).where(ErrorLog.platform == "java")
                                     .order_by(ErrorLog.occurrence_count.desc()).limit(1)).scalar_one()
        schedule = db.session.execute(select(OnCallSchedule.id).limit(1)).scalar_one()
        paths = [path for path, _name, _ready in PAGES] + [f"/errors/{richest.id}", "/security", "/oncall/mine",
                                                            f"/oncall/{schedule}", "/settings/alerts"]
        wide = {}
        for path in paths:
            assert page.goto(f"{live_server}{path}").status == 200, path
            page.wait_for_load_state("networkidle")
            width = page.evaluate("document.scrollingElement.scrollWidth")
            if width > PHONE["width"]:
                wide[path] = width
        assert wide == {}
        screenshot(page, "dashboard-phone-settings-alerts")
    finally:
        context.close()
    assert problems == []


def test_without_javascript_the_phone_navigation_stays_a_row(browser, live_server, lead):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live_server, lead.email)
        expect(page.locator("#mainnav")).to_be_visible()
        expect(page.locator("button[data-nav-toggle]")).to_be_hidden()
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_theme_follows_the_system_and_reads_well(browser, live_server, service, lead, scheme):
    post_error(live_server, service, error_type="TimeoutError", message="upstream timed out", severity="critical")
    context = browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    problems = watch_console(page)
    try:
        sign_in(page, live_server, lead.email)
        for path in ("/", "/errors", "/developers", "/preferences"):
            page.goto(f"{live_server}{path}")
            assert page.evaluate("document.documentElement.dataset.theme") == scheme
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert (background == "rgb(14, 19, 27)") == (scheme == "dark"), background
            for selector in READ:
                ratio = page.evaluate(CONTRAST, selector)
                assert ratio is None or ratio >= 4.5, (path, selector, ratio)
        screenshot(page, f"dashboard-theme-{scheme}-preferences")
    finally:
        context.close()
    assert problems == []


def test_the_theme_toggle_is_remembered_and_applied_before_the_page_is_painted(browser, live_server, lead):
    context = browser.new_context(color_scheme="light")
    page = context.new_page()
    try:
        sign_in(page, live_server, lead.email)
        toggle = page.locator("button[data-theme-toggle]")
        expect(toggle).to_have_attribute("aria-pressed", "false")
        toggle.click()
        expect(toggle).to_have_attribute("aria-pressed", "true")
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        assert page.evaluate("localStorage.getItem('heartwatch-theme')") == "dark"
        # The theme is on <html> as the body's first element is parsed: no flash of the light theme.
        page.add_init_script("""document.addEventListener('readystatechange', () => {
            if (document.readyState === 'interactive') window.themeAtParse = document.documentElement.dataset.theme; });
            new MutationObserver((records, observer) => { if (document.body) {
              window.themeAtBody = document.documentElement.dataset.theme; observer.disconnect(); } })
              .observe(document, {childList: true, subtree: true});""")
        page.goto(f"{live_server}/errors")
        assert page.evaluate("window.themeAtBody") == "dark"
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        page.goto(f"{live_server}/developers")
        chart = "Chart.getChart(document.querySelector('#workload-chart canvas, canvas#workload-chart'))"
        assert page.evaluate(f"{chart}.options.scales.y.ticks.color") == "#e3e7ee"
        page.locator("button[data-theme-toggle]").click()
        assert page.evaluate(f"{chart}.options.scales.y.ticks.color") == "#1b2230"  # the drawn chart follows
        page.reload()
        assert page.evaluate("document.documentElement.dataset.theme") == "light"
    finally:
        context.close()


def test_keys_move_through_the_error_list_search_and_show_their_help(page, live_server, service, lead):
    for n in range(3):
        post_error(live_server, service, error_type=f"Error{n}", message=f"failure number {n}",
                   timestamp=f"2026-12-03T09:0{n}:00Z")
    problems = watch_console(page)
    sign_in(page, live_server, lead.email)
    page.goto(f"{live_server}/errors")
    rows = page.locator("#error-table tbody tr")
    expect(rows).to_have_count(3)
    page.keyboard.press("j")
    assert "kbd-selected" in rows.nth(0).get_attribute("class")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")  # the last row stays selected
    page.keyboard.press("k")
    selected = page.locator("#error-table tbody tr.kbd-selected")
    expect(selected).to_have_count(1)
    assert selected.get_attribute("aria-current") == "true"
    expected = selected.locator("a.error-title").get_attribute("href")
    assert expected == rows.nth(1).locator("a.error-title").get_attribute("href")

    page.keyboard.press("/")
    search = page.locator("input[name=q]")
    expect(search).to_be_focused()
    page.keyboard.type("jk?")  # typed into the box, not taken as keys
    expect(search).to_have_value("jk?")
    expect(page.locator("#key-help")).to_have_count(0)
    expect(page.locator("#error-table tbody tr.kbd-selected")).to_have_count(1)
    search.fill("")
    page.locator("h1").click()  # out of the box again
    # The live search refreshed the table twice meanwhile: the selection survived it.
    page.wait_for_load_state("networkidle")
    expect(page.locator("#error-table tbody tr.kbd-selected a.error-title")).to_have_attribute("href", expected)

    page.keyboard.press("?")
    help_box = page.locator("dialog#key-help")
    expect(help_box).to_be_visible()
    for key in ("j", "k", "Enter", "h", "l", "/", "?", "Esc"):
        expect(help_box.locator("kbd", has_text=key).first).to_be_visible()
    screenshot(page, "dashboard-key-help")
    page.keyboard.press("Escape")
    expect(help_box).to_be_hidden()
    # Closed, the list keeps no focus on its Close button (an Enter would go to the button).
    page.wait_for_function("!document.getElementById('key-help').contains(document.activeElement)")
    expect(page.locator("#error-table tbody tr.kbd-selected a.error-title")).to_have_attribute("href", expected)

    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}{expected}")
    assert problems == []


def test_form_fields_line_up(page, live_server, lead):
    sign_in(page, live_server, lead.email)
    page.goto(f"{live_server}/preferences")
    boxes = [page.locator(f"[name={name}]").bounding_box() for name in ("quiet_hours_start", "quiet_hours_end", "timezone")]
    assert len({round(b["y"]) for b in boxes}) == 1, boxes
    assert len({round(b["height"]) for b in boxes}) == 1, boxes
    first = [page.locator(f"[name={name}]").bounding_box() for name in ("phone", "slack_member_id", "slack_webhook_url")]
    assert len({round(b["height"]) for b in first + boxes}) == 1
    assert [round(b["x"]) for b in first] == [round(b["x"]) for b in boxes]

    admin = lead
    admin.role = "admin"
    db.session.commit()
    page.goto(f"{live_server}/settings/alerts")
    fields = page.locator("table.settings input[name=value]")
    lefts = {round(fields.nth(i).bounding_box()["x"]) for i in range(fields.count())}
    assert len(lefts) == 1, lefts
    for row in page.locator("table.settings tr").all()[:3]:
        middles = {round(b["y"] + b["height"] / 2) for b in (row.locator("input[name=value]").bounding_box(),
                                                              row.locator("td").nth(2).locator("span, form").first.bounding_box())}
        assert max(middles) - min(middles) <= 3, middles
