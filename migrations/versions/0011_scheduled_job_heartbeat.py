"""scheduled jobs: the run holding the lease and its heartbeat, and when the job was first seen

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 04:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("scheduled_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holder", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
    # Leases taken before the heartbeat ran for up to two hours; those of a live run are renewed
    # by nothing now, so they end with the upgrade (the job's own locks keep a second run safe).
    op.execute("UPDATE scheduled_jobs SET running_until = NULL, created_at = COALESCE(last_started_at, CURRENT_TIMESTAMP)")


def downgrade():
    with op.batch_alter_table("scheduled_jobs", schema=None) as batch_op:
        batch_op.drop_column("created_at")
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("holder")
