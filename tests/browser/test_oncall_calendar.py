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
