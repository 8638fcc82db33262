"""Shared test fixtures: databases, the fixture site, the Mastodon test server, the CLI."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITES = ROOT / "fixtures" / "sites"
POSTGRES_URL = os.environ.get("ATTRAP_TEST_POSTGRES_URL")

_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


class _WebGuard:
    """No test reaches the web, even by mistake (a source's real https://….gouv.fr URL, a
    Mastodon instance), nor may one pass because its request failed: httpx and requests honour
    the proxy variables set to this recorder, here and in the CLI subprocesses that inherit
    them, so every request not to 127.0.0.1 is refused (403) and written down, and the test
    that made it fails naming it (:func:`_no_web`)."""

    def __init__(self) -> None:
        import socket

        self.tried: list[str] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            conn, _ = self._server.accept()
            with conn:
                conn.settimeout(5)
                try:
                    line = conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
                except OSError:
                    line = "(unreadable request)"
                self.tried.append(line)  # before the answer: the test sees it when it is refused
                with contextlib.suppress(OSError):
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


_WEB_GUARD = _WebGuard()
for _name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
    os.environ[_name] = os.environ[_name.lower()] = _WEB_GUARD.url
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


@pytest.fixture(autouse=True)
def _no_web() -> Iterator[None]:
    """Fail the test that tried to reach anything but 127.0.0.1 (see :class:`_WebGuard`)."""
    _WEB_GUARD.tried.clear()
    yield
    if _WEB_GUARD.tried:
        pytest.fail(f"the test tried to reach the web: {_WEB_GUARD.tried[:5]}")


@pytest.fixture(params=_BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: SQLite in tmp_path, or a throwaway PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'attrap.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("ATTRAP_TEST_POSTGRES_URL is not set")
    with _pg_schema() as url:
        yield url


_SCHEMA_OPTION = "options=-csearch_path%3D"


@contextmanager
def _pg_schema() -> Iterator[str]:
    """A throwaway PostgreSQL schema, dropped afterwards: the URL that works in it."""
    import sqlalchemy

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}{_SCHEMA_OPTION}{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def fixture_site() -> Iterator:
    """The bundled Bouches-du-Rhône fixture site, served on 127.0.0.1."""
    from attrap.fixtureserver import FixtureServer

    with FixtureServer(SITES / "pref13") as server:
        yield server


@pytest.fixture
def mastodon_server() -> Iterator:
    from tests.mastoserver import MastoServer

    with MastoServer() as server:
        yield server


@pytest.fixture
def cli_env(tmp_path: Path, db_url: str) -> dict[str, str]:
    """Environment for running the CLI as a user would, on a fresh data dir and database."""
    return _env_for(tmp_path / "data", db_url)


def _env_for(data_dir: Path, db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATTRAP_", "MASTODON_"))}
    env.update(
        ATTRAP_DATA_DIR=str(data_dir),
        ATTRAP_DATABASE_URL=db_url,
        ATTRAP_REQUEST_DELAY="0",
    )
    return env


def run_cli(*args: str, env: dict[str, str], check: bool = True, timeout: float = 120):
    """Run ``attrap ARGS`` in a subprocess, as a user would."""
    proc = subprocess.run(
        [sys.executable, "-m", "attrap.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"attrap {' '.join(args)} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


def invoke_cli(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    """Run ``attrap ARGS`` in this process, as :func:`run_cli` runs it in a subprocess (whose start
    costs about a CPU second): the same environment (no other ATTRAP_ or MASTODON_ variable) and
    directory, its exit status, stdout and stderr; an uncaught exception is raised. The process's
    environment and logging are left as they were; a scan's PDFs are read in children of this
    process's forkserver, as a scan's in its own. For any command but those a test kills (armed
    with ATTRAP_FAULTS, or sent a signal), the daemons, and processes that race each other: they
    run in a subprocess (:func:`run_cli`), as do the end-to-end scans that keep the whole path."""
    if "ATTRAP_FAULTS" in env:
        raise ValueError("a command armed with ATTRAP_FAULTS kills its process: use run_cli")
    import logging

    from click.testing import CliRunner

    from attrap.cli import main

    overlay: dict[str, str | None] = {k: None for k in os.environ if k.startswith(("ATTRAP_", "MASTODON_"))}
    overlay.update(env)
    saved = dict(os.environ)
    root, ours = logging.getLogger(), logging.getLogger("attrap")
    handlers, levels = root.handlers[:], (root.level, ours.level)
    try:
        with contextlib.chdir(ROOT):
            result = CliRunner().invoke(main, list(args), env=overlay, catch_exceptions=False)
    finally:  # the command copies the configuration file's values into os.environ
        for name in set(os.environ) - set(saved):
            del os.environ[name]
        os.environ.update(saved)
        root.handlers[:] = handlers
        root.setLevel(levels[0])
        ours.setLevel(levels[1])
    proc = subprocess.CompletedProcess(["attrap", *args], result.exit_code, result.stdout, result.stderr)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"attrap {' '.join(args)} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


@contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    """``attrap serve``'s app over the environment's store, under uvicorn in a thread on a free
    port of 127.0.0.1 (the server's settings are ``attrap serve``'s): its base URL."""
    from attrap.config import Settings
    from attrap.serve.api import serving_in_thread

    with serving_in_thread(Settings.load(env=env)) as base:
        yield base


# -- the fixture site scanned once per test process ----------------------------------------------
# Scanning the fixture site costs seconds (seven PDFs downloaded and read in child processes); the
# tests that only read, query, serve or publish what a scan stored get a copy of a store scanned
# once per test process (per xdist worker), per backend: `filled` (a dry run) and `queued` (posts
# waiting after Mastodon refused them). The tests whose point is the scan itself still scan
# (tests/test_cli.py, test_guarantees.py, test_outbox.py, test_health.py, test_logs.py, ...).


def _scan_dry_run(env: dict[str, str], site) -> None:
    run_cli("scan", "pref13", "--base-url", site.base_url, "--dry-run", env=env)


def _scan_while_mastodon_refuses(env: dict[str, str], site) -> None:
    from tests.mastoserver import MastoServer

    with MastoServer() as server:
        server.fail_next("500", times=1000)
        masto = dict(env, MASTODON_API_BASE_URL=server.base_url, MASTODON_ACCESS_TOKEN="test-token")
        run_cli("scan", "pref13", "--base-url", site.base_url, env=masto)
        assert server.statuses == [], "a post went out although the server refused every one"


_SCANS = {"dry-run": _scan_dry_run, "queued": _scan_while_mastodon_refuses}
#: seconds a template serves: a copy's times (a post's first sending, its backoff) stay well within
#: the outbox's windows (attrap.publish.outbox: a 50-minute idempotency window), as a fresh scan's
_TEMPLATE_MAX_AGE = 15 * 60


@pytest.fixture(scope="session")
def _scanned(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """``template(backend, kind)``: the environment of a store (and data dir) holding the fixture
    site scanned that way, made on first use and again once older than ``_TEMPLATE_MAX_AGE``, in
    this test process. Never handed to a test: tests get a copy (:func:`_copy_store`)."""
    import time

    from attrap.fixtureserver import FixtureServer

    made: dict[tuple[str, str], tuple[float, dict[str, str]]] = {}
    with contextlib.ExitStack() as stack:
        site = None

        def template(backend: str, kind: str) -> dict[str, str]:
            nonlocal site
            if (backend, kind) in made and time.monotonic() - made[backend, kind][0] < _TEMPLATE_MAX_AGE:
                return made[backend, kind][1]
            if site is None:  # served for the session, never changed (tests change their own)
                site = stack.enter_context(FixtureServer(SITES / "pref13"))
            root = tmp_path_factory.mktemp(f"scanned-{backend}-{kind}")
            if backend == "sqlite":
                url = f"sqlite:///{root / 'attrap.db'}"
            else:
                url = stack.enter_context(_pg_schema())
            env = _env_for(root / "data", url)
            _SCANS[kind](env, site)
            made[backend, kind] = time.monotonic(), env
            return env

        yield template


def _copy_store(template: dict[str, str], env: dict[str, str]) -> None:
    """Make ``env``'s store and data dir a copy of ``template``'s (whatever the store held before)."""
    src, dst = template["ATTRAP_DATABASE_URL"], env["ATTRAP_DATABASE_URL"]
    if src.startswith("sqlite"):
        import sqlite3

        assert dst.startswith("sqlite:///"), dst
        with (
            contextlib.closing(sqlite3.connect(src.removeprefix("sqlite:///"))) as source,
            contextlib.closing(sqlite3.connect(dst.removeprefix("sqlite:///"))) as copy,
        ):
            source.backup(copy)  # page by page: tables, FTS5 index, triggers, schema version
    else:
        _copy_schema(src.rsplit(_SCHEMA_OPTION, 1)[1], dst)
    shutil.copytree(template["ATTRAP_DATA_DIR"], env["ATTRAP_DATA_DIR"], dirs_exist_ok=True)  # the PDFs


def _copy_schema(source: str, url: str) -> None:
    """Copy the rows of PostgreSQL schema ``source`` into the schema ``url`` works in (emptied).

    The copy's schema is made by attrap's own migrations (so its tables, constraints, indexes
    and their names are the ones attrap makes), then every table's rows are copied, parents
    before children, and each serial column's sequence is set where the template's is."""
    import graphlib

    import sqlalchemy

    from attrap.store.db import Store

    target = url.rsplit(_SCHEMA_OPTION, 1)[1]
    Store(url).close()
    engine = sqlalchemy.create_engine(POSTGRES_URL)
    q = sqlalchemy.text
    try:
        with engine.begin() as conn:

            def columns(schema: str) -> dict[str, list[str]]:
                rows = conn.execute(
                    q(
                        "SELECT table_name, column_name FROM information_schema.columns "
                        "WHERE table_schema = :s AND is_generated = 'NEVER' ORDER BY table_name, ordinal_position"
                    ),
                    {"s": schema},
                )
                out: dict[str, list[str]] = {}
                for table, column in rows:
                    out.setdefault(table, []).append(column)
                return out

            def objects(schema: str) -> set[tuple[str, str]]:
                return set(
                    conn.execute(
                        q(
                            "SELECT c.relname, c.relkind::text FROM pg_class c "
                            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :s "
                            "UNION SELECT p.proname, 'function' FROM pg_proc p "
                            "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = :s"
                        ),
                        {"s": schema},
                    ).all()
                )

            tables = columns(source)
            assert columns(target) == tables, "the template's tables are not the ones attrap makes now"
            assert objects(target) == objects(source), (
                "the template holds what attrap's migrations do not make"
            )
            parents: dict[str, set[str]] = {t: set() for t in tables}
            for child, parent in conn.execute(
                q(
                    "SELECT ch.relname, pa.relname FROM pg_constraint c "
                    "JOIN pg_class ch ON ch.oid = c.conrelid JOIN pg_class pa ON pa.oid = c.confrelid "
                    "JOIN pg_namespace n ON n.oid = ch.relnamespace WHERE c.contype = 'f' AND n.nspname = :s"
                ),
                {"s": target},
            ):
                if child != parent:
                    parents[child].add(parent)
            order = list(graphlib.TopologicalSorter(parents).static_order())
            for table in reversed(order):  # what the migrations put there (alembic_version)
                conn.execute(q(f'DELETE FROM "{target}"."{table}"'))
            for table in order:
                cols = ", ".join(f'"{c}"' for c in tables[table])
                conn.execute(
                    q(
                        f'INSERT INTO "{target}"."{table}" ({cols}) OVERRIDING SYSTEM VALUE '
                        f'SELECT {cols} FROM "{source}"."{table}"'
                    )
                )
            owned = conn.execute(
                q(
                    "SELECT t.relname, a.attname, s.relname FROM pg_depend d "
                    "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
                    "JOIN pg_class t ON t.oid = d.refobjid "
                    "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
                    "JOIN pg_namespace n ON n.oid = s.relnamespace "
                    "WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass "
                    "AND d.deptype IN ('a', 'i') AND n.nspname = :s"
                ),
                {"s": source},
            ).all()
            for table, column, sequence in owned:
                last, called = conn.execute(
                    q(f'SELECT last_value, is_called FROM "{source}"."{sequence}"')
                ).one()
                copied = conn.execute(
                    q("SELECT setval(pg_get_serial_sequence(:t, :c), :v, :called)"),
                    {"t": f'"{target}"."{table}"', "c": column, "v": last, "called": called},
                ).scalar()
                assert copied == last, (table, column)
    finally:
        engine.dispose()


@pytest.fixture
def filled(cli_env: dict[str, str], _scanned) -> dict[str, str]:
    """``cli_env`` over a store filled by a dry-run scan of the fixture site (a copy of one made
    once per test process: change it at will)."""
    _copy_store(_scanned(_backend(cli_env), "dry-run"), cli_env)
    return cli_env


@pytest.fixture
def queued(cli_env: dict[str, str], _scanned) -> dict[str, str]:
    """``cli_env`` over a store filled by a scan of the fixture site whose posts (to the default
    channel) all wait in the outbox, in backoff: Mastodon answered each with HTTP 500. Point the
    environment's MASTODON_* at the test's own server to publish them (a copy: change it at will)."""
    _copy_store(_scanned(_backend(cli_env), "queued"), cli_env)
    return cli_env


def _backend(env: dict[str, str]) -> str:
    return "sqlite" if env["ATTRAP_DATABASE_URL"].startswith("sqlite") else "postgres"


def discover(source, *, since=None, validators=None, backoff: float = 2.0):
    """What ``source``'s engine finds, with no delay between requests (a fixture site)."""
    from attrap.crawl.discover import engine_for
    from attrap.crawl.fetch import Fetcher, HostThrottle

    fetcher = Fetcher(
        source_id=source.id,
        allowed_hosts=source.hosts,
        delay=0,
        backoff=backoff,
        throttle=HostThrottle(),
        validators=validators,
    )
    with fetcher:
        return engine_for(source).discover(source, fetcher, since=since)
