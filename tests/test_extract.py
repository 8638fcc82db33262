"""Extraction of page text from PDFs, and every kind of bad file."""

from __future__ import annotations

import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from attrap.errors import ExtractError
from attrap.model import Page
from attrap.read.extract import (
    TEXT_BACKENDS,
    extract_pages,
    needs_ocr,
    normalize_text,
    ocr_available,
    pdf_creation_date,
    read_document,
)
from tests.pdfgen import make_pdf, make_scanned_pdf, recueil12_pages, recueil_pages


@pytest.fixture(autouse=True, params=TEXT_BACKENDS)
def backend(request, monkeypatch):
    """Every test here runs with each text-layer reader: both must pass the same tests."""
    monkeypatch.setenv("ATTRAP_TEXT_BACKEND", request.param)
    return request.param


def test_pages_keep_accents_apostrophes_and_numbers(tmp_path):
    pdf = make_pdf(tmp_path / "r.pdf", recueil_pages())
    pages = list(extract_pages(pdf))
    assert [p.number for p in pages] == list(range(1, 10))
    assert "l’enregistrement" in pages[2].text and "aéronefs" in pages[2].text
    assert "PUBLIÉ LE 14 OCTOBRE 2026" in pages[0].text
    assert all(p.method == "text" and p.raw for p in pages)


def test_blank_page_needs_ocr_and_text_page_does_not(tmp_path):
    pages = list(extract_pages(make_pdf(tmp_path / "r.pdf", ["", recueil_pages()[2]])))
    assert needs_ocr(pages[0]) and not needs_ocr(pages[1])


def test_creation_date_is_read_from_metadata(tmp_path):
    pdf = make_pdf(tmp_path / "r.pdf", ["x"])
    assert pdf_creation_date(pdf) == datetime(2026, 10, 14, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("capta-\ntion d'images", "captation d'images"),
        ("Bouches-du-\nRhône", "Bouches-du-Rhône"),
        ("ﬁchier ﬂottant", "fichier flottant"),
        ("ae\u0301ronef", "aéronef"),
        ("ae´ronef", "aéronef"),
        ("a\u00a0b\t\tc   d", "a b c d"),
        ("a\n\n\n\nb", "a\n\nb"),
        ("x(cid:12)y\x07z", "xyz"),
        ("vid\u00e9o\u00adprotection", "vidéoprotection"),
        ("capta\u00ad\ntion", "captation"),
        ("Saint-\nÉtienne et sous-\npréfet", "Saint-Étienne et souspréfet"),
        ("articles L. 242-\n1 à L. 242-8", "articles L. 242-1 à L. 242-8"),
        ("visas :\n- le code", "visas :\n- le code"),
        ("ﬃ ﬀ ﬄ ﬅ ﬆ œuvre Œ", "ffi ff ffl st st œuvre Œ"),
        ("´ete´ de´ja` c¸a ou` l`a ı^le pe`re", "été déjà ça où là île père"),
        ("a´b", "a´b"),  # no French letter to make: left alone
        ("E\u0301TE\u0301", "ÉTÉ"),
        ("a\u202fb\u2009c\u3000d\u200be", "a b c de"),
        ("  ligne  \n\n\n\n  suite \f page", "ligne\n\nsuite\npage"),
        ("un\r\ndeux\rtrois", "un\ndeux\ntrois"),
        ("(cid:3)(cid:45)Arrêté", "Arrêté"),
        ("a\x00b\x1bc\ufeffd", "abcd"),
    ],
)
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


def test_memory_stays_bounded_on_a_300_page_document(tmp_path):
    from pdfminer.high_level import extract_pages as pdfminer_pages

    from attrap.read.extract import LAPARAMS

    pdf = make_pdf(tmp_path / "long.pdf", recueil12_pages() * 25)
    # what keeping layouts would cost: 10 of them held at once
    tracemalloc.start()
    kept = [layout for _, layout in zip(range(10), pdfminer_pages(pdf, laparams=LAPARAMS), strict=False)]
    per_layout = tracemalloc.get_traced_memory()[0] / len(kept)
    tracemalloc.stop()
    del kept
    tracemalloc.start()
    count, text = 0, 0
    for page in extract_pages(pdf, ocr=False):  # pages are consumed, not kept
        count, text = count + 1, text + len(page.raw)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 300
    # 300 layouts would take 300 × per_layout (tens of MB); one at a time takes a few of them
    assert peak < 30 * per_layout, f"peak {peak / 1e6:.1f} MB vs {per_layout / 1e6:.2f} MB per layout"
    assert peak < 60 * 1024 * 1024
    assert 300 * per_layout > 10 * text  # a layout is far bigger than its text: the test can fail


@pytest.mark.parametrize("method", ["RC4", "AES_128", "AES_256"])
def test_encrypted_with_an_empty_password_is_read(tmp_path, method):
    pdf = make_pdf(tmp_path / "e.pdf", ["Arrêté portant autorisation"], user_password="", encryption=method)
    assert "Arrêté portant autorisation" in list(extract_pages(pdf, ocr=False))[0].text


@pytest.mark.parametrize("method", ["RC4", "AES_256"])
def test_encrypted_with_a_user_password_fails(tmp_path, method):
    pdf = make_pdf(tmp_path / "e.pdf", ["secret"], user_password="s3cret", encryption=method)
    with pytest.raises(ExtractError, match="password") as info:
        list(extract_pages(pdf, ocr=False))
    assert info.value.__cause__ is not None


def _truncated(tmp_path):
    data = make_pdf(tmp_path / "full.pdf", recueil_pages()).read_bytes()
    (tmp_path / "t.pdf").write_bytes(data[: len(data) // 3])
    return tmp_path / "t.pdf"


def _cut_before_eof(tmp_path):
    data = make_pdf(tmp_path / "full.pdf", recueil_pages()).read_bytes()
    (tmp_path / "c.pdf").write_bytes(data[: len(data) - 10])
    return tmp_path / "c.pdf"


def _garbled(tmp_path):
    data = bytearray(make_pdf(tmp_path / "full.pdf", recueil_pages()).read_bytes())
    data[20:-200] = bytes(len(data) - 220)  # every object zeroed: header and trailer only
    (tmp_path / "g.pdf").write_bytes(bytes(data))
    return tmp_path / "g.pdf"


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda d: (d / "z.pdf").write_bytes(b"") and None or d / "z.pdf", "empty file"),
        (
            lambda d: (d / "h.pdf").write_bytes(b"<!DOCTYPE html><html>Erreur</html>") and d / "h.pdf",
            "not a PDF (looks like HTML)",
        ),
        (_truncated, "truncated or corrupt PDF"),
        (_cut_before_eof, "truncated or corrupt PDF"),
        (_garbled, "truncated or corrupt PDF"),
        (
            lambda d: (d / "x.pdf").write_bytes(b"\x00\x01binary junk" * 50) and d / "x.pdf",
            "not a PDF (unknown content)",
        ),
        (
            lambda d: (d / "x.dat").write_bytes(b"<html><body>Erreur 404</body></html>") and d / "x.dat",
            "not a PDF (looks like HTML)",
        ),
        (lambda d: make_pdf(d / "p.pdf", ["secret"], user_password="s3cret"), "password required"),
    ],
)
def test_bad_files_raise_extract_error_with_a_reason(tmp_path, build, reason):
    with pytest.raises(ExtractError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        read_document(build(tmp_path))


def test_file_over_the_size_cap(tmp_path, monkeypatch):
    import attrap.read.extract as ex

    monkeypatch.setattr(ex, "MAX_PDF_BYTES", 100)
    with pytest.raises(ExtractError, match="size cap"):
        read_document(make_pdf(tmp_path / "big.pdf", ["x" * 500]))


def test_time_limit_per_document(tmp_path):
    pdf = make_pdf(tmp_path / "long.pdf", [recueil_pages()[2]] * 100)
    with pytest.raises(ExtractError, match="timed out after 0 s"):
        read_document(pdf, timeout=0.0)
    pages = []
    # a second per document, time enough for the first pages even on a loaded machine
    with pytest.raises(ExtractError, match=r"extraction timed out after 1 s \(at page \d+\)"):
        for page in extract_pages(pdf, timeout=1.0, ocr=False):
            pages.append(page)
            time.sleep(0.05)  # however fast the reader, the document's time runs out
    assert 0 < len(pages) < 100


def test_too_many_pages(tmp_path):
    pdf = make_pdf(tmp_path / "p.pdf", ["un", "deux", "trois"])
    with pytest.raises(ExtractError, match="too many pages"):
        list(extract_pages(pdf, max_pages=2, ocr=False))
    assert len(list(extract_pages(pdf, max_pages=3, ocr=False))) == 3


def test_missing_file():
    with pytest.raises(ExtractError, match="cannot read file"):
        read_document(Path("/nonexistent/r.pdf"))


def test_content_decides_not_the_name(tmp_path):
    pdf = make_pdf(tmp_path / "r.txt", ["Arrêté préfectoral"])  # a PDF with a .txt name
    assert read_document(pdf, ocr=False)[0].text == "Arrêté préfectoral"
    (tmp_path / "e.txt").write_bytes(b"")
    with pytest.raises(ExtractError, match="empty file"):
        read_document(tmp_path / "e.txt")


def test_ligatures_and_typography_in_a_pdf(tmp_path, backend):
    pdf = make_pdf(tmp_path / "l.pdf", ["Le ﬁchier ﬂottant du cœur « Œuvre » d’été, n° 3 — à l’île"])
    (page,) = extract_pages(pdf, ocr=False)
    assert page.text == "Le fichier flottant du cœur « Œuvre » d’été, n° 3 — à l’île"
    if backend == "pdfminer":  # the raw text is the reader's own: PDFium undoes ligatures itself
        assert "ﬁ" in page.raw


def test_blank_page_without_ocr_is_empty_text(tmp_path):
    pages = list(extract_pages(make_pdf(tmp_path / "b.pdf", ["Arrêté", ""]), ocr=False))
    assert (pages[1].number, pages[1].text, pages[1].method) == (2, "", "text")
    assert needs_ocr(pages[1])


@pytest.mark.parametrize(
    ("text", "raw", "expected"),
    [
        ("", "", True),
        ("Page 3", "Page 3", True),
        ("Arrêté portant autorisation de la captation d'images", "", False),
        ("ab " + "(cid:3)" * 10, "ab" + "(cid:3)" * 400 + "x" * 30, True),
        ("Ab" * 15 + " §$%&*#@!+=" * 20, "", True),
    ],
)
def test_needs_ocr(text, raw, expected):
    assert needs_ocr(Page(1, text, raw or text)) is expected


def test_text_file_pages_split_on_form_feeds(tmp_path):
    path = tmp_path / "r.txt"
    path.write_text("page un\fpage deux\f", encoding="utf-8")
    assert [(p.number, p.text) for p in read_document(path)] == [(1, "page un"), (2, "page deux")]
    path.write_text("une seule page,\nsans saut", encoding="utf-8")
    assert [(p.number, p.text, p.method) for p in read_document(path)] == [
        (1, "une seule page,\nsans saut", "text")
    ]
    path.write_bytes("arrêté".encode("cp1252"))
    assert read_document(path)[0].text == "arrêté"


@pytest.mark.skipif(not ocr_available(), reason="tesseract is not installed (make test installs it)")
def test_only_scanned_pages_are_ocred_and_a_scanned_drone_decree_is_found(tmp_path):
    from attrap.read.split import split_decrees
    from attrap.rules.classify import load_rules

    pdf = make_scanned_pdf(tmp_path / "scan.pdf", recueil_pages(), scanned={3})
    pages = list(extract_pages(pdf))
    assert [p.method for p in pages] == [
        "text",
        "text",
        "ocr",
        "text",
        "text",
        "text",
        "text",
        "text",
        "text",
    ]
    assert pages[2].confidence is not None and pages[2].confidence > 60
    assert "13-2026-10-14-00003" in pages[2].text
    decrees = split_decrees(pages)
    assert [(d.first_page, d.last_page) for d in decrees] == [(3, 4), (5, 5), (6, 8), (9, 9)]
    assert load_rules().classify(decrees[0]).categories == ["drone"]
    assert [o["page"] for o in decrees[0].ocr_pages] == [3] and decrees[1].ocr_pages == []


def test_ocr_can_be_turned_off(tmp_path):
    pdf = make_scanned_pdf(tmp_path / "scan.pdf", recueil_pages()[:3], scanned={3})
    pages = list(extract_pages(pdf, ocr=False))
    assert pages[2].method == "text" and needs_ocr(pages[2])


def test_a_reading_process_holds_the_readers_not_the_store_the_crawler_or_the_publisher(tmp_path):
    """Up to ATTRAP_WORKERS reading processes run at once, each from a forkserver that preloads
    what reading needs (attrap.read.document): not the database layer, the HTTP client, the
    HTML parser or Mastodon.py, whose imports would cost each process time and memory."""
    from attrap.read import sandbox
    from attrap.read.document import read_decrees

    pdf = make_pdf(tmp_path / "r.pdf", recueil_pages()[:2])
    assert sandbox.run(read_decrees, pdf, label=pdf.name).page_count == 2
    # builtins.eval travels by name: what a fresh reading process has imported
    loaded = set(sandbox.run(eval, "sorted(__import__('sys').modules)"))
    assert {"pdfminer", "attrap.read.extract", "attrap.read.split"} <= loaded
    heavy = {"sqlalchemy", "httpx", "bs4", "mastodon", "alembic", "fastapi", "attrap.store", "attrap.crawl"}
    assert heavy & loaded == set(), sorted(heavy & loaded)
    assert not {m for m in loaded if m.startswith(("attrap.publish", "attrap.run", "attrap.serve"))}
