"""Retention benchmark: one day's events past retention, dropped as a partition vs deleted in batches.

Two fresh PostgreSQL databases on a loopback server, each dropped at the end: one migrated to the head
(error_occurrences partitioned by day, app/models/partitions.py), one to 0016 (the plain table, where
retention deletes in batches of 1,000 as it did before). Each gets the same events with
INSERT ... SELECT generate_series: ``--rows`` received on a day 40 days ago and as many 5 days ago
(about 2 KB each: message, stack text, tags, raw payload), then VACUUM ANALYZE as autovacuum would.
With ``retention_days`` at 30, ``app/recording/retention.purge`` is timed on each, then what it leaves
behind: the WAL it wrote, the dead rows, and the VACUUM that has to follow.

    .venv/bin/python bench/retention.py [--rows 200000] [--server postgresql://postgres@127.0.0.1:5432/postgres]

BENCH_DATABASE_URL names the server too (its database part is ignored: the bench makes its own).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from app.config import normalise_database_url  # noqa: E402

MAX_ROWS = 2_000_000
RETENTION_DAYS = 30
OLD_DAY, RECENT_DAY = 40, 5  # days ago
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
LOAD = """
INSERT INTO error_occurrences (id, error_id, service_id, source, timestamp, received_at, message, severity,
                               stack_trace, tags, environment, release, server_name, raw_payload)
SELECT md5(CAST(:day AS text) || '-' || g)::uuid::text, 'bench-error', 1, 'api', at, at,
       'payment gateway timed out after ' || g || ' ms', 'high',
       repeat('  File "app/payments/gateway.py", line 212, in charge' || chr(10), 12),
       jsonb_build_object('n', g % 50, 'browser', 'Firefox'), 'production', 'app@1.4.0', 'web-' || g % 8,
       repeat('{"breadcrumb": "clicked checkout"}', 24)
FROM generate_series(1, :rows) AS g,
     LATERAL (SELECT CAST(:start AS timestamptz) + (g::float8 / :rows) * interval '86399 seconds' AS at) AS t
"""


class Server:
    def __init__(self, url: str):
        parts = urlsplit(normalise_database_url(url))
        if parts.hostname not in LOOPBACK:
            raise SystemExit(f"the benchmark runs against a loopback server only, not {parts.hostname}")
        self.parts = parts
        self.admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")

    def url(self, database: str) -> str:
        return urlunsplit(self.parts._replace(path="/" + database))

    def create(self, name: str) -> str:
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        return self.url(name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def migrate(url: str, revision: str, instance: Path) -> None:
    env = {**os.environ, "DATABASE_URL": url, "HEARTWATCH_INSTANCE_PATH": str(instance), "PYTHONPATH": str(ROOT)}
    env.pop("REDIS_URL", None)
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade", revision], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise SystemExit(done.stderr)


def load(url: str, rows: int, today: dt.date) -> None:
    from app.models import partitions

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO services (id, name, slug, platform, ingest_key, dropped_events, active, created_at) "
            "VALUES (1, 'Bench', 'bench', 'python', 'bench-key', 0, true, now())"))
        connection.execute(text(
            "INSERT INTO error_logs (id, service_id, fingerprint, severity, severity_level, error_type, message, "
            "status, occurrence_count, regression_count, first_seen, last_seen) VALUES ('bench-error', 1, 'f', "
            "'high', 4, 'GatewayTimeout', 'payment gateway timed out', 'new', :n, 0, now(), now())"), {"n": 2 * rows})
    for ago in (OLD_DAY, RECENT_DAY):
        day = today - dt.timedelta(days=ago)
        with engine.begin() as connection:
            if partitions.is_partitioned(connection):
                partitions.create_day(connection, day, lock_timeout=False)
            connection.execute(text(LOAD), {"day": day.isoformat(), "rows": rows, "start": f"{day} 00:00:00+00"})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE error_occurrences"))
    engine.dispose()


def measure(url: str, instance: Path) -> dict:
    from app import create_app
    from app.config import TestConfig
    from app.extensions import db
    from app.platform import settings
    from app.recording.retention import purge

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, INGEST_SPOOL_DIR=str(instance / "spool"))
    engine = create_engine(url)
    with app.app_context():
        settings.update_setting("retention_days", RETENTION_DAYS, None)
        with engine.connect() as connection:
            wal_before = connection.execute(text("SELECT pg_current_wal_lsn()")).scalar_one()
        began = time.perf_counter()
        counts = purge()
        took = time.perf_counter() - began
        db.session.remove()
        db.engine.dispose()
    time.sleep(1.5)  # the workers' statistics reach the views within a second
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        wal = connection.execute(text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :lsn)"),
                                 {"lsn": wal_before}).scalar_one()
        dead = connection.execute(text("SELECT COALESCE(sum(n_dead_tup), 0) FROM pg_stat_user_tables "
                                       "WHERE relname LIKE 'error_occurrences%'")).scalar_one()
        left = connection.execute(text("SELECT count(*) FROM error_occurrences")).scalar_one()
        began = time.perf_counter()
        connection.execute(text("VACUUM error_occurrences"))
        vacuum = time.perf_counter() - began
    engine.dispose()
    return {"purge_s": took, "counts": counts, "wal_mb": float(wal) / 2**20, "dead_rows": int(dead),
            "vacuum_s": vacuum, "rows_left": int(left)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000, help="events per day (at most 2,000,000)")
    parser.add_argument("--server", default=os.environ.get("BENCH_DATABASE_URL")
                        or "postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    rows = max(1, min(args.rows, MAX_ROWS))
    server = Server(args.server)
    today = dt.datetime.now(dt.timezone.utc).date()
    results = {}
    for label, revision in (("partitioned (head)", "head"), ("plain table, batches (0016)", "0016")):
        name = f"hw_bench_retention_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        url = server.create(name)
        try:
            with tempfile.TemporaryDirectory() as workdir:
                instance = Path(workdir)
                migrate(url, revision, instance)
                began = time.perf_counter()
                load(url, rows, today)
                print(f"{label}: loaded {2 * rows:,} events in {time.perf_counter() - began:.1f} s", flush=True)
                results[label] = measure(url, instance)
        finally:
            server.drop(name)
    print(f"\none day of {rows:,} events past retention ({RETENTION_DAYS} days), as many kept\n")
    print("| table | retention run | rows deleted one by one | days dropped | WAL written | dead rows left "
          "| VACUUM after | events left |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, r in results.items():
        print(f"| {label} | {r['purge_s'] * 1000:,.0f} ms | {r['counts']['occurrences']:,} | "
              f"{r['counts']['occurrence_days']} | {r['wal_mb']:,.1f} MB | {r['dead_rows']:,} | "
              f"{r['vacuum_s'] * 1000:,.0f} ms | {r['rows_left']:,} |")


if __name__ == "__main__":
    main()
