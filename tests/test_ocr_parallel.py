"""OCR spread over the machine's workers within one document: a document's scanned pages are
read by up to ATTRAP_WORKERS tesseract processes at once, never more on the whole machine
(several documents read at once share them), results in page order, and a page tesseract hangs
on is recorded as unreadable while the document is read on.

tesseract here is a stand-in on PATH that records when each run starts and ends (and can be
told to hang on its n-th run), so what is asserted is the overlap of runs, not durations."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from attrap.read import extract
from tests.conftest import ROOT, invoke_cli
from tests.pdfgen import make_scanned_pdf

FAKE = textwrap.dedent(
    """\
    #!{python}
    import os, sys, time
    if "--version" in sys.argv:
        print("tesseract 5.3.0"); sys.exit(0)
    if "--list-langs" in sys.argv:
        print("List of available languages (1):"); print("fra"); sys.exit(0)
    log = os.environ["FAKE_TESSERACT_LOG"]
    with open(log, "a") as f:
        f.write(f"start {{time.monotonic()}}\\n")
    runs = sum(1 for line in open(log) if line.startswith("start"))
    time.sleep(60 if str(runs) == os.environ.get("FAKE_TESSERACT_HANG") else 0.3)
    with open(sys.argv[2] + ".tsv", "w") as out:
        out.write("level\\tpage_num\\tblock_num\\tpar_num\\tline_num\\tword_num\\tleft\\ttop\\twidth\\theight\\tconf\\ttext\\n")
        out.write(f"5\\t1\\t1\\t1\\t1\\t1\\t0\\t0\\t10\\t10\\t91\\tpage{{runs}}\\n")
    with open(log, "a") as f:
        f.write(f"end {{time.monotonic()}}\\n")
    """
)


@pytest.fixture
def fake_tesseract(tmp_path, monkeypatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "tesseract"
    fake.write_text(FAKE.format(python=sys.executable), encoding="utf-8")
    fake.chmod(0o755)
    log = tmp_path / "tesseract.log"
    log.touch()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_TESSERACT_LOG", str(log))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the slots' lock files: this test's own
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    return log


def _most_at_once(log: Path) -> int:
    events = sorted(
        (float(t), +1 if kind == "start" else -1)
        for kind, t in (line.split() for line in log.read_text().splitlines())
    )
    most = running = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return most


def _scanned(tmp_path: Path, name: str, pages: int) -> Path:
    texts = [f"Page {n} : arrêté portant autorisation" for n in range(1, pages + 1)]
    return make_scanned_pdf(tmp_path / name, texts, scanned=set(range(1, pages + 1)), dpi=40)


def test_a_documents_scanned_pages_are_read_by_every_worker_at_once_in_page_order(
    tmp_path, fake_tesseract, monkeypatch
):
    monkeypatch.setenv("ATTRAP_WORKERS", "3")
    pdf = _scanned(tmp_path, "six.pdf", 6)
    pages = list(extract.extract_pages(pdf))
    assert [p.number for p in pages] == [1, 2, 3, 4, 5, 6]
    assert all(p.method == "ocr" and p.confidence == 91.0 for p in pages)
    assert _most_at_once(fake_tesseract) == 3  # never fewer when there is work, never more


def test_documents_read_at_once_share_the_machines_workers(tmp_path, fake_tesseract, monkeypatch):
    monkeypatch.setenv("ATTRAP_WORKERS", "2")
    pdfs = [_scanned(tmp_path, f"doc{i}.pdf", 4) for i in range(3)]
    code = "import sys; from attrap.read import extract; print(len(list(extract.extract_pages(sys.argv[1]))))"
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(p)],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            text=True,
        )
        for p in pdfs
    ]
    assert [r.communicate(timeout=120)[0].strip() for r in readers] == ["4", "4", "4"]
    assert _most_at_once(fake_tesseract) == 2  # three readers, two workers: two tesseracts at most


def test_a_page_tesseract_hangs_on_is_recorded_and_the_document_read_on(
    tmp_path, fake_tesseract, monkeypatch
):
    monkeypatch.setenv("ATTRAP_WORKERS", "1")
    monkeypatch.setenv("ATTRAP_OCR_PAGE_TIMEOUT", "1")
    monkeypatch.setenv("FAKE_TESSERACT_HANG", "2")  # the second page
    pages = list(extract.extract_pages(_scanned(tmp_path, "three.pdf", 3)))
    assert [(p.number, p.confidence) for p in pages] == [(1, 91.0), (2, 0.0), (3, 91.0)]
    assert pages[1].text == "" and "page3" in pages[2].text


def test_a_long_read_says_its_progress_in_the_log_and_in_status(
    tmp_path, fake_tesseract, monkeypatch, cli_env
):
    monkeypatch.setenv("ATTRAP_WORKERS", "1")
    monkeypatch.setenv("ATTRAP_PROGRESS_EVERY", "0")
    monkeypatch.setenv("FAKE_TESSERACT_HANG", "3")  # the third page takes long: status sees the read
    pdf = _scanned(tmp_path, "five.pdf", 5)
    code = "import logging, sys; logging.basicConfig(level=logging.INFO); from attrap.read import extract; list(extract.extract_pages(sys.argv[1]))"
    reader = subprocess.Popen(
        [sys.executable, "-c", code, str(pdf)],
        cwd=ROOT,
        env=os.environ.copy(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(200):
            status = invoke_cli(
                "status", env=dict(cli_env, PATH=os.environ["PATH"], TMPDIR=os.environ["TMPDIR"])
            ).stdout
            if "page 2 of 5" in status:  # page 3 takes a minute: the read stays at page 2
                break
        assert f"reading now: {pdf} — page 2 of 5 (2 by OCR)" in status
    finally:
        reader.kill()
        _, err = reader.communicate()
    assert f"reading {pdf}: page 1 of 5 (1 by OCR)" in err
