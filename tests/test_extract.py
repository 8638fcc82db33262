"""Extraction of page text from PDFs, and every kind of bad file."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime

import pytest

from attrap.errors import ExtractError
from attrap.extract import (
    extract_pages,
    needs_ocr,
    normalize_text,
    ocr_available,
    pdf_creation_date,
    read_document,
)
from tests.pdfgen import make_pdf, make_scanned_pdf, recueil_pages


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
    ],
)
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


def test_memory_stays_bounded_on_a_long_document(tmp_path):
    pdf = make_pdf(tmp_path / "long.pdf", [recueil_pages()[2]] * 120)
    tracemalloc.start()
    count = sum(1 for _ in extract_pages(pdf))  # pages are consumed, not kept
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 120
    assert peak < 40 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB: layouts are being accumulated"


def test_encrypted_with_an_empty_password_is_read(tmp_path):
    pdf = make_pdf(tmp_path / "e.pdf", ["Arrêté portant autorisation"], user_password="")
    assert "Arrêté" in list(extract_pages(pdf))[0].text


def _truncated(tmp_path):
    data = make_pdf(tmp_path / "full.pdf", recueil_pages()).read_bytes()
    (tmp_path / "t.pdf").write_bytes(data[: len(data) // 3])
    return tmp_path / "t.pdf"


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda d: (d / "z.pdf").write_bytes(b"") and None or d / "z.pdf", "empty file"),
        (
            lambda d: (d / "h.pdf").write_bytes(b"<!DOCTYPE html><html>Erreur</html>") and d / "h.pdf",
            "not a PDF (looks like HTML)",
        ),
        (_truncated, "truncated or corrupt PDF"),
        (lambda d: make_pdf(d / "p.pdf", ["secret"], user_password="s3cret"), "password required"),
    ],
)
def test_bad_files_raise_extract_error_with_a_reason(tmp_path, build, reason):
    with pytest.raises(ExtractError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        read_document(build(tmp_path))


def test_file_over_the_size_cap(tmp_path, monkeypatch):
    import attrap.extract as ex

    monkeypatch.setattr(ex, "MAX_PDF_BYTES", 100)
    with pytest.raises(ExtractError, match="size cap"):
        read_document(make_pdf(tmp_path / "big.pdf", ["x" * 500]))


def test_time_limit_per_document(tmp_path):
    pdf = make_pdf(tmp_path / "long.pdf", [recueil_pages()[2]] * 40)
    with pytest.raises(ExtractError, match="timed out"):
        read_document(pdf, timeout=0.0)


def test_text_file_pages_split_on_form_feeds(tmp_path):
    path = tmp_path / "r.txt"
    path.write_text("page un\fpage deux\f", encoding="utf-8")
    assert [(p.number, p.text) for p in read_document(path)] == [(1, "page un"), (2, "page deux")]


@pytest.mark.skipif(not ocr_available(), reason="tesseract is not installed (make test installs it)")
def test_only_scanned_pages_are_ocred_and_a_scanned_drone_decree_is_found(tmp_path):
    from attrap.classify import load_rules
    from attrap.split import split_decrees

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
