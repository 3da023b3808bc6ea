"""error_facets: written by the ingest transaction (app/recording/facets.py) and filled from stored
occurrences by migration 0014; the two must agree."""
from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

from sqlalchemy import delete, select, text

from app.extensions import db
from app.ingest.incoming import IncomingError
from app.models import ErrorFacet
from app.models.types import utcnow
from app.recording.record import record_errors
from tests.factories import ingest, make_service, submit_concurrently

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"
MIGRATION = VERSIONS / "0014_error_facets.py"
USERS_MIGRATION = VERSIONS / "0019_merge_and_comments.py"


def event(service_id, error_type="KeyError", **fields) -> IncomingError:
    return IncomingError(service_id=service_id, source="api", error_type=error_type, message="'input'",
                         platform="python", **fields)


def at(**delta) -> dt.datetime:
    return (utcnow() - dt.timedelta(**delta)).replace(microsecond=0)


def facets() -> dict[tuple[str, str, str], tuple[int, dt.datetime, dt.datetime]]:
    db.session.expire_all()
    return {(row.error_id, row.key, row.value): (row.events, row.first_seen, row.last_seen)
            for row in db.session.execute(select(ErrorFacet)).scalars()}


def of(error_id: str) -> dict[tuple[str, str], tuple]:
    return {(key, value): figures for (owner, key, value), figures in facets().items() if owner == error_id}


def test_every_event_adds_its_environment_release_server_user_and_tags(service):
    first, second, third = at(hours=3), at(hours=2), at(hours=1)
    results = record_errors([
        event(service.id, environment="staging", release="1.0", server_name="web-1", timestamp=first,
              user={"id": 42, "email": "ada@example.test", "ip_address": "10.0.0.7"}, tags={"browser": "Firefox"}),
        event(service.id, environment="production", release="1.0", server_name="web-2", timestamp=third,
              user={"id": "42"}, tags={"browser": "Firefox", "os": "Linux"}),
    ])
    record_errors([event(service.id, environment="production", timestamp=second, tags={"browser": "Chrome"})])
    error_id = results[0].error_id
    assert of(error_id) == {
        ("environment", "staging"): (1, first, first), ("environment", "production"): (2, second, third),
        ("release", "1.0"): (2, first, third), ("server", "web-1"): (1, first, first),
        ("server", "web-2"): (1, third, third), ("user.id", "42"): (2, first, third),
        ("user.email", "ada@example.test"): (1, first, first), ("user.ip_address", "10.0.0.7"): (1, first, first),
        ("t.browser", "Firefox"): (2, first, third), ("t.os", "Linux"): (1, third, third),
        ("t.browser", "Chrome"): (1, second, second), ("user", "id:42"): (2, first, third),
    }


def test_a_resent_event_adds_nothing_and_values_past_the_column_are_left_out(service):
    event_id = "3f2c1a9e-0000-4000-8000-000000000001"
    once = record_errors([event(service.id, environment="production", event_id=event_id,
                                server_name="s" * 201, user={"id": True, "email": "e" * 201, "ip_address": None})])
    record_errors([event(service.id, environment="production", event_id=event_id)])
    assert {key: figures[0] for key, figures in of(once[0].error_id).items()} == {("environment", "production"): 1}


def test_the_group_commit_writer_sums_a_batch_into_one_row_per_value(app, service):
    app.config.update(INGEST_BATCH_MAX=50, INGEST_BATCH_WAIT_MS=20)
    answers = submit_concurrently(app, [event(service.id, environment="production", tags={"k": "v"})
                                        for _ in range(8)])
    error_id = answers[0].error_id
    counts = {key: figures[0] for key, figures in of(error_id).items()}
    assert counts == {("environment", "production"): 8, ("t.k", "v"): 8}


def test_a_database_error_of_the_facets_is_sqlalchemy_s_so_the_writer_treats_it_as_any_other(app, service):
    from sqlalchemy.exc import DBAPIError

    from app.recording import facets as facet_writer

    with db.engine.connect() as conn:
        conn.exec_driver_sql("DROP TABLE error_facets" if conn.dialect.name == "sqlite"
                             else "ALTER TABLE error_facets RENAME TO error_facets_away")
        try:
            facet_writer.write(conn, {("e", "environment", "production"): [1, utcnow(), utcnow()]})
        except DBAPIError as exc:
            assert "error_facets" in str(exc)
        else:
            raise AssertionError("the missing table went unnoticed")
        finally:
            conn.rollback()


def _migration(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def backfill(dialect: str) -> None:
    """The facets of the stored events as the migrations fill them: 0014's, then 0019's users, browsers, OSes."""
    db.session.execute(text(_migration(MIGRATION).backfill_statement(dialect)))
    for statement in _migration(USERS_MIGRATION).backfill_statements(dialect):
        db.session.execute(text(statement))


def test_the_migration_s_backfill_writes_what_ingest_writes(client, service):
    other = make_service("Laravel Web", platform="php")
    for n, payload in enumerate([
        {"error_type": "KeyError", "message": "a", "environment": "production", "release": "2.0",
         "server_name": "api-1", "user": {"id": 7, "email": "ada@example.test", "ip_address": "10.1.2.3",
                                         "name": "Ada"}, "tags": {"browser": "Firefox", "empty": "", "n": 3},
         "extra": {"contexts": {"browser": {"name": "Chrome", "version": "120.0.1"}, "os": {"name": "Linux"}}}},
        {"error_type": "KeyError", "message": "a", "environment": "staging", "user": {"id": "7"},
         "tags": [["browser", "Firefox"], ["region", "eu-west-1"]]},
        {"error_type": "TypeError", "message": "b", "environment": "production", "release": "r" * 128,
         "user": {"id": 1.5, "email": None, "ip_address": ["x"]}, "tags": {"browser": "Chrome"}},
        {"error_type": "TypeError", "message": "b", "user": {"id": False, "email": "bob@example.test"},
         "server_name": "x" * 201, "extra": {"contexts": {"browser": {"name": "Firefox", "version": 121},
                                                          "os": {"name": "", "version": "1"}}}},
        {"error_type": "TypeError", "message": "b", "user": {"ip_address": "10.9.9.9"}},
        {"error_type": "ValueError", "message": "c"},
    ]):
        response = ingest(client, service if n % 2 == 0 else other, {**payload, "timestamp": at(minutes=n).isoformat()})
        assert response.status_code == 201, response.json
    written = facets()
    assert len(written) > 10
    db.session.execute(delete(ErrorFacet))
    backfill(db.engine.dialect.name)
    db.session.commit()
    assert facets() == written


def test_nul_characters_and_overlong_tag_keys_are_kept_as_the_occurrence_keeps_them(service):
    nul = "\x00"
    result = record_errors([event(service.id, tags={f"k{nul}": f"v{nul}", "x" * 79: "long key"},
                                  user={"id": f"7{nul}"})])[0]
    written = of(result.error_id)
    assert set(written) == {("t.k", "v"), ("user.id", "7"), ("user", "id:7")}
    db.session.execute(delete(ErrorFacet))
    backfill(db.engine.dialect.name)
    db.session.commit()
    assert of(result.error_id) == written
