"""iCal feeds: a schedule's and a developer's, at a secret address that can be rotated; the events parsed
back are the schedule's turns, also across a daylight-saving change."""
from __future__ import annotations

import datetime as dt

import icalendar
import time_machine

from app.triage import oncall, schedules
from tests.factories import ApiClient, make_developer, make_token

UTC = dt.timezone.utc


def events(client, url: str) -> list[tuple]:
    answer = client.get(url.replace("http://127.0.0.1:5000", ""))
    assert answer.status_code == 200 and answer.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(answer.data)
    return sorted((e.decoded("dtstart").astimezone(UTC), e.decoded("dtend").astimezone(UTC), str(e.get("summary")))
                  for e in calendar.walk("VEVENT"))


def test_a_schedule_feed_has_the_turns_of_the_schedule_across_the_spring_change(client, api, lead):
    ann, bob = make_developer("Ann"), make_developer("Bob")
    plan = oncall.create_schedule(lead, name="Berlin")
    oncall.add_layer(plan, lead, name="weekly", starts_on="2026-03-16", handoff_time="09:00",
                     timezone="Europe/Berlin", participants=[ann.id, bob.id])
    with time_machine.travel(dt.datetime(2026, 3, 20, tzinfo=UTC), tick=False):
        url = api.post(f"/api/schedules/{plan.id}/feed/").json["url"]
        found = events(client, url)
        expected = [(slot.starts_at, slot.ends_at, f"On call: {'Ann' if slot.people == (ann.id,) else 'Bob'}")
                    for slot in schedules.timeline(plan, dt.datetime(2026, 2, 18, tzinfo=UTC),
                                                   dt.datetime(2026, 9, 16, tzinfo=UTC)) if slot.people]
    assert found == expected
    # The turn that spans the change is an hour short in UTC; both hand-offs are at 09:00 in Berlin.
    spanning = next(e for e in found if e[0] == dt.datetime(2026, 3, 23, 8, tzinfo=UTC))
    assert spanning[1] == dt.datetime(2026, 3, 30, 7, tzinfo=UTC) and spanning[2] == "On call: Bob"
    berlin = {e[0].astimezone(schedules.zone("Europe/Berlin")).strftime("%a %H:%M") for e in found[1:-1]}
    assert berlin == {"Mon 09:00"}


def test_a_personal_feed_lists_every_schedule_and_rotating_ends_the_old_address(client, lead):
    ann = make_developer("Ann", password=None)
    first, second = oncall.create_schedule(lead, name="First"), oncall.create_schedule(lead, name="Second")
    oncall.add_layer(first, lead, name="days", frequency="days", every=2, starts_on="2026-06-01",
                     handoff_time="00:00", participants=[ann.id, lead.id])
    oncall.add_override(second, ann, dt.datetime(2026, 6, 2, 12, tzinfo=UTC), dt.datetime(2026, 6, 2, 18, tzinfo=UTC),
                        lead)
    ann_api = ApiClient(client, make_token(ann))
    with time_machine.travel(dt.datetime(2026, 6, 1, tzinfo=UTC), tick=False):
        old = ann_api.post(f"/api/developers/{ann.id}/feed/").json["url"]
        found = events(client, old)
        assert found[:2] == [
            (dt.datetime(2026, 6, 1, tzinfo=UTC), dt.datetime(2026, 6, 3, tzinfo=UTC), "On call: First"),
            (dt.datetime(2026, 6, 2, 12, tzinfo=UTC), dt.datetime(2026, 6, 2, 18, tzinfo=UTC), "On call: Second")]
        assert ann_api.post(f"/api/developers/{lead.id}/feed/").status_code == 403
        new = ann_api.post(f"/api/developers/{ann.id}/feed/").json["url"]
        assert new != old and events(client, new) == found
        assert client.get(old.replace("http://127.0.0.1:5000", "")).status_code == 404
    assert client.get("/api/oncall/feeds/guess.ics").status_code == 404
