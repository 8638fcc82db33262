"""The read model: the flagged decrees as the web, the export, the status and search see them.

:class:`Catalog` reads the store (flagged decrees only, newest recueil first, decrees in page
order within a recueil) with filters on category, source, department, date and words, and turns
each decree into a plain record: where it was found, what it authorises (the details read from
its text) and the flags posts carry (published late, outside any legal window). ``attrap
export`` writes these records in one of :mod:`attrap.serve.formats`; ``attrap serve`` serves them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import regex
from sqlalchemy import Select, String, cast, exists, func, or_, select
from sqlalchemy.orm import contains_eager, defer

from attrap.crawl.sources import Source, registry
from attrap.model import Details
from attrap.rules.details import Window, assess, load_windows
from attrap.rules.frdates import fold, iso_day
from attrap.store.db import DecreeRow, Post, Recueil, Store, aware

_WORD = regex.compile(r"\w+")
#: a decree is shown when the current rules flag it
_FLAGGED = DecreeRow.flagged


class BadParameter(ValueError):
    """A filter value that cannot be used; ``param`` names the parameter."""

    def __init__(self, param: str, message: str):
        super().__init__(f"{param}: {message}")
        self.param = param


def parse_day(value: str, param: str = "since") -> date:
    """A YYYY-MM-DD date, strictly (:func:`attrap.rules.frdates.iso_day`)."""
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
            from attrap.rules.classify import load_rules

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
