"""On-call changes: schedules, layers and overrides are checked field by field, need the right role,
are audited; the on-call switch is the default schedule's switch layer."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, OnCallLayer
from app.triage import oncall, schedules
from app.triage.oncall import OnCallError
from tests.factories import make_developer, make_service

MONDAY = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


def test_the_switch_puts_developers_on_call_together_in_the_default_schedule(app):
    ann, bob = make_developer("Ann", on_call=True), make_developer("Bob")
    assert oncall.on_call_ids([ann.id, bob.id], MONDAY) == {ann.id}
    assert oncall.switch(bob, True) and not oncall.switch(bob, True)
    db.session.commit()
    default = schedules.default_schedule()
    assert default.is_default and [(layer.kind, layer.participants) for layer in default.layers] == [
        ("switch", [[ann.id, bob.id]])]
    oncall.switch(ann, False)
    db.session.commit()
    assert oncall.on_call_ids(None, MONDAY) == {bob.id} and schedules.switched_on_ids() == {bob.id}


def test_a_later_layer_of_the_default_schedule_wins_over_the_switch(app):
    lead = make_developer("Lead", role="lead")
    flagged, turn = make_developer("Flagged", on_call=True), make_developer("Turn")
    oncall.add_layer(schedules.default_schedule(), lead, name="office hours", starts_on="2026-03-02",
                     participants=[turn.id], days=[0, 1, 2, 3, 4], window_start="09:00", window_end="17:00")
    assert oncall.on_call_ids(None, MONDAY + dt.timedelta(hours=1)) == {turn.id}
    assert oncall.on_call_ids(None, MONDAY + dt.timedelta(hours=9)) == {flagged.id}


def test_inactive_developers_are_never_on_call(app):
    gone = make_developer("Gone", on_call=True)
    gone.active = False
    db.session.commit()
    assert oncall.on_call_ids([gone.id], MONDAY) == set()


def test_is_on_call_uses_the_current_time(app):
    lead = make_developer("Lead", role="lead")
    developer = make_developer("Dev")
    oncall.add_override(oncall.ensure_default_schedule(), developer, MONDAY, MONDAY + dt.timedelta(hours=8), lead)
    with time_machine.travel(MONDAY + dt.timedelta(hours=2), tick=False):
        assert oncall.is_on_call(developer)
    with time_machine.travel(MONDAY + dt.timedelta(hours=9), tick=False):
        assert not oncall.is_on_call(developer)


def test_only_supervisors_change_schedules_and_developers_override_only_for_themselves(app):
    ann, bob = make_developer("Ann"), make_developer("Bob")
    lead = make_developer("Lead", role="lead")
    plan = oncall.create_schedule(lead, name="Plan")
    with pytest.raises(OnCallError) as refused:
        oncall.create_schedule(ann, name="Mine")
    assert refused.value.status == 403
    with pytest.raises(OnCallError) as refused:
        oncall.add_layer(plan, ann, name="x", starts_on="2026-03-02", participants=[ann.id])
    assert refused.value.status == 403
    with pytest.raises(OnCallError) as refused:
        oncall.add_override(plan, ann, MONDAY, MONDAY + dt.timedelta(hours=1), ann, replaces=bob)
    assert refused.value.status == 403
    oncall.add_override(plan, ann, MONDAY, MONDAY + dt.timedelta(hours=1), ann)  # herself
    # Bob hands his own time over to Ann: allowed.
    oncall.add_override(plan, ann, MONDAY, MONDAY + dt.timedelta(hours=1), bob, replaces=bob, reason="dentist")
    actions = [a.action for a in db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()]
    assert actions[-2:] == ["oncall.override_added", "oncall.override_added"]


@pytest.mark.parametrize("fields, field", [
    ({"frequency": "hourly"}, "frequency"),
    ({"every": 0}, "every"),
    ({"every": True}, "every"),
    ({"starts_on": "2026-02-30"}, "starts_on"),
    ({"handoff_time": "24:00"}, "handoff_time"),
    ({"handoff_time": "9:00"}, "handoff_time"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"timezone": "x" * 65}, "timezone"),
    ({"participants": "1"}, "participants"),
    ({"participants": [999999]}, "participants"),
    ({"participants": [[]]}, "participants"),
    ({"days": [7]}, "days"),
    ({"days": []}, "days"),
    ({"window_start": "09:00"}, "window_end"),
    ({"name": "n" * 121}, "name"),
    ({"position": -1}, "position"),
])
def test_bad_layer_fields_are_refused_with_the_field(app, fields, field):
    lead = make_developer("Lead", role="lead")
    plan = oncall.create_schedule(lead, name="Plan")
    with pytest.raises(OnCallError) as refused:
        oncall.add_layer(plan, lead, **{"name": "weekly", "starts_on": "2026-03-02", "participants": [lead.id],
                                        **fields})
    assert refused.value.field == field
    db.session.rollback()
    assert db.session.execute(select(OnCallLayer)).first() is None


@pytest.mark.parametrize("start, end, field", [
    (MONDAY, MONDAY, "ends_at"),
    (MONDAY, MONDAY - dt.timedelta(hours=1), "ends_at"),
    (MONDAY, MONDAY + dt.timedelta(days=40), "ends_at"),
    ("tomorrow", MONDAY, "starts_at"),
])
def test_bad_override_windows_are_refused_with_the_field(app, start, end, field):
    developer = make_developer()
    with pytest.raises(OnCallError) as refused:
        oncall.add_override(oncall.ensure_default_schedule(), developer, start, end, None)
    assert refused.value.field == field


def test_a_schedule_name_is_unique_and_a_service_answers_to_one_schedule(app):
    lead = make_developer("Lead", role="lead")
    service = make_service()
    first = oncall.create_schedule(lead, name="Payments", service_ids=[service.id])
    with pytest.raises(OnCallError) as refused:
        oncall.create_schedule(lead, name="payments")
    assert (refused.value.field, refused.value.status) == ("name", 409)
    db.session.rollback()
    second = oncall.create_schedule(lead, name="Checkout", service_ids=[service.id])
    assert schedules.schedule_for_service(service.id).id == second.id and first.services == []
    oncall.update_schedule(second, lead, is_default=True)
    assert schedules.default_schedule().id == second.id
