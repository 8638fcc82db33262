"""Splitting: an RAA is a compilation; cut it into decrees.

Many recueils (those made by the "Actes" publishing software most prefectures use) open with a
cover and a *sommaire* whose entries carry an id shaped ``DD-YYYY-MM-DD-NNNNN`` and
"(N pages) Page P"; each decree then starts on a new page headed by the same id. Ids on page
heads are trusted first; the sommaire fills in starts whose head id is unreadable (OCR), after
correcting the constant offset between its page numbers and the PDF's. Without ids, a decree
starts on a page whose head holds an "ARRÊTÉ …" title after a page that ended a signature.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import regex

from attrap.frdates import find_date, fold
from attrap.model import Decree, Page

# a decree id, tolerant of OCR confusions (O for 0, l/I for 1) and stray spaces
_D = r"[\dOolI]"
_ID = regex.compile(
    rf"(?<![\w-])(?P<dep>{_D}{_D}{_D}?|2\s?[AB])\s?-\s?(?P<y>{_D}{{4}})\s?-\s?(?P<m>{_D}{{2}})"
    rf"\s?-\s?(?P<d>{_D}{{2}})\s?-\s?(?P<n>{_D}{{5}})(?![\w])"
)
_SOMMAIRE = regex.compile(r"^\s*sommaire\b", regex.I | regex.M)
_ENTRY_PAGE = regex.compile(r"\((?P<count>[\dOolI]+)\s*pages?\)\s*page\s*(?P<page>[\dOolI]+)", regex.I)
_TITLE_START = regex.compile(r"^\s*(?:arr[eêéè]t[eéè]|d[eé]cision|ordonnance|avis|convention)\b", regex.I)
_TITLE_STOP = regex.compile(
    r"^\s*(?:vu\b|le pr[eé]fet|la pr[eé]f[eè]te|le directeur|sur (?:la )?proposition|consid[eé]rant|"
    r"arr[eê]te\s*:?\s*$|d[eé]cide\s*:?\s*$|article\b)",
    regex.I,
)
_SIGNED = regex.compile(r"\bfait\s+[aà]\s+[^\n,]{1,60},?\s*(?:le\s+)?(?P<rest>[^\n]{0,60})", regex.I)
_NUMBER = regex.compile(r"\bn\s*[°o]\s*(?P<num>[\w./-]*\d[\w./-]*)", regex.I)
_COVER = regex.compile(r"recueil\s+des\s+actes\s+administratifs", regex.I)
_OCR_DIGITS = str.maketrans("OolI", "0011")


@dataclass(frozen=True)
class SommaireEntry:
    id: str
    title: str
    pages: int | None
    page: int | None


def _clean_id(m: regex.Match[str]) -> str:
    dep = regex.sub(r"\s", "", m["dep"]).upper()
    if not dep.startswith("2A") and not dep.startswith("2B"):
        dep = dep.translate(_OCR_DIGITS)
    parts = [m[k].translate(_OCR_DIGITS) for k in ("y", "m", "d", "n")]
    return "-".join([dep, *parts])


def _num(value: str | None) -> int | None:
    return int(value.translate(_OCR_DIGITS)) if value else None


def _head_lines(page: Page, n: int) -> list[str]:
    return [line for line in page.text.split("\n") if line.strip()][:n]


def head_id(page: Page) -> str | None:
    """The decree id on the first lines of a page, if there is one."""
    for line in _head_lines(page, 3):
        m = _ID.search(line)
        if m and m.start() < 5:
            return _clean_id(m)
    return None


def parse_sommaire(pages: Sequence[Page]) -> tuple[list[int], list[SommaireEntry]]:
    """(page numbers of the sommaire, its entries) — empty when there is none."""
    numbers: list[int] = []
    entries: list[SommaireEntry] = []
    for page in pages[:30]:
        is_first = not numbers and _SOMMAIRE.search("\n".join(_head_lines(page, 12)))
        is_next = numbers and numbers[-1] == page.number - 1 and head_id(page) is None
        if not (is_first or is_next):
            if numbers:
                break
            continue
        found = _entries(page.text)
        if not found and not is_first:
            break
        numbers.append(page.number)
        entries.extend(found)
    return numbers, entries


def _entries(text: str) -> list[SommaireEntry]:
    flat = " ".join(text.split())
    ids = list(_ID.finditer(flat))
    out = []
    for i, m in enumerate(ids):
        chunk = flat[m.end() : ids[i + 1].start() if i + 1 < len(ids) else len(flat)]
        pm = _ENTRY_PAGE.search(chunk)
        title = chunk[: pm.start()] if pm else chunk
        title = title.strip(" -–—").strip()
        out.append(
            SommaireEntry(
                _clean_id(m), title, _num(pm["count"]) if pm else None, _num(pm["page"]) if pm else None
            )
        )
    return out


def _starts_from_ids(pages: Sequence[Page], skip: set[int]) -> dict[int, str]:
    return {p.number: i for p in pages if p.number not in skip and (i := head_id(p))}


def _reconcile(
    starts: dict[int, str], entries: list[SommaireEntry], skip: set[int], last: int
) -> dict[int, str]:
    """Add sommaire entries whose page head id was unreadable, offset-corrected."""
    by_id = {v: k for k, v in starts.items()}
    offsets = Counter(by_id[e.id] - e.page for e in entries if e.id in by_id and e.page)
    offset = offsets.most_common(1)[0][0] if offsets else 0
    merged = dict(starts)
    for e in entries:
        if e.id in by_id or not e.page:
            continue
        page = e.page + offset
        if 1 <= page <= last and page not in skip and page not in merged:
            merged[page] = e.id
    return merged


def _ends_with_signature(page: Page) -> bool:
    tail = "\n".join(page.text.split("\n")[-15:])
    return bool(_SIGNED.search(tail)) or "signé" in fold(tail)


def _starts_from_titles(pages: Sequence[Page], skip: set[int]) -> dict[int, str]:
    starts: dict[int, str] = {}
    previous: Page | None = None
    for page in pages:
        if page.number in skip:
            previous = None
            continue
        head = _head_lines(page, 15)
        if any(_TITLE_START.match(line) for line in head) and (
            previous is None or _ends_with_signature(previous) or not starts
        ):
            starts[page.number] = ""
        previous = page
    return starts


def _title(first: Page, fallback: str) -> str:
    lines = [line.strip() for line in first.text.split("\n")]
    for i, line in enumerate(lines[:40]):
        if not _TITLE_START.match(line) or _TITLE_STOP.match(line):
            continue
        parts = [line]
        for nxt in lines[i + 1 : i + 8]:
            if not nxt or _TITLE_STOP.match(nxt):
                break
            parts.append(nxt)
        title = " ".join(" ".join(parts).split())
        if len(title) > 12 or not fallback:
            return title
    if fallback:
        return fallback
    return next((line for line in lines if line), "")[:300]


def _signature(pages: Sequence[Page]) -> tuple[object, str | None]:
    text = "\n".join(p.text for p in pages)
    found = list(_SIGNED.finditer(text))
    if not found:
        return None, None
    m = found[-1]
    signed = find_date(m.group(0))
    after = [line.strip() for line in text[m.end() :].split("\n") if line.strip()][:6]
    signatory = None
    for line in after:
        low = fold(line)
        if line.endswith(",") or low.startswith(("pour ", "le ", "la ", "signe", "l'", "p/")):
            continue
        if 1 < len(line.split()) <= 5 and not _ID.search(line) and not low.startswith("article"):
            signatory = line
            break
    return signed, signatory


def split_decrees(pages: Sequence[Page]) -> list[Decree]:
    """Cut a recueil's pages into decrees (cover and sommaire pages belong to none)."""
    if not pages:
        return []
    sommaire_pages, entries = parse_sommaire(pages)
    skip = set(sommaire_pages)
    if pages[0].number not in skip and _COVER.search(pages[0].text) and head_id(pages[0]) is None:
        skip.add(pages[0].number)
    starts = _starts_from_ids(pages, skip)
    if entries:
        starts = _reconcile(starts, entries, skip, pages[-1].number)
    if not starts:
        starts = _starts_from_titles(pages, skip)
    titles = {e.id: e.title for e in entries}
    by_number = {p.number: p for p in pages}
    if not starts:
        body = [p for p in pages if p.number not in skip] or list(pages)
        return [_decree(body, "", "")]
    ordered = sorted(starts)
    decrees = []
    for i, first in enumerate(ordered):
        end = ordered[i + 1] - 1 if i + 1 < len(ordered) else pages[-1].number
        span = [by_number[n] for n in range(first, end + 1) if n in by_number and n not in skip]
        decrees.append(_decree(span, starts[first], titles.get(starts[first], "")))
    return decrees


def _decree(span: list[Page], decree_id: str, sommaire_title: str) -> Decree:
    title = _title(span[0], sommaire_title)
    m = _NUMBER.search(title)
    signed, signatory = _signature(span)
    return Decree(
        title=title,
        first_page=span[0].number,
        last_page=span[-1].number,
        pages=span,
        number=(m["num"] if m else None) or decree_id or None,
        signed_on=signed,  # type: ignore[arg-type]
        signatory=signatory,
    )
