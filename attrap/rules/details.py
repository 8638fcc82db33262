"""Details of a flagged decree: where, when, who, how many, on what legal basis; and two flags.

A follower wants to know what an authorisation allows without opening the PDF: the place(s)
(communes, sites, the event), the period (start and end, with times), the service authorised,
the number of cameras or aircraft, and the legal basis. They are read from the decree's text
with patterns for the formulas prefectures use ("du 15 octobre 2026 à 18h00 au 16 octobre 2026
à 02h00", "le 21 octobre 2026 de 10h00 à 20h00", "sur le territoire de la commune de …", "aux
abords du …", "La direction … est autorisée", "au moyen de deux aéronefs", "L. 242-5"). A
detail that is not found stays empty: nothing is guessed.

Two facts campaigners act on are computed from them (:func:`assess`): a decree first seen by
attrap after its authorised period had begun (so it could not be challenged in time), and an
AVS authorisation dated outside every legal experimentation window, windows being data in
``patterns/windows.toml``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import regex
from pydantic import Field, model_validator

from attrap.contracts import Contract, one_of, validate
from attrap.errors import ConfigError
from attrap.model import Decree, Details
from attrap.resources import data_dir
from attrap.rules.classify import is_visa, normalize_for_matching
from attrap.rules.frdates import MONTHS, format_date

PARIS = ZoneInfo("Europe/Paris")

_MONTH = "(?:janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre)"
_DAYNAME = r"(?:(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\s+)?"
_NUMBER_WORDS = {
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7,
    "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14,
    "quinze": 15, "seize": 16, "vingt": 20, "trente": 30,
}  # fmt: skip
_NUM = r"(?:\d{1,4}|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + ")"


def _date(p: str, *, month_optional: bool = False) -> str:
    month = rf"(?:\s*(?P<{p}m>{_MONTH}))" + ("?" if month_optional else "")
    numeric = rf"(?P<{p}nd>\d{{1,2}})/(?P<{p}nm>\d{{1,2}})/(?P<{p}ny>\d{{4}})"
    written = rf"{_DAYNAME}(?P<{p}d>\d{{1,2}}|1er|premier){month}(?:\s*(?P<{p}y>\d{{4}}))?"
    return rf"(?:{numeric}|{written})"


def _time(p: str) -> str:
    return rf"(?P<{p}h>\d{{1,2}})\s*(?:h|heures?|:)\s*(?P<{p}mi>\d{{2}})?"


_AT = r"\s*,?\s*(?:a|a partir de|des|de)\s+"
_PERIODS = [
    # du 15 octobre 2026 à 18h00 au 16 octobre 2026 à 02h00; du 12 au 14 juillet 2024;
    # à compter du … et jusqu'au …; du … 2026, 8 heures, au …
    regex.compile(
        rf"(?:\bdu|a\s+compter\s+du|a\s+partir\s+du|depuis\s+le)\s+{_date('s', month_optional=True)}"
        rf"(?:{_AT}{_time('s')})?\s*,?\s*(?:et\s+)?(?:jusqu.?\s*(?:au|a)|\bau)\s+(?:\w+\s+)?{_date('e')}"
        rf"(?:{_AT}{_time('e')})?",
        regex.V1,
    ),
    # le 21 octobre 2026 de 10h00 à 20h00; le 21 octobre 2026, entre 10 heures et 20 heures
    regex.compile(
        rf"\b(?:le|ce)\s+{_date('s')}\s*,?\s*(?:de|entre)\s+{_time('s')}\s*(?:a|et|jusqu.?\s*a)\s+{_time('e')}",
        regex.V1,
    ),
    # de 18h00 le 15 octobre 2026 à 2h00 le 16 octobre 2026
    regex.compile(
        rf"\bde\s+{_time('s')}\s*,?\s*le\s+{_date('s')}\s*,?\s*(?:a|jusqu.?\s*a)\s+{_time('e')}\s*,?\s*le\s+{_date('e')}",
        regex.V1,
    ),
]
_END = (
    r"(?=\s*(?:[,;.()\n:]|\s+(?:du|le|les|a\s+compter|pour|afin|dans\s+le\s+cadre|entre|de\s+\d|vu|considerant|est|sont)\b)"
    r"|$)"
)
_PLACES = [
    regex.compile(
        rf"\b(?:sur|dans)\s+(?:le\s+territoire\s+(?:de\s+|des\s+))?(?:la\s+|les\s+)?communes?\s+(?:de\s+|d.|du\s+)"
        rf"(?P<p>[^,;.()\n]{{2,80}}?){_END}",
        regex.V1,
    ),
    regex.compile(
        rf"\baux\s+abords\s+(?:immediats\s+)?(?P<p>(?:du|de\s+la|de\s+l.|des)\s*[^,;.()\n]{{2,80}}?){_END}",
        regex.V1,
    ),
    regex.compile(
        rf"\b(?:au\s+sein|a\s+l.interieur)\s+(?P<p>(?:du|de\s+la|de\s+l.|des)\s*[^,;.()\n]{{2,80}}?){_END}"
    ),
    # "Le périmètre géographique concerné est le suivant : le cours Belsunce, la Canebière …"
    regex.compile(
        r"\b(?:perimetre|zone|secteur)s?\s+(?:geographiques?\s+)?(?:concernes?|couverts?|autorises?)?"
        r"[^:.\n]{0,40}?:\s*(?P<p>[^.;\n]{3,200}?)\s*(?:[.;\n]|$)",
        regex.V1,
    ),
    # AVS: "les caméras de vidéoprotection de la ville de Marseille"
    regex.compile(rf"\bville\s+(?:de\s+|d.)(?P<p>[^,;.()\n]{{2,60}}?){_END}", regex.V1),
]
_EVENT = regex.compile(
    rf"\b(?:dans\s+le\s+cadre|a\s+l.occasion)\s+(?P<p>(?:du|de\s+la|de\s+l.|des)\s*[^;.()\n]{{3,120}}?){_END}",
    regex.V1,
)
_SERVICE = regex.compile(
    r"(?P<s>\b(?:la|le|les|l.)\s*(?:direction|service|groupement|compagnie|brigade|escadron|section|"
    r"prefecture\s+de\s+police|police|gendarmerie|douanes?|commandant|directeur|directrice|unite|"
    r"region\s+de\s+gendarmerie|dipn|ddsp|dgddi|sncf|regie|ratp)[^.;:\n]{0,160}?)\s+(?:est|sont)\s+autorise",
    regex.V1,
)
_APPLICANT = regex.compile(
    r"\bvu\s+la\s+demande\s+(?:presentee\s+|formulee\s+|deposee\s+)?(?:par\s+)?"
    r"(?P<s>(?:du|de\s+la|de\s+l.|des|le|la)\s*[^;.\n]{3,140}?)\s*(?:[;.\n]|,\s+en\s+date|\s+en\s+date|$)",
    regex.V1,
)
_AIRCRAFT = regex.compile(
    rf"(?:\b(?P<n>{_NUM})\s*(?:\(\s*\d+\s*\)\s*)?(?:aeronefs?|drones?)\b)|"
    rf"(?:nombre\s+maxim\w*\s+d.(?:aeronefs?|drones?)[^.:\n]{{0,60}}?:?\s*(?P<n2>{_NUM})\b)",
    regex.V1,
)
_CAMERAS = regex.compile(
    rf"(?:\b(?P<n>{_NUM})\s*(?:\(\s*\d+\s*\)\s*)?cameras?\b)|"
    rf"(?:nombre\s+(?:maxim\w*\s+)?de\s+cameras?[^.:\n]{{0,60}}?:?\s*(?P<n2>{_NUM})\b)",
    regex.V1,
)
_LEGAL = [
    regex.compile(
        r"\b(?:articles?\s+)?L\.?\s*2[45]\d-\d+(?:-\d+)?(?:\s+(?:a|et)\s+L\.?\s*2[45]\d-\d+(?:-\d+)?)?",
        regex.I,
    ),
    regex.compile(
        r"\b(?:article\s+\d+\s+de\s+la\s+)?loi\s+n[°o]\s*\d{4}-\d+(?:\s+du\s+[0-3]?\d(?:er)?\s+\w+\s+\d{4})?",
        regex.I,
    ),
    regex.compile(r"\bdecret\s+n[°o]\s*\d{4}-\d+(?:\s+du\s+[0-3]?\d(?:er)?\s+\w+\s+\d{4})?", regex.I),
]
_LEADING_ARTICLE = regex.compile(r"^(?:du|de la|de l['’]|des|d['’]|la|le|les|l['’])\s*", regex.I)
_ARTICLES_START = regex.compile(r"(?m)^\s*(?:arrete|decide)\s*:?\s*$|\barticle\s+(?:1|1er|premier)\b")


def _number(word: str | None) -> int | None:
    if not word:
        return None
    return int(word) if word.isdigit() else _NUMBER_WORDS.get(word)


def _mk_date(m: regex.Match[str], p: str, fallback: date | None = None) -> date | None:
    try:
        if m[f"{p}nd"]:
            return date(int(m[f"{p}ny"]), int(m[f"{p}nm"]), int(m[f"{p}nd"]))
        day = 1 if m[f"{p}d"] in ("1er", "premier") else int(m[f"{p}d"])
        month = MONTHS[m[f"{p}m"]] if m[f"{p}m"] else (fallback.month if fallback else None)
        year = int(m[f"{p}y"]) if m[f"{p}y"] else (fallback.year if fallback else None)
        if month is None or year is None:
            return None
        return date(year, month, day)
    except (ValueError, IndexError, KeyError):
        return None


def _mk_time(m: regex.Match[str], p: str) -> time | None:
    try:
        if m[f"{p}h"] is None:
            return None
        return time(int(m[f"{p}h"]), int(m[f"{p}mi"] or 0))
    except (ValueError, IndexError):
        return None


def _period(folded: str) -> tuple[datetime | None, datetime | None]:
    for pattern in _PERIODS:
        for m in pattern.finditer(folded, timeout=1.0):
            end_day = _mk_date(m, "e")
            start_day = _mk_date(m, "s", fallback=end_day)
            if start_day is None:
                continue
            end_day = end_day or start_day
            if end_day < start_day and not m["sy"] and not m["sny"]:
                start_day = start_day.replace(year=start_day.year - 1)  # "du 28 décembre au 2 janvier 2027"
            if end_day < start_day:
                continue
            t0, t1 = _mk_time(m, "s"), _mk_time(m, "e")
            start = datetime.combine(start_day, t0 or time(0, 0), PARIS)
            if t1 is None:
                end = datetime.combine(end_day, time(23, 59), PARIS)
            else:
                end = datetime.combine(end_day, t1, PARIS)
                if end <= start:  # "le 21 octobre de 22h00 à 2h00": ends the next day
                    end += timedelta(days=1)
            return start, end
    return None, None


def _clean(original: str, m: regex.Match[str], group: str) -> str:
    text = " ".join(original[m.start(group) : m.end(group)].split())
    return text.strip(" -–,")


def extract_details(decree: Decree) -> Details:
    """The details found in a decree's title and text (see the module's docstring)."""
    original = decree.title + "\n" + decree.text
    folded = normalize_for_matching(original)
    start_of_articles = _ARTICLES_START.search(folded)
    body_from = start_of_articles.start() if start_of_articles else 0
    # folding made every line break a space: a break from the PDF's layout ends nothing
    body = folded[body_from:]
    details = Details()
    details.start, details.end = _period(body)
    if details.start is None:
        # the period may be stated in the title or a "considérant" only, never in a visa (the
        # folded text has no line breaks: the original's lines say where each visa stands)
        lines, pos = [], 0
        for line in original.split("\n"):
            part = folded[pos : pos + len(line)]
            lines.append(" " * len(part) if is_visa(part) else part)
            pos += len(line) + 1
        details.start, details.end = _period("\n".join(lines))
    seen: set[str] = set()
    for pattern in _PLACES:
        for found in pattern.finditer(folded, timeout=1.0):
            place = _clean(original, found, "p")
            key = normalize_for_matching(place)
            if place and key not in seen and not key.startswith(("l'article", "la loi")):
                seen.add(key)
                details.places.append(place)
            if len(details.places) >= 5:
                break
    if m := _EVENT.search(folded, timeout=1.0):
        event = _LEADING_ARTICLE.sub("", _clean(original, m, "p"))
        details.event = event or None
    if m := _SERVICE.search(body, timeout=1.0):
        service = " ".join(original[body_from + m.start("s") : body_from + m.end("s")].split())
        details.service = service[0].upper() + service[1:]
    elif m := _APPLICANT.search(folded, timeout=1.0):  # "Vu la demande de la ville de Marseille"
        service = _clean(original, m, "s")
        service = regex.sub(
            r"^(?:du|de la|de l['’]|des|d['’]|la|le|les|l['’])\s*", "", service, flags=regex.I
        )
        details.service = service[0].upper() + service[1:] if service else None
    for attr, pattern in (("aircraft", _AIRCRAFT), ("cameras", _CAMERAS)):
        for m in pattern.finditer(body, timeout=1.0):
            n = _number(m["n"] or m["n2"])
            if n and n < 1000:
                setattr(details, attr, n)
                break
    refs: list[str] = []
    for pattern in _LEGAL:
        for m in pattern.finditer(folded, timeout=1.0):
            ref = " ".join(original[m.start() : m.end()].split())
            if normalize_for_matching(ref) not in {normalize_for_matching(r) for r in refs}:
                refs.append(ref)
    details.legal_basis = refs[:8]
    return details


# -- the two flags --------------------------------------------------------------------------------


WINDOW_STATUSES = ("in_force", "pending", "struck_down")


@dataclass(frozen=True)
class Window:
    """A period in which a category of authorisation has a legal basis (``patterns/windows.toml``)."""

    category: str
    start: date
    end: date
    law: str
    status: str = "in_force"
    note: str = ""


class WindowEntry(Contract):
    """One ``[[window]]`` of ``windows.toml`` (schema: patterns/README.md)."""

    category: Annotated[str, Field(min_length=1)]
    start: date
    end: date
    law: Annotated[str, Field(min_length=1)]
    status: Annotated[str, one_of(WINDOW_STATUSES)] = "in_force"
    note: str = ""

    @model_validator(mode="after")
    def _in_order(self) -> WindowEntry:
        if self.end < self.start:
            raise ValueError(f"ends ({self.end}) before it starts ({self.start})")
        return self


class WindowsFile(Contract):
    """``windows.toml``: its ``[[window]]`` tables, each a :class:`WindowEntry`."""

    window: list[dict[str, Any]] = []


def load_windows(directory: Path | None = None) -> list[Window]:
    """The legal windows of ``directory``'s windows.toml (default: ``patterns/``, env
    ATTRAP_PATTERNS_DIR), checked against :class:`WindowEntry`; none without the file. Errors
    name the file as ``<directory's name>/windows.toml``, the window and the key."""
    folder = Path(directory) if directory else data_dir("patterns", "ATTRAP_PATTERNS_DIR")
    path, label = folder / "windows.toml", f"{folder.name}/windows.toml"
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{label}: not valid TOML: {exc}") from None
    windows = []
    for i, item in enumerate(validate(WindowsFile, data, label).window, start=1):
        for key, f in WindowEntry.model_fields.items():
            if f.is_required() and key not in item:
                raise ConfigError(f"{label}: a window lacks {key!r}")
        law = item["law"]
        entry = validate(WindowEntry, item, f"{label}: window {law if isinstance(law, str) else f'#{i}'!r}")
        windows.append(Window(entry.category, entry.start, entry.end, entry.law, entry.status, entry.note))
    return windows


@dataclass(frozen=True)
class Flag:
    id: str
    text: str


#: said of a decree flagged from its recueil's sommaire (posts, web page, API, feeds)
FROM_SOMMAIRE = Flag(
    "from-sommaire",
    "Repéré dans le sommaire du recueil : ses pages n'ont pas pu être lues (à vérifier dans le PDF)",
)
PAGES_MISSING = Flag(
    "pages-missing",
    "Repéré dans le sommaire du recueil : ses pages manquent au PDF publié",
)


def assess(
    details: Details | None,
    *,
    category: str,
    first_seen: datetime | None,
    published: date | None = None,
    signed_on: date | None = None,
    windows: list[Window],
    from_sommaire: bool = False,
    pages_missing: bool = False,
) -> list[Flag]:
    """ "Found in the sommaire", "published after the period began" and "outside any legal
    window", when they apply (the first whatever ``details`` holds).

    Late publication: attrap first saw the PDF after the authorised period had begun, and the
    date the site itself gives for the recueil (when it gives one) is after that start too, so
    that a backfill of old recueils does not call every decree late.
    """
    flags = [PAGES_MISSING if pages_missing else FROM_SOMMAIRE] if from_sommaire else []
    if details is None:
        return flags
    if details.start and first_seen:
        seen = first_seen if first_seen.tzinfo else first_seen.replace(tzinfo=UTC)
        site_day_end = datetime.combine(published, time(23, 59), PARIS) if published else None
        if seen > details.start and (site_day_end is None or site_day_end > details.start):
            ended = details.end is not None and seen > details.end
            when = "après la fin de" if ended else "après le début de"
            on = format_date(published) if published else format_date(seen.astimezone(PARIS).date())
            flags.append(Flag("published-late", f"Publié {when} la période autorisée (en ligne le {on})"))
    rules = [w for w in windows if w.category == category]
    if rules:
        first = details.start.date() if details.start else signed_on
        last = details.end.date() if details.end else first
        if first is not None and last is not None:
            inside = [w for w in rules if w.start <= first and last <= w.end]
            if not any(w.status == "in_force" for w in inside):
                text = "Hors de toute période d'expérimentation légale"
                if pending := [w for w in inside if w.status == "pending"]:
                    text += f" (prolongation non adoptée : {pending[0].law})"
                flags.append(Flag("outside-legal-window", text))
    return flags
