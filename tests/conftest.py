"""Shared test fixtures: databases, the fixture site, the Mastodon test server, the CLI."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

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
    import sqlalchemy

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
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
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATTRAP_", "MASTODON_"))}
    env.update(
        ATTRAP_DATA_DIR=str(tmp_path / "data"),
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


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    """``attrap serve``'s app over the environment's store, on a free port: its base URL."""
    from attrap.config import Settings
    from attrap.serve.api import make_app

    app = make_app(Settings.load(env=env))
    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        app.close()


@pytest.fixture
def filled(cli_env: dict[str, str], fixture_site) -> dict[str, str]:
    """``cli_env`` over a store filled by a dry-run scan of the fixture site."""
    run_cli("scan", "pref13", "--base-url", fixture_site.base_url, "--dry-run", env=cli_env)
    return cli_env


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
