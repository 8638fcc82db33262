"""The flagged decrees as data for people who do not use Mastodon: JSON, CSV and Atom.

:class:`Catalog` reads the store (flagged decrees only, newest recueil first, decrees in page
order within a recueil) with filters on category, source, department, date and words, and turns
each decree into a plain record: where it was found, what it authorises (the details read from
its text) and the flags posts carry (published late, outside any legal window). ``attrap
export`` writes these records to a file; ``attrap serve`` (:mod:`attrap.web`) serves them.

Text in decrees comes from PDFs and is untrusted: the Atom feed is built with
:mod:`xml.etree.ElementTree` (characters XML cannot hold are dropped), and CSV cells that a
spreadsheet would run as a formula are prefixed with a quote.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import regex
from sqlalchemy import Select, String, cast, exists, func, or_, select
from sqlalchemy.orm import contains_eager, defer

from attrap import __version__
from attrap.config import PROJECT_URL
from attrap.details import Window, assess, load_windows
from attrap.frdates import fold, format_date, format_period, iso_day
from attrap.model import Details
from attrap.sources import Source, registry
from attrap.store import DecreeRow, Post, Recueil, Store, aware

ATOM_NS = "http://www.w3.org/2005/Atom"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
#: characters XML 1.0 cannot hold (control characters a PDF or OCR may leave in a title)
_NOT_XML = regex.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: a spreadsheet runs a cell starting with one of these as a formula (CSV injection)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_WORD = regex.compile(r"\w+")
#: a decree is shown when the current rules flag it
_FLAGGED = DecreeRow.flagged
#: the columns of the CSV export, in order
CSV_COLUMNS = (
    "id", "uid", "source_id", "prefecture", "department", "categories", "title", "number", "signed_on",
    "link", "first_page", "last_page", "recueil_url", "recueil_title", "published", "first_seen_at",
    "pdf_created_at", "places", "event", "start", "end", "service", "cameras", "aircraft",
    "legal_basis", "flags",
)  # fmt: skip
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class BadParameter(ValueError):
    """A filter value that cannot be used; ``param`` names the parameter."""

    def __init__(self, param: str, message: str):
        super().__init__(f"{param}: {message}")
        self.param = param


def parse_day(value: str, param: str = "since") -> date:
    """A YYYY-MM-DD date, strictly (:func:`attrap.frdates.iso_day`)."""
    try:
        return iso_day(value)
    except ValueError:
        raise BadParameter(param, f"expected a date YYYY-MM-DD, got {value!r}") from None


def decree_uid(link: str) -> str:
    """A stable id for a decree, from its link (PDF URL and page): the same in every database and
    after a recueil is read again (database ids are not)."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, link)}"


@dataclass(frozen=True)
class Filter:
    category: str | None = None
    source_id: str | None = None
    department: str | None = None
    #: recueils published on or after this day (first seen on or after it, when the site gives no date)
    since: date | None = None
    #: words that must all appear in the title, number, places, event, service or text
    q: str | None = None
    #: recueils published on or before this day (first seen on or before it, when undated)
    until: date | None = None
    #: a full-text search in the syntax of ``attrap search`` (AND, OR, "phrases", -word)
    search: str | None = None


@dataclass
class Result:
    total: int
    records: list[dict[str, Any]]


def _iso(value: date | datetime | None) -> str | None:
    if isinstance(value, datetime):
        return aware(value).isoformat()
    return value.isoformat() if value else None


class Catalog:
    """The flagged decrees of a store, filtered, as records ready to serialise."""

    def __init__(
        self,
        store: Store,
        *,
        sources: dict[str, Source] | None = None,
        categories: dict[str, str] | None = None,
        windows: list[Window] | None = None,
    ):
        self.store = store
        self.sources = dict(registry() if sources is None else sources)
        if categories is None:
            from attrap.classify import load_rules

            categories = {c.id: c.label for c in load_rules().categories.values()}
        #: category id → label (patterns/categories.toml)
        self.categories = categories
        self.windows = load_windows() if windows is None else windows

    @property
    def departments(self) -> set[str]:
        return {s.department for s in self.sources.values() if s.department}

    def check(self, f: Filter) -> Filter:
        """The filter with its values normalised; BadParameter names the first bad one."""
        if f.category is not None and f.category not in self.categories:
            known = ", ".join(sorted(self.categories))
            raise BadParameter("category", f"unknown category {f.category!r} (known: {known})")
        if f.source_id is not None and f.source_id not in self.sources:
            raise BadParameter("source", f"unknown source {f.source_id!r}")
        department = f.department
        if department is not None:
            department = department.strip().upper()
            if department not in self.departments:
                raise BadParameter("department", f"no source for département {f.department!r}")
        q = (f.q or "").strip() or None
        search = (f.search or "").strip() or None
        return Filter(f.category, f.source_id, department, f.since, q, f.until, search)

    # -- reading ------------------------------------------------------------------------------
    def _where(self, q: Select[Any], f: Filter) -> Select[Any]:
        q = q.where(_FLAGGED)
        if f.category:
            q = q.where(cast(DecreeRow.categories, String).like(f'%"{f.category}"%'))
        if f.source_id:
            q = q.where(Recueil.source_id == f.source_id)
        if f.department:
            ids = sorted(s.id for s in self.sources.values() if s.department == f.department)
            q = q.where(Recueil.source_id.in_(ids))
        if f.since:
            since_instant = datetime(f.since.year, f.since.month, f.since.day, tzinfo=UTC)
            q = q.where(
                or_(
                    Recueil.published >= f.since,
                    Recueil.published.is_(None) & (Recueil.first_seen_at >= since_instant),
                )
            )
        if f.until:
            after = f.until + timedelta(days=1)
            q = q.where(
                or_(
                    Recueil.published <= f.until,
                    Recueil.published.is_(None)
                    & (Recueil.first_seen_at < datetime(after.year, after.month, after.day, tzinfo=UTC)),
                )
            )
        return q

    @staticmethod
    def _order(q: Select[Any]) -> Select[Any]:
        return q.order_by(
            Recueil.published.desc().nulls_last(),
            Recueil.first_seen_at.desc(),
            Recueil.id.desc(),
            DecreeRow.first_page,
            DecreeRow.id,
        )

    def find(self, f: Filter = Filter(), *, limit: int | None = None, offset: int = 0) -> Result:
        """The flagged decrees ``f`` selects, newest recueil first, and how many there are."""
        f = self.check(f)
        # the full-text search runs first, in its own transaction (FTS5 or PostgreSQL's)
        matching = set(self.store.search_flagged_ids(f.search)) if f.search else None
        with self.store.session() as s:
            if f.q or matching is not None:
                # words are matched here, accents and case folded, the same way on every database
                words = [fold(w) for w in _WORD.findall(f.q or "")]
                cols = (DecreeRow.id, DecreeRow.title, DecreeRow.number, DecreeRow.details, DecreeRow.text)
                base = self._order(self._where(select(*cols).join(Recueil), f))
                ids = [
                    row.id
                    for row in s.execute(base)
                    if (matching is None or row.id in matching) and all(w in _haystack(row) for w in words)
                ]
                total = len(ids)
                page = ids[offset : None if limit is None else offset + limit]
                rows = (
                    {d.id: d for d in s.scalars(self._rows().where(DecreeRow.id.in_(page)))} if page else {}
                )
                records = [self.record(rows[i]) for i in page]
                return Result(total, records)
            total = s.scalar(
                select(func.count()).select_from(
                    self._where(select(DecreeRow.id).join(Recueil), f).subquery()
                )
            )
            q = self._order(self._where(self._rows(), f)).offset(offset)
            if limit is not None:
                q = q.limit(limit)
            return Result(total or 0, [self.record(d) for d in s.scalars(q)])

    def get(self, decree_id: int) -> dict[str, Any] | None:
        """One decree by its database id: a flagged one, or one that was posted (or queued) when
        it was flagged and that the current rules, or a re-read of its recueil, no longer flag
        (its record says ``"flagged": false`` and which categories its posts carried). None
        for any other id: a decree never flagged is not shown."""
        with self.store.session() as s:
            had_post = exists().where(Post.decree_id == DecreeRow.id)
            d = s.scalar(self._rows().where(DecreeRow.id == decree_id, or_(_FLAGGED, had_post)))
            if d is None:
                return None
            record = self.record(d)
            if not d.flagged:
                posted = s.scalars(select(Post.category).where(Post.decree_id == d.id).distinct())
                record["posted_categories"] = sorted(posted)
            return record

    @staticmethod
    def _rows() -> Select[tuple[DecreeRow]]:
        return (
            select(DecreeRow)
            .join(Recueil)
            .options(contains_eager(DecreeRow.recueil), defer(DecreeRow.text), defer(DecreeRow.matches))
        )

    def record(self, d: DecreeRow) -> dict[str, Any]:
        """One decree as plain data (strings, numbers, lists, dicts): what every format shows."""
        rec = d.recueil
        src = self.sources.get(rec.source_id)
        details = Details.from_json(d.details) if d.details else None
        flags: dict[str, str] = {}
        for category in d.categories or [""]:  # the sommaire's mark holds without a category too
            for flag in assess(
                details if d.categories else None,
                category=category,
                first_seen=aware(rec.first_seen_at),
                published=rec.published,
                signed_on=d.signed_on,
                windows=self.windows,
                from_sommaire=bool(d.from_sommaire),
                pages_missing=bool(d.pages_missing),
            ):
                flags.setdefault(flag.id, flag.text)
        shown = details or Details()
        return {
            "id": d.id,
            "uid": decree_uid(d.link),
            "source_id": rec.source_id,
            "prefecture": src.name if src else rec.source_id,
            "department": src.department if src else None,
            "categories": list(d.categories),
            "title": d.title,
            "number": d.number,
            "signed_on": _iso(d.signed_on),
            "link": d.link,
            "first_page": d.first_page,
            "last_page": d.last_page,
            "recueil_url": rec.url,
            "recueil_title": rec.title,
            "published": _iso(rec.published),
            "first_seen_at": _iso(rec.first_seen_at),
            "pdf_created_at": _iso(rec.pdf_created_at),
            "details": {
                "places": list(shown.places),
                "event": shown.event,
                "start": _iso(shown.start),
                "end": _iso(shown.end),
                "service": shown.service,
                "cameras": shown.cameras,
                "aircraft": shown.aircraft,
                "legal_basis": list(shown.legal_basis),
            },
            "flags": [{"id": k, "text": v} for k, v in flags.items()],
            # false only for a decree that was flagged, and posted, under earlier rules
            "flagged": bool(d.flagged),
            # when a re-read of its recueil no longer found it at this page
            "superseded_at": _iso(d.superseded_at),
            # flagged from its recueil's sommaire: its own pages unreadable, or not in the PDF
            "from_sommaire": bool(d.from_sommaire),
            "pages_missing": bool(d.pages_missing),
        }


def _haystack(row: Any) -> str:
    details = row.details or {}
    parts = [row.title, row.number or "", row.text or ""]
    parts += [*details.get("places", []), details.get("event") or "", details.get("service") or ""]
    return fold("\n".join(parts))


# -- formats ------------------------------------------------------------------------------------
def to_json(records: Sequence[dict[str, Any]]) -> str:
    return json.dumps(list(records), ensure_ascii=False, indent=2) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = " ; ".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_row(r: dict[str, Any]) -> list[str]:
    """One record as CSV cells, in the order of CSV_COLUMNS."""
    flat = {**r, **r["details"], "flags": [f["text"] for f in r["flags"]]}
    return [_cell(flat[c]) for c in CSV_COLUMNS]


def to_csv(records: Iterable[dict[str, Any]]) -> str:
    """One row per decree after a header row; lists joined with " ; "."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in records:
        writer.writerow(csv_row(r))
    return out.getvalue()


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: _xml_text(v) for k, v in attrs.items()})
    if text is not None:
        el.text = _xml_text(text)
    return el


def _atom_time(value: str | None) -> str:
    when = datetime.fromisoformat(value) if value else _EPOCH
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def summary(r: dict[str, Any], labels: dict[str, str] | None = None) -> str:
    """Where, when, who, in French, one fact a line."""
    labels = labels or {}
    d = r["details"]
    start = datetime.fromisoformat(d["start"]) if d["start"] else None
    end = datetime.fromisoformat(d["end"]) if d["end"] else None
    where = " ; ".join(d["places"])
    if d["event"]:
        where = f"{where} — {d['event']}" if where else d["event"]
    who = d["service"] or ""
    counts = []
    if d["aircraft"]:
        counts.append(f"{d['aircraft']} aéronef{'s' if d['aircraft'] > 1 else ''}")
    if d["cameras"]:
        counts.append(f"{d['cameras']} caméra{'s' if d['cameras'] > 1 else ''}")
    who = ", ".join(p for p in [who, *counts] if p)
    prefecture = r["prefecture"] + (f" ({r['department']})" if r["department"] else "")
    cats = ", ".join(labels.get(c, c) for c in r["categories"])
    signed = f"signé le {format_date(date.fromisoformat(r['signed_on']))}" if r["signed_on"] else ""
    lines = [
        f"{prefecture} — {cats}",
        f"Où : {where}" if where else "Où : non précisé dans l'arrêté",
        f"Quand : {format_period(start, end)}" if start else "Quand : non précisé dans l'arrêté",
        f"Qui : {who}" if who else "Qui : non précisé dans l'arrêté",
        " ".join(p for p in [f"Arrêté n° {r['number']}" if r["number"] else "Arrêté", signed] if p),
    ]
    if d["legal_basis"]:
        lines.append("Base légale : " + " ; ".join(d["legal_basis"]))
    lines += [f"⚠️ {f['text']}" for f in r["flags"]]
    if r["published"]:
        lines.append(f"Recueil publié le {format_date(date.fromisoformat(r['published']))}")
    return "\n".join(lines)


def to_atom(
    records: Sequence[dict[str, Any]],
    *,
    title: str = "attrap — arrêtés signalés",
    feed_id: str | None = None,
    self_url: str | None = None,
    labels: dict[str, str] | None = None,
) -> bytes:
    """An Atom 1.0 feed (RFC 4287), one entry per decree, as UTF-8 bytes."""
    # unqualified tags under an xmlns attribute: Atom elements, with no ns0: prefixes
    feed = ET.Element("feed", {"xmlns": ATOM_NS, _XML_LANG: "fr"})
    _sub(feed, "id", feed_id or f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, PROJECT_URL + '#' + title)}")
    _sub(feed, "title", title, type="text")
    times = [r["first_seen_at"] for r in records if r["first_seen_at"]]
    _sub(feed, "updated", _atom_time(max(times, key=datetime.fromisoformat) if times else None))
    author = _sub(feed, "author")
    _sub(author, "name", "attrap")
    _sub(author, "uri", PROJECT_URL)
    _sub(feed, "generator", "attrap", uri=PROJECT_URL, version=__version__)
    if self_url:
        _sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    for r in records:
        entry = _sub(feed, "entry")
        _sub(entry, "id", r["uid"])
        _sub(entry, "title", r["title"] or f"Arrêté {r['number'] or ''}".strip(), type="text")
        _sub(entry, "link", rel="alternate", type="application/pdf", href=r["link"])
        _sub(entry, "updated", _atom_time(r["first_seen_at"]))
        entry_author = _sub(entry, "author")
        _sub(entry_author, "name", r["prefecture"])
        for c in r["categories"]:
            _sub(entry, "category", term=c, label=(labels or {}).get(c, c))
        _sub(entry, "summary", summary(r, labels), type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _atom(catalog: Catalog, records: list[dict[str, Any]], f: Filter) -> bytes:
    parts = [catalog.categories.get(f.category, f.category) if f.category else "arrêtés signalés"]
    if f.department:
        parts.append(f"département {f.department}")
    if f.source_id:
        parts.append(catalog.sources[f.source_id].name)
    return to_atom(records, title="attrap — " + ", ".join(parts), labels=catalog.categories)


@dataclass(frozen=True)
class Format:
    """One output format of the flagged decrees: what ``attrap export --format`` and the web's
    ``/export.<name>`` both serve."""

    name: str
    media_type: str
    description: str
    render: Callable[[Catalog, list[dict[str, Any]], Filter], bytes]

    @property
    def filename(self) -> str:
        return f"attrap-arretes.{self.name}"


#: the formats, in one place: adding one here adds it to the CLI and to the web
FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("json", "application/json; charset=utf-8", "a JSON list of records",
               lambda _c, records, _f: to_json(records).encode("utf-8")),
        Format("csv", "text/csv; charset=utf-8", "a CSV table, one row per decree (CSV_COLUMNS)",
               lambda _c, records, _f: to_csv(records).encode("utf-8")),
        Format("atom", "application/atom+xml; charset=utf-8", "an Atom 1.0 feed", _atom),
    )
}  # fmt: skip


def export(catalog: Catalog, fmt: str, f: Filter = Filter()) -> bytes:
    """Every flagged decree ``f`` selects, in ``fmt`` (one of :data:`FORMATS`), as UTF-8 bytes."""
    if fmt not in FORMATS:
        raise BadParameter("format", f"expected one of {', '.join(FORMATS)}")
    return FORMATS[fmt].render(catalog, catalog.find(f).records, f)
