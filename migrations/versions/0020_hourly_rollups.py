"""hourly rollups: events per error, and per service and severity, per hour, filled from the stored events

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 18:30:00

"""
import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# The hour of an event as ingest writes it (app/recording/rollups.py): its timestamp truncated to the UTC
# hour; on SQLite as SQLAlchemy stores a DateTime (naive UTC text with microseconds), so comparisons hold.
_HOUR = {
    "postgresql": "date_trunc('hour', timestamp AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
    "sqlite": "strftime('%Y-%m-%d %H:00:00.000000', timestamp)",
}


def backfill_statements(dialect: str) -> list[str]:
    hour = _HOUR["postgresql" if dialect == "postgresql" else "sqlite"]
    return [
        f"INSERT INTO error_hourly_counts (error_id, hour, severity, events) "
        f"SELECT error_id, {hour}, severity, count(*) FROM error_occurrences GROUP BY error_id, {hour}, severity",
        f"INSERT INTO service_hourly_counts (hour, service_id, severity, events) "
        f"SELECT {hour}, service_id, severity, count(*) FROM error_occurrences "
        f"WHERE service_id IN (SELECT id FROM services) GROUP BY {hour}, service_id, severity",
    ]


# PostgreSQL's reporting view of daily counts reads the hourly counts too, so it stays exact when events
# are deleted (the same columns; per the error's service, as ingest counts them). A downgrade puts back
# the definition of 0001.
DAILY_COUNTS_VIEW = """
        SELECT date_trunc('day', h.hour AT TIME ZONE 'UTC')::date AS day, e.service_id,
               h.severity, sum(h.events) AS occurrences, count(DISTINCT h.error_id) AS errors
        FROM error_hourly_counts h JOIN error_logs e ON e.id = h.error_id
        GROUP BY 1, 2, 3"""


def _daily_counts_view(definition: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE OR REPLACE VIEW report_daily_error_counts AS {definition}")


def _initial_definition() -> str:
    path = Path(__file__).with_name("0001_initial_schema.py")
    spec = importlib.util.spec_from_file_location("migration_0001", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.REPORTING_VIEWS["report_daily_error_counts"]


def upgrade():
    op.create_table(
        "error_hourly_counts",
        sa.Column("error_id", sa.String(length=36), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["error_id"], ["error_logs.id"],
                                name=op.f("fk_error_hourly_counts_error_id_error_logs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("error_id", "hour", "severity", name=op.f("pk_error_hourly_counts")),
    )
    op.create_index("ix_error_hourly_counts_hour", "error_hourly_counts", ["hour"])
    op.create_table(
        "service_hourly_counts",
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"],
                                name=op.f("fk_service_hourly_counts_service_id_services"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("hour", "service_id", "severity", name=op.f("pk_service_hourly_counts")),
    )
    for statement in backfill_statements(op.get_bind().dialect.name):
        op.execute(statement)
    _daily_counts_view(DAILY_COUNTS_VIEW)


def downgrade():
    _daily_counts_view(_initial_definition())
    op.drop_table("service_hourly_counts")
    op.drop_index("ix_error_hourly_counts_hour", table_name="error_hourly_counts")
    op.drop_table("error_hourly_counts")
