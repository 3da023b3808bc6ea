"""Migrations: ``flask db upgrade`` on a fresh SQLite file and a fresh PostgreSQL database builds exactly
the schema the models declare (PostgreSQL also gets the reporting views), and ``downgrade base`` undoes it."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app import models  # noqa: F401  (every table registered with the metadata)
from app.config import normalise_database_url
from app.extensions import db
from app.models import partitions

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = normalise_database_url(os.environ.get("TEST_DATABASE_URL"))
REPORTING_VIEWS = {"report_open_errors_by_service", "report_developer_workload", "report_unresolved_critical",
                   "report_daily_error_counts", "report_notification_delivery"}
# Every filter and sort of GET /api/errors/ that an index can serve (q is a substring search).
ERROR_LIST_COLUMNS = ["service_id", "severity_level", "status", "assigned_to_id", "environment", "last_seen",
                      "first_seen", "occurrence_count"]


def flask_db(url: str, instance: Path, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "HEARTWATCH_INSTANCE_PATH": str(instance), "PYTHONPATH": str(ROOT)}
    env.pop("REDIS_URL", None)
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def schema_differences(url: str) -> list:
    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                                   "compare_server_default": False,
                                                                   "include_name": partitions.include_name})
            return compare_metadata(context, db.metadata)
    finally:
        engine.dispose()


def describe(differences: list) -> list[str]:
    """One readable line per difference ("add_table alert_states", "add_column error_logs.slack_channel")."""
    lines = []
    for diff in differences:
        change = diff[0] if isinstance(diff, tuple) else diff[0][0]
        parts = diff if isinstance(diff, tuple) else diff[0]
        names = []
        for part in parts[1:]:
            name = getattr(part, "name", None)
            if name is None and isinstance(part, str):
                name = part
            if name:
                names.append(str(name))
        lines.append(f"{change} {'.'.join(names[:3])}")
    return lines


def leading_index_columns(url: str, table: str) -> set[str]:
    engine = create_engine(normalise_database_url(url))
    try:
        inspector = inspect(engine)
        leading = {index["column_names"][0] for index in inspector.get_indexes(table)}
        leading |= {c["column_names"][0] for c in inspector.get_unique_constraints(table)}
        return leading
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = create_engine(normalise_database_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def check_upgrade_matches_the_models(url: str, instance: Path) -> None:
    flask_db(url, instance, "upgrade")
    differences = describe(schema_differences(url))
    assert not differences, ("the migrations do not build the models' schema (add a revision with "
                             "`flask db migrate`):\n  " + "\n  ".join(differences))
    assert set(ERROR_LIST_COLUMNS) <= leading_index_columns(url, "error_logs")
    assert {"error_id"} <= leading_index_columns(url, "error_occurrences")


def _triggers_of(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                return set(connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
            return set(connection.execute(text(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
    finally:
        engine.dispose()


def _expected_triggers(dialect: str) -> set[str]:
    from app.models import triggers

    return {statement.split()[2] for statement in triggers.statements(dialect) if "CREATE TRIGGER" in statement}


def test_sqlite_upgrade_builds_the_models_schema_and_downgrade_removes_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    check_upgrade_matches_the_models(url, tmp_path)
    assert _triggers_of(url) == _expected_triggers("sqlite") == {"error_logs_created_at", "error_logs_updated_at"}
    flask_db(url, tmp_path, "downgrade", "base")
    assert table_names(url) <= {"alembic_version"}


@pytest.fixture
def scratch_postgres():
    """A new, empty PostgreSQL database beside the test database (``<name>_mig``), dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("TEST_DATABASE_URL is not set: the PostgreSQL migration check needs a server")
    server = make_url(POSTGRES_URL)
    name = f"{server.database}_mig"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_postgres_upgrade_builds_the_models_schema_and_the_reporting_views(scratch_postgres, tmp_path):
    check_upgrade_matches_the_models(scratch_postgres, tmp_path)
    assert _triggers_of(scratch_postgres) == _expected_triggers("postgresql") == {
        "error_logs_updated_at", "error_logs_announce_insert", "error_logs_announce_update"}
    engine = create_engine(scratch_postgres)
    try:
        with engine.connect() as connection:
            views = set(connection.execute(text(
                "SELECT table_name FROM information_schema.views WHERE table_schema = 'public'")).scalars())
            assert REPORTING_VIEWS <= views
            for view in REPORTING_VIEWS:  # each one is valid SQL against the migrated tables
                connection.execute(text(f"SELECT * FROM {view} LIMIT 1")).all()
    finally:
        engine.dispose()
    flask_db(scratch_postgres, tmp_path, "downgrade", "base")
    assert table_names(scratch_postgres) <= {"alembic_version"}


def _upgraded_with_an_error(url: str, tmp_path, revision: str, **error):
    """A database upgraded to ``revision`` with one service (id 1) and its error 'e1' (``error``: the
    columns that differ from a new high error seen once); its engine."""
    flask_db(url, tmp_path, "upgrade", revision)
    columns = {"id": "e1", "service_id": 1, "fingerprint": "f", "severity": "high", "severity_level": 4,
               "error_type": "E", "message": "m", "status": "new", "occurrence_count": 1, "regression_count": 0,
               "first_seen": "2026-05-01 09:00:00.000000", "last_seen": "2026-05-01 09:00:00.000000", **error}
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO services (id, name, slug, platform, ingest_key, dropped_events, active, created_at) "
            "VALUES (1, 'Checkout', 'checkout', 'python', 'k1', 0, 1, '2026-05-01 00:00:00.000000')"))
        connection.execute(text(f"INSERT INTO error_logs ({', '.join(columns)}) "
                                f"VALUES ({', '.join(':' + name for name in columns)})"), columns)
    return engine


def test_open_escalations_keep_their_error_s_open_stretch_through_the_upgrade(tmp_path):
    """An error escalated before escalations knew their open stretch is not escalated again at that level."""
    url = f"sqlite:///{tmp_path / 'stretch.db'}"
    engine = _upgraded_with_an_error(url, tmp_path, "0004", severity="critical", occurrence_count=2,
                                     regression_count=1, last_seen="2026-05-03 09:00:00.000000",
                                     regressed_at="2026-05-03 09:00:00.000000")
    with engine.begin() as connection:
        # Level 1 before the error was resolved, closed then; a manual level 1 after its regression, open.
        for escalation_id, automatic, created, resolved in (
                (1, 1, "2026-05-01 10:01:00.000000", "2026-05-02 00:00:00.000000"),
                (2, 0, "2026-05-03 10:01:00.000000", None)):
            connection.execute(text(
                "INSERT INTO error_escalations (id, error_id, level, reason, automatic, created_at, resolved_at) "
                "VALUES (:id, 'e1', 1, 'r', :automatic, :created, :resolved)"),
                {"id": escalation_id, "automatic": automatic, "created": created, "resolved": resolved})
    engine.dispose()
    flask_db(url, tmp_path, "upgrade")
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, open_since FROM error_escalations ORDER BY id")).all()
    engine.dispose()
    assert [(i, str(since)[:19]) for i, since in rows] == [(1, "2026-05-01 10:01:00"), (2, "2026-05-03 09:00:00")]


def _seed_old_on_call(url: str) -> None:
    """Before 0016: Ann's flag set, Bob's one-off shift, Cy covering for Bob; Dee off call."""
    engine = create_engine(url)
    with engine.begin() as connection:
        for developer_id, name, on_call in ((1, "Ann", True), (2, "Bob", False), (3, "Cy", False), (4, "Dee", False)):
            connection.execute(text(
                "INSERT INTO developers (id, name, email, role, on_call, max_load, active, session_version, "
                "must_change_password, created_at) VALUES (:id, :name, :email, 'developer', :on_call, 10, :yes, 0, "
                ":no, '2026-05-01 00:00:00')"),
                {"id": developer_id, "name": name, "email": f"{name.lower()}@example.test", "on_call": on_call,
                 "yes": True, "no": False})
        connection.execute(text(
            "INSERT INTO oncall_shifts (developer_id, starts_at, ends_at, rotation, note, created_at) VALUES "
            "(2, '2026-05-04 09:00:00+00:00', '2026-05-05 09:00:00+00:00', 'week 19', 'release day', "
            "'2026-05-01 00:00:00+00:00')"))
        connection.execute(text(
            "INSERT INTO oncall_overrides (developer_id, replaces_id, starts_at, ends_at, reason, created_at) VALUES "
            "(3, 2, '2026-05-04 12:00:00+00:00', '2026-05-04 14:00:00+00:00', 'dentist', '2026-05-01 00:00:00+00:00')"))
    engine.dispose()


def _on_call_after_upgrade(url: str, tmp_path) -> dict[str, set[int]]:
    from app import create_app
    from app.config import TestConfig
    from app.triage import schedules

    moments = {"flag only": "2026-05-01T12:00:00+00:00", "shift": "2026-05-04T10:00:00+00:00",
               "cover": "2026-05-04T13:00:00+00:00"}
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, INGEST_SPOOL_DIR=str(tmp_path / "spool"))
    with app.app_context():
        try:
            return {label: schedules.on_call_ids(at=dt.datetime.fromisoformat(at)) for label, at in moments.items()}
        finally:
            db.session.remove()
            db.engine.dispose()


def check_on_call_kept_through_0016(url: str, tmp_path) -> None:
    flask_db(url, tmp_path, "upgrade", "0011")
    _seed_old_on_call(url)
    flask_db(url, tmp_path, "upgrade")
    engine = create_engine(url)
    with engine.connect() as connection:
        default = connection.execute(text("SELECT id, name FROM oncall_schedules WHERE is_default")).one()
        layers = connection.execute(text("SELECT kind, participants FROM oncall_layers WHERE schedule_id = :s"),
                                    {"s": default.id}).all()
        overrides = connection.execute(text(
            "SELECT developer_id, replaces_id, reason FROM oncall_overrides WHERE schedule_id = :s ORDER BY id"),
            {"s": default.id}).all()
        columns = {c["name"] for c in inspect(connection).get_columns("developers")}
    engine.dispose()
    participants = layers[0][1] if isinstance(layers[0][1], list) else __import__("json").loads(layers[0][1])
    assert (default.name, [kind for kind, _ in layers], participants) == ("Default", ["switch"], [[1]])
    assert [tuple(o) for o in overrides] == [(3, 2, "dentist"), (2, None, "release day")]
    assert "on_call" not in columns and "oncall_shifts" not in table_names(url)
    # The same people answer at the same moments as before the upgrade, but for the shift, which is an
    # override now: during it Bob answers instead of Ann.
    assert _on_call_after_upgrade(url, tmp_path) == {"flag only": {1}, "shift": {2}, "cover": {3}}
    flask_db(url, tmp_path, "downgrade", "0011")
    engine = create_engine(url)
    with engine.connect() as connection:
        flags = connection.execute(text("SELECT id FROM developers WHERE on_call ORDER BY id")).scalars().all()
        kept = connection.execute(text("SELECT developer_id, replaces_id FROM oncall_overrides ORDER BY id")).all()
    engine.dispose()
    assert flags == [1] and [tuple(k) for k in kept] == [(3, 2), (2, None)]


def test_sqlite_upgrade_to_schedules_keeps_flags_shifts_and_overrides(tmp_path):
    check_on_call_kept_through_0016(f"sqlite:///{tmp_path / 'oncall.db'}", tmp_path)


def test_postgres_upgrade_to_schedules_keeps_flags_shifts_and_overrides(scratch_postgres, tmp_path):
    check_on_call_kept_through_0016(scratch_postgres, tmp_path)


def check_releases_filled_through_0018(url: str, tmp_path) -> None:
    """0018 numbers each service's releases in the order the facets first saw them and gives the errors
    their first and newest release; its downgrade keeps error_logs' triggers."""
    flask_db(url, tmp_path, "upgrade", "0016")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO services (id, name, slug, platform, ingest_key, dropped_events, active, created_at) "
            "VALUES (1, 'Checkout', 'checkout', 'python', 'k1', 0, :yes, '2026-05-01 00:00:00.000000')"),
            {"yes": True})
        for error_id in ("e1", "e2", "e3"):
            connection.execute(text(
                "INSERT INTO error_logs (id, service_id, fingerprint, kind, severity, severity_level, error_type, "
                "message, status, occurrence_count, regression_count, first_seen, last_seen) VALUES (:id, 1, :id, "
                "'error', 'high', 4, 'E', 'm', 'new', 2, 0, '2026-05-01 09:00:00.000000', "
                "'2026-05-03 09:00:00.000000')"), {"id": error_id})
        # "10.0" came before "9.0" here: the order first seen, not the spelling, numbers them.
        for error_id, key, value, first in (("e1", "release", "10.0", "2026-05-01 09:00:00.000000"),
                                            ("e1", "release", "9.0", "2026-05-03 09:00:00.000000"),
                                            ("e2", "release", "9.0", "2026-05-02 09:00:00.000000"),
                                            ("e3", "environment", "production", "2026-05-01 09:00:00.000000")):
            connection.execute(text(
                "INSERT INTO error_facets (error_id, key, value, events, first_seen, last_seen) VALUES "
                "(:error, :key, :value, 1, :first, :first)"), {"error": error_id, "key": key, "value": value,
                                                               "first": first})
    engine.dispose()
    flask_db(url, tmp_path, "upgrade")
    engine = create_engine(url)
    with engine.connect() as connection:
        releases = dict(connection.execute(text("SELECT version, id FROM releases ORDER BY id")).all())
        errors = {row[0]: tuple(row[1:]) for row in connection.execute(text(
            "SELECT id, first_release_id, last_release_id, snoozed_at FROM error_logs"))}
    engine.dispose()
    assert list(releases) == ["10.0", "9.0"]
    assert errors == {"e1": (releases["10.0"], releases["9.0"], None), "e2": (releases["9.0"], releases["9.0"], None),
                      "e3": (None, None, None)}
    flask_db(url, tmp_path, "downgrade", "0016")
    assert "releases" not in table_names(url)
    assert _expected_triggers("postgresql" if url.startswith("postgresql") else "sqlite") <= _triggers_of(url)


def test_sqlite_upgrade_to_releases_numbers_them_in_first_seen_order(tmp_path):
    check_releases_filled_through_0018(f"sqlite:///{tmp_path / 'releases.db'}", tmp_path)


def test_postgres_upgrade_to_releases_numbers_them_in_first_seen_order(scratch_postgres, tmp_path):
    check_releases_filled_through_0018(scratch_postgres, tmp_path)


def test_the_hourly_counts_are_filled_from_the_stored_events_by_the_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'rollups.db'}"
    engine = _upgraded_with_an_error(url, tmp_path, "0016", occurrence_count=3,
                                     last_seen="2026-05-01 10:30:00.000000")
    with engine.begin() as connection:
        for n, (moment, severity) in enumerate((("2026-05-01 09:05:00.000000", "high"),
                                                ("2026-05-01 09:59:59.999999", "high"),
                                                ("2026-05-01 10:30:00.000000", "critical"))):
            connection.execute(text(
                "INSERT INTO error_occurrences (id, error_id, service_id, source, timestamp, received_at, severity) "
                "VALUES (:id, 'e1', 1, 'api', :moment, :moment, :severity)"),
                {"id": f"o{n}", "moment": moment, "severity": severity})
    engine.dispose()
    flask_db(url, tmp_path, "upgrade")
    engine = create_engine(url)
    with engine.connect() as connection:
        errors = connection.execute(text("SELECT error_id, hour, severity, events FROM error_hourly_counts "
                                         "ORDER BY hour")).all()
        services = connection.execute(text("SELECT service_id, hour, severity, events FROM service_hourly_counts "
                                           "ORDER BY hour")).all()
    engine.dispose()
    assert [tuple(r) for r in errors] == [("e1", "2026-05-01 09:00:00.000000", "high", 2),
                                          ("e1", "2026-05-01 10:00:00.000000", "critical", 1)]
    assert [tuple(r) for r in services] == [(1, "2026-05-01 09:00:00.000000", "high", 2),
                                            (1, "2026-05-01 10:00:00.000000", "critical", 1)]
def test_postgres_upgrade_partitions_the_events_by_day_and_keeps_every_one(scratch_postgres, tmp_path):
    """0021 moves every existing event into its day's partition (UTC), makes today's and the week
    ahead's and an empty DEFAULT one, keeps the reporting view working; the downgrade keeps them all."""
    flask_db(scratch_postgres, tmp_path, "upgrade", "0016")
    today = dt.datetime.now(dt.timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0)
    received = [today - dt.timedelta(days=40), today - dt.timedelta(days=40, hours=11, minutes=59),
                today - dt.timedelta(days=3), today.replace(hour=23, minute=59, second=59), today,
                today + dt.timedelta(days=30)]
    engine = create_engine(scratch_postgres)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO services (id, name, slug, platform, ingest_key, dropped_events, active, created_at) "
            "VALUES (1, 'Checkout', 'checkout', 'python', 'k1', 0, true, now())"))
        connection.execute(text(
            "INSERT INTO error_logs (id, service_id, fingerprint, severity, severity_level, error_type, message, "
            "status, occurrence_count, regression_count, first_seen, last_seen) VALUES ('e1', 1, 'f', 'high', 4, "
            "'E', 'm', 'new', 6, 0, now(), now())"))
        for n, moment in enumerate(received):
            connection.execute(text(
                "INSERT INTO error_occurrences (id, error_id, service_id, source, timestamp, received_at, severity) "
                "VALUES (:id, 'e1', 1, 'api', :at, :at, 'high')"), {"id": f"o{n}", "at": moment})
    engine.dispose()

    flask_db(scratch_postgres, tmp_path, "upgrade")
    engine = create_engine(scratch_postgres)
    try:
        with engine.connect() as connection:
            where = dict(connection.execute(text(
                "SELECT id, tableoid::regclass::text FROM error_occurrences")).all())
            days = partitions.day_partitions(connection)
            daily = connection.execute(text("SELECT sum(occurrences) FROM report_daily_error_counts")).scalar_one()
            key = connection.execute(text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'pk_error_occurrences'")).scalar_one()
        assert where == {f"o{n}": partitions.partition_name(moment.date()) for n, moment in enumerate(received)}
        assert set(partitions.days_ahead(today.date())) <= set(days)
        assert partitions.partition_name((today - dt.timedelta(days=40)).date()) in days.values()
        assert daily == len(received) and key == "PRIMARY KEY (id, received_at)"
        assert not describe(schema_differences(scratch_postgres))
    finally:
        engine.dispose()

    flask_db(scratch_postgres, tmp_path, "downgrade", "0016")
    engine = create_engine(scratch_postgres)
    try:
        with engine.connect() as connection:
            assert not partitions.is_partitioned(connection)
            kept = connection.execute(text("SELECT id, received_at FROM error_occurrences ORDER BY id")).all()
            assert connection.execute(text("SELECT count(*) FROM report_daily_error_counts")).scalar_one() > 0
        assert [(i, at) for i, at in kept] == [(f"o{n}", moment) for n, moment in enumerate(received)]
        assert not [name for name in table_names(scratch_postgres) if partitions.is_partition(name)]
    finally:
        engine.dispose()
