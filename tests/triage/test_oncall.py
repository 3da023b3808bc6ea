"""On-call shifts, rotations and overrides."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.models.types import utcnow
from app.triage import oncall
from app.triage.oncall import OnCallError
from tests.factories import make_developer

MONDAY = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


def test_a_weekly_rotation_is_entered_as_back_to_back_shifts(app):
    lead = make_developer("Lead", role="lead")
    team = [make_developer(name) for name in ("Ann", "Bob", "Cem")]
    shifts = oncall.add_rotation(team, MONDAY, lead, shifts=6, name="platform weekly")

    assert [s.developer_id for s in shifts] == [d.id for d in team] * 2
    assert all(s.ends_at - s.starts_at == dt.timedelta(days=7) for s in shifts)
    assert shifts[3].starts_at == MONDAY + dt.timedelta(weeks=3) and {s.rotation for s in shifts} == {"platform weekly"}
    for week, expected in ((0, team[0]), (1, team[1]), (4, team[1]), (5, team[2])):
        moment = MONDAY + dt.timedelta(weeks=week, days=2)
        assert oncall.on_call_ids([d.id for d in team], moment) == {expected.id}
    assert oncall.on_call_ids([d.id for d in team], MONDAY + dt.timedelta(weeks=6, hours=1)) == set()


def test_the_flag_set_by_a_lead_keeps_a_developer_on_call_whatever_the_schedule(app):
    lead = make_developer("Lead", role="lead")
    flagged = make_developer("Flagged", on_call=True)
    cover = make_developer("Cover")
    oncall.add_override(cover, MONDAY, MONDAY + dt.timedelta(hours=4), lead, replaces=flagged)
    assert oncall.on_call_ids([flagged.id, cover.id], MONDAY + dt.timedelta(hours=1)) == {flagged.id, cover.id}


def test_inactive_developers_are_never_on_call(app):
    lead = make_developer("Lead", role="lead")
    gone = make_developer("Gone", on_call=True)
    oncall.add_shift(gone, MONDAY, MONDAY + dt.timedelta(hours=8), lead)
    gone.active = False
    db.session.commit()
    assert oncall.on_call_ids([gone.id], MONDAY + dt.timedelta(hours=1)) == set()


def test_is_on_call_uses_the_current_time(app):
    lead = make_developer("Lead", role="lead")
    developer = make_developer("Dev")
    oncall.add_shift(developer, MONDAY, MONDAY + dt.timedelta(hours=8), lead)
    with time_machine.travel(MONDAY + dt.timedelta(hours=2), tick=False):
        assert oncall.is_on_call(developer)
    with time_machine.travel(MONDAY + dt.timedelta(hours=9), tick=False):
        assert not oncall.is_on_call(developer)


def test_developers_plan_their_own_shifts_and_only_supervisors_plan_others(app):
    ann, bob = make_developer("Ann"), make_developer("Bob")
    oncall.add_shift(ann, MONDAY, MONDAY + dt.timedelta(hours=8), ann)
    with pytest.raises(OnCallError) as refused:
        oncall.add_shift(bob, MONDAY, MONDAY + dt.timedelta(hours=8), ann)
    assert refused.value.status == 403
    with pytest.raises(OnCallError) as refused:
        oncall.add_override(ann, MONDAY, MONDAY + dt.timedelta(hours=1), ann, replaces=bob)
    assert refused.value.status == 403
    # Bob hands his own time over to Ann: allowed.
    oncall.add_override(ann, MONDAY, MONDAY + dt.timedelta(hours=1), bob, replaces=bob, reason="dentist")
    actions = [a.action for a in db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()]
    assert actions[-2:] == ["oncall.shift_added", "oncall.override_added"]


@pytest.mark.parametrize("start, end, field", [
    (MONDAY, MONDAY, "ends_at"),
    (MONDAY, MONDAY - dt.timedelta(hours=1), "ends_at"),
    (MONDAY, MONDAY + dt.timedelta(days=40), "ends_at"),
])
def test_bad_windows_are_refused_with_the_field(app, start, end, field):
    developer = make_developer()
    with pytest.raises(OnCallError) as refused:
        oncall.add_shift(developer, start, end, None)
    assert refused.value.field == field


def test_schedule_lists_what_overlaps_a_window_and_shifts_can_be_removed(app):
    lead = make_developer("Lead", role="lead")
    developer = make_developer("Dev")
    shift = oncall.add_shift(developer, MONDAY, MONDAY + dt.timedelta(hours=8), lead)
    oncall.add_shift(developer, MONDAY + dt.timedelta(days=3), MONDAY + dt.timedelta(days=3, hours=8), lead)
    window = oncall.schedule(MONDAY + dt.timedelta(hours=4), MONDAY + dt.timedelta(days=1))
    assert [s.id for s in window["shifts"]] == [shift.id]
    oncall.remove_shift(shift, lead)
    assert oncall.schedule(MONDAY, MONDAY + dt.timedelta(days=1))["shifts"] == []
    assert not oncall.is_on_call(developer, utcnow())
