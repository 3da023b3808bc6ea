"""Ingest events for the benchmark, drawn from the demo's catalogue.

The events are the demo's (``app.demo.events.demo_payloads``, from ``app/demo/data/``): the
errors of the platform's six services as each posts them, the Django AI API through the JSON API
and the Laravel, Java, React and Angular, and Flutter services through their webhooks, stack traces
in each platform's native format. Each catalogue error is drawn by its weight, so some are far
more frequent than others. The benchmark adds two things the demo does not need:

- the generic webhook: every sixth event is one of the same catalogue errors as a service without
  a webhook of its own posts it (message, type, its native stack text or its frames, platform);
- breadcrumbs, as the SDKs' breadcrumb trails are, which bring each JSON event to about 4 KB.

The Sentry mix sends the same events as Sentry envelopes (structured exception frames), built from
what Heartwatch's normalisers make of them.

``python bench/payloads.py`` prints the mix, the body sizes and the number of distinct errors as
Heartwatch computes them (it runs the real normalisers and fingerprints).
"""
from __future__ import annotations

import datetime as dt
import gzip
import random
import sys
import uuid
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.demo.catalogue import CATALOGUE, SERVICES as DEMO_SERVICES  # noqa: E402
from app.demo.events import demo_payloads  # noqa: E402
from app.ingest.sources import NORMALISERS  # noqa: E402

PATHS = {
    "api": "/api/errors/",
    "laravel": "/webhook/laravel/",
    "java": "/webhook/java/",
    "frontend": "/webhook/frontend/",
    "mobile": "/webhook/mobile/",
    "generic": "/webhook/generic/",
}
SOURCES = tuple(PATHS)
GENERIC_EVERY = 6
TARGET_BYTES = 4096


def _services() -> dict[str, tuple[str, str]]:
    """One service per source (flask create-service NAME --platform P), named after the demo's."""
    source_of = {e.service: e.source for e in CATALOGUE}
    services: dict[str, tuple[str, str]] = {}
    for slug, name, platform, _releases in DEMO_SERVICES:
        source = source_of[slug]
        if source in services:
            services[source] = (f"{services[source][0]} + {name}", platform)
        else:
            services[source] = (name, platform)
    services["generic"] = ("Generic Webhook", "other")
    return services


SERVICES = _services()

WORDS = ("order", "invoice", "tile", "route", "cart", "model", "report", "account", "payment", "export",
         "session", "upload", "profile", "search", "quota", "webhook", "shipment", "coupon", "ledger", "token")
CRUMBS = (
    ("http", "GET https://api.example.com/v2/{noun}s/{n} [200] in {m} ms"),
    ("query", "SELECT id, status, total FROM {noun}s WHERE account_id = {n} LIMIT 50"),
    ("navigation", "/account/{noun}s -> /account/{noun}s/{n}"),
    ("ui.click", "button#{noun}-submit.btn.btn-primary"),
    ("cache", "miss {noun}:{n} (ttl {m} s)"),
    ("log", "retrying {noun} sync for account {n} (attempt {m})"),
)


def _stamp(payload: dict) -> str | None:
    return payload.get("timestamp") or payload.get("@timestamp")


def with_breadcrumbs(payload: dict, rng: random.Random) -> dict:
    """The payload with a breadcrumb trail that brings its JSON to about ``TARGET_BYTES``."""
    size = len(orjson.dumps(payload))
    crumbs = []
    while size < TARGET_BYTES - 120:
        category, text = rng.choice(CRUMBS)
        crumb = {"timestamp": _stamp(payload), "category": category, "level": "info",
                 "message": text.format(noun=rng.choice(WORDS), n=rng.randint(100, 99999), m=rng.randint(1, 999))}
        crumbs.append(crumb)
        size += len(orjson.dumps(crumb)) + 1
    return {**payload, "breadcrumbs": crumbs} if crumbs else payload


def generic_event(source: str, payload: dict) -> dict:
    """A catalogue event as a service without its own webhook posts it to ``/webhook/generic/``."""
    incoming = NORMALISERS[source](payload, 0)
    event = {"message": incoming.message, "error_type": incoming.error_type, "platform": incoming.platform}
    if incoming.stack_trace:
        event["stack_trace"] = incoming.stack_trace
    elif incoming.frames:
        event["frames"] = [{k: v for k, v in frame.items() if v is not None} for frame in incoming.frames]
    for name in ("environment", "release", "server_name", "user", "request"):
        if getattr(incoming, name):
            event[name] = getattr(incoming, name)
    event["tags"] = incoming.tags
    if _stamp(payload):
        event["timestamp"] = _stamp(payload)
    return event


def _draw(count: int, seed: int, now: dt.datetime):
    """``count`` demo payloads whose first ones are every catalogue error once, so that a run that
    posts only the start of a pool still sees every error."""
    first = min(count, len(CATALOGUE))
    yield from demo_payloads(first, 2 * seed, now)
    if count > first:
        yield from demo_payloads(count - first, 2 * seed + 1, now)


def events(size: int, seed: int = 0) -> list[tuple[str, dict]]:
    """``size`` events as (source, payload): the demo's, and every sixth through the generic webhook.

    The generic ones are a draw of their own, and both draws start with every catalogue error once:
    the first ``6 * len(CATALOGUE)`` events hold every error, through its own source and through the
    generic webhook.
    """
    generic_count = size // GENERIC_EVERY
    now = dt.datetime.now(dt.timezone.utc)
    own = _draw(size - generic_count, 2 * seed, now)
    generic = (("generic", generic_event(s, p)) for s, p in _draw(generic_count, 2 * seed + 1, now))
    return [next(generic) if i % GENERIC_EVERY == GENERIC_EVERY - 1 else next(own) for i in range(size)]


def json_pool(size: int, seed: int = 0) -> list[tuple[str, bytes]]:
    """``size`` distinct events as (source, JSON body) pairs, to post in turn."""
    rng = random.Random(f"crumbs-{seed}")
    return [(source, orjson.dumps(with_breadcrumbs(payload, rng))) for source, payload in events(size, seed)]


# --- Sentry envelopes (the official SDKs' wire format) ---------------------------------------------

def sentry_event(source: str, payload: dict, event_id: str) -> dict:
    """The same error as a Sentry SDK would send it: an exception with structured frames."""
    incoming = NORMALISERS[source](payload, 0)
    values = []
    for exc in incoming.exceptions or [{"type": incoming.error_type, "value": incoming.message, "frames": []}]:
        frames = [{k: v for k, v in frame.items() if v is not None} for frame in exc["frames"]]
        values.append({"type": exc.get("type") or incoming.error_type, "value": exc.get("value") or "",
                       "module": exc.get("module"), "mechanism": {"type": "generic", "handled": False},
                       "stacktrace": {"frames": frames}})
    return {
        "event_id": event_id, "timestamp": _stamp(payload),
        "platform": incoming.platform or SERVICES[source][1], "level": "error",
        "environment": incoming.environment or "production",
        "release": incoming.release, "server_name": incoming.server_name,
        "exception": {"values": values}, "user": incoming.user, "request": incoming.request,
        "tags": incoming.tags, "sdk": {"name": "sentry.python", "version": "2.75.0"},
    }


def sentry_envelope(source: str, payload: dict) -> bytes:
    """An envelope with one event item, as sentry-sdk 2.x writes it (header, item header with length)."""
    event_id = uuid.uuid4().hex
    body = orjson.dumps(sentry_event(source, payload, event_id))
    header = orjson.dumps({"event_id": event_id, "sent_at": _stamp(payload),
                           "sdk": {"name": "sentry.python", "version": "2.75.0"}})
    item = orjson.dumps({"type": "event", "length": len(body), "content_type": "application/json"})
    return header + b"\n" + item + b"\n" + body + b"\n"


def sentry_pool(size: int, seed: int = 0) -> list[tuple[str, bytes, str]]:
    """``size`` distinct envelopes (each its own event id) as (source, body, encoding), half gzip, half br."""
    import brotli

    pool = []
    for i, (source, payload) in enumerate(events(size, seed)):
        envelope = sentry_envelope(source, payload)
        if i % 2:
            pool.append((source, brotli.compress(envelope, quality=4), "br"))
        else:
            pool.append((source, gzip.compress(envelope, compresslevel=6), "gzip"))
    return pool


def distinct_errors(pool: list[tuple[str, bytes]]) -> int:
    """How many errors Heartwatch makes of a JSON pool: distinct fingerprints per service (source)."""
    from app.ingest.fingerprint import compute_fingerprint

    return len({(source, compute_fingerprint(NORMALISERS[source](orjson.loads(body), 1))) for source, body in pool})


def _summary() -> None:
    import statistics

    from app.ingest.fingerprint import compute_fingerprint

    pool = json_pool(5000)
    sizes: dict[str, list[int]] = {}
    fingerprints: dict[str, set[str]] = {}
    frames: dict[str, set[int]] = {}
    for source, body in pool:
        sizes.setdefault(source, []).append(len(body))
        incoming = NORMALISERS[source](orjson.loads(body), 1)
        fingerprints.setdefault(source, set()).add(compute_fingerprint(incoming))
        frames.setdefault(source, set()).add(len(incoming.frames))
    print(f"{'source':<10}{'events':>8}{'median bytes':>14}{'frames':>8}{'fingerprints':>14}")
    for source in SOURCES:
        print(f"{source:<10}{len(sizes[source]):>8}{statistics.median(sizes[source]):>14.0f}"
              f"{min(frames[source]):>4}-{max(frames[source]):<3}{len(fingerprints[source]):>14}")
    every = [s for v in sizes.values() for s in v]
    print(f"all: {len(every)} events, median {statistics.median(every):.0f} bytes, "
          f"{distinct_errors(pool)} errors ({len(CATALOGUE)} in the catalogue)")


if __name__ == "__main__":
    _summary()
