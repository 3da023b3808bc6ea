"""``error_occurrences`` on PostgreSQL: declaratively partitioned by range of ``received_at``, one
partition per UTC day (``error_occurrences_p20261204`` holds [2026-12-04 00:00, 2026-12-05 00:00) UTC),
and a DEFAULT partition (``error_occurrences_default``) for any event whose day has no partition yet,
so no event is ever refused.

Retention (app/recording/retention.py) then drops whole days, detached then dropped, instead of
deleting old events row by row (no dead rows, no vacuum afterwards: docs/PERFORMANCE.md). The worker
creates the days ahead (``ensure_days``, the job ``create_event_partitions``), and so do
``flask bootstrap`` and the migration that partitioned the table (0021). Creating a day's partition
first moves that day's events out of DEFAULT, where they landed while the day had none (PostgreSQL
refuses a partition whose range has rows in DEFAULT); older events left in DEFAULT are deleted by
retention in batches, as on SQLite.

A partitioned table's unique constraints must hold the partition key, so there the primary key is
(id, received_at); the ORM and SQLite keep ``id`` alone, which stays unique by construction (new
UUIDs; a client's event id is checked at ingest under a lock: app/recording/record.py), and every
lookup by id works as before (one index probe per partition).

The statements take a connection and never commit: the migration runs them in its transaction, the
job one short transaction per day, each under one advisory lock, so two workers never race.
"""
from __future__ import annotations

import datetime as dt
import logging
import re

from sqlalchemy import DDL, PrimaryKeyConstraint, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.compiler import compiles

log = logging.getLogger("heartwatch.retention")

TABLE = "error_occurrences"
KEY = "received_at"
DEFAULT = f"{TABLE}_default"
DAY_NAME = re.compile(rf"^{TABLE}_p(\d{{8}})$")
AHEAD_DAYS = 7
# Partition upkeep (create, detach, drop) holds this transaction-level advisory lock ("hw" "pt").
LOCK_KEY = 0x68770074
# Creating or dropping a partition takes strong locks for milliseconds; behind a long query it would
# wait, and ingest would queue behind it: give up instead, the next run tries again.
LOCK_TIMEOUT = "5s"


class PartitionedPrimaryKey(PrimaryKeyConstraint):
    """``error_occurrences``' primary key: ``id``, and on PostgreSQL ``(id, received_at)``."""

    inherit_cache = True


@compiles(PartitionedPrimaryKey, "postgresql")
def _primary_key_with_partition_key(constraint, compiler, **kw):
    columns = [compiler.preparer.quote(c.name) for c in constraint.columns] + [KEY]
    name = compiler.preparer.format_constraint(constraint)
    return f"{'CONSTRAINT ' + name + ' ' if name else ''}PRIMARY KEY ({', '.join(columns)})"


def attach(table) -> None:
    """``create_all`` (tests, a fresh database) makes the DEFAULT partition with the table."""
    event.listen(table, "after_create", DDL(f"CREATE TABLE {DEFAULT} PARTITION OF {TABLE} DEFAULT")
                 .execute_if(dialect="postgresql"))


def partition_name(day: dt.date) -> str:
    return f"{TABLE}_p{day:%Y%m%d}"


def day_of(name: str) -> dt.date | None:
    match = DAY_NAME.match(name)
    return dt.datetime.strptime(match.group(1), "%Y%m%d").date() if match else None


def is_partition(name: str) -> bool:
    return name == DEFAULT or day_of(name) is not None


def include_name(name, type_, parent_names) -> bool:
    """For Alembic's comparisons: the partitions are no tables of the models."""
    return not (type_ == "table" and name and is_partition(name))


def _bound(day: dt.date) -> str:
    return f"'{day.isoformat()} 00:00:00+00'"


def is_partitioned(connection) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    return bool(connection.execute(text(
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(:t))"), {"t": TABLE}).scalar())


def day_partitions(connection) -> dict[dt.date, str]:
    """The day partitions that exist, by day."""
    names = connection.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(:t)"), {"t": TABLE}).scalars()
    return {day: name for name in names if (day := day_of(name)) is not None}


def _upkeep(connection, lock_timeout: bool) -> None:
    if lock_timeout:
        connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def create_day(connection, day: dt.date, lock_timeout: bool = True) -> int | None:
    """Create ``day``'s partition unless it exists, moving the day's events out of DEFAULT into it
    first; the number of events moved, or None when the partition was there already.

    The partition is made apart and then attached: attaching locks the table only against other
    schema changes, so ingest goes on (only DEFAULT is locked, for the move and its check).
    """
    _upkeep(connection, lock_timeout)
    if day in day_partitions(connection):
        return None
    name, low, high = partition_name(day), _bound(day), _bound(day + dt.timedelta(days=1))
    in_range = f"{KEY} >= {low} AND {KEY} < {high}"
    connection.execute(text(f"LOCK TABLE {DEFAULT} IN ACCESS EXCLUSIVE MODE"))
    connection.execute(text(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
                            "INCLUDING STORAGE)"))
    moved = connection.execute(text(f"INSERT INTO {name} SELECT * FROM {DEFAULT} WHERE {in_range}")).rowcount
    if moved:
        connection.execute(text(f"DELETE FROM {DEFAULT} WHERE {in_range}"))
        log.info("partition %s: %d events moved out of %s", name, moved, DEFAULT)
    connection.execute(text(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM ({low}) TO ({high})"))
    return moved


def drop_day(connection, day: dt.date, lock_timeout: bool = True) -> bool:
    """Detach ``day``'s partition and drop it, with every event of that day; False when there is none."""
    _upkeep(connection, lock_timeout)
    name = day_partitions(connection).get(day)
    if name is None:
        return False
    connection.execute(text(f"ALTER TABLE {TABLE} DETACH PARTITION {name}"))
    connection.execute(text(f"DROP TABLE {name}"))
    return True


def days_ahead(today: dt.date, ahead: int = AHEAD_DAYS) -> list[dt.date]:
    return [today + dt.timedelta(days=n) for n in range(ahead + 1)]


def ensure_days(engine, today: dt.date, ahead: int = AHEAD_DAYS) -> dict:
    """Today's partition and the next ``ahead`` days', each created in a transaction of its own
    (idempotent; two workers at once create each day once). Nothing to do when the table is not
    partitioned (SQLite)."""
    with engine.connect() as connection:
        if not is_partitioned(connection):
            return {"partitioned": False}
        existing = day_partitions(connection)
    created, moved = [], 0
    for day in days_ahead(today, ahead):
        if day in existing:
            continue
        with engine.begin() as connection:
            result = create_day(connection, day)
        if result is not None:
            created.append(partition_name(day))
            moved += result
    if created:
        log.info("partitions created: %s", ", ".join(created))
    return {"partitioned": True, "created": created, "moved_from_default": moved}


def drop_days_before(engine, before: dt.date) -> list[str]:
    """Drop every day partition whose whole day is before ``before``, oldest first, one transaction
    each. A partition another transaction holds past the lock timeout stays for the next run."""
    with engine.connect() as connection:
        if not is_partitioned(connection):
            return []
        old = sorted(day for day in day_partitions(connection) if day < before)
    dropped = []
    for day in old:
        try:
            with engine.begin() as connection:
                if drop_day(connection, day):
                    dropped.append(partition_name(day))
        except OperationalError as exc:
            if getattr(exc.orig, "pgcode", None) != "55P03":  # lock_not_available
                raise
            log.warning("partition %s kept until the next run: %s", partition_name(day), exc.orig)
            break
    return dropped
