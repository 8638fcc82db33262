"""Splitting a recueil into decrees, with and without a sommaire, through OCR damage."""

from __future__ import annotations

from datetime import date

from attrap.model import Page
from attrap.read.split import find_ids, parse_sommaire, split_decrees
from tests.pdfgen import recueil12_pages, recueil_pages


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


# --- a 12-page recueil: cover, two-page sommaire, four decrees of 1-3 pages -------------------

EXPECTED12 = [
    (4, 5, "13-2026-10-14-00003", date(2026, 10, 14), "Jean-Marie DUPONT"),
    (6, 6, "13-2026-10-13-00017", date(2026, 10, 1), "Marie MARTIN"),
    (7, 9, "13-2026-10-12-00021", date(2026, 10, 12), "Paul DURAND"),
    (10, 12, "13-2026-10-14-00100", date(2026, 10, 14), "Anne PETIT"),
]
TITLES12 = [
    "Arrêté n° 13-2026-10-14-00003 portant autorisation de la captation, de l’enregistrement et de la "
    "transmission d’images au moyen de caméras installées sur des aéronefs",
    "Arrêté n° 13-2026-10-13-00017 portant fermeture temporaire de la route départementale 559",
    "ARRÊTÉ PRÉFECTORAL n° 13-2026-10-12-00021 portant mise en demeure de la société Œnologie du Sud",
    "Arrêté n° 13-2026-10-14-00100 portant autorisation d’un système de vidéoprotection",
]


def _check12(decrees):
    assert _summary(decrees) == EXPECTED12
    assert [d.title for d in decrees] == TITLES12
    assert [[p.number for p in d.pages] for d in decrees] == [[4, 5], [6], [7, 8, 9], [10, 11, 12]]


def test_recueil12_with_sommaire_and_ids():
    _check12(split_decrees(_pages(recueil12_pages())))


def test_recueil12_sommaire_spans_two_pages_and_entries_wrap():
    numbers, entries = parse_sommaire(_pages(recueil12_pages()))
    assert numbers == [2, 3]
    assert [(e.id, e.pages, e.page) for e in entries] == [
        ("13-2026-10-14-00003", 2, 4),
        ("13-2026-10-13-00017", 1, 6),
        ("13-2026-10-12-00021", 3, 7),
        ("13-2026-10-14-00100", 3, 10),
    ]
    assert entries[0].title == (
        "Arrêté portant autorisation de la captation, de l’enregistrement et de la transmission "
        "d’images au moyen de caméras installées sur des aéronefs"
    )
    assert entries[3].title == "Arrêté portant autorisation d’un système de vidéoprotection"


def test_recueil12_sommaire_pages_offset_by_two():
    texts = recueil12_pages(sommaire_offset=2)
    assert "Page 2\n" in texts[1]  # the first decree is announced on "page 2"
    _check12(split_decrees(_pages(texts)))


def test_recueil12_offset_sommaire_fills_in_an_unreadable_head_id():
    texts = recueil12_pages(sommaire_offset=2)
    texts[6] = texts[6].replace("13-2026-10-12-00021\n", "1?-2Q2G-..-12-\n", 1)  # page 7's head
    _check12(split_decrees(_pages(texts)))


def test_recueil12_offset_learnt_without_any_head_id():
    texts = recueil12_pages(sommaire_offset=2)
    for i in (3, 5, 6, 9):
        texts[i] = texts[i].split("\n", 1)[1]  # no id on any page head
    decrees = split_decrees(_pages(texts))
    assert [(d.first_page, d.last_page, d.number) for d in decrees] == [e[:3] for e in EXPECTED12]


def test_recueil12_with_ocr_damaged_sommaire_ids():
    texts = recueil12_pages(sommaire_offset=2, damaged_ids=True)
    numbers, entries = parse_sommaire(_pages(texts))
    assert numbers == [2, 3]
    assert [e.id for e in entries] == [e[2] for e in EXPECTED12]
    _check12(split_decrees(_pages(texts)))


def test_heads_win_when_the_sommaire_disagrees():
    texts = recueil12_pages()
    texts[1] = texts[1].replace("Page 6", "Page 5")  # the sommaire is wrong about decree 2
    _check12(split_decrees(_pages(texts)))


def test_recueil12_without_sommaire_or_ids():
    texts = recueil12_pages()
    texts = [texts[0]] + [t.split("\n", 1)[1] if t.startswith("13-") else t for t in texts[3:]]
    decrees = split_decrees(_pages(texts))
    assert [(d.first_page, d.last_page) for d in decrees] == [(2, 3), (4, 4), (5, 7), (8, 10)]
    assert [d.title for d in decrees] == TITLES12
    assert [d.signatory for d in decrees] == [e[4] for e in EXPECTED12]
    assert [d.number for d in decrees] == [e[2] for e in EXPECTED12]


def test_title_heuristic_needs_a_signature_on_the_page_before():
    texts = [
        "ARRÊTÉ portant réglementation de la circulation\nVu le code ;\nARRÊTE\nArticle 1er : ...",
        # "ARRÊTE" (the verb) at a page head, and an "Arrêté" mentioned mid-decree: not starts
        "ARRÊTE :\nArticle 2 : l'arrêté du 3 mai est abrogé.\nArrêté du 3 mai 2026 cité",
        "Article 3 : exécution.\nFait à Arles, le 2 octobre 2026\nLe sous-préfet,\nLuc BLANC",
        "DÉCISION n° 2026-45 portant délégation de signature\nVu le décret ;\nDÉCIDE\nArticle 1er\n"
        "Marseille, le 3 octobre 2026\nLa directrice\nZoé NOIR",
        "ARRETE n° 2026/77\nportant interdiction de vente d'alcool\nVu le code ;\nARRETE :\nArticle 1er\n"
        "Fait à Marseille, le 4 octobre 2026",
    ]
    decrees = split_decrees(_pages(texts))
    assert [(d.first_page, d.last_page) for d in decrees] == [(1, 3), (4, 4), (5, 5)]
    assert [d.number for d in decrees] == [None, "2026-45", "2026/77"]
    assert [d.signed_on for d in decrees] == [date(2026, 10, 2), date(2026, 10, 3), date(2026, 10, 4)]
    assert decrees[0].signatory == "Luc BLANC" and decrees[1].signatory == "Zoé NOIR"
    assert decrees[2].title == "ARRETE n° 2026/77 portant interdiction de vente d'alcool"


def test_ids_of_other_departments_and_running_headers():
    texts = [
        "2A-2026-03-01-00001\nArrêté n° 2A-2026-03-01-00001 portant X\nVu ;\nArticle 1er",
        "2A-2026-03-01-00001\nArticle 2 (same id as a running header)\nFait à Ajaccio, le 1er mars 2026",
        "971-2026-03-02-00002\nArrêté portant Y\nVu ;\nFait à Basse-Terre, le 2 mars 2026",
        "99-2026-13-02-00003 is not an id (month 13)\nFait à Paris, le 2 mars 2026",
    ]
    decrees = split_decrees(_pages(texts))
    assert [(d.first_page, d.last_page, d.number) for d in decrees] == [
        (1, 2, "2A-2026-03-01-00001"),
        (3, 4, "971-2026-03-02-00002"),
    ]
    assert find_ids("l3-2O26-1O-14-OOOO3 x 13 - 2026 - 10 - 14 - 0000 4")[1][2] == "13-2026-10-14-00004"


def test_single_decree_document_12():
    (d,) = split_decrees(_pages(recueil12_pages()[5:6]))
    assert (d.first_page, d.last_page, d.signed_on, d.signatory) == (1, 1, date(2026, 10, 1), "Marie MARTIN")
    assert d.title == TITLES12[1]


def test_blank_pages_only_are_kept_as_one_decree():
    (d,) = split_decrees(_pages(["", "  "]))
    assert (d.first_page, d.last_page, d.title, d.number, d.signed_on) == (1, 2, "", None, None)


def test_split_of_extracted_pdf(tmp_path):
    from attrap.read.extract import extract_pages
    from tests.pdfgen import make_pdf

    pages = list(extract_pages(make_pdf(tmp_path / "r.pdf", recueil12_pages(sommaire_offset=2)), ocr=False))
    _check12(split_decrees(pages))
