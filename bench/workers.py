"""Workers benchmark: a backfill of the fixture site with 1 and with 2 `attrap worker` processes.

Each run gets a fresh PostgreSQL schema, serves the bundled fixture site (fixtures/sites/pref13)
with every recueil also served as a scan (so reading means OCR, as in a real backfill of old
RAA), defers one crawl of it, and times until every job (the crawl, one read per recueil) has
succeeded. Prints the wall time of each run and the ratio against the 1-worker baseline, in
one run. Each worker runs one job at a time (``--concurrency 1``).

Usage: ``ATTRAP_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test
.venv/bin/python bench/workers.py`` (default: that URL).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy  # noqa: E402

from attrap.config import Settings  # noqa: E402
from attrap.crawl.sources import registry  # noqa: E402
from attrap.fixtureserver import FixtureServer  # noqa: E402
from attrap.read.extract import extract_pages  # noqa: E402
from attrap.run.tasks import Queue  # noqa: E402
from tests.pdfgen import make_scanned_pdf  # noqa: E402

URL = os.environ.get("ATTRAP_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SITE = ROOT / "fixtures" / "sites" / "pref13"


def scans(tmp: Path) -> dict[str, bytes]:
    """Every recueil of the fixture site as a scanned PDF, by its path on the site."""
    out = {}
    for pdf in sorted(SITE.rglob("*.pdf")):
        texts = [p.text for p in extract_pages(pdf, ocr=False)]
        scan = make_scanned_pdf(tmp / f"{len(out)}.pdf", texts, set(range(1, len(texts) + 1)))
        out[quote("/" + str(pdf.relative_to(SITE)))] = scan.read_bytes()  # as the server sees it
    return out


def backfill(workers: int, scanned: dict[str, bytes], tmp: Path) -> tuple[float, int]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(URL)
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{URL}?options=-csearch_path%3D{schema}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATTRAP_", "MASTODON_"))}
    env.update(ATTRAP_DATABASE_URL=url, ATTRAP_DATA_DIR=str(tmp / schema), ATTRAP_REQUEST_DELAY="0")
    engine = sqlalchemy.create_engine(url)
    procs: list[subprocess.Popen] = []
    try:
        with FixtureServer(SITE) as site:
            for path, body in scanned.items():
                site.replace(path, body, "application/pdf")
            queue = Queue(Settings.load(env=env))
            cmd = [sys.executable, "-m", "attrap.cli", "worker", "--concurrency", "1"]
            procs = [
                subprocess.Popen(cmd, env=env, cwd=ROOT, stderr=subprocess.DEVNULL) for _ in range(workers)
            ]
            time.sleep(2.0)  # the workers start (imports, connections) before the clock does
            started = time.perf_counter()
            queue.crawl(registry()["pref13"].rebased(site.base_url))
            while True:
                with engine.connect() as conn:
                    rows = conn.execute(
                        sqlalchemy.text("SELECT task_name, status FROM procrastinate_jobs")
                    ).all()
                reads = [r for r in rows if r.task_name == "attrap:read"]
                if reads and len(reads) == len(scanned) and all(r.status == "succeeded" for r in rows):
                    break
                if any(r.status == "failed" for r in rows):
                    raise SystemExit(f"a job failed: {rows}")
                time.sleep(0.1)
            elapsed = time.perf_counter() - started
            queue.close()
        return elapsed, len(reads)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(60)
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="attrap-bench-workers-"))
    print("scanning the fixture recueils ...", flush=True)
    scanned = scans(tmp)
    pages = sum(len(list(extract_pages(p, ocr=False))) for p in SITE.rglob("*.pdf"))
    print(f"{len(scanned)} recueils, {pages} scanned pages, on {os.cpu_count()} cores\n")
    one, n = backfill(1, scanned, tmp)
    print(f"1 worker : {one:7.2f} s  ({n} recueils read)")
    two, n = backfill(2, scanned, tmp)
    print(f"2 workers: {two:7.2f} s  ({n} recueils read)")
    print(f"\n2 workers / 1 worker = {two / one:.2f}  (speed-up {one / two:.2f}x)")
    print("each worker reads one recueil at a time; OCR runs single-threaded (OMP_THREAD_LIMIT=1)")


if __name__ == "__main__":
    main()
