"""Decree details: places, period, service, counts, legal basis (JSON).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a database created before migrations existed may already have the column
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("decrees")}
    if "details" not in columns:
        with op.batch_alter_table("decrees") as batch:
            batch.add_column(sa.Column("details", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decrees") as batch:
        batch.drop_column("details")
