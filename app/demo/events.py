"""Demo events from the catalogue: the payloads the services post, over the past week.

The one generator of realistic ingest payloads: the demo loader records them, and the ingest
benchmark (``bench/payloads.py``) posts them. Pure: no database, no application context.
"""
from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from typing import NamedTuple

from app.demo.catalogue import CATALOGUE, DEVICES, END_USERS, SERVICES, USER_AGENTS, DemoError

DAYS = 7
RELEASES = {slug: list(releases) for slug, _name, _platform, releases in SERVICES}


class DemoEvent(NamedTuple):
    """One event: when it happened, which catalogue error it is, and the payload its source posts."""

    moment: dt.datetime
    error: DemoError
    payload: dict


def _fill(value, values: dict):
    """The template with every ``{{name}}`` replaced; a whole-string placeholder may stand for an object."""
    if isinstance(value, str):
        if value.startswith("{{") and value.endswith("}}") and value[2:-2] in values:
            return values[value[2:-2]]
        for name, replacement in values.items():
            token = "{{" + name + "}}"
            if token in value:
                value = value.replace(token, str(replacement))
        return value
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _event_time(rng: random.Random, now: dt.datetime) -> dt.datetime:
    """A moment in the past week; a third of the traffic falls in the last day, as recent trouble does."""
    if rng.random() < 0.33:
        seconds = rng.uniform(120, 86400)
    else:
        seconds = rng.uniform(120, DAYS * 86400 - 600)
    return now - dt.timedelta(seconds=seconds)


def event_payload(error: DemoError, rng: random.Random, moment: dt.datetime | None, now: dt.datetime) -> dict:
    """One event of ``error`` as its source would post it at ``moment`` (None: now, without a timestamp)."""
    user = rng.choice(END_USERS)
    values = {
        "order_id": rng.randint(40000, 49999), "request_id": uuid.UUID(int=rng.getrandbits(128)).hex,
        "email": user["email"], "ip": user["ip_address"], "host": f"{error.service}-{rng.randint(1, 3)}",
        "thread": rng.randint(1, 40), "tenant": rng.choice(["acme", "globex", "initech"]),
        "x": rng.randint(8000, 8999), "y": rng.randint(5000, 5999),
        "decimal": f"{rng.randint(1, 99)},{rng.randint(10, 99)}", "category": rng.choice(["shoes", "bags", "sale"]),
        "date": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2024", "pixels": rng.randint(3, 64),
        "user_agent": rng.choice(USER_AGENTS), "os": rng.choice(["android", "android", "ios"]),
        "device": rng.choice(DEVICES), "timestamp": _iso(moment or now),
    }
    payload = _fill(error.payload, values)
    releases = RELEASES[error.service]
    age_days = ((now - moment).total_seconds() / 86400) if moment else 0
    # The newer release ships mid-week: older events carry the older one.
    release = releases[-1] if age_days < 3 or len(releases) == 1 else releases[0]
    payload.setdefault("environment", "staging" if rng.random() < 0.12 else "production")
    if error.source == "mobile":
        payload.setdefault("appVersion", release)
    else:
        payload.setdefault("release", release)
    if error.source != "java":
        payload.setdefault("user", dict(user))
    if moment is None:
        payload.pop("timestamp", None)
        payload.pop("@timestamp", None)
    elif "@timestamp" not in payload:
        payload["timestamp"] = values["timestamp"]
    if error.source == "mobile" and isinstance(payload.get("device"), dict):
        payload["device"] = dict(payload["device"])
    return payload


def demo_events(count: int, rng: random.Random, now: dt.datetime) -> list[DemoEvent]:
    """``count`` events over the week before ``now``, oldest first.

    Every catalogue error occurs at least once (the first ``count`` of them when there are fewer
    events than errors); the rest are drawn by the errors' weights, so some are far more frequent.
    """
    errors = CATALOGUE[:count] if count < len(CATALOGUE) else CATALOGUE
    picks = list(errors)
    picks += rng.choices(errors, weights=[e.weight for e in errors], k=count - len(picks))
    timed = sorted(((_event_time(rng, now), e) for e in picks), key=lambda pair: pair[0])
    return [DemoEvent(moment, e, event_payload(e, rng, moment, now)) for moment, e in timed]


def demo_payloads(count: int, seed: int = 2024, now: dt.datetime | None = None) -> Iterator[tuple[str, dict]]:
    """``count`` demo events as (source, payload) pairs, the source naming the normaliser and
    webhook that takes the payload; the same ``seed`` and ``now`` give the same payloads."""
    now = now or dt.datetime.now(dt.timezone.utc)
    for event in demo_events(count, random.Random(seed), now):
        yield event.error.source, event.payload
