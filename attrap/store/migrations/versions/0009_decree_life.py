"""A decree's life and the review queue: the decrees a decree changes (abrogates, withdraws,
suspends, modifies), court decisions recorded against decrees, doubtful decisions and the
reviews that settle them, and posts about a change.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("decrees", sa.Column("doubts", sa.JSON(), nullable=False, server_default="[]"))
    op.add_column("posts", sa.Column("kind", sa.String(16), nullable=False, server_default="decree"))
    op.create_table(
        "decree_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("decree_id", sa.Integer(), sa.ForeignKey("decrees.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("cited_number", sa.String(128)),
        sa.Column("cited_date", sa.Date()),
        sa.Column("target_id", sa.Integer(), sa.ForeignKey("decrees.id", ondelete="SET NULL")),
        sa.UniqueConstraint("decree_id", "position"),
    )
    op.create_index("ix_decree_links_decree_id", "decree_links", ["decree_id"])
    op.create_index("ix_decree_links_cited_number", "decree_links", ["cited_number"])
    op.create_index("ix_decree_links_target_id", "decree_links", ["target_id"])
    op.create_table(
        "annotations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("decree_id", sa.Integer(), sa.ForeignKey("decrees.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("url", sa.String(2048)),
        sa.Column("decided_on", sa.Date()),
        sa.Column("note", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_annotations_decree_id", "annotations", ["decree_id"])
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("decree_id", sa.Integer(), sa.ForeignKey("decrees.id", ondelete="CASCADE"), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_reviews_decree_id", "reviews", ["decree_id"])


def downgrade() -> None:
    op.drop_table("reviews")
    op.drop_table("annotations")
    op.drop_table("decree_links")
    # plain DROP COLUMN, not a batch copy: re-creating decrees would, with foreign keys on,
    # cascade to every post on SQLite (as 0006 says)
    op.drop_column("posts", "kind")
    op.drop_column("decrees", "doubts")
