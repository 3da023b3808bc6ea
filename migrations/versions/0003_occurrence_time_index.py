"""occurrences by time: the index the dashboard's aggregates read

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 19:15:00

"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("error_occurrences", schema=None) as batch_op:
        batch_op.create_index("ix_error_occurrences_timestamp", ["timestamp"], unique=False,
                              postgresql_include=["severity", "service_id", "error_id"])


def downgrade():
    with op.batch_alter_table("error_occurrences", schema=None) as batch_op:
        batch_op.drop_index("ix_error_occurrences_timestamp")
