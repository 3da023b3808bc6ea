"""The on-call calendar in a real browser: a follow-the-sun week across the US daylight-saving change,
a slot picked with HTMX fills the override form, and the saved override shows marked."""
from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import OnCallOverride
from app.triage import oncall
from tests.browser.conftest import screenshot
from tests.browser.test_dashboard_flows import sign_in
from tests.factories import make_developer

UTC = dt.timezone.utc


def test_a_lead_picks_a_slot_in_the_week_and_adds_an_override(page, live_server, lead):
    eu, us, night = make_developer("Elke Europe"), make_developer("Uma America"), make_developer("Nick Nights")
    plan = oncall.create_schedule(lead, name="Follow the sun")
    oncall.add_layer(plan, lead, name="nights and weekends", frequency="weekly", starts_on="2026-01-05",
                     participants=[night.id])
    for person, zone in ((eu, "Europe/Berlin"), (us, "America/New_York")):
        oncall.add_layer(plan, lead, name=zone, frequency="weekly", starts_on="2026-01-05", timezone=zone,
                         participants=[person.id], days=[0, 1, 2, 3, 4], window_start="09:00", window_end="17:00")
    sign_in(page, live_server, lead.email)
    page.goto(f"{live_server}/oncall/{plan.id}?view=week&date=2026-03-11")
    wednesday = page.locator('.calendar-day[data-date="2026-03-11"]')
    # New York moved to daylight time on 8 March: 13:00-21:00 UTC; Berlin 08:00-16:00 UTC until the 29th.
    expect(wednesday.locator(".calendar-slot")).to_have_count(4)
    expect(wednesday.locator(".calendar-slot").nth(2)).to_contain_text("13:00–21:00")
    expect(wednesday.locator(".calendar-slot").nth(2)).to_contain_text("Uma America")

    wednesday.locator(".calendar-slot").nth(1).click()  # Elke, 08:00-13:00
    form = page.locator("#override-form")
    expect(form.locator("input[name=starts_at]")).to_have_value("2026-03-11T08:00")
    expect(form.locator("input[name=ends_at]")).to_have_value("2026-03-11T13:00")
    expect(form.locator("select[name=replaces_id]")).to_have_value(str(eu.id))
    form.locator("select[name=developer_id]").select_option(str(night.id))
    form.locator("input[name=reason]").fill("conference")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server}/oncall/{plan.id}?view=week&date=2026-03-11")
    marked = page.locator('.calendar-day[data-date="2026-03-11"] .calendar-slot.override')
    expect(marked).to_have_count(1)
    expect(marked).to_contain_text("Nick Nights")
    screenshot(page, "dashboard-oncall-week")
    page.goto(f"{live_server}/oncall/{plan.id}?view=month&date=2026-03-11")
    expect(page.locator(".calendar-month .calendar-day")).to_have_count(42)  # 23 February to 5 April: six weeks
    screenshot(page, "dashboard-oncall-month")
    db.session.expire_all()
    saved = db.session.execute(select(OnCallOverride)).scalar_one()
    assert (saved.developer_id, saved.replaces_id, saved.starts_at, saved.ends_at) == (
        night.id, eu.id, dt.datetime(2026, 3, 11, 8, tzinfo=UTC), dt.datetime(2026, 3, 11, 13, tzinfo=UTC))


def test_a_lead_creates_a_schedule_and_its_layer_in_the_browser_and_the_week_shows_it(page, live_server, lead):
    ann, bob = make_developer("Ann Rota"), make_developer("Bob Rota")
    sign_in(page, live_server, lead.email)
    page.goto(f"{live_server}/oncall")
    page.locator("#new-schedule summary").click()  # folded: the default schedule is listed
    form = page.locator("#new-schedule form")
    form.locator("input[name=name]").fill("Geo weekdays")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server}/oncall/*")
    adding = page.locator("#add-layer form")  # open on a schedule without layers
    adding.locator("input[name=name]").fill("office hours")
    adding.locator("select[name=frequency]").select_option("daily")
    adding.locator("input[name=starts_on]").fill("2026-03-09")
    adding.locator("input[name=timezone]").fill("UTC")
    adding.locator("input[name=window_start]").fill("09:00")
    adding.locator("input[name=window_end]").fill("17:00")
    for day in ("0", "1", "2", "3", "4"):
        adding.locator(f"input[name=days][value='{day}']").check()
    adding.locator(f"input[name=turn-{bob.id}]").fill("1")
    adding.locator(f"input[name=turn-{ann.id}]").fill("2")
    adding.locator("button[type=submit]").click()
    expect(page.locator(".flash")).to_contain_text("Layer office hours added.")
    plan_id = page.url.split("/oncall/")[1].split("?")[0]
    page.goto(f"{live_server}/oncall/{plan_id}?view=week&date=2026-03-11")
    monday, tuesday = (page.locator(f'.calendar-day[data-date="2026-03-{d}"] .calendar-slot') for d in ("09", "10"))
    expect(monday).to_have_count(1)
    expect(monday).to_contain_text("09:00–17:00")
    expect(monday).to_contain_text("Bob Rota")  # the first turn, then Ann the next day
    expect(tuesday).to_contain_text("Ann Rota")
    expect(page.locator('.calendar-day[data-date="2026-03-14"] .calendar-slot')).to_have_count(0)  # Saturday
    page.locator(".layer-edit summary").first.click()
    expect(page.locator(".layer-edit form input[name=name]")).to_have_value("office hours")
    page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar where it belongs in a full-page picture
    screenshot(page, "dashboard-oncall-layers")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "dashboard-oncall-layers-phone")


def test_a_developer_asks_a_colleague_to_take_a_shift_from_my_on_call(page, live_server, lead):
    ann, bob = make_developer("Ann Asker"), make_developer("Bob Backup")
    plan = oncall.create_schedule(lead, name="Pair")
    oncall.add_layer(plan, lead, name="weekly", starts_on="2026-03-23", participants=[ann.id])
    sign_in(page, live_server, ann.email)
    page.goto(f"{live_server}/oncall/mine")
    page.locator(".swap-ask summary").first.click()
    form = page.locator(".swap-ask form").first
    form.locator("select[name=colleague_id]").select_option(str(bob.id))
    form.locator("input[name=note]").fill("dentist")
    form.locator("button[type=submit]").click()
    expect(page.locator(".flash")).to_contain_text("Bob Backup is asked to take it")
    row = page.locator("#swaps table.swaps tbody tr").first
    expect(row).to_contain_text("you asked Bob Backup")
    expect(row).to_contain_text("pending")
    expect(row.locator("button")).to_have_text("Withdraw")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "dashboard-oncall-mine-swaps")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
