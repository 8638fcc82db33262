"""`attrap run` as a daemon: scans on schedule, stops cleanly on SIGTERM, restarts without duplicates."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from tests.conftest import ROOT, invoke_cli
from tests.test_guarantees import EXPECTED_POSTS


class _Daemon:
    """`attrap run`, and on PostgreSQL an `attrap worker` doing the jobs the scheduler defers."""

    def __init__(self, env, base_url):
        self.procs = [_start(env, base_url)]
        if env["ATTRAP_DATABASE_URL"].startswith("postgresql"):
            worker = [sys.executable, "-m", "attrap.cli", "worker", "--concurrency", "2"]
            self.procs.append(
                subprocess.Popen(
                    worker, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                )
            )

    def send_signal(self, sig):
        for p in self.procs:
            p.send_signal(sig)

    def wait(self, timeout):
        codes = [p.wait(timeout=timeout) for p in self.procs]
        return max(codes, key=abs)

    def kill(self):
        for p in self.procs:
            p.kill()

    def communicate(self):
        return "", "\n".join(p.communicate()[1][-3000:] for p in self.procs)


def _start(env, base_url):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "attrap.cli",
            "run",
            "pref13",
            "--base-url",
            base_url,
            "--interval",
            "3600",
            "--publish-every",
            "1",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _status(env) -> list[dict]:
    """``attrap status --json``, in this process: polled every 0.3 s, a subprocess a time would
    take a core from the daemon under test."""
    return json.loads(invoke_cli("status", "--json", env=env).stdout)


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def test_daemon_scans_posts_stops_on_sigterm_and_restarts_without_duplicates(
    cli_env, fixture_site, mastodon_server
):
    env = dict(cli_env, MASTODON_API_BASE_URL=mastodon_server.base_url, MASTODON_ACCESS_TOKEN="test-token")

    def posted_all():
        row = next(s for s in _status(env) if s["source_id"] == "pref13")
        # every decree posted: between two recueils read, nothing waits and not all are posted yet
        done = row["last_outcome"] == "ok" and row["posts_waiting"] == 0
        return done and len(mastodon_server.statuses) == EXPECTED_POSTS

    proc = _Daemon(env, fixture_site.base_url)
    try:
        if not _wait_for(posted_all):
            proc.kill()
            raise AssertionError(
                f"the daemon did not scan and post in time:\n{proc.communicate()[1][-3000:]}"
            )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    first = len(mastodon_server.statuses)
    assert first == EXPECTED_POSTS

    proc = _Daemon(env, fixture_site.base_url)
    try:
        assert _wait_for(
            lambda: (
                len(_status(env))
                and sum(1 for r in fixture_site.requests if r.path == "/Publications/RAA-et-Archives") >= 2
            )
        )
        time.sleep(2)  # let a publishing pass run
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    assert len(mastodon_server.statuses) == first
