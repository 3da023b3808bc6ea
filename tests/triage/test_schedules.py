"""Who is on call when: rotation layers in their time zones, restrictions, layer order, overrides,
the next shift, and the schedule of a service (app/triage/schedules.py)."""
from __future__ import annotations

import datetime as dt

from app.extensions import db
from app.triage import oncall, schedules
from tests.factories import make_developer, make_service

UTC = dt.timezone.utc


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def who(schedule, moment: str) -> tuple[int, ...]:
    return schedules.slot_at(schedule, at(moment)).people


def test_a_weekly_berlin_hand_off_stays_at_nine_local_across_the_spring_change(app):
    lead = make_developer("Lead", role="lead")
    ann, bob = make_developer("Ann"), make_developer("Bob")
    plan = oncall.create_schedule(lead, name="Platform")
    oncall.add_layer(plan, lead, name="weekly", frequency="weekly", starts_on="2026-03-23", handoff_time="09:00",
                     timezone="Europe/Berlin", participants=[ann.id, bob.id])
    # 09:00 CET is 08:00 UTC; after the clocks go forward on 29 March, 09:00 CEST is 07:00 UTC.
    first = schedules.slot_at(plan, at("2026-03-25T12:00"))
    assert (first.people, first.starts_at, first.ends_at) == ((ann.id,), at("2026-03-23T08:00"), at("2026-03-30T07:00"))
    assert who(plan, "2026-03-30T06:59") == (ann.id,) and who(plan, "2026-03-30T07:00") == (bob.id,)
    following = schedules.next_slot(plan, at("2026-03-25T12:00"))
    assert (following.people, following.starts_at, following.ends_at) == (
        (bob.id,), at("2026-03-30T07:00"), at("2026-04-06T07:00"))
    # Back in autumn: 09:00 CEST is 07:00 UTC until 25 October, 09:00 CET 08:00 UTC from the 26th.
    turns = schedules.timeline(plan, at("2026-10-19T00:00"), at("2026-11-02T00:00"))
    assert [(s.starts_at, s.people) for s in turns[1:]] == [(at("2026-10-19T07:00"), (ann.id,)),
                                                          (at("2026-10-26T08:00"), (bob.id,))]
    assert turns[0].people == (bob.id,) and turns[-1].ends_at == at("2026-11-02T00:00")


def test_a_hand_off_at_a_wall_time_the_spring_change_skips_happens_an_hour_later(app):
    lead = make_developer("Lead", role="lead")
    ann, bob, cem = make_developer("Ann"), make_developer("Bob"), make_developer("Cem")
    plan = oncall.create_schedule(lead, name="Nightly")
    oncall.add_layer(plan, lead, name="daily", frequency="daily", starts_on="2026-03-28", handoff_time="02:30",
                     timezone="Europe/Berlin", participants=[ann.id, bob.id, cem.id])
    slots = schedules.timeline(plan, at("2026-03-28T01:30"), at("2026-03-31T00:30"))
    assert [(s.starts_at, s.people) for s in slots] == [
        (at("2026-03-28T01:30"), (ann.id,)),   # 02:30 CET
        (at("2026-03-29T01:30"), (bob.id,)),   # 02:30 does not exist that night: 03:30 CEST
        (at("2026-03-30T00:30"), (cem.id,)),   # 02:30 CEST
    ]


def test_every_n_days_and_groups_of_several_people(app):
    lead = make_developer("Lead", role="lead")
    ann, bob, cem = make_developer("Ann"), make_developer("Bob"), make_developer("Cem")
    plan = oncall.create_schedule(lead, name="Pairs")
    oncall.add_layer(plan, lead, name="three days", frequency="days", every=3, starts_on="2026-06-01",
                     handoff_time="00:00", participants=[[ann.id, bob.id], cem.id])
    assert who(plan, "2026-06-03T23:59") == (ann.id, bob.id)
    assert who(plan, "2026-06-04T00:00") == (cem.id,) and who(plan, "2026-06-07T00:00") == (ann.id, bob.id)
    assert who(plan, "2026-05-31T12:00") == ()  # before the rotation starts


def test_follow_the_sun_layers_hand_over_where_the_later_one_wins_and_move_with_us_daylight_saving(app):
    lead = make_developer("Lead", role="lead")
    berlin, new_york = make_developer("Berlin"), make_developer("New York")
    plan = oncall.create_schedule(lead, name="Sun")
    weekdays = [0, 1, 2, 3, 4]
    oncall.add_layer(plan, lead, name="EU", frequency="weekly", starts_on="2026-01-05", timezone="Europe/Berlin",
                     participants=[berlin.id], days=weekdays, window_start="09:00", window_end="17:00")
    oncall.add_layer(plan, lead, name="US", frequency="weekly", starts_on="2026-01-05", timezone="America/New_York",
                     participants=[new_york.id], days=weekdays, window_start="09:00", window_end="17:00")
    # Wednesday 4 March, both on standard time: Berlin 08:00-16:00 UTC, New York 14:00-22:00 UTC.
    day = schedules.timeline(plan, at("2026-03-04T00:00"), at("2026-03-05T00:00"))
    assert [(s.starts_at.hour, s.ends_at.hour, s.people) for s in day] == [
        (0, 8, ()), (8, 14, (berlin.id,)), (14, 22, (new_york.id,)), (22, 0, ())]
    # Wednesday 18 March: New York went to daylight time on the 8th, Berlin not yet: 13:00-21:00 UTC.
    assert who(plan, "2026-03-18T13:30") == (new_york.id,) and who(plan, "2026-03-04T13:30") == (berlin.id,)
    assert who(plan, "2026-03-18T21:00") == () and who(plan, "2026-03-21T12:00") == ()  # a Saturday
    following = schedules.next_slot(plan, at("2026-03-20T22:00"))  # Friday night: Monday 08:00 UTC, Berlin
    assert (following.starts_at, following.people) == (at("2026-03-23T08:00"), (berlin.id,))


def test_a_window_ending_before_it_starts_runs_overnight(app):
    lead = make_developer("Lead", role="lead")
    night, day = make_developer("Night"), make_developer("Day")
    plan = oncall.create_schedule(lead, name="Nights")
    oncall.add_layer(plan, lead, name="base", frequency="weekly", starts_on="2026-06-01", participants=[day.id])
    oncall.add_layer(plan, lead, name="nights", frequency="weekly", starts_on="2026-06-01", participants=[night.id],
                     days=[4], window_start="22:00", window_end="06:00")
    assert who(plan, "2026-06-05T21:59") == (day.id,)
    assert who(plan, "2026-06-06T03:00") == (night.id,)  # Saturday morning: Friday's window
    assert who(plan, "2026-06-06T06:00") == (day.id,) and who(plan, "2026-06-07T03:00") == (day.id,)


def test_overrides_win_over_every_layer_and_may_stand_in_for_one_person_only(app):
    lead = make_developer("Lead", role="lead")
    ann, bob, cover = make_developer("Ann"), make_developer("Bob"), make_developer("Cover")
    plan = oncall.create_schedule(lead, name="Pair")
    oncall.add_layer(plan, lead, name="pair", frequency="weekly", starts_on="2026-06-01", participants=[[ann.id, bob.id]])
    whole = oncall.add_override(plan, cover, at("2026-06-02T10:00"), at("2026-06-02T12:00"), lead)
    oncall.add_override(plan, cover, at("2026-06-03T10:00"), at("2026-06-03T12:00"), lead, replaces=ann)
    assert who(plan, "2026-06-02T11:00") == (cover.id,)
    assert set(who(plan, "2026-06-03T11:00")) == {bob.id, cover.id}
    slot = schedules.slot_at(plan, at("2026-06-02T11:00"))
    assert slot.override_ids == (whole.id,) and (slot.starts_at, slot.ends_at) == (at("2026-06-02T10:00"),
                                                                                   at("2026-06-02T12:00"))
    assert schedules.slot_at(plan, at("2026-06-02T12:00")).people == (ann.id, bob.id)


def test_a_service_takes_its_own_schedule_and_falls_back_to_the_default(app):
    lead = make_developer("Lead", role="lead")
    own, flagged = make_developer("Own"), make_developer("Flagged", on_call=True)
    billing, search = make_service(), make_service()
    plan = oncall.create_schedule(lead, name="Billing", service_ids=[billing.id])
    oncall.add_layer(plan, lead, name="weekly", starts_on="2026-01-05", participants=[own.id])
    moment = at("2026-06-02T10:00")
    assert schedules.on_call_ids(at=moment, service_id=billing.id) == {own.id}
    assert schedules.on_call_ids(at=moment, service_id=search.id) == {flagged.id}  # the default schedule
    assert schedules.on_call_ids(at=moment) == {own.id, flagged.id}
    own.active = False
    db.session.commit()
    assert schedules.on_call_ids(at=moment, service_id=billing.id) == set()
