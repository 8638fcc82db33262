"""One read timeout: ATTRAP_READ_TIMEOUT bounds the reading of a document, OCR included.

The reading process stops itself at that limit with the page it reached (the sandbox's kill is
only a backstop, a little later), the limit follows the setting rather than a constant of the
reader, tesseract is stopped when the document's time runs out, and a scan records the
recueil that took too long as failed, with that reason, which ``attrap status`` shows.
"""

from __future__ import annotations

import json
import re
import time
from itertools import takewhile
from pathlib import Path

import pytest
import sqlalchemy

from attrap.config import Settings
from attrap.errors import ExtractError
from attrap.read import extract, sandbox
from tests.conftest import SITES, invoke_cli
from tests.pdfgen import make_pdf, make_scanned_pdf, recueil_pages

pytestmark = pytest.mark.skipif(not extract.ocr_available(), reason="tesseract is not installed")
#: the commands need a database, not a particular one: SQLite is enough
sqlite = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

#: a limit the OCR of the scanned recueil (9 pages, some 0.4 s each here) always exceeds
SHORT = "1.5"
TIMED_OUT = re.compile(r"reading timed out after 1\.5 s \(ATTRAP_READ_TIMEOUT\) at page (\d+) of 9")
#: the recueil of the 14th of October 2026 on the fixture site, replaced by the scanned one
RECUEIL_PATH = "/contenu/telechargement/60861/429971/file/recueil-13-2026-245-du%2014%20octobre%202026.pdf"


@pytest.fixture(scope="module")
def scanned(tmp_path_factory) -> Path:
    """A 9-page recueil whose every page is an image: all of it is read by OCR."""
    pages = recueil_pages()
    return make_scanned_pdf(tmp_path_factory.mktemp("scan") / "scanned.pdf", pages, set(range(1, 10)))


@sqlite
def test_a_read_past_the_setting_stops_with_the_limit_and_the_page_reached(cli_env, scanned):
    env = dict(cli_env, ATTRAP_READ_TIMEOUT=SHORT)
    proc = invoke_cli("classify", "--json", str(scanned), env=env, check=False)
    assert proc.returncode == 1
    (result,) = json.loads(proc.stdout)
    error = result["error"]
    # the reader stopped itself, within the limit it was given: not the sandbox's kill
    assert (m := TIMED_OUT.search(error)), error
    assert 1 <= int(m.group(1)) <= 9
    assert "the process was stopped" not in error


@sqlite
def test_the_same_document_is_read_whole_with_a_larger_setting(cli_env, scanned):
    env = dict(cli_env, ATTRAP_READ_TIMEOUT="120")
    proc = invoke_cli("classify", "--json", str(scanned), env=env)
    (result,) = json.loads(proc.stdout)
    assert "error" not in result
    decrees = result["decrees"]
    assert decrees[-1]["pages"][1] == 9  # every page read, to the last one
    assert {p["page"] for d in decrees for p in d["ocr_pages"]} >= {3, 4, 5, 6, 7, 8, 9}
    assert "drone" in result["categories"]


def _read_with_page_one_taking_350_s(path: Path) -> list[int]:
    """Run in a reading process: read ``path`` with the reader's default limit, but let the clock
    jump 350 s once page 1 is read, as a long OCR would (the process is thrown away after)."""
    real = time.monotonic
    lost = [0.0]
    time.monotonic = lambda: real() + lost[0]
    numbers = []
    for page in extract.extract_pages(path, ocr=False):
        numbers.append(page.number)
        lost[0] = 350.0
    return numbers


@sqlite
@pytest.mark.parametrize("setting", ["1000", "340"])
def test_the_readers_limit_is_the_setting_not_a_constant(cli_env, tmp_path, setting):
    """A document whose reading takes 350 s: read whole under a limit of 1000 s, stopped at page
    2 under one of 340 s: neither a constant of the reader (it had 300 s) nor the sandbox's kill
    (1000 s of real time never pass) decides."""
    pdf = make_pdf(tmp_path / "r.pdf", recueil_pages()[2:5])
    settings = Settings.load(env=dict(cli_env, ATTRAP_READ_TIMEOUT=setting))
    read = lambda: sandbox.run(_read_with_page_one_taking_350_s, pdf, timeout=settings.read_timeout)  # noqa: E731
    if setting == "1000":
        assert read() == [1, 2, 3]
    else:
        with pytest.raises(ExtractError) as info:
            read()
        assert info.value.message == "reading timed out after 340 s (ATTRAP_READ_TIMEOUT) at page 2 of 3"


def test_tesseract_is_stopped_when_the_documents_time_runs_out(tmp_path):
    """One dense scanned page takes tesseract some 2.7 s here: with a second for the document,
    it is stopped at that second, not waited for."""
    line = "Article 3 : la présente autorisation est délivrée pour la durée de la manifestation."
    pdf = make_scanned_pdf(tmp_path / "dense.pdf", ["\n".join([line] * 60)], scanned={1})
    started = time.monotonic()
    with pytest.raises(ExtractError, match=r"extraction timed out after 1 s \(at page 1\)"):
        extract.read_document(pdf, timeout=1.0)
    assert time.monotonic() - started < 2.0


@sqlite
def test_a_scan_records_the_recueil_read_past_the_setting_and_status_shows_it(cli_env, db_url, scanned):
    from attrap.fixtureserver import FixtureServer

    env = dict(cli_env, ATTRAP_READ_TIMEOUT=SHORT, ATTRAP_WORKERS="1")
    with FixtureServer(SITES / "pref13") as site:
        site.replace(RECUEIL_PATH, scanned.read_bytes(), "application/pdf")
        proc = invoke_cli(
            "scan",
            "pref13",
            "--base-url",
            site.base_url,
            "--since",
            "2026-10-14",
            "--dry-run",
            "--json",
            env=env,
            check=False,
        )
    (report,) = json.loads(proc.stdout)["sources"]
    assert report["pdfs_found"] == 2 and report["processed"] == 1 and report["failed"] == 1
    assert TIMED_OUT.search(report["errors"][0]), report["errors"]

    engine = sqlalchemy.create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(sqlalchemy.text("SELECT url, status, error FROM recueils ORDER BY url")).all()
    engine.dispose()
    failed = [r for r in rows if r.status == "failed"]
    assert len(failed) == 1 and failed[0].url.endswith(RECUEIL_PATH)
    assert TIMED_OUT.fullmatch(failed[0].error), failed[0].error

    (row,) = [
        r for r in json.loads(invoke_cli("status", "--json", env=env).stdout) if r["source_id"] == "pref13"
    ]
    assert row["failed"] == 1 and TIMED_OUT.search(row["last_error"])
    lines = invoke_cli("status", env=env).stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("pref13 "))
    assert lines[at].split()[4:6] == ["2", "1"]  # RAA, failed
    block = [line.strip() for line in takewhile(lambda line: line.startswith(" "), lines[at + 1 :])]
    (last_error,) = [line for line in block if line.startswith("last error: ")]
    assert TIMED_OUT.search(last_error), last_error
