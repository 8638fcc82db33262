"""Exactly once through crashes: kill -9 while publishing, restart, each decree posted once."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter

import pytest

from tests.conftest import ROOT, SITES, invoke_cli

_ORACLE = json.loads((SITES / "pref13" / "EXPECTED.json").read_text(encoding="utf-8"))
_DECREES = [d for r in _ORACLE["recueils"] for d in r["decrees"]]
EXPECTED_FLAGGED = sum(1 for d in _DECREES if d["categories"])
# the default channel posts the drone and AVS decrees
EXPECTED_POSTS = sum(1 for d in _DECREES if {"drone", "avs"} & set(d["categories"]))


def _links(server):
    return Counter(w for s in server.statuses for w in s["text"].split() if "#page=" in w)


def _queue_everything(env, fixture_site, server):
    server.fail_next("500", times=1000)
    invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, env=env)
    server.fail_next("500", times=0)
    assert server.statuses == []


@pytest.fixture
def env(cli_env, mastodon_server):
    return dict(cli_env, MASTODON_API_BASE_URL=mastodon_server.base_url, MASTODON_ACCESS_TOKEN="test-token")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("kill_after", [1, 3])
def test_kill_9_during_publishing_then_restart_posts_each_decree_once(
    env, fixture_site, mastodon_server, kill_after
):
    _queue_everything(env, fixture_site, mastodon_server)
    mastodon_server.respond_delay = 1.5  # the status exists, our answer has not come back yet
    proc = subprocess.Popen([sys.executable, "-m", "attrap.cli", "publish"], env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    while len(mastodon_server.statuses) < kill_after and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(mastodon_server.statuses) == kill_after
    mastodon_server.respond_delay = 0
    invoke_cli("publish", env=env)
    links = _links(mastodon_server)
    assert len(links) == EXPECTED_POSTS and set(links.values()) == {1}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_post_stuck_sending_past_the_key_lifetime_is_reconciled_not_reposted(
    env, fixture_site, mastodon_server, tmp_path
):
    _queue_everything(env, fixture_site, mastodon_server)
    mastodon_server.respond_delay = 1.5
    proc = subprocess.Popen([sys.executable, "-m", "attrap.cli", "publish"], env=env, cwd=ROOT)
    while not mastodon_server.statuses:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # two hours later: the server has forgotten the key, the post is still "sending"
    mastodon_server.respond_delay = 0
    mastodon_server.remember_keys = False
    db = sqlite3.connect(env["ATTRAP_DATABASE_URL"].removeprefix("sqlite:///"))
    with db:
        db.execute("UPDATE posts SET first_sent_at = datetime('now', '-2 hours') WHERE status = 'sending'")
    db.close()
    invoke_cli("publish", env=env)
    links = _links(mastodon_server)
    assert len(links) == EXPECTED_POSTS and set(links.values()) == {1}


def test_a_cap_per_run_holds_the_rest_for_the_next_run(env, fixture_site, mastodon_server):
    invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, "--max-posts", "2", env=env)
    assert len(mastodon_server.statuses) == 2
    status = json.loads(invoke_cli("status", "--json", env=env).stdout)
    assert next(s for s in status if s["source_id"] == "pref13")["posts_waiting"] == EXPECTED_POSTS - 2
    invoke_cli("publish", env=env)
    assert len(_links(mastodon_server)) == EXPECTED_POSTS


def test_no_publish_records_without_posting(env, fixture_site, mastodon_server):
    out = json.loads(
        invoke_cli(
            "scan", "pref13", "--base-url", fixture_site.base_url, "--no-publish", "--json", env=env
        ).stdout
    )
    assert sum(len(r["flagged"]) for r in out["sources"]) == EXPECTED_FLAGGED
    invoke_cli("publish", env=env)
    assert mastodon_server.statuses == []


def test_status_says_why_posts_are_waiting(queued, env):
    # the store of a scan whose posts Mastodon refused with HTTP 500 (tests/conftest.py)
    out = invoke_cli("status", env=env).stdout
    assert f"{EXPECTED_POSTS} post(s) waiting: Mastodon default" in out and "server error HTTP 500" in out
