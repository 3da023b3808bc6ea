"""Migration 0019 on stored data: each event gets its error's fingerprint, the facets the user, browser and OS
rows ingest writes from then on (by the same rules: tests/web/test_error_tags.py), and each error its users
count; the downgrade takes them away again. On SQLite and PostgreSQL."""
from __future__ import annotations

import json

from sqlalchemy import create_engine, inspect, text

from tests.test_migrations import flask_db, scratch_postgres  # noqa: F401  (the PostgreSQL database fixture)

NOW = "2026-12-01 10:00:00+00:00"
EVENTS = [  # (id, user, extra)
    ("e1", {"id": 7, "email": "ada@example.test"}, {"contexts": {"browser": {"name": "Chrome", "version": "120.0.1"},
                                                                 "os": {"name": "Windows", "version": "10"}}}),
    ("e2", {"id": "7"}, {"contexts": {"browser": {"name": "Chrome", "version": "120.2"}}}),
    ("e3", {"email": "bob@example.test"}, {"contexts": {"browser": {"name": "Firefox"}, "os": {"version": "1"}}}),
    ("e4", {"ip_address": "10.0.0.9"}, None),
    ("e5", None, {"contexts": "not an object"}),
    ("e6", {"id": ""}, None),
]


def _seed(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO services (id, name, slug, platform, ingest_key, dropped_events, active, created_at) "
            "VALUES (1, 'Shop', 'shop', 'javascript', 'key-1', 0, true, :now)"), {"now": NOW})
        connection.execute(text(
            "INSERT INTO error_logs (id, service_id, fingerprint, kind, severity, severity_level, error_type, message, "
            "status, occurrence_count, first_seen, last_seen, regression_count) VALUES ('err-1', 1, 'fp-1', "
            "'error', 'high', 4, 'TypeError', 'x', 'new', 6, :now, :now, 0)"), {"now": NOW})
        for event_id, user, extra in EVENTS:
            connection.execute(text(
                'INSERT INTO error_occurrences (id, error_id, service_id, source, timestamp, received_at, severity, '
                '"user", extra) VALUES (:id, \'err-1\', 1, \'sentry\', :now, :now, \'high\', :user, :extra)'),
                {"id": event_id, "now": NOW, "user": json.dumps(user) if user is not None else None,
                 "extra": json.dumps(extra) if extra is not None else None})
    engine.dispose()


def _read(url: str, *queries: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [connection.execute(text(query)).all() for query in queries] + [
                {c["name"] for c in inspect(connection).get_columns("error_logs")}]
    finally:
        engine.dispose()


def check_0019_fills_fingerprints_users_and_contexts(url: str, tmp_path) -> None:
    flask_db(url, tmp_path, "upgrade", "0016")
    _seed(url)
    flask_db(url, tmp_path, "upgrade")
    fingerprints, facets, users, _ = _read(
        url, "SELECT DISTINCT fingerprint FROM error_occurrences",
        "SELECT key, value, events FROM error_facets WHERE key IN ('user', 'browser', 'os')",
        "SELECT users_count, merged_into_id FROM error_logs")
    assert [tuple(row) for row in fingerprints] == [("fp-1",)]
    assert {(k, v): n for k, v, n in facets} == {
        ("user", "id:7"): 2, ("user", "email:bob@example.test"): 1, ("user", "ip:10.0.0.9"): 1,
        ("browser", "Chrome 120"): 2, ("browser", "Firefox"): 1, ("os", "Windows 10"): 1}
    assert [tuple(row) for row in users] == [(3, None)]

    flask_db(url, tmp_path, "downgrade", "0016")
    left, events, columns = _read(url, "SELECT key FROM error_facets WHERE key IN ('user', 'browser', 'os')",
                                  "SELECT id FROM error_occurrences")
    assert not {"users_count", "merged_into_id"} & columns and left == [] and len(events) == len(EVENTS)


def test_sqlite_0019_fills_fingerprints_users_and_contexts(tmp_path):
    check_0019_fills_fingerprints_users_and_contexts(f"sqlite:///{tmp_path / 'merge.db'}", tmp_path)


def test_postgres_0019_fills_fingerprints_users_and_contexts(scratch_postgres, tmp_path):  # noqa: F811
    check_0019_fills_fingerprints_users_and_contexts(scratch_postgres, tmp_path)
