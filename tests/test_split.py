"""Splitting a recueil into decrees, with and without a sommaire, through OCR damage."""

from __future__ import annotations

from datetime import date

from attrap.model import Page
from attrap.split import parse_sommaire, split_decrees
from tests.pdfgen import recueil_pages


def _pages(texts: list[str], start: int = 1) -> list[Page]:
    return [Page(n, t) for n, t in enumerate(texts, start=start)]


EXPECTED = [
    (3, 4, "13-2026-10-14-00003", date(2026, 10, 14), "Jean DUPONT"),
    (5, 5, "13-2026-10-14-00004", date(2026, 10, 1), "Marie MARTIN"),
    (6, 8, "13-2026-10-14-00005", date(2026, 10, 12), "Paul DURAND"),
    (9, 9, "13-2026-10-14-00006", date(2026, 10, 13), "Anne PETIT"),
]


def _summary(decrees):
    return [(d.first_page, d.last_page, d.number, d.signed_on, d.signatory) for d in decrees]


def test_recueil_with_sommaire_and_ids():
    decrees = split_decrees(_pages(recueil_pages()))
    assert _summary(decrees) == EXPECTED
    assert decrees[0].title == (
        "Arrêté n° 13-2026-10-14-00003 autorisant la captation, l’enregistrement et la transmission "
        "d’images au moyen de caméras installées sur des aéronefs"
    )
    assert [p.number for p in decrees[2].pages] == [6, 7, 8]


def test_sommaire_entries_are_read():
    pages, entries = parse_sommaire(_pages(recueil_pages()))
    assert pages == [2]
    assert [(e.id, e.pages, e.page) for e in entries] == [
        ("13-2026-10-14-00003", 2, 3),
        ("13-2026-10-14-00004", 1, 5),
        ("13-2026-10-14-00005", 3, 6),
        ("13-2026-10-14-00006", 1, 9),
    ]
    assert entries[2].title == "Arrêté portant autorisation d'un système de vidéoprotection"


def test_unreadable_head_id_is_recovered_from_the_sommaire_with_its_offset():
    texts = recueil_pages()
    # the sommaire counts pages without the cover: every "Page P" is one less than in the PDF
    for p in (3, 5, 6, 9):
        texts[1] = texts[1].replace(f"Page {p}", f"Page {p - 1}")
    # OCR damage in the sommaire's ids, and an unreadable id on the head of page 6
    texts[1] = texts[1].replace("13-2026-10-14-00004", "13-2O26-1O-14-OOOO4")
    texts[5] = texts[5].replace("13-2026-10-14-00005\n", "1?-2026-..-14\n")
    decrees = split_decrees(_pages(texts))
    assert [(d.first_page, d.last_page) for d in decrees] == [(3, 4), (5, 5), (6, 8), (9, 9)]


def test_recueil_without_sommaire_or_ids_splits_on_titles_after_signatures():
    texts = [t.split("\n", 1)[1] if t[:2] == "13" else t for t in recueil_pages()]
    texts = [texts[0]] + texts[2:]  # no sommaire
    decrees = split_decrees(_pages(texts))
    assert [(d.first_page, d.last_page) for d in decrees] == [(2, 3), (4, 4), (5, 7), (8, 8)]
    assert decrees[3].title.startswith("Arrêté n° 13-2026-10-14-00006 portant interdiction")


def test_single_decree_document():
    (d,) = split_decrees(_pages([recueil_pages()[4]]))
    assert (d.first_page, d.last_page, d.signed_on) == (1, 1, date(2026, 10, 1))


def test_document_without_decrees_is_kept_whole():
    (d,) = split_decrees(_pages(["Ordre du jour de la commission", "Annexe : liste des membres"]))
    assert (d.first_page, d.last_page, d.title) == (1, 2, "Ordre du jour de la commission")


def test_empty_document():
    assert split_decrees([]) == []
