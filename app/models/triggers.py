"""The database's own rules on ``error_logs``, kept by triggers so that every writer obeys them (the
ingest's upserts, the dashboard, the worker, an operator's SQL):

- ``updated_at`` is the time of the row's last change, unless the change set it itself (PostgreSQL
  and SQLite);
- on PostgreSQL, a new error, a regression and a rise in severity are announced on the channel
  ``heartwatch_feed`` with ``pg_notify`` when their transaction commits. The live feed LISTENs to it
  when there is no Redis (app/platform/feed.py), so several web processes share one feed through
  the database alone. The payload is the feed's event: ``{"type", "error_id", "service_id",
  "severity", "status"}``; the types are the ingest's (app/recording/record.py, ``RecordResult.event``).

The same statements create them for ``db.create_all()`` (tests, a fresh embedded database) and in
the migration that added them (0012), so the two cannot drift apart.
"""
from __future__ import annotations

from sqlalchemy import DDL, event

FEED_CHANNEL = "heartwatch_feed"
# The feed events the trigger announces; everything else the application publishes itself.
TRIGGER_EVENTS = frozenset({"error.created", "error.regressed", "error.severity_raised"})

POSTGRES = (
    """CREATE OR REPLACE FUNCTION heartwatch_touch_updated_at() RETURNS trigger AS $$
BEGIN
    IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN  -- unless the update set it itself
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER error_logs_updated_at BEFORE UPDATE ON error_logs
    FOR EACH ROW EXECUTE FUNCTION heartwatch_touch_updated_at()""",
    f"""CREATE OR REPLACE FUNCTION heartwatch_announce_error() RETURNS trigger AS $$
DECLARE
    kind text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        kind := 'error.created';
    ELSIF NEW.regressed_at IS DISTINCT FROM OLD.regressed_at AND NEW.regressed_at IS NOT NULL THEN
        kind := 'error.regressed';
    ELSIF NEW.severity_raised_at IS DISTINCT FROM OLD.severity_raised_at AND NEW.severity_raised_at IS NOT NULL THEN
        kind := 'error.severity_raised';
    ELSE
        RETURN NULL;
    END IF;
    PERFORM pg_notify('{FEED_CHANNEL}', json_build_object('type', kind, 'error_id', NEW.id,
        'service_id', NEW.service_id, 'severity', NEW.severity, 'status', NEW.status)::text);
    RETURN NULL;
END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER error_logs_announce_insert AFTER INSERT ON error_logs
    FOR EACH ROW EXECUTE FUNCTION heartwatch_announce_error()""",
    """CREATE TRIGGER error_logs_announce_update AFTER UPDATE OF regressed_at, severity_raised_at ON error_logs
    FOR EACH ROW EXECUTE FUNCTION heartwatch_announce_error()""",
)
POSTGRES_DROP = (
    "DROP TRIGGER IF EXISTS error_logs_announce_update ON error_logs",
    "DROP TRIGGER IF EXISTS error_logs_announce_insert ON error_logs",
    "DROP TRIGGER IF EXISTS error_logs_updated_at ON error_logs",
    "DROP FUNCTION IF EXISTS heartwatch_announce_error()",
    "DROP FUNCTION IF EXISTS heartwatch_touch_updated_at()",
)
# SQLite has no BEFORE-UPDATE assignment: the row is touched again after the update, unless the
# update set updated_at itself (recursive triggers are off, so this does not fire again); a migrated
# database's column has no default, so an insert fills it too. A migration that rebuilds error_logs
# on SQLite (batch mode) drops these and must create them again.
SQLITE = (
    """CREATE TRIGGER error_logs_created_at AFTER INSERT ON error_logs
    FOR EACH ROW WHEN NEW.updated_at IS NULL
    BEGIN
        UPDATE error_logs SET updated_at = strftime('%Y-%m-%d %H:%M:%f000', 'now') WHERE id = NEW.id;
    END""",
    """CREATE TRIGGER error_logs_updated_at AFTER UPDATE ON error_logs
    FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
    BEGIN
        UPDATE error_logs SET updated_at = strftime('%Y-%m-%d %H:%M:%f000', 'now') WHERE id = NEW.id;
    END""",
)
SQLITE_DROP = ("DROP TRIGGER IF EXISTS error_logs_updated_at", "DROP TRIGGER IF EXISTS error_logs_created_at")


def statements(dialect: str) -> tuple[str, ...]:
    return POSTGRES if dialect == "postgresql" else SQLITE if dialect == "sqlite" else ()


def drop_statements(dialect: str) -> tuple[str, ...]:
    return POSTGRES_DROP if dialect == "postgresql" else SQLITE_DROP if dialect == "sqlite" else ()


def attach(table) -> None:
    """Create the triggers whenever ``create_all`` creates the table."""
    for dialect in ("postgresql", "sqlite"):
        for statement in statements(dialect):
            event.listen(table, "after_create", DDL(statement.replace("%", "%%")).execute_if(dialect=dialect))
