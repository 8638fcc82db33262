"""HTTP validators per listing URL (ETag, Last-Modified and the body they vouch for), so a
crawl where nothing changed sends conditional requests and gets 304s.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # an earlier development build created this cache table outside migrations
    if sa.inspect(op.get_bind()).has_table("http_validators"):
        return
    op.create_table(
        "http_validators",
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("etag", sa.String(length=512), nullable=True),
        sa.Column("last_modified", sa.String(length=64), nullable=True),
        sa.Column("final_url", sa.String(length=2048), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("url"),
    )
    op.create_index("ix_http_validators_source_id", "http_validators", ["source_id"])


def downgrade() -> None:
    op.drop_index("ix_http_validators_source_id", table_name="http_validators")
    op.drop_table("http_validators")
