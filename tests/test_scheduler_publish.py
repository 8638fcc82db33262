"""Publishing is never starved by crawling: `attrap run` posts what is waiting within seconds,
although every crawl (the scheduler's scan threads on SQLite, the workers on PostgreSQL) hangs on
a site that accepts connections and never answers."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

import sqlalchemy

from tests.conftest import ROOT, SITES, invoke_cli

_ORACLE = json.loads((SITES / "pref13" / "EXPECTED.json").read_text(encoding="utf-8"))
# the default channel posts the fixture site's drone and AVS decrees
EXPECTED_POSTS = sum(
    1 for r in _ORACLE["recueils"] for d in r["decrees"] if {"drone", "avs"} & set(d["categories"])
)

#: more sources than the scheduler has scan threads (2) or the worker has slots (2)
HANGING_SOURCES = ["pref13", "pref2a", "pref04"]


class _Tarpit:
    """A server on 127.0.0.1 that accepts every connection and never answers."""

    def __init__(self):
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.base_url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(conn)  # held open, never read from or answered

    def __enter__(self) -> _Tarpit:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()
        for conn in self.connections:
            conn.close()


def _links(server) -> Counter:
    return Counter(w for s in server.statuses for w in s["text"].split() if "#page=" in w)


def _make_all_due(db: sqlalchemy.Engine) -> int:
    """Forget the backoff of the posts that failed (as if their next attempt had come)."""
    with db.begin() as conn:
        sql = "UPDATE posts SET next_attempt_at = NULL WHERE status IN ('queued', 'sending')"
        return conn.execute(sqlalchemy.text(sql)).rowcount


def _posted(db: sqlalchemy.Engine) -> int:
    with db.connect() as conn:
        return conn.execute(
            sqlalchemy.text("SELECT count(*) FROM posts WHERE status = 'posted'")
        ).scalar_one()


def _spawn(args, env, log_path):
    log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed by the caller
    proc = subprocess.Popen(
        [sys.executable, "-m", "attrap.cli", *args],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, log


def test_waiting_posts_are_published_within_seconds_while_every_crawl_hangs(
    queued, mastodon_server, tmp_path
):
    # the store of a scan of the fixture site while Mastodon failed (tests/conftest.py):
    # EXPECTED_POSTS waiting, in backoff after a 500
    env = dict(queued, MASTODON_API_BASE_URL=mastodon_server.base_url, MASTODON_ACCESS_TOKEN="test-token")
    db = sqlalchemy.create_engine(env["ATTRAP_DATABASE_URL"])
    on_postgres = env["ATTRAP_DATABASE_URL"].startswith("postgresql")
    procs: list[tuple[subprocess.Popen, object]] = []
    with _Tarpit() as tarpit:
        try:
            assert _make_all_due(db) == EXPECTED_POSTS
            if on_postgres:  # the workers, whose two slots the crawls take and keep
                procs.append(_spawn(["worker", "--concurrency", "2"], env, tmp_path / "worker.log"))
            # interval 2 s over 3 sources: the scans start at 0, 0.7 and 1.3 s; publishing at 1 s,
            # when the two scan threads (or the worker's two slots) already hang on the tarpit
            run = ["run", *HANGING_SOURCES, "--base-url", tarpit.base_url]
            run += ["--interval", "2", "--publish-every", "1"]
            procs.append(_spawn(run, env, tmp_path / "run.log"))
            started = time.monotonic()
            # until the posts are sent and recorded as such (killing attrap between the two would
            # leave one "sending")
            while _posted(db) < EXPECTED_POSTS and time.monotonic() - started < 15:
                assert all(p.poll() is None for p, _ in procs), "attrap exited"
                time.sleep(0.1)
            took = time.monotonic() - started
            hanging = len(tarpit.connections)
        finally:
            for proc, log in procs:
                proc.kill()
                proc.wait(timeout=10)
                log.close()
            db.dispose()
    logs = "\n".join(p.read_text(encoding="utf-8")[-3000:] for p in sorted(tmp_path.glob("*.log")))
    # one crawl holds a connection to the tarpit, the others wait for it (one request at a time
    # per host), and not one scan ever ends
    assert hanging >= 1, f"the crawls did not reach the tarpit:\n{logs}"
    assert not re.search(r"\b(scanned|scanned-degraded|scan-failed)\b", logs), (
        f"a crawl did not hang:\n{logs}"
    )
    assert len(mastodon_server.statuses) == EXPECTED_POSTS, (
        f"{len(mastodon_server.statuses)}/{EXPECTED_POSTS} posted in {took:.1f} s "
        f"while {hanging} crawl connection(s) hung:\n{logs}"
    )
    links = _links(mastodon_server)
    assert len(links) == EXPECTED_POSTS and set(links.values()) == {1}
    status = invoke_cli("status", env=env).stdout
    assert "post(s) waiting" not in status
