"""Data scrubbing and the in-app rules (app/ingest/scrubbing.py, app/ingest/in_app.py), per event.

The events are the ingest bench's (bench/payloads.py: the demo's catalogue with breadcrumbs, about 4 KB of
JSON, through the JSON API and the webhooks, and the same errors as Sentry events), each normalised as
its way in does it and carrying its raw payload. ``--secrets`` adds what scrubbing must remove to every
event (a password in extra data, an Authorization header, a card number in the message), so the raw
payload is rewritten too. Prints, per event in µs: scrubbing with the default rules and with scrubbing
off, the in-app rules, and the in-process ingest cost they are part of (JSON parsing, normalising and
``prepare``, which runs both), with the default settings and with scrubbing off. Figures: docs/PERFORMANCE.md. Runs in well under a minute:

    .venv/bin/python bench/scrubbing.py [--events 600] [--rounds 5] [--secrets]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.payloads import events, sentry_event, with_breadcrumbs  # noqa: E402
from app import create_app  # noqa: E402
from app.ingest.in_app import apply_in_app  # noqa: E402
from app.ingest.scrubbing import scrub_event, scrubber_for  # noqa: E402
from app.ingest.settings import DEFAULT_SETTINGS, IngestSettings  # noqa: E402
from app.ingest.sources import NORMALISERS  # noqa: E402
from app.ingest.sources.sentry import normalise as sentry_normalise  # noqa: E402
from app.recording.prepare import prepare  # noqa: E402
from app.recording.record import raw_payload_text  # noqa: E402

RAW_LIMIT = 65536


def _with_secrets(payload: dict) -> dict:
    payload = dict(payload)
    payload["extra"] = {**(payload.get("extra") or {}), "db_password": "hunter2", "api_key": "k-123"}
    request = dict(payload.get("request") or {"url": "https://shop.example/pay"})
    request["headers"] = {**(request.get("headers") or {}), "Authorization": "Bearer abc.def"}
    payload["request"] = request
    payload["message"] = f"{payload.get('message') or ''} (card 4111 1111 1111 1111)"
    return payload


def bodies(count: int, secrets: bool) -> list[tuple[str, bytes]]:
    """(way in, body) pairs: the JSON pool, and every third event again as a Sentry event."""
    import random

    rng = random.Random("scrub-bench")
    out = []
    for index, (source, payload) in enumerate(events(count)):
        payload = with_breadcrumbs(payload, rng)
        if secrets:
            payload = _with_secrets(payload)
        out.append((source, orjson.dumps(payload)))
        if index % 3 == 0:
            out.append(("sentry", orjson.dumps(sentry_event(source, payload, uuid.UUID(int=rng.getrandbits(128)).hex))))
    return out


def _incoming(source: str, body: bytes):
    payload = orjson.loads(body)
    incoming = sentry_normalise(payload, 1) if source == "sentry" else NORMALISERS[source](payload, 1)
    incoming.raw_payload = raw_payload_text(body, RAW_LIMIT)
    return incoming


def _per_event(pool, step) -> float:
    """µs per event of ``step(incoming)`` on fresh events (each is normalised first, untimed)."""
    total = 0.0
    for source, body in pool:
        incoming = _incoming(source, body)
        start = time.perf_counter()
        step(incoming)
        total += time.perf_counter() - start
    return total / len(pool) * 1e6


def _ingest(pool, settings=DEFAULT_SETTINGS) -> float:
    """µs per event of JSON parsing, normalising and prepare (scrubbing and in-app rules included)."""
    start = time.perf_counter()
    for source, body in pool:
        prepare(_incoming(source, body), settings=settings)
    return (time.perf_counter() - start) / len(pool) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--secrets", action="store_true")
    args = parser.parse_args()
    pool = bodies(args.events, args.secrets)
    on, off = scrubber_for(), scrubber_for(enabled=False)
    app = create_app(TESTING=True, SQLALCHEMY_DATABASE_URI="sqlite://")
    steps = {
        "scrub (defaults)": lambda i: scrub_event(i, on),
        "scrub (off)": lambda i: scrub_event(i, off),
        "in-app rules": apply_in_app,
    }
    with app.app_context():
        _ingest(pool)  # warm: caches, compiled rules
        results = {name: [] for name in (*steps, "ingest, scrub off", "ingest in-process")}
        for _ in range(args.rounds):
            for name, step in steps.items():
                results[name].append(_per_event(pool, step))
            results["ingest, scrub off"].append(_ingest(pool, IngestSettings(scrub_data=False)))
            results["ingest in-process"].append(_ingest(pool))
    sizes = [len(body) for _, body in pool]
    print(f"{len(pool)} events ({sum(s == 'sentry' for s, _ in pool)} Sentry), median body "
          f"{statistics.median(sizes) / 1024:.1f} KB, secrets: {'yes' if args.secrets else 'no'}; "
          f"median of {args.rounds} rounds")
    ingest_cost = statistics.median(results["ingest in-process"])
    for name, values in results.items():
        value = statistics.median(values)
        share = "" if name == "ingest in-process" else f"  ({value / ingest_cost:.1%} of the in-process ingest)"
        print(f"  {name:<18} {value:8.1f} µs per event{share}")


if __name__ == "__main__":
    main()
