"""Retention benchmark: one day's events past retention, dropped as a partition vs deleted in batches.

Two fresh PostgreSQL databases on a loopback server, each dropped at the end: one migrated to the head
(error_occurrences partitioned by day, app/models/partitions.py), one to 0016 (the plain table, where
retention deletes in batches of 1,000 as it did before). Each gets the same events with
INSERT ... SELECT generate_series: ``--rows`` received on a day 10 days past retention and as many
5 days ago (about 2 KB each: message, stack text, tags, raw payload), then VACUUM ANALYZE as autovacuum
would; the partitioned one also gets an empty partition for each other day retention keeps. On both, a
look-up of one event by id and one step of the event navigation are timed (statements that read every
partition); then ``app/recording/retention.purge`` with ``retention_days`` at ``--retention-days`` (30),
and what it leaves behind: the WAL it wrote, the dead rows, and the VACUUM that has to follow.

    .venv/bin/python bench/retention.py [--rows 200000] [--retention-days 30] \
        [--server postgresql://postgres@127.0.0.1:5432/postgres]

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
RECENT_DAY = 5  # days ago; the old day is 10 days past retention
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


def load(url: str, rows: int, today: dt.date, retention_days: int) -> None:
    from app.models import partitions

    engine = create_engine(url)
    with engine.begin() as connection:
        if partitions.is_partitioned(connection):  # every day retention keeps
            for ago in range(1, retention_days):
                partitions.create_day(connection, today - dt.timedelta(days=ago), lock_timeout=False)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO services (id, name, slug, platform, ingest_key, dropped_events, active, created_at) "
            "VALUES (1, 'Bench', 'bench', 'python', 'bench-key', 0, true, now())"))
        connection.execute(text(
            "INSERT INTO error_logs (id, service_id, fingerprint, severity, severity_level, error_type, message, "
            "status, occurrence_count, regression_count, first_seen, last_seen) VALUES ('bench-error', 1, 'f', "
            "'high', 4, 'GatewayTimeout', 'payment gateway timed out', 'new', :n, 0, now(), now())"), {"n": 2 * rows})
    for ago in (retention_days + 10, RECENT_DAY):
        day = today - dt.timedelta(days=ago)
        with engine.begin() as connection:
            if partitions.is_partitioned(connection):
                partitions.create_day(connection, day, lock_timeout=False)
            connection.execute(text(LOAD), {"day": day.isoformat(), "rows": rows, "start": f"{day} 00:00:00+00"})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE error_occurrences"))
    engine.dispose()


def lookups(url: str, calls: int = 200) -> dict:
    """Mean time of reading one event by id, and of one step of the event navigation (the older
    event), over one connection: statements that cannot skip partitions."""
    engine = create_engine(url)
    with engine.connect() as connection:
        partitions_now = connection.execute(text(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = to_regclass('error_occurrences')")).scalar_one()
        event_id, at = connection.execute(text(
            "SELECT id, timestamp FROM error_occurrences ORDER BY received_at DESC LIMIT 1 OFFSET 1000")).one()
        by_id = text("SELECT * FROM error_occurrences WHERE id = :id")
        older = text("SELECT id FROM error_occurrences WHERE error_id = 'bench-error' AND (timestamp, id) < (:at, :id) "
                     "ORDER BY timestamp DESC, id DESC LIMIT 1")
        took = {}
        for label, statement in (("by_id_ms", by_id), ("older_ms", older)):
            connection.execute(statement, {"id": event_id, "at": at}).all()
            began = time.perf_counter()
            for _ in range(calls):
                connection.execute(statement, {"id": event_id, "at": at}).all()
            took[label] = (time.perf_counter() - began) / calls * 1000
    engine.dispose()
    return {"partitions": partitions_now, **took}


def measure(url: str, instance: Path, retention_days: int) -> dict:
    from app import create_app
    from app.config import TestConfig
    from app.extensions import db
    from app.platform import settings
    from app.recording.retention import BATCH, _purge_occurrences, purge

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, INGEST_SPOOL_DIR=str(instance / "spool"))
    engine = create_engine(url)
    with app.app_context():
        settings.update_setting("retention_days", retention_days, None)
        with engine.connect() as connection:
            wal_before = connection.execute(text("SELECT pg_current_wal_lsn()")).scalar_one()
        purge(now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=365))  # connections and settings warm
        began = time.perf_counter()
        _purge_occurrences(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=retention_days), BATCH)
        step = time.perf_counter() - began
        purge()  # the whole run: nothing of the events is left to do
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
    return {"step_s": step, "purge_s": took, "wal_mb": float(wal) / 2**20, "dead_rows": int(dead),
            "vacuum_s": vacuum, "rows_left": int(left)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000, help="events per day (at most 2,000,000)")
    parser.add_argument("--retention-days", type=int, default=30,
                        help="retention_days (at most 400): the partitioned database has a partition for each day kept")
    parser.add_argument("--server", default=os.environ.get("BENCH_DATABASE_URL")
                        or "postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    rows = max(1, min(args.rows, MAX_ROWS))
    retention_days = max(RECENT_DAY + 1, min(args.retention_days, 400))
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
                load(url, rows, today, retention_days)
                print(f"{label}: loaded {2 * rows:,} events in {time.perf_counter() - began:.1f} s", flush=True)
                found = lookups(url)
                results[label] = {**measure(url, instance, retention_days), **found}
        finally:
            server.drop(name)
    print(f"\none day of {rows:,} events past retention ({retention_days} days), as many kept\n")
    print("| table | events' step | whole retention run | WAL written | dead rows left | VACUUM after "
          "| events left |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, r in results.items():
        print(f"| {label} | {r['step_s'] * 1000:,.0f} ms | {r['purge_s'] * 1000:,.0f} ms | {r['wal_mb']:,.1f} MB | "
              f"{r['dead_rows']:,} | {r['vacuum_s'] * 1000:,.0f} ms | {r['rows_left']:,} |")
    print("\nbefore retention, mean of 200 calls\n")
    print("| table | partitions | one event by id | one navigation step (older event) |")
    print("|---|---:|---:|---:|")
    for label, r in results.items():
        print(f"| {label} | {r['partitions']} | {r['by_id_ms']:.2f} ms | {r['older_ms']:.2f} ms |")


if __name__ == "__main__":
    main()
