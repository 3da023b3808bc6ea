"""security reports and client reports: error_logs.kind, client_discards

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 04:40:00

"""
import sqlalchemy as sa
from alembic import op


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("error_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="error"))
        batch_op.create_index("ix_error_logs_kind_last_seen", ["kind", "last_seen"], unique=False)
    op.create_table(
        "client_discards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("service_id", "day", "reason", "category", name="uq_client_discards_key"),
    )


def downgrade():
    op.drop_table("client_discards")
    with op.batch_alter_table("error_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_error_logs_kind_last_seen")
        batch_op.drop_column("kind")
