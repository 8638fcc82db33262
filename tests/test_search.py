"""Migrations (Alembic) and full-text search, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import sqlalchemy

from attrap.store.db import SCHEMA_HEAD, Store
from tests.conftest import SITES, invoke_cli

ORACLE = json.loads((SITES / "pref13" / "EXPECTED.json").read_text(encoding="utf-8"))
DECREES = {d["id"]: (r, d) for r in ORACLE["recueils"] for d in r["decrees"]}


def _search(env, *args):
    # in this process: a subprocess a query costs a second each (the text output's test runs one)
    return json.loads(invoke_cli("search", *args, "--json", env=env).stdout)


def _ids(results):
    return {DECREE_ID.search(r["title"])[0] for r in results}


DECREE_ID = __import__("regex").compile(r"\d{2}-\d{4}-\d{2}-\d{2}-\d{5}")


def test_a_new_database_is_migrated_to_the_latest_schema(cli_env):
    assert (
        invoke_cli("db", "upgrade", env=cli_env).stdout.strip()
        == f"database schema upgraded from empty to {SCHEMA_HEAD}"
    )
    assert (
        invoke_cli("db", "upgrade", env=cli_env).stdout.strip()
        == f"database schema is up to date (version {SCHEMA_HEAD})"
    )
    assert invoke_cli("db", "current", env=cli_env).stdout.strip() == f"{SCHEMA_HEAD} (up to date)"


def test_a_database_from_before_migrations_is_upgraded_keeping_its_rows(db_url):
    # attrap 0.1 created its tables without Alembic: build that schema, put a row in it
    store = Store(db_url, upgrade=False)
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "attrap.store:migrations")
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(sqlalchemy.text("DROP TABLE alembic_version"))
        conn.execute(
            sqlalchemy.text(
                "INSERT INTO recueils (source_id, url, title, first_seen_at, status, attempts) "
                "VALUES ('pref13', 'https://x.gouv.fr/a.pdf', 'RAA', CURRENT_TIMESTAMP, 'discovered', 0)"
            )
        )
    assert store.schema_version() is None
    assert store.upgrade() == (None, SCHEMA_HEAD)
    with store.engine.connect() as conn:
        assert conn.execute(sqlalchemy.text("SELECT url FROM recueils")).scalar() == "https://x.gouv.fr/a.pdf"
        columns = {c["name"] for c in sqlalchemy.inspect(conn).get_columns("decrees")}
    assert "details" in columns
    store.close()


def test_search_words_phrases_and_operators(filled):
    both = _ids(_search(filled, "drone AND manifestation"))  # "drone" only in the title of none
    assert both <= set(DECREES)
    manif = _ids(_search(filled, '"manifestation déclarée"'))
    assert manif == {"13-2026-10-20-00001"}
    assert _ids(_search(filled, "aéronefs AND manifestation")) == manif
    assert _ids(_search(filled, "vélodrome OR noël")) == {"13-2026-10-14-00003", "13-2025-12-04-00031"}
    with_aircraft = _ids(_search(filled, "aéronefs"))
    without_ban = _ids(_search(filled, "aéronefs -interdiction"))
    assert "13-2026-10-13-00004" in with_aircraft and "13-2026-10-13-00004" not in without_ban
    assert _ids(_search(filled, "aéronefs NOT interdiction")) == without_ban


def test_search_ignores_case_and_accents(filled):
    assert _ids(_search(filled, "AERONEFS")) == _ids(_search(filled, "aéronefs"))
    assert _ids(_search(filled, "velodrome")) == {"13-2026-10-14-00003"}


def test_search_filters_and_links(filled):
    drones = _search(filled, "aéronefs", "--category", "drone")
    expected = {k for k, (_, d) in DECREES.items() if "drone" in d["categories"]}
    assert _ids(drones) == expected
    for r in drones:
        rec, d = DECREES[DECREE_ID.search(r["title"])[0]]
        assert r["link"].endswith(f"{rec['path'].rsplit('/', 1)[-1]}#page={d['first_page']}")
        assert r["source_id"] == "pref13" and r["prefecture"] == "Préfecture des Bouches-du-Rhône"
    recent = _ids(_search(filled, "aéronefs", "--category", "drone", "--since", "2026-01-01"))
    assert recent == {k for k in expected if DECREES[k][1]["signed_on"] >= "2026-01-01"}
    assert _search(filled, "aéronefs", "--source", "pref75") == []


ODD_QUERIES = ['"', "(", "*", "AND", "NOT OR", "a:b", "NEAR(x y)", "'; DROP TABLE decrees; --"]


def test_odd_queries_neither_crash_nor_inject(filled):
    for query in ODD_QUERIES:
        proc = invoke_cli("search", query, env=filled, check=False)  # raises what it does not catch
        assert proc.returncode in (0, 2), (query, proc.stderr)
        assert "Traceback" not in proc.stderr, query
    assert _search(filled, "aéronefs")  # the table is still there


def test_text_output_is_readable(filled):
    out = invoke_cli("search", "vélodrome", env=filled).stdout
    assert "2026-10-14  Préfecture des Bouches-du-Rhône [drone]" in out and "#page=5" in out


def test_a_decree_is_found_by_its_number(filled):
    """A number is searched as written, on SQLite's FTS5 and PostgreSQL's parser alike (which
    cuts "13-2026-10-14-00003" into "13", "-2026"…)."""
    from attrap.config import Settings
    from attrap.store.db import Store

    store = Store(Settings.load(env=filled).database_url)
    try:
        hits = store.search("13-2026-10-14-00003")
        assert [h.number for h in hits] == ["13-2026-10-14-00003"]
        assert not store.search("13-2026-10-14-00099")
    finally:
        store.close()
