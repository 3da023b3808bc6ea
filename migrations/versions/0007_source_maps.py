"""source maps: upload chunks, artifact bundles and their files (minified scripts, source maps)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 04:30:00

"""
import sqlalchemy as sa
from alembic import op


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "upload_chunks",
        sa.Column("checksum", sa.String(length=40), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("checksum"),
    )
    op.create_index("ix_upload_chunks_created_at", "upload_chunks", ["created_at"])
    op.create_table(
        "artifact_bundles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("checksum", sa.String(length=40), nullable=False),
        sa.Column("bundle_id", sa.String(length=36), nullable=True),
        sa.Column("release", sa.String(length=128), nullable=True),
        sa.Column("dist", sa.String(length=64), nullable=True),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["developers.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("service_id", "checksum", name="uq_artifact_bundles_service_checksum"),
    )
    op.create_table(
        "artifact_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bundle_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("debug_id", sa.String(length=36), nullable=True),
        sa.Column("release", sa.String(length=128), nullable=True),
        sa.Column("dist", sa.String(length=64), nullable=True),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("sourcemap", sa.String(length=1000), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bundle_id"], ["artifact_bundles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_artifact_files_bundle_id", "artifact_files", ["bundle_id"])
    op.create_index("ix_artifact_files_debug_id", "artifact_files", ["service_id", "debug_id", "kind"])
    op.create_index("ix_artifact_files_release_url", "artifact_files", ["service_id", "release", "url"])


def downgrade():
    op.drop_index("ix_artifact_files_release_url", table_name="artifact_files")
    op.drop_index("ix_artifact_files_debug_id", table_name="artifact_files")
    op.drop_index("ix_artifact_files_bundle_id", table_name="artifact_files")
    op.drop_table("artifact_files")
    op.drop_table("artifact_bundles")
    op.drop_index("ix_upload_chunks_created_at", table_name="upload_chunks")
    op.drop_table("upload_chunks")
