"""snoozed errors (what wakes them) and releases (each service's, in first-seen order; errors' first, newest,
regressed-in and resolved-in releases), the releases filled from the stored facets

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 18:00:00

"""
import sqlalchemy as sa
from alembic import op

from app.models import triggers

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# Columns added to error_logs with plain ADD COLUMN: on SQLite a batch rebuild of error_logs would drop
# its triggers and cascade its dependants' rows away (migration 0012).
SNOOZE_COLUMNS = (("snoozed_at", sa.DateTime(timezone=True)), ("snoozed_until", sa.DateTime(timezone=True)),
                  ("snooze_events", sa.Integer()), ("snooze_wake_count", sa.Integer()),
                  ("snooze_per_hour", sa.Integer()))
RELEASE_COLUMNS = ("first_release_id", "last_release_id", "regressed_release_id", "resolved_in_release_id")
INDEXES = (("ix_error_logs_snoozed_until", "snoozed_until"), ("ix_error_logs_first_release_id", "first_release_id"),
           ("ix_error_logs_regressed_release_id", "regressed_release_id"))

# Every release the stored facets know, numbered in the order they were first seen.
FILL_RELEASES = """
INSERT INTO releases (service_id, version, first_seen)
SELECT e.service_id, f.value, min(f.first_seen) FROM error_facets f JOIN error_logs e ON e.id = f.error_id
WHERE f.key = 'release' AND length(f.value) <= 128
GROUP BY e.service_id, f.value ORDER BY min(f.first_seen), e.service_id, f.value
"""
_OF_ERROR = ("FROM error_facets f JOIN releases r ON r.service_id = error_logs.service_id AND r.version = f.value "
             "WHERE f.error_id = error_logs.id AND f.key = 'release'")
FILL_ERRORS = f"""
UPDATE error_logs SET
    first_release_id = (SELECT r.id {_OF_ERROR} ORDER BY f.first_seen, r.id LIMIT 1),
    last_release_id = (SELECT max(r.id) {_OF_ERROR})
WHERE EXISTS (SELECT 1 FROM error_facets f WHERE f.error_id = error_logs.id AND f.key = 'release')
"""


def upgrade():
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_releases_service_id_services"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_releases")),
        sa.UniqueConstraint("service_id", "version", name="uq_releases_service_version"),
    )
    for name, type_ in SNOOZE_COLUMNS:
        op.add_column("error_logs", sa.Column(name, type_, nullable=True))
    for name in RELEASE_COLUMNS:
        op.add_column("error_logs", sa.Column(name, sa.Integer(), nullable=True))
    for index, column in INDEXES:
        op.create_index(index, "error_logs", [column], unique=False)
    connection = op.get_bind()
    connection.execute(sa.text(FILL_RELEASES))
    connection.execute(sa.text(FILL_ERRORS))


def _sqlite_foreign_keys(state: str) -> None:
    # The batch drop below copies error_logs on SQLite: with foreign keys on, dropping the original would
    # delete every row that references it (events, escalations ...). Outside the transaction: SQLite
    # ignores the pragma inside one.
    with op.get_context().autocommit_block():
        op.execute(f"PRAGMA foreign_keys={state}")


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_foreign_keys("OFF")
    for index, _ in INDEXES:
        op.drop_index(index, table_name="error_logs")
    # SQLite rebuilds the table, and its triggers with it: they are made again after.
    for statement in triggers.drop_statements(dialect):
        op.execute(statement)
    with op.batch_alter_table("error_logs", schema=None) as batch_op:
        for name in (*RELEASE_COLUMNS, *(n for n, _ in SNOOZE_COLUMNS)):
            batch_op.drop_column(name)
    for statement in triggers.statements(dialect):
        op.execute(statement)
    op.drop_table("releases")
    if dialect == "sqlite":
        _sqlite_foreign_keys("ON")
