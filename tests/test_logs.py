"""Logs: one line per event with source, URL and outcome; nothing a PDF or a server sends can
break a line; tokens never show."""

from __future__ import annotations

import re

from attrap.logs import format_event
from tests.conftest import invoke_cli


def test_an_event_is_one_line_whatever_its_values_hold():
    line = format_event(
        "pref13", "failed", "https://example.gouv.fr/a b.pdf", error='HTTP 500\nfake ERROR line "x"', n=3
    )
    assert "\n" not in line and "\r" not in line
    assert line.startswith("pref13 failed ")
    assert '"https://example.gouv.fr/a b.pdf"' in line and "n=3" in line
    assert 'error="HTTP 500\\nfake ERROR line \\"x\\""' in line


def test_verbose_scan_logs_each_request_and_each_recueil(cli_env, fixture_site):
    base = fixture_site.base_url
    proc = invoke_cli("scan", "pref13", "--base-url", base, "--dry-run", "-v", env=cli_env)
    lines = proc.stderr.splitlines()
    fetched = [ln for ln in lines if " pref13 fetched " in ln]
    assert any(f"{base}/Publications/RAA-et-Archives method=GET status=200" in ln for ln in fetched)
    pdfs = {r.path for r in fixture_site.requests if r.path.endswith(".pdf")}
    assert pdfs and all(any(p in ln for ln in fetched) for p in pdfs)
    assert all(re.search(r" ms=\d+", ln) for ln in fetched)


def test_quiet_by_default(cli_env, fixture_site):
    proc = invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, "--dry-run", env=cli_env)
    assert " fetched " not in proc.stderr


def test_posts_are_logged_with_their_url_and_never_the_token(cli_env, fixture_site, mastodon_server):
    token = "test-token"  # the account the test server knows
    env = dict(cli_env, MASTODON_API_BASE_URL=mastodon_server.base_url, MASTODON_ACCESS_TOKEN=token)
    proc = invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, "-v", env=env)
    posted = [ln for ln in proc.stderr.splitlines() if " channel:default posted " in ln]
    assert len(posted) == len(mastodon_server.statuses) > 0
    assert all(mastodon_server.base_url in ln for ln in posted)
    assert token not in proc.stdout + proc.stderr


def test_a_scan_in_a_terminal_shows_a_progress_bar_and_a_line_per_recueil(cli_env, fixture_site):
    """rich draws on a terminal only: the command runs on a pseudo-terminal here."""
    import os
    import pty
    import subprocess
    import sys

    from tests.conftest import ROOT

    leader, follower = pty.openpty()
    args = ["scan", "pref13", "--base-url", fixture_site.base_url, "--dry-run"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "attrap.cli", *args, "-v"],
        env=dict(cli_env, COLUMNS="200", TERM="xterm"),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=follower,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the command ended and closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(60) == 0
    os.close(leader)
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert "pref13: recueils" in shown  # the progress bar
    assert shown.count("pref13 read ") == 7 and "pref13 scanned " in shown
