"""merges, comments, affected users: errors merged into others, comments on errors, each error's users count,
each event's fingerprint, and the user, browser and OS facets

The stored events get the fingerprint of the error they belong to (what a later merge's unmerge reads), the
facets the user, browser and OS rows that ingest writes from now on (app/recording/facets.py), by the same
rules, and every error the count of its distinct users.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 18:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.models import triggers

revision, down_revision, branch_labels, depends_on = "0019", "0018", None, None

# A user is its id, else its e-mail, else its address (text or a number, not empty); a browser or an OS is
# the context's name and its version's first part ("Chrome 120").
_POSTGRESQL_USERS = """
SELECT error_id, timestamp, CASE
    WHEN jsonb_typeof(u -> 'id') IN ('string', 'number') AND u ->> 'id' <> '' THEN 'id:' || (u ->> 'id')
    WHEN jsonb_typeof(u -> 'email') IN ('string', 'number') AND u ->> 'email' <> '' THEN 'email:' || (u ->> 'email')
    WHEN jsonb_typeof(u -> 'ip_address') IN ('string', 'number') AND u ->> 'ip_address' <> ''
        THEN 'ip:' || (u ->> 'ip_address')
    END AS value
FROM (SELECT error_id, timestamp, "user" AS u FROM error_occurrences WHERE jsonb_typeof("user") = 'object') AS o"""
_POSTGRESQL_CONTEXT = """
SELECT error_id, timestamp, c ->> 'name' || CASE WHEN jsonb_typeof(c -> 'version') = 'string' AND c ->> 'version' <> ''
    THEN ' ' || split_part(c ->> 'version', '.', 1) ELSE '' END AS value
FROM (SELECT error_id, timestamp, extra -> 'contexts' -> '{name}' AS c FROM error_occurrences
      WHERE jsonb_typeof(extra -> 'contexts' -> '{name}') = 'object') AS o
WHERE jsonb_typeof(c -> 'name') = 'string' AND c ->> 'name' <> ''"""
_SQLITE_USERS = """
SELECT error_id, timestamp, CASE
    WHEN json_type(u, '$.id') IN ('text', 'integer', 'real') AND json_extract(u, '$.id') <> ''
        THEN 'id:' || CAST(json_extract(u, '$.id') AS TEXT)
    WHEN json_type(u, '$.email') IN ('text', 'integer', 'real') AND json_extract(u, '$.email') <> ''
        THEN 'email:' || CAST(json_extract(u, '$.email') AS TEXT)
    WHEN json_type(u, '$.ip_address') IN ('text', 'integer', 'real') AND json_extract(u, '$.ip_address') <> ''
        THEN 'ip:' || CAST(json_extract(u, '$.ip_address') AS TEXT)
    END AS value
FROM (SELECT error_id, timestamp, "user" AS u FROM error_occurrences
      WHERE json_valid("user") AND json_type("user") = 'object') AS o"""
_SQLITE_CONTEXT = """
SELECT error_id, timestamp, json_extract(c, '$.name') || CASE
    WHEN json_type(c, '$.version') = 'text' AND json_extract(c, '$.version') <> '' THEN ' ' || (CASE
        WHEN instr(json_extract(c, '$.version'), '.') > 0
        THEN substr(json_extract(c, '$.version'), 1, instr(json_extract(c, '$.version'), '.') - 1)
        ELSE json_extract(c, '$.version') END) ELSE '' END AS value
FROM (SELECT error_id, timestamp, json_extract(extra, '$.contexts.{name}') AS c FROM error_occurrences
      WHERE json_valid(extra) AND json_type(extra, '$.contexts.{name}') = 'object') AS o
WHERE json_type(c, '$.name') = 'text' AND json_extract(c, '$.name') <> ''"""


def _facets(key: str, rows: str) -> str:
    return (f"INSERT INTO error_facets (error_id, key, value, events, first_seen, last_seen) "
            f"SELECT error_id, '{key}', value, count(*), min(timestamp), max(timestamp) FROM ({rows}) AS f "
            f"WHERE value IS NOT NULL AND length(value) <= 200 GROUP BY error_id, value")


def _sqlite_foreign_keys(state: str) -> None:
    # SQLite copies error_logs to change its references: with foreign keys on, dropping the original would
    # delete every row that references it (events, facets ...). Outside the transaction: it ignores the
    # pragma inside one.
    with op.get_context().autocommit_block():
        op.execute(f"PRAGMA foreign_keys={state}")


def _reference(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"),
                                   ondelete=ondelete)


def backfill_statements(dialect: str) -> list[str]:
    """The user, browser and OS facets of the stored events (tests/recording/test_facets.py checks that
    they agree with what ingest writes)."""
    users, context = (_POSTGRESQL_USERS, _POSTGRESQL_CONTEXT) if dialect == "postgresql" else \
        (_SQLITE_USERS, _SQLITE_CONTEXT)
    return [_facets("user", users), _facets("browser", context.replace("{name}", "browser")),
            _facets("os", context.replace("{name}", "os"))]


def upgrade():
    dialect = op.get_bind().dialect.name
    op.add_column("error_logs", sa.Column("users_count", sa.Integer(), server_default="0", nullable=False))
    if dialect == "sqlite":
        # A named reference needs a copy of the table on SQLite, and the copy has none of its triggers.
        _sqlite_foreign_keys("OFF")
        for statement in triggers.drop_statements(dialect):
            op.execute(statement)
    with op.batch_alter_table("error_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into_id", sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(op.f("fk_error_logs_merged_into_id_error_logs"), "error_logs",
                                    ["merged_into_id"], ["id"], ondelete="CASCADE")
    if dialect == "sqlite":
        for statement in triggers.statements(dialect):
            op.execute(statement)
        _sqlite_foreign_keys("ON")
    op.create_index("ix_error_logs_users_count", "error_logs", ["users_count"])
    op.create_index("ix_error_logs_merged_into_id", "error_logs", ["merged_into_id"])
    op.add_column("error_occurrences", sa.Column("fingerprint", sa.String(length=64), nullable=True))
    op.create_table(
        "error_merges",
        sa.Column("source_id", sa.String(length=36), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("merged_by_id", sa.Integer(), nullable=True),
        sa.Column("previous_kind", sa.String(length=16), nullable=False),
        sa.Column("previous_status", sa.String(length=16), nullable=False),
        sa.Column("previous_assigned_to_id", sa.Integer(), nullable=True),
        _reference("error_merges", "merged_by_id", "developers", "SET NULL"),
        _reference("error_merges", "previous_assigned_to_id", "developers", "SET NULL"),
        _reference("error_merges", "source_id", "error_logs", "CASCADE"),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_error_merges")),
    )
    op.create_table(
        "error_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("error_id", sa.String(length=36), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_label", sa.String(length=255), nullable=False),
        sa.Column("body", sa.String(length=4000), nullable=False),
        sa.Column("mentions", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _reference("error_comments", "author_id", "developers", "SET NULL"),
        _reference("error_comments", "error_id", "error_logs", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_error_comments")),
    )
    op.create_index("ix_error_comments_error_created", "error_comments", ["error_id", "created_at"])

    op.execute("UPDATE error_occurrences SET fingerprint = "
               "(SELECT e.fingerprint FROM error_logs e WHERE e.id = error_occurrences.error_id)")
    for statement in backfill_statements(dialect):
        op.execute(statement)
    op.execute("UPDATE error_logs SET users_count = (SELECT count(*) FROM error_facets f "
               "WHERE f.error_id = error_logs.id AND f.key = 'user') "
               "WHERE id IN (SELECT error_id FROM error_facets WHERE key = 'user')")


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_foreign_keys("OFF")
    op.execute("DELETE FROM error_facets WHERE key IN ('user', 'browser', 'os')")
    op.drop_index("ix_error_comments_error_created", table_name="error_comments")
    op.drop_table("error_comments")
    op.drop_table("error_merges")
    with op.batch_alter_table("error_occurrences", schema=None) as batch_op:
        batch_op.drop_column("fingerprint")
    op.drop_index("ix_error_logs_merged_into_id", table_name="error_logs")
    op.drop_index("ix_error_logs_users_count", table_name="error_logs")
    if dialect == "postgresql":
        op.drop_constraint(op.f("fk_error_logs_merged_into_id_error_logs"), "error_logs", type_="foreignkey")
        op.drop_column("error_logs", "merged_into_id")
        op.drop_column("error_logs", "users_count")
        return
    for statement in triggers.drop_statements(dialect):
        op.execute(statement)
    with op.batch_alter_table("error_logs", schema=None) as batch_op:
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("users_count")
    for statement in triggers.statements(dialect):
        op.execute(statement)
    _sqlite_foreign_keys("ON")
