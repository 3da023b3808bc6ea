"""The JSON API's developer list shows who answers now: the on-call switch, or an override of a schedule."""
import datetime as dt

from app.models.types import utcnow
from app.triage import oncall
from tests.factories import make_developer


def test_an_override_covering_now_puts_a_developer_on_call_in_the_api(api, lead, service):
    dana = make_developer("Dana", services=[service], on_call=False, password=None)
    default = oncall.ensure_default_schedule()
    oncall.add_override(default, dana, utcnow() - dt.timedelta(hours=1), utcnow() + dt.timedelta(hours=7), lead)
    later = make_developer("Lee", services=[service], on_call=False, password=None)
    oncall.add_override(default, later, utcnow() + dt.timedelta(hours=8), utcnow() + dt.timedelta(hours=16), lead)

    listed = {d["name"]: d for d in api.get("/api/developers/").json["items"]}
    assert (listed["Dana"]["on_call"], listed["Dana"]["on_call_now"]) == (False, True)
    assert (listed["Lee"]["on_call"], listed["Lee"]["on_call_now"]) == (False, False)

    workload = {d["name"]: d for d in api.get("/api/developers/workload/").json["items"]}
    assert workload["Dana"]["on_call"] is True and workload["Dana"]["available"] is True
    assert workload["Lee"]["on_call"] is False and workload["Lee"]["available"] is False


def test_switching_off_leaves_a_covering_override_in_force(api, lead, service):
    dana = make_developer("Dana", services=[service], on_call=True, password=None)
    oncall.add_override(oncall.ensure_default_schedule(), dana, utcnow() - dt.timedelta(hours=1),
                        utcnow() + dt.timedelta(hours=1), lead)
    answer = api.post(f"/api/developers/{dana.id}/on-call/", json={"on_call": False}).json
    assert (answer["on_call"], answer["on_call_now"]) == (False, True)
