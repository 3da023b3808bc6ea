"""Counting events from the hourly rollups (app/recording/rollups.py) instead of scanning error_occurrences.

Every chart, stat, threshold and pattern counts events in a window of time; the rollups know them by
the hour, so a window is read in one of two ways:

- a calendar window (a chart's hours and UTC days, a day of the daily summary): an hour counts in the
  window that holds its start (``in_window``). Exact when the window's bounds are whole hours, as UTC
  days and hours are, and local days in every time zone whose offset is whole hours; in a zone such as
  Asia/Kolkata (+05:30) a local day runs from the first whole UTC hour after its midnight.
- a sliding window ending now (the threshold checks' last hour and the hour before, the last 24 hours
  of the overview and the patterns): its whole hours count in full, an hour that the window cuts counts
  pro rata (``window_sum``), its events taken as spread evenly over the hour, or over the part of the
  current hour gone by. Exact when the window's bounds are whole hours; otherwise off by at most part
  of the events of the hours it cuts, and every event still counts once across neighbouring windows.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import case, func, not_

from app.recording.rollups import hour_of

HOUR = dt.timedelta(hours=1)


def in_window(model, start: dt.datetime, end: dt.datetime | None = None):
    """The rollup rows of a calendar window: hours starting at or after ``start`` and before ``end``."""
    condition = model.hour >= start
    return condition if end is None else condition & (model.hour < end)


def window_where(model, start: dt.datetime, end: dt.datetime | None = None):
    """The rollup rows a sliding window reads (the hour ``start`` falls in and the hours after it)."""
    return in_window(model, hour_of(start), end)


def _weight(hour: dt.datetime, start: dt.datetime, end: dt.datetime | None, now: dt.datetime) -> float:
    # The hour's events are spread over the part of it gone by (the whole hour once it is over).
    span_end = min(hour + HOUR, now) if now > hour else hour + HOUR
    inside = (span_end if end is None else min(span_end, end)) - max(start, hour)
    return max(0.0, min(1.0, inside / (span_end - hour)))


def window_sum(model, start: dt.datetime, end: dt.datetime | None, now: dt.datetime, only=None):
    """SUM of the events of a sliding window [start, end) (``end`` None: no end) as of ``now``, the hours
    it cuts pro rata; ``only``: a condition on the rows counted. The query must read at least
    ``window_where`` of the window; rows outside the window count nothing."""
    first = hour_of(start)
    whens = [] if only is None else [(not_(only), 0)]
    outside = model.hour < first if end is None else (model.hour < first) | (model.hour >= end)
    whens.append((outside, 0))
    edges = {first} if end is None else {first, hour_of(end - dt.timedelta(microseconds=1))}
    for hour in sorted(edges):
        weight = _weight(hour, start, end, now)
        if weight != 1.0:
            whens.append((model.hour == hour, model.events * weight))
    return func.sum(case(*whens, else_=model.events))


def count(value) -> int:
    """A window's sum as a count of events (the pro rata hours make it a fraction)."""
    return int(round(float(value or 0)))
