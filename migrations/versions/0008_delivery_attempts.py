"""delivery attempts: notification_attempts keeps every try of a delivery with its outcome and reason

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 04:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notification_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("answer_status", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("answer", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["notification_id"], ["error_notifications.id"],
                                name=op.f("fk_notification_attempts_notification_id_error_notifications"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_attempts")),
    )
    with op.batch_alter_table("notification_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_notification_attempts_notification_number", ["notification_id", "number"],
                              unique=False)


def downgrade():
    with op.batch_alter_table("notification_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_attempts_notification_number")
    op.drop_table("notification_attempts")
