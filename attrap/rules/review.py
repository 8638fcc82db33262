"""Doubtful decisions: a flagged decree attrap is not sure of, to be looked at by a person.

A decision is doubtful when what decided it is weak:

- ``sommaire``: flagged from the recueil's sommaire entry, its own pages unreadable or missing;
- ``ocr``: the page that decided it was read by OCR with a low mean confidence;
- ``title_only``: the title says it, the articles (readable) do not;
- ``text_only``: the articles say it, the title (a title with a subject) does not.

What happens to a doubtful decision is each category's choice (``doubtful`` in
``patterns/categories.toml``): ``hold`` keeps its posts for ``attrap review`` (confirmed: posted;
rejected: never), ``mark`` posts them with a warning line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import regex

from attrap.model import ClassifiedDecree

#: a page OCR'd below this mean word confidence (0-100) decides nothing alone
MIN_CONFIDENCE = 70
#: a decree whose articles hold fewer letters than this has no readable articles to disagree
MIN_ARTICLE_LETTERS = 300
#: a title with fewer words than this names no subject ("Arrêté n° 2025-12")
MIN_TITLE_WORDS = 6

_ARTICLES = regex.compile(r"(?i)\barr[eê]t[eé]?\s*:|\barticle\s*(?:1|1er|premier|ler)\b")

#: what each reason means, as the review queue, the web pages and marked posts say it
REASONS = {
    "sommaire": "signalé d'après le sommaire du recueil : ses propres pages ne se lisent pas",
    "ocr": "la page décisive a été lue par reconnaissance de caractères, avec une confiance faible",
    "title_only": "le titre l'annonce, mais les articles ne le disent pas",
    "text_only": "les articles le disent, mais le titre non",
}


def doubts(
    cd: ClassifiedDecree, scopes: Mapping[str, str], categories: Iterable[str] | None = None
) -> list[str]:
    """The reasons to doubt ``cd``'s flags in ``categories`` (default: all its flags), in the
    order of :data:`REASONS`; empty when the decision stands. ``scopes`` gives each rule's
    scope ("title" or "text")."""
    wanted = set(cd.categories if categories is None else categories) & set(cd.categories)
    if not wanted:
        return []
    reasons: list[str] = []
    if cd.from_sommaire:
        reasons.append("sommaire")
    decree = cd.decree
    pages = {p.number: p for p in decree.pages}
    matches = [m for m in cd.matches if m.category in wanted]
    deciding = [pages[m.page] for m in matches if m.page in pages]
    if deciding and all(
        p.method == "ocr" and p.confidence is not None and p.confidence < MIN_CONFIDENCE for p in deciding
    ):
        reasons.append("ocr")
    if not cd.from_sommaire:
        for category in sorted(wanted):
            found = {scopes.get(m.rule, "text") for m in matches if m.category == category}
            if found == {"title"} and _readable_articles(decree.text):
                reasons.append("title_only")
            elif found == {"text"} and len(regex.findall(r"\w+", decree.title)) >= MIN_TITLE_WORDS:
                reasons.append("text_only")
    return [r for r in REASONS if r in reasons]


def _readable_articles(text: str) -> bool:
    m = _ARTICLES.search(text)
    return m is not None and sum(c.isalpha() for c in text[m.end() :]) >= MIN_ARTICLE_LETTERS
