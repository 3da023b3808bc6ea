"""The ingest path's cost in instructions: a fixed number of events posted in process, for callgrind.

Wall-clock figures on a shared two-core machine move by a quarter from one run to the next with the
code unchanged; ``valgrind --tool=callgrind`` counts instructions, which stay the same whatever else
the machine does. This script posts the bench's events (bench/payloads.py) through the Flask test
client, the group-commit writer included, after a warm-up; run it twice with different ``--events``
and the difference of the two totals is the cost of the extra events without start-up:

    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.400 .venv/bin/python bench/instructions.py --events 400
    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.1400 .venv/bin/python bench/instructions.py --events 1400
    (the "summary:" line of each file, or `callgrind_annotate FILE | head`)

Without valgrind it prints the CPU time per event, a rough figure. SQLite in a temporary folder by
default; ``BENCH_DATABASE_URL`` names a PostgreSQL database of its own (its tables are dropped first).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _prepare_environment(folder: str) -> None:
    os.environ["HEARTWATCH_INSTANCE_PATH"] = folder
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{folder}/bench.db"
    os.environ.pop("REDIS_URL", None)


def _services(app) -> dict:
    import payloads

    runner = app.test_cli_runner()
    services = {}
    for source, (name, platform) in payloads._services().items():
        done = runner.invoke(args=["create-service", name, "--platform", platform, "--json"])
        assert done.exit_code == 0, done.output
        services[source] = json.loads(done.output)
    return services


def _requests(mix: str, services: dict, count: int, seed: int) -> list[tuple[str, bytes, dict]]:
    import payloads

    if mix == "json":
        pool = payloads.json_pool(min(count, 2000), seed)
        return [(payloads.PATHS[source], body, {"Content-Type": "application/json",
                                                 "X-Api-Key": services[source]["ingest_key"]})
                for source, body in (pool[i % len(pool)] for i in range(count))]
    out = []
    for source, body, encoding in payloads.sentry_pool(count, seed):
        service = services[source]
        out.append((f"/api/{service['id']}/envelope/", body, {
            "Content-Type": "application/x-sentry-envelope", "Content-Encoding": encoding,
            "X-Sentry-Auth": f"Sentry sentry_key={service['ingest_key']}, sentry_version=7"}))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000, help="events measured after the warm-up")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--mix", choices=("json", "sentry"), default="json")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="heartwatch-instructions-") as folder:
        _prepare_environment(folder)
        from app import create_app
        from app.extensions import db

        app = create_app()
        with app.app_context():
            db.drop_all()
            db.create_all()
        services = _services(app)
        client = app.test_client()
        requests = _requests(args.mix, services, args.warmup + args.events, seed=1)
        for path, body, headers in requests[:args.warmup]:
            assert client.post(path, data=body, headers=headers).status_code < 300
        started = time.process_time()
        for path, body, headers in requests[args.warmup:]:
            answer = client.post(path, data=body, headers=headers)
            assert answer.status_code < 300, answer.get_data(as_text=True)
        spent = time.process_time() - started
        print(f"{args.events} {args.mix} events: {spent / max(args.events, 1) * 1000:.2f} ms CPU per event")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
