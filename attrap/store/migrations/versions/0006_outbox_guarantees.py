"""What the outbox's promises rest on: an indexed ``flagged`` column and when a decree was first
flagged, decrees kept (not deleted) when a re-read no longer finds them, posts claimed before
they are sent, when a recueil's status last changed, and the channels known to this database.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("decrees", sa.Column("flagged", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("decrees", sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("decrees", sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True))
    # a decree is flagged when its JSON list of categories holds a string
    op.execute(
        "UPDATE decrees SET flagged = TRUE, flagged_at = (SELECT COALESCE(r.processed_at, r.first_seen_at) "
        "FROM recueils r WHERE r.id = decrees.recueil_id) WHERE CAST(categories AS TEXT) LIKE '%\"%'"
    )
    op.create_index("ix_decrees_flagged", "decrees", ["flagged"])

    op.add_column("posts", sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("posts", sa.Column("claimed_by", sa.String(length=128), nullable=True))
    op.add_column("posts", sa.Column("first_sent_at", sa.DateTime(timezone=True), nullable=True))
    # posts sent before this version: their first send is as old as their last update
    op.execute("UPDATE posts SET first_sent_at = updated_at WHERE status IN ('sending', 'posted')")

    op.add_column("recueils", sa.Column("status_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE recueils SET status_at = COALESCE(processed_at, first_seen_at)")

    op.create_table(
        "channels",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    # a channel that already posted was there from its first post on
    op.execute(
        "INSERT INTO channels (name, added_at) SELECT channel, MIN(created_at) FROM posts GROUP BY channel"
    )


def downgrade() -> None:
    # plain DROP COLUMN (SQLite 3.35 and later have it): a batch copy would drop and re-create
    # recueils, and with foreign keys on, SQLite cascades that drop to every decree and post
    op.drop_table("channels")
    op.drop_column("recueils", "status_at")
    for column in ("first_sent_at", "claimed_by", "claimed_at"):
        op.drop_column("posts", column)
    op.drop_index("ix_decrees_flagged", table_name="decrees")
    for column in ("superseded_at", "flagged_at", "flagged"):
        op.drop_column("decrees", column)
