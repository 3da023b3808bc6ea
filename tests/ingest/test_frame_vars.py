"""A frame's local variables (``vars``): kept as sent, bounded per frame and per event."""
from __future__ import annotations

import pytest

from app.ingest.incoming import InvalidPayload
from app.ingest.sources.api import normalise
from app.ingest.stacktraces import frame_vars, limit_event_vars, make_frame
from app.ingest.stacktraces.frames import (
    MAX_EVENT_VARS, MAX_VAR_CHARS, MAX_VAR_ITEMS, MAX_VAR_NAME, MAX_VARS, vars_size,
)


def test_vars_are_kept_only_when_the_frame_has_some():
    assert make_frame(filename="a.py", vars={"n": 1})["vars"] == {"n": 1}
    for nothing in (None, {}, [], "x = 1", 3):
        assert "vars" not in make_frame(filename="a.py", vars=nothing)


def test_each_frame_keeps_at_most_so_many_names_and_cuts_text():
    bounded = frame_vars({f"v{n}": "x" * 10_000 for n in range(80)} | {"k" * 1000: 1})
    assert len(bounded) == MAX_VARS
    assert all(len(value) == MAX_VAR_CHARS and value.endswith("…") for value in bounded.values())
    assert len(frame_vars({"k" * 1000: 1}).popitem()[0]) == MAX_VAR_NAME


def test_containers_are_bounded_in_depth_and_breadth():
    bounded = frame_vars({"deep": [[[1]], {"a": {"b": 2}}], "wide": list(range(1000)), "map": {str(n): n for n in range(99)}})
    assert bounded["deep"] == [["[…]"], {"a": "{…}"}]
    assert bounded["wide"] == list(range(MAX_VAR_ITEMS))
    assert len(bounded["map"]) == MAX_VAR_ITEMS


def test_an_events_frames_share_one_budget_the_newest_frames_first():
    big = {f"v{n}": "y" * MAX_VAR_CHARS for n in range(MAX_VARS)}  # about 25,000 characters a frame
    frames = [make_frame(filename=f"f{n}.py", vars=big) for n in range(6)]
    chain = [{"frames": frames[:3]}, {"frames": frames[3:]}]  # cause first, the raised exception last
    limit_event_vars(chain)
    kept = ["vars" in frame for frame in frames]
    assert kept == [False, False, False, False, True, True]
    assert sum(vars_size(frame.get("vars")) for frame in frames) <= MAX_EVENT_VARS


def test_the_json_api_accepts_vars_on_frames_and_refuses_other_shapes():
    frames = [{"filename": "app/cart.py", "function": "total", "lineno": 3, "vars": {"items": "x" * 5000}}]
    incoming = normalise({"error_type": "TypeError", "message": "m", "frames": frames}, 1)
    assert len(incoming.frames[0]["vars"]["items"]) == MAX_VAR_CHARS
    with pytest.raises(InvalidPayload) as caught:
        normalise({"error_type": "TypeError", "message": "m", "frames": [{"filename": "a", "vars": ["x"]}]}, 1)
    assert caught.value.field == "frames[0].vars"
