"""error_facets: the environments, releases, servers, users and tags each error's events were seen with

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 14:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# The facets of the stored occurrences, by the rules ingest follows (app/recording/facets.py): non-empty
# values of at most 200 characters; a user's id, e-mail and address when they are text or numbers.
_HEAD = """
INSERT INTO error_facets (error_id, key, value, events, first_seen, last_seen)
SELECT error_id, key, value, count(*), min(timestamp), max(timestamp) FROM (
    SELECT error_id, timestamp, 'environment' AS key, environment AS value FROM error_occurrences
    UNION ALL SELECT error_id, timestamp, 'release', release FROM error_occurrences
    UNION ALL SELECT error_id, timestamp, 'server', server_name FROM error_occurrences
"""
_TAIL = """
) AS facets
WHERE value IS NOT NULL AND value <> '' AND length(value) <= 200 AND length(key) <= 80
GROUP BY error_id, key, value
"""
# A user's fields and the tags, read from JSON as each database does.
_POSTGRESQL = """
    UNION ALL SELECT o.error_id, o.timestamp, 'user.' || u.name, o."user" ->> u.name
        FROM error_occurrences o CROSS JOIN (VALUES ('id'), ('email'), ('ip_address')) AS u (name)
        WHERE jsonb_typeof(o."user") = 'object' AND jsonb_typeof(o."user" -> u.name) IN ('string', 'number')
    UNION ALL SELECT o.error_id, o.timestamp, 't.' || t.key, t.value
        FROM error_occurrences o CROSS JOIN LATERAL jsonb_each_text(
            CASE WHEN jsonb_typeof(o.tags) = 'object' THEN o.tags ELSE '{}'::jsonb END) AS t"""
_SQLITE = """
    UNION ALL SELECT o.error_id, o.timestamp, 'user.' || u.name, CAST(json_extract(o."user", '$.' || u.name) AS TEXT)
        FROM error_occurrences o
        CROSS JOIN (SELECT 'id' AS name UNION ALL SELECT 'email' UNION ALL SELECT 'ip_address') AS u
        WHERE json_valid(o."user") AND json_type(o."user") = 'object'
          AND json_type(o."user", '$.' || u.name) IN ('text', 'integer', 'real')
    UNION ALL SELECT o.error_id, o.timestamp, 't.' || t.key, t.value
        FROM error_occurrences o, json_each(o.tags) AS t
        WHERE json_valid(o.tags) AND json_type(o.tags) = 'object' AND t.type = 'text'"""


def backfill_statement(dialect: str) -> str:
    return _HEAD + (_POSTGRESQL if dialect == "postgresql" else _SQLITE) + _TAIL


def upgrade():
    op.create_table(
        "error_facets",
        sa.Column("error_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["error_id"], ["error_logs.id"], name=op.f("fk_error_facets_error_id_error_logs"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("error_id", "key", "value", name=op.f("pk_error_facets")),
    )
    op.create_index("ix_error_facets_key_value_error", "error_facets", ["key", "value", "error_id"])
    op.execute(backfill_statement(op.get_bind().dialect.name))


def downgrade():
    op.drop_index("ix_error_facets_key_value_error", table_name="error_facets")
    op.drop_table("error_facets")
