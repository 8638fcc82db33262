"""Several workers on PostgreSQL (procrastinate): a worker killed mid-work loses nothing, and
nothing is done twice. Skipped without ATTRAP_TEST_POSTGRES_URL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
import sqlalchemy

from attrap.config import Settings
from attrap.crawl.sources import registry
from attrap.read.extract import extract_pages
from attrap.run.tasks import Queue
from tests.conftest import ROOT, SITES, invoke_cli, run_cli
from tests.pdfgen import make_scanned_pdf

EXPECTED = json.loads((SITES / "pref13" / "EXPECTED.json").read_text(encoding="utf-8"))


def _env(db_url: str, tmp_path: Path, mastodon_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATTRAP_", "MASTODON_"))}
    return dict(
        env,
        ATTRAP_DATA_DIR=str(tmp_path / "data"),
        ATTRAP_DATABASE_URL=db_url,
        ATTRAP_REQUEST_DELAY="0",
        ATTRAP_WORKERS="1",
        MASTODON_API_BASE_URL=mastodon_url,
        MASTODON_ACCESS_TOKEN="test-token",
    )


def _worker(env: dict[str, str]) -> subprocess.Popen:
    args = ["worker", "--concurrency", "1", "--heartbeat", "0.5", "--stalled-after", "3"]
    return subprocess.Popen(
        [sys.executable, "-m", "attrap.cli", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _jobs(engine: sqlalchemy.Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            sqlalchemy.text("SELECT id, task_name, status, args, attempts FROM procrastinate_jobs")
        )
        return [dict(r._mapping) for r in rows]


def _wait(predicate, timeout: float, what: str, procs=()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    errors = "\n".join((p.stderr.read() if p.poll() is not None else "(running)")[-2000:] for p in procs)
    raise AssertionError(f"timed out waiting for {what}\n{errors}")


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_worker_killed_mid_work_loses_nothing_and_nothing_is_done_twice(
    db_url, tmp_path, fixture_site, mastodon_server
):
    env = _env(db_url, tmp_path, mastodon_server.base_url)
    rec = next(r for r in EXPECTED["recueils"] if r["published"].startswith("2024"))
    original = SITES / "pref13" / unquote(rec["path"]).lstrip("/")
    texts = [p.text for p in extract_pages(original, ocr=False)]
    scanned = make_scanned_pdf(tmp_path / "scan.pdf", texts, set(range(1, len(texts) + 1)))
    fixture_site.replace(rec["path"], scanned.read_bytes(), "application/pdf")

    settings = Settings.load(env=env)
    queue = Queue(settings)  # creates the queue's tables, as `attrap run` does
    engine = sqlalchemy.create_engine(db_url)
    first = _worker(env)
    second = None
    try:
        assert queue.crawl(registry()["pref13"].rebased(fixture_site.base_url)) is not None
        assert queue.crawl(registry()["pref13"].rebased(fixture_site.base_url)) is None  # queueing lock

        def reading_the_scan() -> bool:
            return any(
                j["task_name"] == "attrap:read"
                and j["status"] == "doing"
                and unquote(rec["path"]) in unquote(j["args"]["url"])
                for j in _jobs(engine)
            )

        _wait(reading_the_scan, 90, "the scanned recueil to be read", [first])
        second = _worker(env)
        time.sleep(0.5)
        first.send_signal(signal.SIGKILL)  # mid-OCR
        first.wait(10)

        def all_read() -> bool:
            jobs = _jobs(engine)
            reads = [j for j in jobs if j["task_name"] == "attrap:read"]
            return len(reads) == len(EXPECTED["recueils"]) and all(j["status"] == "succeeded" for j in jobs)

        _wait(all_read, 120, "every recueil to be read", [second])
        jobs = _jobs(engine)
        killed = next(
            j
            for j in jobs
            if j["task_name"] == "attrap:read" and unquote(rec["path"]) in unquote(j["args"]["url"])
        )
        assert killed["status"] == "succeeded"  # taken up again by the other worker
        assert (
            len({j["args"]["recueil_id"] for j in jobs if j["task_name"] == "attrap:read"}) == len(jobs) - 1
        )

        assert queue.publish("default") is not None
        _wait(lambda: all(j["status"] == "succeeded" for j in _jobs(engine)), 60, "publishing", [second])
    finally:
        logs = {}
        for name, proc in (("first", first), ("second", second)):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                logs[name] = proc.communicate(timeout=30)[1]
                assert proc.returncode == 0, logs[name][-2000:]
        queue.close()
    # the survivor found the dead worker's job and put it back in the queue
    assert f'requeued job={killed["id"]} reason="its worker died"' in logs["second"]

    # every PDF downloaded once; every recueil processed; each flagged decree posted once
    pdf_gets = [r.path for r in fixture_site.requests if r.path.endswith(".pdf")]
    assert sorted(pdf_gets) == sorted(set(pdf_gets)) and len(pdf_gets) == len(EXPECTED["recueils"])
    status = json.loads(invoke_cli("status", "--json", env=env).stdout)
    row = next(s for s in status if s["source_id"] == "pref13")
    assert row["recueils"] == len(EXPECTED["recueils"]) and row["failed"] == 0 and row["posts_waiting"] == 0
    links = [w for s in mastodon_server.statuses for w in s["text"].split() if "#page=" in w]
    assert links and len(links) == len(set(links))
    with engine.connect() as conn:
        decrees = conn.execute(
            sqlalchemy.text("SELECT count(*), count(DISTINCT (recueil_id, first_page)) FROM decrees")
        )
        total, distinct = decrees.one()
        flagged = conn.execute(
            sqlalchemy.text("SELECT count(*) FROM posts WHERE channel = 'default' AND status = 'posted'")
        ).scalar()
    assert total == distinct  # no decree stored twice
    assert flagged == len(links)
    assert any(rec["path"].rsplit("/", 1)[-1] in link for link in links)  # the scan's drone decree
    engine.dispose()


def test_worker_refuses_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATTRAP_", "MASTODON_"))}
    proc = run_cli("worker", env=dict(env, ATTRAP_DATA_DIR=str(tmp_path)), check=False)
    assert proc.returncode == 1 and "attrap worker needs PostgreSQL" in proc.stderr
