"""A decree's life: which earlier decree a decree abrogates, withdraws, suspends or modifies.

Prefects change an authorisation by another decree that cites it, by its number and its date
("portant abrogation de l'arrêté n° 2025-00162 du 10 septembre 2025 autorisant…", "L'arrêté
préfectoral n° 13-2025-09-10-00003 du 10 septembre 2025 est modifié comme suit"). This module
reads those citations from a decree's title, then from the start of its articles; the store
links each to the decree it names (same source, same number, or the same signature date when
no number is given) and the publisher posts the change of a decree it had posted.

Only the citation that the changing verb governs is read: "vu l'arrêté n° … du …" among the
visas is what a decree builds on, not what it changes.
"""

from __future__ import annotations

import regex

from attrap.model import Citation
from attrap.rules.frdates import find_date, fold

#: what a change is, by the verb that says it (folded, as :func:`fold` leaves text)
KINDS = {
    "abrogation": ("abrog", "abrogation"),
    "retrait": ("retir", "retrait"),
    "suspension": ("suspend", "suspension"),
    "modification": ("modifi", "modification", "complet", "prorog", "prolong"),
}
#: how each kind is said on the decree's page and in posts ("abrogé par", "modifié par")
PARTICIPLES = {
    "abrogation": "abrogé", "retrait": "retiré", "suspension": "suspendu", "modification": "modifié",
}  # fmt: skip
#: how a decree that changes another says it ("Abroge l'arrêté n° …")
VERBS = {"abrogation": "Abroge", "retrait": "Retire", "suspension": "Suspend", "modification": "Modifie"}

_DATE = r"\d{1,2}(?:er)?\s+[a-z]+\s+\d{4}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}"
_NUMBER = r"(?:n\s*[°o]|no\.?|numero)\s*(?P<number>[\w./-]*\d[\w./-]*)"
_DECREE = (
    r"l'arrete\s+(?:(?:prefectoral|interprefectoral|inter-prefectoral|ministeriel|municipal)\s+)?"
    rf"(?:{_NUMBER}\s*)?(?:,?\s*(?:en\s+date\s+)?du\s+(?P<date>{_DATE}))?"
)
_VERB = r"(?P<verb>abrog\w*|retir\w*|suspend\w*|modifi\w*|complet\w*|prorog\w*|prolong\w*)"
#: "…abrogeant l'arrêté…", "portant abrogation de l'arrêté…" (a title or an article)
_ACTIVE = regex.compile(
    rf"(?:portant\s+|relatif\s+a\s+la\s+|pour\s+)?(?P<verb>abrogation|retrait|suspension|modification|"
    rf"prorogation|prolongation)\s+(?:partielle\s+)?(?:de\s+|d')?{_DECREE}|{_VERB}\s+{_DECREE}"
)
#: "L'arrêté n° … du … est abrogé / modifié comme suit" (an article)
_PASSIVE = regex.compile(rf"{_DECREE}[^.;:]{{0,200}}?\s+(?:est|sont)\s+(?:ainsi\s+)?{_VERB}")
#: where the visas are: citations there are not changes
_VISA = regex.compile(r"(?:^|\n)\s*vu\b[^\n]*$")
#: how much of the articles is read after the title
TEXT_SPAN = 4000


def _kind(verb: str) -> str | None:
    return next((k for k, stems in KINDS.items() if verb.startswith(stems)), None)


def normalize_number(number: str | None) -> str | None:
    """A decree number as two citations of it compare: folded, no spaces, no "n°", one kind of
    dash, no final punctuation ("N° 13-2025–09-10-00003." → "13-2025-09-10-00003")."""
    if not number:
        return None
    text = fold(number)
    text = regex.sub(r"^(?:n\s*[°o]|no\.?|numero)\s*", "", text)
    text = regex.sub(r"[\s\u00a0]+", "", text)
    text = regex.sub(r"[\u2010-\u2015]", "-", text).strip(".,;:-/")
    return text or None


def _citation(m: regex.Match[str]) -> Citation | None:
    kind = _kind(m.group("verb"))
    number = normalize_number(m.group("number"))
    when = find_date(m.group("date")) if m.group("date") else None
    if kind is None or (number is None and when is None):
        return None  # "modifiant l'arrêté" with neither number nor date names no decree
    return Citation(kind, number, when)


def _outside_visas(text: str) -> str:
    """``text`` with its "Vu …" lines blanked (same length, so nothing else moves)."""
    return _VISA.sub(lambda m: " " * len(m.group()), text)


def find_citations(title: str, text: str = "") -> list[Citation]:
    """The decrees ``title`` and the start of ``text`` say this decree changes, each once, in
    the order cited. The title is read first: it names what a decree does."""
    found: list[Citation] = []
    for part in (fold(title), _outside_visas(fold(text[:TEXT_SPAN]))):
        for pattern in (_ACTIVE, _PASSIVE):
            for m in pattern.finditer(part, overlapped=False):
                c = _citation(m)
                if c is not None and c not in found:
                    found.append(c)

    # one decree cited twice (title and article), once with its date and once without
    def dated_elsewhere(c: Citation) -> bool:
        return c.signed_on is None and any(o != c and (o.kind, o.number) == (c.kind, c.number) for o in found)

    return [c for c in found if not dated_elsewhere(c)]
