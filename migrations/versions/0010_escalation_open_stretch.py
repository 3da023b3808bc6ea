"""escalations belong to an open stretch of their error: a regression or a rise in severity starts the
automatic levels again

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 04:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("error_escalations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("open_since", sa.DateTime(timezone=True), nullable=True))
    # Closed escalations keep their own time; the open ones of open errors belong to the stretch the
    # error is in now, so an error escalated before the upgrade is not escalated again at that level.
    connection = op.get_bind()
    connection.execute(sa.text("UPDATE error_escalations SET open_since = created_at"))
    rows = connection.execute(sa.text(
        "SELECT e.id, l.first_seen, l.regressed_at, l.severity_raised_at FROM error_escalations e "
        "JOIN error_logs l ON l.id = e.error_id WHERE e.resolved_at IS NULL")).all()
    for escalation_id, *moments in rows:
        connection.execute(sa.text("UPDATE error_escalations SET open_since = :since WHERE id = :id"),
                           {"since": max(m for m in moments if m is not None), "id": escalation_id})
    with op.batch_alter_table("error_escalations", schema=None) as batch_op:
        batch_op.drop_constraint("uq_error_escalations_error_level", type_="unique")
        batch_op.create_unique_constraint("uq_error_escalations_error_level",
                                          ["error_id", "level", "automatic", "open_since"])


def downgrade():
    with op.batch_alter_table("error_escalations", schema=None) as batch_op:
        batch_op.drop_constraint("uq_error_escalations_error_level", type_="unique")
    # Two stretches may hold the same level: keep the latest of each, as the older constraint allows.
    op.execute("DELETE FROM error_escalations WHERE automatic AND EXISTS (SELECT 1 FROM error_escalations later "
               "WHERE later.error_id = error_escalations.error_id AND later.level = error_escalations.level "
               "AND later.automatic AND later.id > error_escalations.id)")
    with op.batch_alter_table("error_escalations", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_error_escalations_error_level", ["error_id", "level", "automatic"])
        batch_op.drop_column("open_since")
