"""What a sweep's health rests on besides its counts: where the RAA page was found when the
source's URL had moved, and how much of the site the sweep left out on purpose (older than
``--since``), so that a partial sweep by request is not taken for a site that shows nothing.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("crawl_runs", sa.Column("moved", sa.Text(), nullable=True))
    op.add_column("crawl_runs", sa.Column("older", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("crawl_runs", "older")
    op.drop_column("crawl_runs", "moved")
