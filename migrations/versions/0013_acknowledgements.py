"""acknowledgements: who has an error (its escalation chain waits), and the one-click links used

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "error_acknowledgements",
        sa.Column("error_id", sa.String(length=36), nullable=False),
        sa.Column("developer_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["developer_id"], ["developers.id"],
                                name=op.f("fk_error_acknowledgements_developer_id_developers"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["error_id"], ["error_logs.id"],
                                name=op.f("fk_error_acknowledgements_error_id_error_logs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("error_id", name=op.f("pk_error_acknowledgements")),
    )
    op.create_table(
        "used_action_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("error_id", sa.String(length=36), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_used_action_tokens")),
    )
    op.create_index("ix_used_action_tokens_used_at", "used_action_tokens", ["used_at"])


def downgrade():
    op.drop_index("ix_used_action_tokens_used_at", table_name="used_action_tokens")
    op.drop_table("used_action_tokens")
    op.drop_table("error_acknowledgements")
