"""Dates as French administrations write them: "12 juillet 2024", "1er août", "12/07/2024"."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime

import regex

MONTHS = {
    "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7,
    "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12,
    # short and slug forms seen in file names and URLs
    "janv": 1, "fevr": 2, "fev": 2, "avr": 4, "juil": 7, "sept": 9, "oct": 10, "nov": 11,
    "dec": 12,
}  # fmt: skip

_MONTH_ALT = "|".join(sorted(MONTHS, key=len, reverse=True))
_WRITTEN = regex.compile(
    rf"\b(?P<d>[0-3]?\d)(?:er)?[\s._-]*(?P<m>{_MONTH_ALT})\.?[\s._-]*(?P<y>(?:19|20)\d\d|\d\d)\b",
    regex.IGNORECASE,
)
_NUMERIC = regex.compile(r"\b(?P<d>[0-3]?\d)[/.-](?P<m>[01]?\d)[/.-](?P<y>(?:19|20)\d\d)\b")
_ISO = regex.compile(r"\b(?P<y>(?:19|20)\d\d)-(?P<m>[01]\d)-(?P<d>[0-3]\d)\b")
# a month name as a whole word, or glued to a digit as in the slug "Aout2"
_MONTH_YEAR = regex.compile(
    rf"\b(?P<m>{_MONTH_ALT})(?:\b|(?=\d))\.?[\s._-]*(?P<y>(?:19|20)\d\d(?!\d))?", regex.I
)
_YEAR = regex.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)(?!\d)")


_NAMES = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre"]  # fmt: skip

#: a day as options and query strings give it: YYYY-MM-DD, digits padded
_ISO_DAY = regex.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_day(value: str) -> date:
    """A YYYY-MM-DD day, strictly: not "2026-1-5", "20260105" or any other ISO 8601 form, so that
    every option and parameter that takes a day (``--since``; ``since`` and ``until`` on the web)
    takes the same ones. ValueError otherwise."""
    if not _ISO_DAY.fullmatch(value):
        raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}")
    return date.fromisoformat(value)  # ValueError for a day that does not exist


def format_date(d: date) -> str:
    """ "1er octobre 2026", "14 octobre 2026"."""
    day = "1er" if d.day == 1 else str(d.day)
    return f"{day} {_NAMES[d.month - 1]} {d.year}"


def fold(text: str) -> str:
    """Lower case without accents, for comparing words: the project's one accent folding
    (:func:`fold_in_place` applies it character by character)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


#: apostrophes read as "'": the typographic ones, and OCR's reading of them as "‘"
APOSTROPHES = "\u2018\u2019\u02bc"


class _InPlace(dict[int, str]):
    """:func:`fold` of each character, for ``str.translate``, filled as characters come."""

    def __missing__(self, code: int) -> str:
        c = chr(code)
        if c.isspace():
            folded = " "
        elif c in APOSTROPHES:
            folded = "'"
        else:
            folded = fold(c)
            if len(folded) != 1:  # "ß" → "ss", "ﬁ" → "fi": kept (lower case when that is one character)
                folded = c.lower() if len(c.lower()) == 1 else c
        self[code] = folded
        return folded


_IN_PLACE = _InPlace()


def fold_in_place(text: str) -> str:
    """:func:`fold`, one character for one, so that positions in the result are positions in
    ``text``: every whitespace a space, every apostrophe "'", and a character whose folding
    is not one character left as it is (lower-cased when that is one character)."""
    return text.translate(_IN_PLACE)


def _make(y: str, m: int, d: str) -> date | None:
    year = int(y) + (2000 if len(y) == 2 else 0)
    try:
        return date(year, m, int(d))
    except ValueError:
        return None


def find_dates(text: str) -> list[date]:
    """Every date in ``text``, in order of appearance."""
    folded = fold(text)
    found: list[tuple[int, date]] = []
    for m in _WRITTEN.finditer(folded):
        if (d := _make(m["y"], MONTHS[m["m"].lower()], m["d"])) is not None:
            found.append((m.start(), d))
    for pattern in (_NUMERIC, _ISO):
        for m in pattern.finditer(folded):
            if (d := _make(m["y"], int(m["m"]), m["d"])) is not None:
                found.append((m.start(), d))
    return [d for _, d in sorted(found, key=lambda x: x[0])]


def find_date(text: str) -> date | None:
    """The first date in ``text``, or None."""
    dates = find_dates(text)
    return dates[0] if dates else None


def find_period(text: str) -> tuple[int | None, int | None]:
    """(year, month) named by a listing title or slug: "Juillet 2024", "RAA-2024", "Aout2"."""
    folded = fold(text)
    year_m = _YEAR.search(folded)
    year = int(year_m["y"]) if year_m else None
    month = None
    for m in _MONTH_YEAR.finditer(regex.sub(r"[_/-]", " ", folded)):
        month = MONTHS[m["m"].lower()]
        if m["y"]:
            year = int(m["y"])
        break
    return year, month


def _clock(t: datetime) -> str:
    return f"{t.hour:02d}h{t.minute:02d}"


def format_period(start: datetime | None, end: datetime | None) -> str:
    """ "du 15 octobre 2026 à 18h00 au 16 octobre 2026 à 02h00", "le 21 octobre 2026 de 10h00 à 20h00".

    A start at 00h00 and an end at 23h59 are whole days, said without times.
    """
    if start is None:
        return ""
    end = end or start
    whole = (start.hour, start.minute) == (0, 0) and (end.hour, end.minute) == (23, 59)
    if start.date() == end.date():
        day = f"le {format_date(start.date())}"
        return day if whole else f"{day} de {_clock(start)} à {_clock(end)}"
    if whole:
        return f"du {format_date(start.date())} au {format_date(end.date())}"
    return f"du {format_date(start.date())} à {_clock(start)} au {format_date(end.date())} à {_clock(end)}"
