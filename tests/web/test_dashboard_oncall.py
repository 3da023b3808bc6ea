"""The dashboard's on-call pages: the schedules now and next, a schedule's week and month with overrides
marked, an override added from a picked slot, my on-call, and the calendar addresses."""
from __future__ import annotations

import datetime as dt

import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import OnCallFeed, OnCallOverride
from app.triage import oncall
from tests.factories import make_developer

PASSWORD = "correct horse battery"
UTC = dt.timezone.utc
WEDNESDAY = dt.datetime(2026, 3, 25, 12, tzinfo=UTC)


def login(client, developer):
    assert client.post("/login", data={"email": developer.email, "password": PASSWORD}).status_code == 303


def berlin_week(lead):
    ann, bob = make_developer("Ann Berlin"), make_developer("Bob Berlin")
    plan = oncall.create_schedule(lead, name="Geo")
    oncall.add_layer(plan, lead, name="weekly", starts_on="2026-03-23", handoff_time="09:00",
                     timezone="Europe/Berlin", participants=[ann.id, bob.id])
    return plan, ann, bob


def test_the_schedules_page_says_who_is_on_call_now_and_next(client, lead):
    plan, ann, bob = berlin_week(lead)
    login(client, lead)
    with time_machine.travel(WEDNESDAY, tick=False):
        page = client.get("/oncall").get_data(as_text=True)
    row = page[page.index(f'id="schedule-{plan.id}"'):]
    row = row[:row.index("</tr>")]
    assert "Ann Berlin" in row and "Bob Berlin" in row and "until Mon 30 Mar 07:00" in row
    assert "Default" in page and "Lena Lead" in page  # the default schedule, switched on


def test_the_week_and_month_show_the_turns_in_the_viewer_s_zone_with_overrides_marked(client, lead):
    plan, ann, bob = berlin_week(lead)
    lead.timezone = "Europe/Berlin"
    db.session.commit()
    oncall.add_override(plan, lead, dt.datetime(2026, 3, 26, 8, tzinfo=UTC), dt.datetime(2026, 3, 26, 10, tzinfo=UTC),
                        lead, replaces=ann, reason="release")
    login(client, lead)
    week = client.get(f"/oncall/{plan.id}?view=week&date=2026-03-29").get_data(as_text=True)
    thursday = week[week.index('data-date="2026-03-26"'):week.index('data-date="2026-03-27"')]
    assert "09:00–11:00" in thursday and "override" in thursday and "Lena Lead" in thursday
    assert "Ann Berlin" in thursday  # before and after the override
    month = client.get(f"/oncall/{plan.id}?view=month&date=2026-03-10").get_data(as_text=True)
    monday = month[month.index('data-date="2026-03-30"'):month.index('data-date="2026-03-31"')]
    # 09:00 in Berlin on both sides of the change (08:00 UTC before, 07:00 UTC after).
    assert "00:00–09:00" in monday and "09:00–24:00" in monday and monday.index("Ann Berlin") < monday.index("Bob Berlin")
    assert 'data-date="2026-02-23"' in month and 'data-date="2026-04-05"' in month


def test_picking_a_slot_fills_the_override_form_and_saving_it_puts_someone_on_call(client, lead):
    plan, ann, bob = berlin_week(lead)
    login(client, lead)
    form = client.get(f"/oncall/{plan.id}?view=week&date=2026-03-25&from=2026-03-25T00:00&until=2026-03-26T00:00"
                      f"&replaces={ann.id}", headers={"HX-Request": "true", "HX-Target": "override-form"})
    html = form.get_data(as_text=True)
    assert html.lstrip().startswith('<form method="post" id="override-form"') and 'value="2026-03-25T00:00"' in html
    assert f'<option value="{ann.id}" selected>' in html
    saved = client.post(f"/oncall/{plan.id}/overrides", data={
        "developer_id": str(bob.id), "replaces_id": str(ann.id), "starts_at": "2026-03-25T00:00",
        "ends_at": "2026-03-26T00:00", "reason": "swap", "view": "week", "date": "2026-03-25"})
    assert saved.status_code == 303
    override = db.session.execute(select(OnCallOverride)).scalar_one()
    assert (override.developer_id, override.replaces_id, override.starts_at) == (
        bob.id, ann.id, dt.datetime(2026, 3, 25, tzinfo=UTC))  # the lead's zone: UTC
    backwards = client.post(f"/oncall/{plan.id}/overrides", data={
        "developer_id": str(bob.id), "starts_at": "2026-03-25T10:00", "ends_at": "2026-03-25T09:00"})
    assert backwards.status_code == 400 and "the end must be after the start" in backwards.get_data(as_text=True)
    assert client.post(f"/oncall/{plan.id}/overrides", data={
        "developer_id": str(bob.id), "starts_at": "soon", "ends_at": "later"}).status_code == 400
    assert client.post(f"/oncall/{plan.id}/overrides/{override.id}/remove").status_code == 303
    assert db.session.execute(select(OnCallOverride)).scalar_one_or_none() is None


def test_a_developer_may_not_put_someone_else_on_call(client, lead):
    plan, ann, bob = berlin_week(lead)
    ann_login = make_developer("Dora", password=PASSWORD)
    login(client, ann_login)
    refused = client.post(f"/oncall/{plan.id}/overrides", data={
        "developer_id": str(bob.id), "starts_at": "2026-03-25T10:00", "ends_at": "2026-03-25T12:00"})
    assert refused.status_code == 403 and db.session.execute(select(OnCallOverride)).first() is None
    assert client.post(f"/oncall/{plan.id}/feed").status_code == 403


def test_my_on_call_lists_my_shifts_and_gives_me_a_calendar_address(client, lead):
    plan, ann, bob = berlin_week(lead)
    login(client, lead)
    oncall.add_override(plan, lead, WEDNESDAY, WEDNESDAY + dt.timedelta(hours=3), lead)
    with time_machine.travel(WEDNESDAY - dt.timedelta(days=1), tick=False):
        page = client.get("/oncall/mine").get_data(as_text=True)
        assert "Geo" in page and "Wed 25 Mar 12:00" in page and "override" in page
        assert "Default" in page  # switched on: on call in the default schedule
        issued = client.post("/oncall/mine").get_data(as_text=True)
    address = issued[issued.index('<code id="new-feed">') + 20:]
    address = address[:address.index("</code>")]
    assert "/api/oncall/feeds/" in address and db.session.execute(select(OnCallFeed)).scalar_one().developer_id == lead.id
    assert client.get(address.replace("http://127.0.0.1:5000", "")).status_code == 200
