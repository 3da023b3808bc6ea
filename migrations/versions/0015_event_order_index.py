"""occurrences: the index of an error's events ends with the id, so the event navigation steps by keyset

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 14:00:00

"""
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("error_occurrences", schema=None) as batch_op:
        batch_op.create_index("ix_error_occurrences_error_timestamp_id", ["error_id", "timestamp", "id"],
                              unique=False)
        batch_op.drop_index("ix_error_occurrences_error_timestamp")


def downgrade():
    with op.batch_alter_table("error_occurrences", schema=None) as batch_op:
        batch_op.create_index("ix_error_occurrences_error_timestamp", ["error_id", "timestamp"], unique=False)
        batch_op.drop_index("ix_error_occurrences_error_timestamp_id")
