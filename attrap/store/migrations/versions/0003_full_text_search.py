"""Full-text search of decrees: SQLite FTS5 (external content, kept by triggers) or a
PostgreSQL GIN index on a French tsvector of the accent-folded title and text.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

from attrap.store.db import PG_SEARCH_VECTOR

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SQLITE = [
    """CREATE VIRTUAL TABLE decrees_fts USING fts5(
        title, text, content='decrees', content_rowid='id', tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER decrees_fts_insert AFTER INSERT ON decrees BEGIN
        INSERT INTO decrees_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END""",
    """CREATE TRIGGER decrees_fts_delete AFTER DELETE ON decrees BEGIN
        INSERT INTO decrees_fts(decrees_fts, rowid, title, text)
        VALUES ('delete', old.id, old.title, old.text);
        END""",
    """CREATE TRIGGER decrees_fts_update AFTER UPDATE OF title, text ON decrees BEGIN
        INSERT INTO decrees_fts(decrees_fts, rowid, title, text)
        VALUES ('delete', old.id, old.title, old.text);
        INSERT INTO decrees_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END""",
    "INSERT INTO decrees_fts(decrees_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE:
            op.execute(statement)
    elif op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_decrees_search ON decrees USING gin (({PG_SEARCH_VECTOR.format(t='')}))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS decrees_fts_{name}")
        op.execute("DROP TABLE IF EXISTS decrees_fts")
    elif op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_decrees_search")
