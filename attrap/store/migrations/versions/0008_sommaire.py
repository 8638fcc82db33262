"""Decrees flagged from their recueil's sommaire (their own pages gave no decision) and decrees
the sommaire lists whose pages are not in the PDF.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name in ("from_sommaire", "pages_missing"):
        op.add_column("decrees", sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("decrees", "pages_missing")
    op.drop_column("decrees", "from_sommaire")
