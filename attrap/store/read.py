"""The read model: the flagged decrees as the web, the export, the status and search see them.

:class:`Catalog` reads the store (flagged decrees only, newest recueil first, decrees in page
order within a recueil) with filters on category, source, department, date and words, and turns
each decree into one :class:`DecreeRecord`: where it was found, what it authorises (the details
read from its text) and the flags posts carry (published late, outside any legal window). That
pydantic model is the one shape of a decree outside the store: the JSON API answers it (and its
JSON Schema is the API's), ``attrap export`` and the web's ``/export.*`` write it in one of
:mod:`attrap.serve.formats`, the pages show it and ``attrap search --json`` prints its fields.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import regex
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema
from sqlalchemy import Select, String, cast, exists, func, or_, select
from sqlalchemy.orm import aliased, contains_eager, defer

from attrap.crawl.sources import Source, registry
from attrap.model import Details
from attrap.rules.details import Window, assess, load_windows
from attrap.rules.frdates import fold, iso_day
from attrap.rules.lateness import lateness
from attrap.store.db import Annotation, DecreeLink, DecreeRow, Post, Recueil, Store, aware

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


#: an instant: made aware (SQLite gives back naive UTC datetimes), written as
#: ``datetime.isoformat()`` gives it (``2026-10-14T09:05:00+00:00``), a JSON Schema date-time
Instant = Annotated[
    datetime,
    AfterValidator(aware),
    PlainSerializer(datetime.isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class _Record(BaseModel):
    # every field is in every answer, null when unknown: the schema says so (required)
    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_serialization_defaults_required=True)


class DecreeFlag(_Record):
    """What posts, pages and feeds say of a decree besides its text."""

    id: str = Field(description="published-late, outside-legal-window, from-sommaire or pages-missing")
    text: str = Field(description="The flag in French, as posts say it")


class DecreeDetails(_Record):
    """What the decree authorises, read from its text; null (or empty) when not stated."""

    places: list[str] = []
    event: str | None = None
    start: Instant | None = None
    end: Instant | None = None
    service: str | None = None
    cameras: int | None = None
    aircraft: int | None = None
    legal_basis: list[str] = []


class DecreeChange(_Record):
    """One side of a change: the decree that changes this one, or the decree this one changes."""

    kind: str = Field(description="abrogation, retrait, suspension or modification")
    decree_id: int | None = Field(description="The other decree's id, null when it was not seen (yet)")
    number: str | None
    signed_on: date | None
    title: str | None
    link: str | None = Field(json_schema_extra={"format": "uri"})


class CourtDecision(_Record):
    """A court's decision recorded against the decree (``attrap annotate``)."""

    kind: str = Field(description="court-suspended, court-annulled or court-rejected")
    url: str | None = Field(json_schema_extra={"format": "uri"})
    decided_on: date | None
    note: str | None


class DecreeLateness(_Record):
    """How long the decree took to reach the public, in hours (attrap.rules.lateness)."""

    period_start: Instant | None = Field(description="The start of the authorised period")
    published: Instant | None = Field(
        description="The earliest moment it can have been public: the site's day or the PDF's creation"
    )
    first_seen: Instant | None
    hours_signature_to_publication: float | None
    hours_publication_to_first_seen: float | None
    hours_start_to_publication: float | None = Field(
        description="Positive when published after the authorised period began"
    )
    hours_start_to_first_seen: float | None
    published_after_start: bool | None = Field(
        description="Certainly published after the period began (null when either is unknown)"
    )


class DecreeRecord(_Record):
    """One decree as every format shows it: the JSON API, the exports, the feeds, the pages."""

    id: int = Field(description="Database id (not stable across databases: see uid)")
    uid: str = Field(description="Stable id (urn:uuid), from the link")
    source_id: str
    prefecture: str
    department: str | None
    categories: list[str]
    title: str
    number: str | None
    signed_on: date | None
    link: str = Field(
        json_schema_extra={"format": "uri"}, description="The PDF at the decree's page (#page=N)"
    )
    first_page: int
    last_page: int
    recueil_url: str = Field(json_schema_extra={"format": "uri"})
    recueil_title: str
    published: date | None = Field(description="When the prefecture published the recueil, if it says")
    first_seen_at: Instant = Field(description="When attrap first saw the recueil")
    pdf_created_at: Instant | None
    details: DecreeDetails
    flags: list[DecreeFlag]
    flagged: bool = Field(
        description="False for a decree posted under earlier rules that the current rules, or a "
        "re-read of its recueil, no longer flag (only /decrees/{id} shows those)"
    )
    superseded_at: Instant | None = Field(
        description="When a re-read of its recueil no longer found it at this page"
    )
    from_sommaire: bool = Field(
        description="Flagged from its recueil's sommaire: its pages could not be read"
    )
    pages_missing: bool = Field(description="Listed by the sommaire, its pages are not in the PDF")
    doubts: list[str] = Field(
        description="Why its flags are doubtful (sommaire, ocr, title_only, text_only): see attrap review"
    )
    changes: list[DecreeChange] = Field(description="The decrees this one abrogates, withdraws or modifies")
    changed_by: list[DecreeChange] = Field(description="The decrees that abrogate, withdraw or modify it")
    court: list[CourtDecision]
    lateness: DecreeLateness
    posted_categories: list[str] | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="Only for a decree no longer flagged: the categories its posts carried",
    )


@dataclass
class _Life:
    changes: list[DecreeChange] = field(default_factory=list)
    changed_by: list[DecreeChange] = field(default_factory=list)
    court: list[CourtDecision] = field(default_factory=list)


@dataclass
class Result:
    total: int
    records: list[DecreeRecord]


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
                lives = self._lives(s, page)
                records = [self.record(rows[i], life=lives[i]) for i in page]
                return Result(total, records)
            counted = s.scalar(
                select(func.count()).select_from(
                    self._where(select(DecreeRow.id).join(Recueil), f).subquery()
                )
            )
            q = self._order(self._where(self._rows(), f)).offset(offset)
            if limit is not None:
                q = q.limit(limit)
            found = list(s.scalars(q))
            lives = self._lives(s, [d.id for d in found])
            return Result(counted or 0, [self.record(d, life=lives[d.id]) for d in found])

    def get(self, decree_id: int) -> DecreeRecord | None:
        """One decree by its database id: a flagged one, or one that was posted (or queued) when
        it was flagged and that the current rules, or a re-read of its recueil, no longer flag
        (its record says ``"flagged": false`` and which categories its posts carried). None
        for any other id: a decree never flagged is not shown."""
        with self.store.session() as s:
            had_post = exists().where(Post.decree_id == DecreeRow.id)
            d = s.scalar(self._rows().where(DecreeRow.id == decree_id, or_(_FLAGGED, had_post)))
            if d is None:
                return None
            life = self._lives(s, [d.id])[d.id]
            if d.flagged:
                return self.record(d, life=life)
            posted = s.scalars(select(Post.category).where(Post.decree_id == d.id).distinct())
            return self.record(d, posted_categories=sorted(posted), life=life)

    @staticmethod
    def _lives(s: Any, ids: list[int]) -> dict[int, _Life]:
        """The changes, changers and court decisions of decrees ``ids``, in three queries."""
        lives = {i: _Life() for i in ids}
        if not ids:
            return lives
        other = aliased(DecreeRow)
        for link, target in s.execute(
            select(DecreeLink, other)
            .outerjoin(other, DecreeLink.target_id == other.id)
            .where(DecreeLink.decree_id.in_(ids))
            .order_by(DecreeLink.decree_id, DecreeLink.position)
        ):
            lives[link.decree_id].changes.append(
                DecreeChange(
                    kind=link.kind,
                    decree_id=link.target_id,
                    number=target.number if target is not None else link.cited_number,
                    signed_on=target.signed_on if target is not None else link.cited_date,
                    title=target.title if target is not None else None,
                    link=target.link if target is not None else None,
                )
            )
        for link, changer in s.execute(
            select(DecreeLink, other)
            .join(other, DecreeLink.decree_id == other.id)
            .where(DecreeLink.target_id.in_(ids))
            .order_by(DecreeLink.id)
        ):
            lives[link.target_id].changed_by.append(
                DecreeChange(
                    kind=link.kind,
                    decree_id=changer.id,
                    number=changer.number,
                    signed_on=changer.signed_on,
                    title=changer.title,
                    link=changer.link,
                )
            )
        for a in s.scalars(select(Annotation).where(Annotation.decree_id.in_(ids)).order_by(Annotation.id)):
            lives[a.decree_id].court.append(
                CourtDecision(kind=a.kind, url=a.url, decided_on=a.decided_on, note=a.note)
            )
        return lives

    @staticmethod
    def _rows() -> Select[DecreeRow]:
        return (
            select(DecreeRow)
            .join(Recueil)
            .options(contains_eager(DecreeRow.recueil), defer(DecreeRow.text), defer(DecreeRow.matches))
        )

    def record(
        self, d: DecreeRow, *, posted_categories: list[str] | None = None, life: _Life | None = None
    ) -> DecreeRecord:
        """One decree (its recueil loaded) as the record every format shows; ``life`` its
        changes and court decisions (:meth:`_lives`), none when not given."""
        life = life or _Life()
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
        late = lateness(
            signed_on=d.signed_on,
            period_start=shown.start,
            published=rec.published,
            pdf_created_at=rec.pdf_created_at,
            first_seen=rec.first_seen_at,
        )
        return DecreeRecord(
            id=d.id,
            uid=decree_uid(d.link),
            source_id=rec.source_id,
            prefecture=src.name if src else rec.source_id,
            department=src.department if src else None,
            categories=list(d.categories),
            title=d.title,
            number=d.number,
            signed_on=d.signed_on,
            link=d.link,
            first_page=d.first_page,
            last_page=d.last_page,
            recueil_url=rec.url,
            recueil_title=rec.title,
            published=rec.published,
            first_seen_at=rec.first_seen_at,
            pdf_created_at=rec.pdf_created_at,
            details=DecreeDetails(
                places=list(shown.places),
                event=shown.event,
                start=shown.start,
                end=shown.end,
                service=shown.service,
                cameras=shown.cameras,
                aircraft=shown.aircraft,
                legal_basis=list(shown.legal_basis),
            ),
            flags=[DecreeFlag(id=k, text=v) for k, v in flags.items()],
            # false only for a decree that was flagged, and posted, under earlier rules
            flagged=bool(d.flagged),
            # when a re-read of its recueil no longer found it at this page
            superseded_at=d.superseded_at,
            # flagged from its recueil's sommaire: its own pages unreadable, or not in the PDF
            from_sommaire=bool(d.from_sommaire),
            pages_missing=bool(d.pages_missing),
            doubts=list(d.doubts or []),
            changes=life.changes,
            changed_by=life.changed_by,
            court=life.court,
            lateness=DecreeLateness(**{k: v for k, v in vars(late).items() if k != "signed_on"}),
            posted_categories=posted_categories,
        )


def _haystack(row: Any) -> str:
    details = row.details or {}
    parts = [row.title, row.number or "", row.text or ""]
    parts += [*details.get("places", []), details.get("event") or "", details.get("service") or ""]
    return fold("\n".join(parts))
