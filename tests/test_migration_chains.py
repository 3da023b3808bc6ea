"""Migration 0017 on a database with data, on SQLite and PostgreSQL: the default chains say what the fixed
rule said (honouring a changed wait setting), an error escalated at level 1 before the upgrade goes on to
level 2 along the default chain, and the downgrade keeps the escalations."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import create_engine, text

from app.extensions import db
from tests.test_migrations import flask_db, scratch_postgres  # noqa: F401  (the fixture)

UTC = dt.timezone.utc


def _seed_before_chains(url: str) -> None:
    """At 0016: Lena leads Checkout; two admins; a critical error open since 09:00, escalated to Lena at
    10:01 (level 1, automatic); the critical wait changed to 30 minutes at run time. Moments are written
    as SQLAlchemy writes them (on SQLite, text compared as text)."""
    engine = create_engine(url)
    zone = "" if url.startswith("sqlite") else "+00:00"

    def moment(text_: str) -> str:
        return f"{text_}.000000{zone}"

    with engine.begin() as connection:
        for developer_id, name, role in ((1, "Lena", "lead"), (2, "Ada", "admin"), (3, "Abe", "admin")):
            connection.execute(text(
                "INSERT INTO developers (id, name, email, role, max_load, active, session_version, "
                "must_change_password, created_at) VALUES (:id, :name, :email, :role, 10, :yes, 0, :no, :at)"),
                {"id": developer_id, "name": name, "email": f"{name.lower()}@example.test", "role": role,
                 "yes": True, "no": False, "at": moment("2026-05-01 00:00:00")})
        connection.execute(text(
            "INSERT INTO services (id, name, slug, platform, ingest_key, dropped_events, active, lead_id, created_at) "
            "VALUES (1, 'Checkout', 'checkout', 'python', 'k1', 0, :yes, 1, :at)"),
            {"yes": True, "at": moment("2026-05-01 00:00:00")})
        connection.execute(text(
            "INSERT INTO error_logs (id, service_id, fingerprint, severity, severity_level, error_type, message, "
            "status, occurrence_count, regression_count, first_seen, last_seen, kind) VALUES ('e1', 1, 'f', "
            "'critical', 4, 'E', 'm', 'new', 1, 0, :opened, :opened, 'error')"), {"opened": moment("2026-05-04 09:00:00")})
        connection.execute(text(
            "INSERT INTO error_escalations (error_id, escalated_to_id, level, reason, automatic, created_at, "
            "open_since) VALUES ('e1', 1, 1, 'critical error unresolved for more than 1 h', :yes, :at, :opened)"),
            {"yes": True, "at": moment("2026-05-04 10:01:00"), "opened": moment("2026-05-04 09:00:00")})
        connection.execute(text(
            "INSERT INTO settings (key, value, updated_at) VALUES ('escalate_critical_after_minutes', '30', :at)"),
            {"at": moment("2026-05-01 00:00:00")})
    engine.dispose()


def _sweep(url: str, tmp_path, moment: dt.datetime) -> list[tuple]:
    from app import create_app
    from app.config import TestConfig
    from app.models import ErrorEscalation
    from app.triage.escalation import escalate_unresolved

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, INGEST_SPOOL_DIR=str(tmp_path / "spool"))
    with app.app_context():
        try:
            escalate_unresolved(moment)
            return [(e.level, e.escalated_to_id, e.chain_id, sorted((e.plan or {}).get("recipients") or []))
                    for e in db.session.query(ErrorEscalation).order_by(ErrorEscalation.level)]
        finally:
            db.session.remove()
            db.engine.dispose()


def check_default_chains_through_0017(url: str, tmp_path) -> None:
    flask_db(url, tmp_path, "upgrade", "0016")
    _seed_before_chains(url)
    flask_db(url, tmp_path, "upgrade")
    engine = create_engine(url)
    with engine.connect() as connection:
        chains = connection.execute(text(
            "SELECT id, name, service_id, severity, repeat_times FROM escalation_chains ORDER BY id")).all()
        steps = {severity: [(kind, setting, role, channels if isinstance(channels, list) or channels is None
                             else json.loads(channels))
                            for kind, setting, role, channels in connection.execute(text(
                                "SELECT kind, setting, role, channels FROM escalation_steps WHERE chain_id = :c "
                                "ORDER BY position"), {"c": chain_id})]
                 for chain_id, _, _, severity, _ in chains}
    engine.dispose()
    assert [tuple(c)[1:] for c in chains] == [("Default critical", None, "critical", 0),
                                              ("Default high", None, "high", 0)]
    assert steps["critical"] == [("wait", "escalate_critical_after_minutes", None, None),
                                 ("lead", None, None, ["email", "sms"]),
                                 ("wait", "escalate_critical_after_minutes", None, None),
                                 ("role", None, "admin", ["email", "sms"])]
    assert steps["high"][1] == ("lead", None, None, ["email", "slack"])
    critical_id = chains[0].id

    # The wait setting was changed to 30 minutes: level 2 is due at 10:31, not at 11:01.
    assert _sweep(url, tmp_path, dt.datetime(2026, 5, 4, 10, 30, tzinfo=UTC)) == [(1, 1, None, [])]
    after = _sweep(url, tmp_path, dt.datetime(2026, 5, 4, 10, 32, tzinfo=UTC))
    assert after == [(1, 1, None, []), (2, 2, critical_id, [2, 3])]
    assert _sweep(url, tmp_path, dt.datetime(2026, 5, 5, 10, 32, tzinfo=UTC)) == after  # the chain is done

    flask_db(url, tmp_path, "downgrade", "0016")
    engine = create_engine(url)
    with engine.connect() as connection:
        levels = connection.execute(text("SELECT level FROM error_escalations ORDER BY level")).scalars().all()
    engine.dispose()
    assert levels == [1, 2]


def test_sqlite_upgrade_writes_the_default_chains_and_keeps_escalating_from_level_one(tmp_path):
    check_default_chains_through_0017(f"sqlite:///{tmp_path / 'chains.db'}", tmp_path)


def test_postgres_upgrade_writes_the_default_chains_and_keeps_escalating_from_level_one(scratch_postgres, tmp_path):  # noqa: F811
    check_default_chains_through_0017(scratch_postgres, tmp_path)
