"""Splitting: an RAA is a compilation; cut it into decrees.

Many recueils (those made by the "Actes" publishing software most prefectures use) open with a
cover and a *sommaire* whose entries read ``13-2026-10-14-00003 - Arrêté portant … (2 pages)
Page 5``: an id shaped ``DD-YYYY-MM-DD-NNNNN`` (DD: the département, 2 digits, 2A/2B or
971–976), a title, a page count and a page. Each decree then starts on a new page headed by
the same id.

How starts are found, most trusted first:

1. ids on page heads (first three lines): a page whose head holds an id starts a decree,
   unless the page before has the same head id (a running header);
2. the sommaire: its entries whose id was found on no page head (an OCR-damaged head) are
   placed at their declared page, corrected by the constant offset between the sommaire's
   page numbers and the PDF's (learnt from the entries whose head id was found, else chosen as
   the offset that lands the most entries on pages that look like decree starts). When the
   sommaire and the page heads disagree, the page heads win;
3. without ids: a page whose first 15 lines hold a title ("ARRÊTÉ …", "Arrêté préfectoral …",
   "DÉCISION …", OCR's "ARRÉTÉ") and whose previous page ended a decree (a "Fait à …, le …"
   signature) or is the cover.

An entry of the sommaire whose declared page lies past the document's end (a truncated PDF)
becomes a decree without pages, titled by its entry (``missing``): classification can still
flag it from that title. Cover and sommaire pages belong to no decree. A document where
nothing looks like a decree becomes one decree spanning all its pages, so nothing is lost for
classification.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import regex

from attrap.model import Decree, Page
from attrap.rules.frdates import find_date, fold

# ---------------------------------------------------------------------------------------------
# ids, tolerant of OCR confusions (O for 0, l/I/| for 1), stray spaces and dash variants

_D = r"[\dOoQlI|]"
_DASH = r"\s?[-–—‐]\s?"
_ID = regex.compile(
    rf"(?<![\w-])(?P<dep>2[ABab]|{_D}{_D}{_D}?){_DASH}(?P<y>(?:{_D}\s?){{3}}{_D}){_DASH}"
    rf"(?P<m>{_D}\s?{_D}){_DASH}(?P<d>{_D}\s?{_D}){_DASH}(?P<n>(?:{_D}\s?){{4}}{_D})(?![\w])"
)
_OCR_DIGITS = str.maketrans("OoQlI|", "000111")


def _clean_id(m: regex.Match[str]) -> str | None:
    """The id a match stands for, OCR confusions undone; None when it cannot be a decree id."""
    dep = m["dep"]
    if dep.upper() in ("2A", "2B"):
        dep = dep.upper()
    else:
        dep = dep.translate(_OCR_DIGITS)
        if len(dep) == 3 and not ("971" <= dep <= "976"):
            return None
        if len(dep) == 2 and not ("01" <= dep <= "95"):
            return None
    y, mo, d, n = (regex.sub(r"\s", "", m[k]).translate(_OCR_DIGITS) for k in ("y", "m", "d", "n"))
    if not ("1990" <= y <= "2099" and "01" <= mo <= "12" and "01" <= d <= "31"):
        return None
    return f"{dep}-{y}-{mo}-{d}-{n}"


def find_ids(text: str) -> list[tuple[int, int, str]]:
    """(start, end, clean id) of every decree id in ``text``."""
    out = []
    for m in _ID.finditer(text):
        if (clean := _clean_id(m)) is not None:
            out.append((m.start(), m.end(), clean))
    return out


def _lines(page: Page) -> list[str]:
    return [line.strip() for line in page.text.split("\n") if line.strip()]


def head_id(page: Page) -> str | None:
    """The decree id starting one of the first three lines of a page, if there is one."""
    for line in _lines(page)[:3]:
        for start, _, clean in find_ids(line):
            if start < 5:
                return clean
    return None


# ---------------------------------------------------------------------------------------------
# the sommaire

_SOMMAIRE = regex.compile(r"^\s*(?:sommaire|table des mati[eè]res)\b", regex.I | regex.M)
_PAGE_REF = regex.compile(
    rf"(?:\(\s*(?P<count>{_D}{{1,3}})\s*pages?\s*\)\s*)?\bpage\s*(?P<page>{_D}{{1,4}})\s*$", regex.I
)
_COUNT_ONLY = regex.compile(rf"\(\s*(?P<count>{_D}{{1,3}})\s*pages?\s*\)", regex.I)
_COVER = regex.compile(r"recueil\s+des\s+actes\s+administratifs|\brecueil\s+n\s*[°º]", regex.I)


@dataclass(frozen=True)
class SommaireEntry:
    id: str
    title: str
    #: the declared number of pages ("(2 pages)"), when readable
    pages: int | None
    #: the declared first page ("Page 5"), in the sommaire's own numbering
    page: int | None


def _num(value: str | None) -> int | None:
    return int(value.translate(_OCR_DIGITS)) if value else None


def _entries(text: str) -> list[SommaireEntry]:
    """Entries of a sommaire page: an id, then the title up to "(N pages) Page P"."""
    flat = " ".join(text.split())
    ids = find_ids(flat)
    out = []
    for i, (_, end, clean) in enumerate(ids):
        chunk = flat[end : ids[i + 1][0] if i + 1 < len(ids) else len(flat)]
        # "Page P" closes the entry; what follows it is a service heading, not title
        pm = None
        for pm in regex.finditer(  # noqa: B007 (the last one is wanted)
            rf"(?:\(\s*(?P<count>{_D}{{1,3}})\s*pages?\s*\)\s*)?\bpage\s*(?P<page>{_D}{{1,4}})\b",
            chunk,
            regex.I,
        ):
            pass
        title = chunk[: pm.start()] if pm else chunk
        count = _num(pm["count"]) if pm and pm["count"] else None
        if count is None and (cm := _COUNT_ONLY.search(title)):
            count = _num(cm["count"])
            title = title[: cm.start()]
        title = title.strip(" -–—:").strip()
        out.append(SommaireEntry(clean, title, count, _num(pm["page"]) if pm else None))
    return out


def _is_sommaire_page(page: Page, *, first: bool) -> bool:
    entries = _entries(page.text)
    with_page = sum(e.page is not None for e in entries)
    if first and _SOMMAIRE.search("\n".join(_lines(page)[:12])):
        return bool(entries) or len(_lines(page)) < 40
    # a continuation page (or a sommaire without heading): entries with page references
    return with_page >= 2 or (with_page >= 1 and not first and len(entries) == with_page)


def parse_sommaire(pages: Sequence[Page]) -> tuple[list[int], list[SommaireEntry]]:
    """(page numbers of the sommaire, its entries in order) — empty when there is none.

    The sommaire is looked for in the first 30 pages; it may run over several pages, and its
    entries may wrap over lines.
    """
    numbers: list[int] = []
    entries: list[SommaireEntry] = []
    for page in pages[:30]:
        if numbers and page.number != numbers[-1] + 1:
            break
        if _is_sommaire_page(page, first=not numbers):
            numbers.append(page.number)
            entries.extend(_entries(page.text))
        elif numbers:
            break
    # an entry split across two sommaire pages appears twice at most: keep the fuller one
    seen: dict[str, SommaireEntry] = {}
    for e in entries:
        old = seen.get(e.id)
        if old is None or (old.page is None and e.page is not None):
            seen[e.id] = e
    return numbers, list(seen.values())


# ---------------------------------------------------------------------------------------------
# titles and signatures

_TITLE_WORD = r"(?:arr[eêéèë]t[eéèêë]|arrete|d[eéè]cision|ordonnance|avis|convention|d[eé]cret|circulaire)"
_TITLE_START = regex.compile(rf"^\s*{_TITLE_WORD}\b", regex.I)
# the verb "ARRÊTE :" (or "DÉCIDE") that opens the articles, not a title
_VERB = regex.compile(r"^\s*(?:arr[eêé]te|d[eé]cide|ordonne)\s*:?\s*$", regex.I)
_TITLE_STOP = regex.compile(
    r"^\s*(?:vu\b|vus\b|le\s+pr[eé]fet|la\s+pr[eé]f[eè]te|le\s+sous-pr[eé]fet|la\s+sous-pr[eé]f[eè]te|"
    r"le\s+directeur|la\s+directrice|le\s+pr[eé]sident|la\s+pr[eé]sidente|le\s+maire|"
    r"le\s+secr[eé]taire|sur\s+(?:la\s+)?proposition|consid[eé]rant|apr[eè]s\s+avis|"
    r"arr[eêé]te\s*:?\s*$|d[eé]cide\s*:?\s*$|article\b|pr[eé]ambule|fait\s+[aà]\b)",
    regex.I,
)
_SIGNED = regex.compile(
    r"\bfait\s+[aà]\s+(?P<place>[^\n,]{1,60}?)\s*,?\s*(?:le\s+)?(?P<rest>[^\n]{0,60}(?:\n[^\n]{0,40})?)",
    regex.I,
)
# "Marseille, le 14 octobre 2026" alone on a line, as decisions and letters are signed
_PLACE_DATE = regex.compile(r"^\s*[A-ZÉÈ][\w'’ -]{1,40},\s*le\s+(?P<rest>[^\n]{0,40})$", regex.M)
_NUMBER = regex.compile(
    r"\bn\s*[°º]\s*(?P<num>[\w./-]*\d[\w./-]*)|\bno\.?\s+(?P<num2>[\w./-]*\d[\w./-]*)", regex.I
)
_PARTICLES = {"de", "du", "des", "d'", "d’", "la", "le", "van", "von", "der", "del", "da", "di", "et"}
_FUNCTION_WORDS = regex.compile(
    r"pr[eé]f[eè]t|directeu|directrice|secr[eé]taire|g[eé]n[eé]ral|cabinet|adjoint|chef\b|"
    r"d[eé]l[eé]gation|commissaire|recours|article|annexe|sign[eé]|ampliation|copie|original|"
    r"service|bureau|mission|r[eé]publique|ministre|maire|pr[eé]sident|police",
    regex.I,
)


def _is_title_line(lines: list[str], i: int) -> bool:
    line = lines[i]
    if not _TITLE_START.match(line):
        return False
    if _VERB.match(line):
        # "ARRÊTE" alone: the verb when articles follow, a title when "n° …"/"portant …" does
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if regex.match(r"\s*(?:article|:|\d)", nxt, regex.I) or not nxt:
            return False
        if regex.search(r"[eé]\s*:?\s*$", line) and not regex.search(r"[ÉéÈè]", line):
            # ambiguous "ARRETE": a title only if a title-like line follows
            return bool(
                regex.match(r"\s*(?:n\s*[°º]|portant|relatif|autorisant|pr[eé]fectoral)", nxt, regex.I)
            )
    return True


def _title(first: Page, fallback: str) -> str:
    """The decree's title from its first page: the title line(s), up to the visas."""
    lines = _lines(first)
    for i in range(min(len(lines), 40)):
        if not _is_title_line(lines, i):
            continue
        parts = [lines[i]]
        for nxt in lines[i + 1 : i + 8]:
            if _TITLE_STOP.match(nxt) or _VERB.match(nxt) or head_id(Page(0, nxt)) == nxt:
                break
            parts.append(nxt)
        title = " ".join(" ".join(parts).split())[:500]
        if len(title) > 12 or not fallback:
            return title
    if fallback:
        return fallback
    return next(iter(lines), "")[:300]


def _ends_decree(page: Page) -> bool:
    """Whether a page ends with a decree's signature block."""
    tail = "\n".join(_lines(page)[-15:])
    return bool(_SIGNED.search(tail) or _PLACE_DATE.search(tail)) or "signe" in fold(tail).split()


def _looks_like_name(line: str) -> bool:
    words = line.replace(",", " ").split()
    if not 2 <= len(words) <= 5 or any(c.isdigit() for c in line) or ":" in line:
        return False
    if _FUNCTION_WORDS.search(line):
        return False
    if not all(w[0].isupper() or w.lower() in _PARTICLES for w in words):
        return False
    return any(w.isupper() and len(w) > 1 for w in words) or all(w[0].isupper() for w in words)


def _signature(pages: Sequence[Page]) -> tuple[date | None, str | None]:
    """(date signed, signatory) from the last signature block of a decree's pages."""
    text = "\n".join(p.text for p in pages)
    found = list(_SIGNED.finditer(text))
    m = found[-1] if found else None
    if m is None:
        found = list(_PLACE_DATE.finditer(text))
        m = found[-1] if found else None
    if m is None:
        return None, None
    signed = find_date(m["rest"]) or find_date(m.group(0))
    end = m.end() if "\n" not in m["rest"] else m.start("rest") + m["rest"].index("\n")
    after = [line.strip() for line in text[end:].split("\n") if line.strip()][:8]
    signatory = None
    for line in after:
        line = regex.sub(r"^(?:sign[eé]\s*:?\s*)", "", line, flags=regex.I).strip(" ,")
        if _looks_like_name(line):
            signatory = line
            break
        if regex.match(r"\s*(?:article|annexe|voies|d[eé]lais)\b", line, regex.I):
            break
    return signed, signatory


# ---------------------------------------------------------------------------------------------
# finding decree starts


def _starts_from_ids(pages: Sequence[Page], skip: set[int], known: set[str]) -> dict[int, str]:
    starts: dict[int, str] = {}
    previous: str | None = None
    for page in pages:
        if page.number in skip:
            previous = None
            continue
        found = head_id(page)
        if found and found != previous and found not in starts.values():
            first_line = _lines(page)[0]
            bare = len(first_line) <= len(found) + 4 or regex.match(r"^\S+\s*[-–—]\s", first_line)
            if not known or found in known or bare or _looks_like_start(page):
                starts[page.number] = found
        previous = found
    return starts


def _looks_like_start(page: Page) -> bool:
    lines = _lines(page)[:15]
    return any(_is_title_line(lines, i) for i in range(len(lines)))


def _sommaire_offset(
    starts: dict[int, str], entries: list[SommaireEntry], by_number: dict[int, Page], skip: set[int]
) -> int:
    """PDF page minus sommaire page, learnt from head ids, else from what the pages look like."""
    by_id = {v: k for k, v in starts.items()}
    offsets = Counter(by_id[e.id] - e.page for e in entries if e.id in by_id and e.page is not None)
    if offsets:
        return offsets.most_common(1)[0][0]
    declared = [e.page for e in entries if e.page is not None]
    if not declared:
        return 0
    first_body = max(skip) + 1 if skip else min(by_number)
    best, best_score = 0, -1
    for offset in sorted(range(-10, 11), key=lambda o: (abs(first_body - (min(declared) + o)), abs(o))):
        score = sum(
            1
            for p in declared
            if (page := by_number.get(p + offset)) is not None
            and p + offset not in skip
            and _looks_like_start(page)
        )
        if score > best_score:
            best, best_score = offset, score
    return best


def _reconcile(
    starts: dict[int, str], entries: list[SommaireEntry], by_number: dict[int, Page], skip: set[int]
) -> tuple[dict[int, str], int]:
    """Add sommaire entries whose page head id was unreadable, offset-corrected; and the offset."""
    offset = _sommaire_offset(starts, entries, by_number, skip)
    found_ids = set(starts.values())
    merged = dict(starts)
    for e in entries:
        if e.id in found_ids or e.page is None:
            continue
        page = e.page + offset
        if page in by_number and page not in skip and page not in merged:
            # the heads win: a page already started by a head id keeps it
            merged[page] = e.id
    return merged, offset


def _starts_from_titles(pages: Sequence[Page], skip: set[int]) -> dict[int, str]:
    starts: dict[int, str] = {}
    previous: Page | None = None
    for page in pages:
        if page.number in skip:
            previous = None
            continue
        if _looks_like_start(page) and (previous is None or _ends_decree(previous) or not starts):
            starts[page.number] = ""
        previous = page
    return starts


def _is_cover(page: Page) -> bool:
    return bool(_COVER.search(page.text)) and head_id(page) is None and not _ends_decree(page)


def split_decrees(pages: Sequence[Page]) -> list[Decree]:
    """Cut a recueil's pages into decrees (cover and sommaire pages belong to none)."""
    if not pages:
        return []
    pages = sorted(pages, key=lambda p: p.number)
    by_number = {p.number: p for p in pages}
    sommaire_pages, entries = parse_sommaire(pages)
    skip = set(sommaire_pages)
    # the cover: pages before the sommaire, or a first page titled "Recueil des actes …"
    if sommaire_pages:
        skip.update(n for n in by_number if n < sommaire_pages[0])
    elif _is_cover(pages[0]):
        skip.add(pages[0].number)
    known = {e.id for e in entries}
    starts = _starts_from_ids(pages, skip, known)
    offset = 0
    if entries:
        starts, offset = _reconcile(starts, entries, by_number, skip)
    if not starts:
        starts = _starts_from_titles(pages, skip)
    if not starts:
        return [_decree(list(pages), "", "")]
    titles = {e.id: e.title for e in entries}
    ordered = sorted(starts)
    decrees = []
    # pages before the first start that are not cover/sommaire: kept if they hold decree text
    lead = [p for p in pages if p.number < ordered[0] and p.number not in skip]
    if lead and any(regex.search(r"(?mi)^\s*article\s+1|fait\s+[aà]\s", p.text) for p in lead):
        decrees.append(_decree(lead, "", ""))
    for i, first in enumerate(ordered):
        end = ordered[i + 1] - 1 if i + 1 < len(ordered) else pages[-1].number
        span = [by_number[n] for n in range(first, end + 1) if n in by_number and n not in skip]
        decrees.append(_decree(span, starts[first], titles.get(starts[first], "")))
    return decrees + missing_from(entries, set(starts.values()), offset, pages[-1].number)


def missing_from(entries: Sequence[SommaireEntry], placed: set[str], offset: int, last: int) -> list[Decree]:
    """The sommaire's entries whose pages lie past the document's end (a truncated PDF): each
    a decree without pages, at the page the sommaire declares, titled by its entry."""
    out = []
    for e in entries:
        if e.id in placed or e.page is None or e.page + offset <= last:
            continue
        first = e.page + offset
        out.append(
            Decree(
                title=e.title,
                first_page=first,
                last_page=first + max(1, e.pages or 1) - 1,
                number=e.id,
                sommaire_title=e.title,
                missing=True,
            )
        )
    return out


def _decree(span: list[Page], decree_id: str, sommaire_title: str) -> Decree:
    title = _title(span[0], sommaire_title)
    m = _NUMBER.search(title)
    number = (m["num"] or m["num2"]).rstrip("./-") if m else None
    signed, signatory = _signature(span)
    return Decree(
        title=title,
        first_page=span[0].number,
        last_page=span[-1].number,
        pages=span,
        number=number or decree_id or None,
        signed_on=signed,
        signatory=signatory,
        sommaire_title=sommaire_title or None,
    )
