"""Dashboard benchmark: server time of the main pages over a large history on PostgreSQL.

Loads 100,000 errors and 1,000,000 occurrences (with environments, releases, servers, users and tags;
plus audit rows, notifications and escalations) with COPY, not through HTTP, fills error_facets and the
hourly counts from them with migrations 0014's and 0020's backfills, then times each page through the Flask test client with a signed-in session:
several runs per page, p50 and p95 in milliseconds. The overview is timed both with its short cache
cleared before every run (what one visitor in a quiet moment pays) and warm.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hw_dash .venv/bin/python bench/dashboard.py

The database's tables are dropped and created again: give it a database of its own.
Options: --errors N --occurrences N (smaller data sets), --runs N, --skip-load (reuse the loaded data),
--explain (EXPLAIN ANALYZE of the main queries), --without-dashboard-index (drops the occurrence time
index of migration 0003, for the "before" figures in docs/PERFORMANCE.md).
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib.util
import io
import json
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from app import create_app  # noqa: E402
from app.config import TestConfig, normalise_database_url  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import SEVERITY_LEVEL  # noqa: E402

PASSWORD = "bench-password-1"
# The index the dashboard's aggregates read (migration 0003; see docs/PERFORMANCE.md, Dashboard).
DASHBOARD_INDEXES = {
    # One covering index serves the hourly and daily series, the top services and the top errors with
    # index-only scans of the window, instead of reading the whole table.
    "ix_error_occurrences_timestamp":
        "CREATE INDEX IF NOT EXISTS ix_error_occurrences_timestamp "
        "ON error_occurrences (timestamp) INCLUDE (severity, service_id, error_id)",
}
SERVICES = [("django-ai", "Django AI", "python"), ("laravel-web", "Laravel Web", "php"),
            ("java-geo", "Java Geo", "java"), ("react-frontend", "React Frontend", "javascript"),
            ("angular-admin", "Angular Admin", "javascript"), ("mobile", "Mobile", "dart")]
ERROR_TYPES = ["KeyError", "ValueError", "TypeError", "NullPointerException", "IllegalStateException",
               "QueryException", "TimeoutError", "StateError", "HttpErrorResponse", "OperationalError"]
WORDS = ["payment", "geocoder", "tile", "embedding", "cart", "session", "order", "invoice", "token", "upload",
         "profile", "route", "search", "report", "export", "import", "checkout", "shipping", "price", "user"]
SEVERITY_WEIGHTS = [("critical", 3), ("high", 25), ("medium", 35), ("low", 25), ("info", 12)]
ENVIRONMENTS = ["production"] * 15 + ["staging"] * 4 + ["development"]
RELEASES = [f"app@1.{minor}.0" for minor in range(20)]
BROWSERS = ["Chrome", "Chrome", "Firefox", "Safari", "Edge"]
REGIONS = ["eu-west-1", "us-east-1", "ap-south-1"]
USERS = 5000
MIGRATION_0014 = Path(__file__).resolve().parents[1] / "migrations" / "versions" / "0014_error_facets.py"
MIGRATION_0020 = MIGRATION_0014.with_name("0020_hourly_rollups.py")
MIGRATION_0018 = MIGRATION_0014.with_name("0018_snooze_and_releases.py")
MIGRATION_0019 = MIGRATION_0014.with_name("0019_merge_and_comments.py")


def _migration(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def facets_backfill() -> str:
    return _migration(MIGRATION_0014).backfill_statement("postgresql")


def copy_rows(table: str, columns: list[str], rows) -> int:
    """COPY rows (tuples) into a table through psycopg2, in chunks of CSV."""
    connection = db.engine.raw_connection()
    count = 0
    try:
        cursor = connection.cursor()
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"

        def flush():
            buffer.seek(0)
            cursor.copy_expert(statement, buffer)
            buffer.seek(0)
            buffer.truncate()

        for row in rows:
            writer.writerow(["\\N" if v is None else v for v in row])
            count += 1
            if count % 50000 == 0:
                flush()
        flush()
        connection.commit()
    finally:
        connection.close()
    return count


def iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def frames_json(rng: random.Random, error_type: str) -> str:
    module = rng.choice(WORDS)
    frames = [{"filename": f"app/{module}/{rng.choice(WORDS)}.py", "abs_path": None, "function": rng.choice(WORDS),
               "module": None, "lineno": rng.randint(1, 400), "colno": None, "in_app": i > 1,
               "context_line": "    return handler(request)", "pre_context": None, "post_context": None}
              for i in range(6)]
    return json.dumps([{"type": error_type, "value": "bench", "module": None, "frames": frames}])


def load(errors: int, occurrences: int, seed: int = 7) -> dict:
    """The data set: services, developers, errors, occurrences, audit rows, notifications, escalations."""
    from app.accounts import developers as accounts

    rng = random.Random(seed)
    now = dt.datetime.now(dt.timezone.utc)
    db.drop_all()
    db.create_all()
    services = [accounts.create_service(name, platform, slug=slug) for slug, name, platform in SERVICES]
    lead = accounts.create_developer("Bench Lead", "lead@bench.test", role="lead", password=PASSWORD,
                                     services=services, on_call=True)
    developers = [lead] + [accounts.create_developer(f"Developer {i}", f"dev{i}@bench.test", services=[
        services[i % len(services)]], on_call=i % 3 == 0, max_load=20) for i in range(29)]
    dev_ids = [d.id for d in developers]

    severities = [s for s, w in SEVERITY_WEIGHTS for _ in range(w)]
    error_rows = []
    # A heavy tail: a few errors have tens of thousands of events, most have a handful.
    weights = [1.0 / (rank + 1) ** 0.9 for rank in range(errors)]
    rng.shuffle(weights)
    scale = (occurrences - errors) / sum(weights)
    counts = [1 + int(w * scale) for w in weights]
    counts[0] += occurrences - sum(counts)
    for i in range(errors):
        severity = rng.choice(severities)
        first_seen = now - dt.timedelta(seconds=rng.randint(0, 30 * 86400))
        last_seen = first_seen + dt.timedelta(seconds=rng.randint(0, int((now - first_seen).total_seconds())))
        roll = rng.random()
        status = "resolved" if roll < 0.6 else "ignored" if roll < 0.7 else rng.choice(["new", "assigned", "in_progress"])
        assignee = rng.choice(dev_ids) if status != "new" and rng.random() < 0.9 else None
        error_type = rng.choice(ERROR_TYPES)
        message = f"{rng.choice(WORDS)} {rng.choice(WORDS)} failed for id {rng.randint(1, 10**6)}"
        service = services[i % len(services)]
        error_rows.append((str(uuid.uuid4()), service.id, f"{i:064x}"[-64:], severity, SEVERITY_LEVEL[severity],
                           error_type, message, f"app/{rng.choice(WORDS)}.py", f"GET /api/{rng.choice(WORDS)}",
                           service.platform, status, iso(last_seen) if status == "resolved"
                           else None, assignee, iso(first_seen) if assignee else None, counts[i], iso(first_seen),
                           iso(last_seen), rng.choice(["production", "production", "staging"]), "app@1.0.0", 0))
    copy_rows("error_logs", ["id", "service_id", "fingerprint", "severity", "severity_level", "error_type", "message",
                             "culprit", "endpoint", "platform", "status", "resolved_at", "assigned_to_id",
                             "assigned_at", "occurrence_count", "first_seen", "last_seen", "environment", "release",
                             "regression_count"], error_rows)

    def occurrence_rows():
        for (error_id, service_id, _, severity, _, error_type, message, *_rest), count in zip(error_rows, counts, strict=True):
            first_seen = dt.datetime.fromisoformat(_rest[-5])
            last_seen = dt.datetime.fromisoformat(_rest[-4])
            span = max(1, int((last_seen - first_seen).total_seconds()))
            release = rng.choice(RELEASES)
            for n in range(count):
                moment = last_seen if n == 0 else first_seen + dt.timedelta(seconds=rng.randint(0, span))
                exceptions = frames_json(rng, error_type) if n == 0 or rng.random() < 0.05 else None
                if rng.random() < 0.1:  # a later deploy
                    release = rng.choice(RELEASES)
                user = None
                if rng.random() < 0.3:
                    number = rng.randint(1, USERS)
                    user = json.dumps({"id": str(number), "email": f"user{number}@bench.test"})
                tags = {"browser": rng.choice(BROWSERS), "region": rng.choice(REGIONS)}
                if rng.random() < 0.2:
                    tags["plan"] = rng.choice(["free", "team", "enterprise"])
                yield (str(uuid.uuid4()), error_id, service_id, "api", iso(moment), iso(moment), message, severity,
                       exceptions, json.dumps(tags), rng.choice(ENVIRONMENTS), release,
                       f"web-{rng.randint(1, 12)}", user)

    started = time.perf_counter()
    total = copy_rows("error_occurrences", ["id", "error_id", "service_id", "source", "timestamp", "received_at",
                                            "message", "severity", "exceptions", "tags", "environment", "release",
                                            "server_name", '"user"'],
                      occurrence_rows())
    copy_seconds = time.perf_counter() - started
    started = time.perf_counter()
    # The facets and the hourly counts as migrations 0014 and 0020 fill them from stored occurrences
    # (ingest writes the same rows).
    db.session.execute(text(facets_backfill()))
    # The user, browser and OS facets and the users counts (0019), the releases and the errors' first
    # and last release (0018), the hourly counts (0020), each as its migration fills them.
    users = _migration(MIGRATION_0019)
    for statement in users.backfill_statements("postgresql"):
        db.session.execute(text(statement))
    db.session.execute(text("UPDATE error_logs SET users_count = (SELECT count(*) FROM error_facets f "
                            "WHERE f.error_id = error_logs.id AND f.key = 'user') "
                            "WHERE id IN (SELECT error_id FROM error_facets WHERE key = 'user')"))
    releases = _migration(MIGRATION_0018)
    db.session.execute(text(releases.FILL_RELEASES))
    db.session.execute(text(releases.FILL_ERRORS))
    for statement in _migration(MIGRATION_0020).backfill_statements("postgresql"):
        db.session.execute(text(statement))
    db.session.commit()
    facet_seconds = time.perf_counter() - started

    def audit_rows():
        for error_id, *_rest in error_rows:
            assignee = _rest[11]
            if assignee:
                yield ("system", "error.assigned", "error", error_id, error_id,
                       json.dumps({"to": assignee, "reason": "routing"}), _rest[12])

    copy_rows("audit_events", ["actor_label", "action", "object_type", "object_id", "error_id", "details",
                               "created_at"], audit_rows())

    def notification_rows():
        for n, (error_id, *_rest) in enumerate(error_rows[: errors * 2 // 3]):
            status = rng.choice(["sent"] * 8 + ["failed", "dead"])
            yield (error_id, rng.choice(dev_ids), f"dev{n % 29}@bench.test", rng.choice(["email", "slack", "sms"]),
                   "error.created", status, f"[{_rest[2]}] bench", 0 if status == "sent" else 3,
                   None if status == "sent" else "SMTP 451 try again later", f"bench-{n}", _rest[14])

    copy_rows("error_notifications", ["error_id", "recipient_id", "recipient", "channel", "event", "status", "subject",
                                      "retry_count", "last_error", "idempotency_key", "created_at"],
              notification_rows())

    def escalation_rows():
        for error_id, *_rest in error_rows[:2000]:
            yield (error_id, _rest[11], lead.id, 1, "critical and unresolved for more than an hour", True, _rest[14])

    copy_rows("error_escalations", ["error_id", "escalated_from_id", "escalated_to_id", "level", "reason",
                                    "automatic", "created_at"], escalation_rows())
    db.session.commit()
    # Autovacuum would do this in a running installation; right after a bulk COPY the visibility map is
    # empty and index-only scans would read the table anyway.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    heaviest = error_rows[max(range(errors), key=lambda i: counts[i])][0]
    facets = db.session.execute(text("SELECT count(*) FROM error_facets")).scalar()
    return {"errors": errors, "occurrences": total, "copy_seconds": round(copy_seconds, 1), "heaviest": heaviest,
            "facets": facets, "facet_seconds": round(facet_seconds, 1)}


def create_indexes(wanted: bool) -> None:
    for name, statement in DASHBOARD_INDEXES.items():
        if wanted:
            db.session.execute(text(statement))
        else:
            db.session.execute(text(f"DROP INDEX IF EXISTS {name}"))
    db.session.commit()
    db.session.execute(text("ANALYZE error_occurrences"))
    db.session.commit()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def time_pages(app, runs: int, heaviest: str) -> list[tuple[str, float, float]]:
    from app.reports import overview as dashboard

    client = app.test_client()
    assert client.post("/login", data={"email": "lead@bench.test", "password": PASSWORD}).status_code == 303
    some_error = db.session.execute(text("SELECT id FROM error_logs WHERE status = 'new' LIMIT 1")).scalar()
    middle_event = db.session.execute(text(
        "SELECT id FROM error_occurrences WHERE error_id = :e ORDER BY timestamp, id OFFSET "
        "(SELECT occurrence_count / 2 FROM error_logs WHERE id = :e) LIMIT 1"), {"e": heaviest}).scalar()
    busiest_service = db.session.execute(text("SELECT service_id FROM error_logs WHERE id = :e"),
                                         {"e": heaviest}).scalar()
    pages = [
        ("overview (every cache cold)", "/", "all"),
        ("overview (5-second cache expired)", "/", "overview"),
        ("overview (cached)", "/", None),
        ("30-day series, JSON (every cache cold)", "/overview/daily", "all"),
        ("30-day series, JSON (5-second cache expired)", "/overview/daily", "daily"),
        ("errors: open, newest first", "/errors", None),
        ("errors: critical, production, 24 h", "/errors?severity=critical&environment=production&range=24h", None),
        ("errors: all, most events first", "/errors?status=all&sort=-occurrences", None),
        ("errors: search 'checkout'", "/errors?status=all&q=checkout", None),
        ("errors: search env:staging", "/errors?status=all&q=env:staging", None),
        ("errors: search release:app@1.7.0", "/errors?status=all&q=release:app%401.7.0", None),
        ("errors: search user:user42@bench.test", "/errors?status=all&q=user:user42%40bench.test", None),
        ("errors: search a tag, plan:enterprise", "/errors?status=all&q=plan:enterprise", None),
        ("errors: search -env:staging", "/errors?status=all&q=-env:staging", None),
        ("errors: search is:unresolved env:production severity:>=high",
         "/errors?q=is:unresolved+env:production+severity:%3E%3Dhigh", None),
        ("errors: search free text 'payment failed'", "/errors?status=all&q=payment+failed", None),
        ("errors: search a quoted phrase", "/errors?status=all&q=%22payment+failed%22", None),
        ("errors: search service:django-ai assigned:me", "/errors?q=service:django-ai+assigned:me", None),
        ("errors: page 40", "/errors?status=all&page=40", None),
        ("errors: HTMX table fragment", "/errors?severity=high", None),
        ("error detail (heaviest error)", f"/errors/{heaviest}", None),
        ("error detail: its middle event (heaviest error)", f"/errors/{heaviest}/events/{middle_event}", None),
        ("error chart, 90 days (heaviest error)", f"/errors/{heaviest}/chart?period=90d", None),
        ("errors: most users first", "/errors?status=all&sort=-users", None),
        ("releases of the busiest service", f"/services/{busiest_service}/releases", None),
        ("error detail (typical error)", f"/errors/{some_error}", None),
        ("developers and workload", "/developers", None),
        ("patterns", "/patterns", None),
        ("notifications", "/notifications", None),
        ("notifications: failed", "/notifications?status=failed", None),
        ("escalations", "/escalations", None),
    ]
    results = []
    for label, path, cold in pages:
        headers = {"HX-Request": "true", "HX-Target": "error-table"} if "fragment" in label else {}
        if "JSON" in label:
            headers["Accept"] = "application/json"
        timings = []
        for run in range(runs + 1):
            if cold == "all":
                dashboard.clear_cache()
            elif cold:
                dashboard.clear_cache(cold)
            started = time.perf_counter()
            response = client.get(path, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (path, response.status_code)
            if run:  # the first run warms connections and templates
                timings.append(elapsed)
        results.append((label, statistics.median(timings), percentile(timings, 0.95)))
        print(f"{label:46s} p50 {results[-1][1]:7.1f} ms   p95 {results[-1][2]:7.1f} ms", flush=True)
    return results


EXPLAINED = {
    "open errors by service (counters, top services)":
        "SELECT service_id, count(*), count(*) FILTER (WHERE severity_level = 5), "
        "count(*) FILTER (WHERE assigned_to_id IS NULL) FROM error_logs "
        "WHERE status IN ('new', 'assigned', 'in_progress') GROUP BY service_id",
    "hourly series": "SELECT date_trunc('hour', timezone('UTC', timestamp)), severity, count(*) FROM error_occurrences "
                     "WHERE timestamp >= now() - interval '24 hours' GROUP BY 1, 2",
    "past 29 days": "SELECT date_trunc('day', timezone('UTC', timestamp)), severity, count(*) FROM error_occurrences "
                    "WHERE timestamp >= date_trunc('day', now()) - interval '29 days' "
                    "AND timestamp < date_trunc('day', now()) GROUP BY 1, 2",
    "top services (events)": "SELECT service_id, count(*) FROM error_occurrences "
                             "WHERE timestamp >= now() - interval '24 hours' GROUP BY service_id",
    "top errors": "SELECT error_id, count(*) FROM error_occurrences WHERE timestamp >= now() - interval '24 hours' "
                  "GROUP BY error_id ORDER BY count(*) DESC, error_id LIMIT 6",
    "error list": "SELECT * FROM error_logs WHERE status IN ('new', 'assigned', 'in_progress') "
                  "ORDER BY last_seen DESC, id LIMIT 25",
    "error list count": "SELECT count(*) FROM error_logs WHERE status IN ('new', 'assigned', 'in_progress')",
    "search count": "SELECT count(*) FROM error_logs WHERE error_type ILIKE '%checkout%' OR message ILIKE '%checkout%'",
    "search env:staging, count": "SELECT count(*) FROM error_logs e WHERE EXISTS (SELECT 1 FROM error_facets f "
                                 "WHERE f.key = 'environment' AND f.value = 'staging' AND f.error_id = e.id)",
    "search user:..., page": "SELECT * FROM error_logs e WHERE EXISTS (SELECT 1 FROM error_facets f "
                             "WHERE f.key IN ('user.id', 'user.email') AND f.value = 'user42@bench.test' "
                             "AND f.error_id = e.id) ORDER BY last_seen DESC, id LIMIT 25",
    "search -env:staging, count": "SELECT count(*) FROM error_logs e WHERE NOT EXISTS (SELECT 1 FROM error_facets f "
                                  "WHERE f.key = 'environment' AND f.value = 'staging' AND f.error_id = e.id)",
}


def explain() -> None:
    for label, query in EXPLAINED.items():
        plan = db.session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {query}")).scalars().all()
        print(f"\n--- {label}\n" + "\n".join(plan))
    db.session.rollback()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--errors", type=int, default=100_000)
    parser.add_argument("--occurrences", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--without-dashboard-index", action="store_true")
    args = parser.parse_args()
    url = normalise_database_url(os.environ.get("BENCH_DATABASE_URL"))
    if not url or not url.startswith("postgresql"):
        sys.exit("set BENCH_DATABASE_URL to a PostgreSQL database of its own (its tables are replaced)")
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, REDIS_URL=os.environ.get("REDIS_URL") or None,
                     HUEY_IMMEDIATE=True, DASHBOARD_CACHE_SECONDS=5)
    with app.app_context():
        if args.skip_load:
            heaviest = db.session.execute(text("SELECT id FROM error_logs ORDER BY occurrence_count DESC LIMIT 1")).scalar()
            print("reusing the loaded data set")
        else:
            started = time.perf_counter()
            summary = load(args.errors, args.occurrences)
            heaviest = summary["heaviest"]
            print(f"loaded {summary['errors']:,} errors and {summary['occurrences']:,} occurrences in "
                  f"{time.perf_counter() - started:.0f} s (occurrences by COPY in {summary['copy_seconds']} s; "
                  f"{summary['facets']:,} facets from them in {summary['facet_seconds']} s)")
        create_indexes(not args.without_dashboard_index)
        print("occurrence time index:", "dropped" if args.without_dashboard_index else "present")
        if args.explain:
            explain()
        results = time_pages(app, args.runs, heaviest)
        out = Path(__file__).resolve().parent / "results"
        out.mkdir(exist_ok=True)
        lines = ["| page | p50 ms | p95 ms |", "|---|---:|---:|"]
        lines += [f"| {label} | {p50:.1f} | {p95:.1f} |" for label, p50, p95 in results]
        suffix = "without-dashboard-index" if args.without_dashboard_index else "with-dashboard-index"
        (out / f"dashboard-{suffix}.md").write_text("\n".join(lines) + "\n")
        print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
