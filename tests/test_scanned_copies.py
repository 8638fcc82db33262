"""The stores tests/conftest.py hands out (``filled``, ``queued``) are copies of the fixture site
scanned once per test process: each holds every row and every downloaded PDF of that scan, goes
on from it (new rows get new ids), and what a test does to its copy reaches no other test."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy

from attrap.model import RecueilLink
from attrap.store.db import Store
from tests.conftest import SITES, _backend

_ORACLE = json.loads((SITES / "pref13" / "EXPECTED.json").read_text(encoding="utf-8"))
_DECREES = [d for r in _ORACLE["recueils"] for d in r["decrees"]]


def _rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table (SQLite's full-text index included), in a stable order."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            names = sqlalchemy.inspect(conn).get_table_names()
            return {
                name: sorted(
                    (
                        tuple(map(repr, row))
                        for row in conn.execute(sqlalchemy.text(f'SELECT * FROM "{name}"'))
                    ),
                )
                for name in names
            }
    finally:
        engine.dispose()


def _files(root: str) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(Path(root).rglob("*")) if p.is_file()}


@pytest.mark.parametrize("kind", ["filled", "queued"])
def test_a_copy_is_the_scanned_store_and_changing_it_changes_nothing_else(request, cli_env, _scanned, kind):
    env = request.getfixturevalue(kind)
    template = _scanned(_backend(cli_env), {"filled": "dry-run", "queued": "queued"}[kind])
    assert env["ATTRAP_DATABASE_URL"] != template["ATTRAP_DATABASE_URL"]
    scanned = _rows(template["ATTRAP_DATABASE_URL"])
    copied = _rows(env["ATTRAP_DATABASE_URL"])
    assert copied == scanned
    assert len(copied["recueils"]) == len(_ORACLE["recueils"]) and len(copied["decrees"]) == len(_DECREES)
    assert len(copied["alembic_version"]) == 1
    posts = sum(1 for d in _DECREES if {"drone", "avs"} & set(d["categories"]))  # the default channel's
    engine = sqlalchemy.create_engine(env["ATTRAP_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            states = conn.execute(
                sqlalchemy.text("SELECT channel, status, count(*) FROM posts GROUP BY 1, 2")
            )
            # a dry run records what it printed as posted on "dry-run"; Mastodon refused the others
            assert set(states) == {
                ("dry-run", "posted", posts) if kind == "filled" else ("default", "queued", posts)
            }
    finally:
        engine.dispose()
    pdfs = _files(env["ATTRAP_DATA_DIR"])
    assert pdfs == _files(template["ATTRAP_DATA_DIR"]) and len(pdfs) == len(_ORACLE["recueils"])

    # the copy goes on from the scan: a new recueil gets a new id (PostgreSQL: its sequence was set)
    store = Store(env["ATTRAP_DATABASE_URL"])
    try:
        rec = store.add_recueil(
            RecueilLink("pref13", "https://www.bouches-du-rhone.gouv.fr/new.pdf", "RAA", date(2026, 11, 2))
        )
    finally:
        store.close()
    engine = sqlalchemy.create_engine(env["ATTRAP_DATABASE_URL"])
    try:
        with engine.begin() as conn:
            ids = conn.execute(sqlalchemy.text("SELECT id FROM recueils")).scalars().all()
            assert rec.id == max(ids) and len(ids) == len(_ORACLE["recueils"]) + 1
            conn.execute(sqlalchemy.text("DELETE FROM posts"))
            conn.execute(sqlalchemy.text("DELETE FROM decrees"))
    finally:
        engine.dispose()
    # ... and the scanned store, which the next test copies, is as it was
    assert _rows(template["ATTRAP_DATABASE_URL"]) == scanned
