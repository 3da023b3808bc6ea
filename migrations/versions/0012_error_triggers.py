"""error_logs.updated_at kept by a trigger; on PostgreSQL, new, regressed and graver errors announced
with pg_notify for the live feed (app/models/triggers.py holds the statements)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 14:40:00

"""
import sqlalchemy as sa
from alembic import op

from app.models import triggers

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    # SQLite adds a column in place only without a computed default (otherwise the table would be
    # rebuilt, and its dependants' rows cascade away): there the insert trigger fills it instead.
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("error_logs", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True,
                                          server_default=sa.func.now() if postgres else None))
    op.execute("UPDATE error_logs SET updated_at = last_seen")
    for statement in triggers.statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade():
    for statement in triggers.drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    with op.batch_alter_table("error_logs", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
