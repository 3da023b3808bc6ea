"""resolved is a status: drop error_logs.resolved, which only repeated status = 'resolved'

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 00:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("error_logs", schema=None) as batch_op:
        batch_op.drop_column("resolved")


def downgrade():
    with op.batch_alter_table("error_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolved", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE error_logs SET resolved = (status = 'resolved')")
