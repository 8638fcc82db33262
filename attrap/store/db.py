"""The database: what was crawled, downloaded, found and posted.

SQLAlchemy 2.0 typed models on SQLite (default) or PostgreSQL. Every state a document or a post
passes through is a column a person can query with plain SQL.
"""

from __future__ import annotations

import hashlib
import logging
import time
import typing
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import regex
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Select,
    String,
    Table,
    Text,
    UniqueConstraint,
    case,
    cast,
    column,
    create_engine,
    event,
    false,
    func,
    inspect,
    literal_column,
    or_,
    select,
    table,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult, Engine, Result
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    aliased,
    contains_eager,
    defer,
    mapped_column,
    relationship,
    validates,
)
from sqlalchemy.sql.expression import ColumnClause

from attrap.model import Alert, Change, Citation, ClassifiedDecree, Details, RecueilLink, Validator
from attrap.rules.changes import normalize_number
from attrap.run.health import assess

log = logging.getLogger(__name__)

#: PostgreSQL advisory lock key held while migrating the schema
SCHEMA_LOCK = 0x61747472  # "attr"
#: the schema version this code needs (the newest migration in attrap/migrations/versions)
SCHEMA_HEAD = "0009"
# PostgreSQL full-text search: a French tsvector of the lower-cased, accent-folded title and text
# (translate() is immutable, so it can be indexed; unaccent() is not, and needs an extension).
_ACCENTED, _PLAIN = "àâäáãåçéèêëíìîïñóòôöõúùûüýÿœæ", "aaaaaaceeeeiiiinooooouuuuyyoa"
PG_SEARCH_VECTOR = (
    f"to_tsvector('french', translate(lower({{t}}title || ' ' || {{t}}text), '{_ACCENTED}', '{_PLAIN}'))"
)
_PG_FOLD = str.maketrans(_ACCENTED, _PLAIN)
#: how many times a recueil that failed to download or read is tried again
MAX_ATTEMPTS = 5


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSON}


def _table(model: type[Base]) -> Table:
    """The table ``model`` is mapped to: every model here names a ``__tablename__``, so it is a
    :class:`Table` (SQLAlchemy types ``__table__`` as any FROM clause)."""
    return typing.cast(Table, model.__table__)


def _rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched: ``Session.execute`` returns a :class:`CursorResult`
    for those (SQLAlchemy 2.1 types it as any :class:`Result`)."""
    return typing.cast(CursorResult[Any], result).rowcount


class CrawlRun(Base):
    """One pass over one source."""

    __tablename__ = "crawl_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    #: running, ok, degraded (a partial crawl, a file that failed, a moved RAA page), error
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    pages_fetched: Mapped[int] = mapped_column(default=0)
    pdfs_found: Mapped[int] = mapped_column(default=0)
    pdfs_new: Mapped[int] = mapped_column(default=0)
    #: listing links (cards, pagers) the selectors matched: 0 on a visited site means a redesign
    listing_links: Mapped[int] = mapped_column(default=0)
    errors: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    #: "old → new" when the source's RAA page had moved and was found elsewhere on its site
    moved: Mapped[str | None] = mapped_column(Text)
    #: listing pages and links left out because older than --since
    older: Mapped[int] = mapped_column(default=0, server_default="0")


class Recueil(Base):
    """One RAA PDF, from discovery to the decrees read in it."""

    __tablename__ = "recueils"
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[date | None] = mapped_column(Date)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: discovered, queued (handed to a worker), reading (a worker has it), processed, failed
    #: (retried until attempts reaches MAX_ATTEMPTS)
    status: Mapped[str] = mapped_column(String(16), default="discovered", index=True)
    #: when ``status`` last changed: a recueil queued or reading for too long is put back
    status_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None]
    page_count: Mapped[int | None]
    #: the PDF's own creation date (its metadata), to show late publication
    pdf_created_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    decrees: Mapped[list[DecreeRow]] = relationship(
        back_populates="recueil", cascade="all, delete-orphan", order_by="DecreeRow.first_page"
    )


class DecreeRow(Base):
    """One decree read in a recueil, with what classification said of it."""

    __tablename__ = "decrees"
    __table_args__ = (UniqueConstraint("recueil_id", "first_page"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    recueil_id: Mapped[int] = mapped_column(ForeignKey("recueils.id", ondelete="CASCADE"))
    first_page: Mapped[int]
    last_page: Mapped[int]
    title: Mapped[str] = mapped_column(Text, default="")
    number: Mapped[str | None] = mapped_column(String(128))
    signed_on: Mapped[date | None] = mapped_column(Date)
    signatory: Mapped[str | None] = mapped_column(Text)
    #: sorted category ids, e.g. ["drone"]; empty when nothing fired
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: whether ``categories`` holds one (indexed: counts and lists never read the JSON)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    #: when a reading first flagged it (posts for a channel added later are held before that)
    flagged_at: Mapped[datetime | None]
    #: set when a re-read of its recueil no longer finds it; kept because it was posted
    superseded_at: Mapped[datetime | None]
    #: [{"rule", "category", "page", "excerpt"}]
    matches: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    text: Mapped[str] = mapped_column(Text, default="")
    #: pages whose text came from OCR: [{"page", "confidence"}]
    ocr_pages: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: what a flagged decree authorises, where and when (attrap.rules.details), as JSON
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: flagged from its sommaire entry's title, its own pages unreadable or missing
    from_sommaire: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: listed by the sommaire, its pages are not in the PDF
    pages_missing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: why its flags are doubtful (attrap.rules.review.REASONS); empty when they stand
    doubts: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    recueil: Mapped[Recueil] = relationship(back_populates="decrees")

    @validates("categories")
    def _flag(self, _key: str, categories: list[str]) -> list[str]:
        """``flagged`` follows ``categories``, whoever sets them."""
        self.flagged = bool(categories)
        return categories

    @property
    def link(self) -> str:
        """The source PDF opened at the decree's first page."""
        return f"{self.recueil.url}#page={self.first_page}"


class Post(Base):
    """The outbox: one post of one decree on one channel."""

    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("decree_id", "channel"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    decree_id: Mapped[int] = mapped_column(ForeignKey("decrees.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32))
    #: queued, sending, posted, failed (permanent), held (recorded, not to be posted), review
    #: (a doubtful decision waiting for ``attrap review``), rejected (by a review: never posted)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    #: "decree" (the decree's own post) or "change" (it abrogates or modifies a decree posted
    #: on this channel, and is posted as that change)
    kind: Mapped[str] = mapped_column(String(16), default="decree", server_default="decree")
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    status_id: Mapped[str | None] = mapped_column(String(64))
    status_url: Mapped[str | None] = mapped_column(String(2048))
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    next_attempt_at: Mapped[datetime | None]
    #: who holds the post while sending it (host:pid:start), since when
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None]
    #: when it was first handed to the server: past the Idempotency-Key's lifetime, the account
    #: is searched for it before it is sent again
    first_sent_at: Mapped[datetime | None]
    decree: Mapped[DecreeRow] = relationship()


class DecreeLink(Base):
    """A decree changing an earlier one, as it cites it; ``target_id`` once that one is known."""

    __tablename__ = "decree_links"
    __table_args__ = (UniqueConstraint("decree_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    #: the changing decree (an abrogation, a withdrawal, a suspension, a modification)
    decree_id: Mapped[int] = mapped_column(ForeignKey("decrees.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(16))
    #: normalised (attrap.rules.changes.normalize_number), for equality across citations
    cited_number: Mapped[str | None] = mapped_column(String(128), index=True)
    cited_date: Mapped[date | None] = mapped_column(Date)
    target_id: Mapped[int | None] = mapped_column(
        ForeignKey("decrees.id", ondelete="SET NULL"), index=True, nullable=True
    )
    decree: Mapped[DecreeRow] = relationship(foreign_keys=[decree_id])
    target: Mapped[DecreeRow | None] = relationship(foreign_keys=[target_id])


class Annotation(Base):
    """What a maintainer recorded against a decree: a court's decision, with its source."""

    __tablename__ = "annotations"
    id: Mapped[int] = mapped_column(primary_key=True)
    decree_id: Mapped[int] = mapped_column(ForeignKey("decrees.id", ondelete="CASCADE"), index=True)
    #: court-suspended, court-annulled, court-rejected (the challenge dismissed)
    kind: Mapped[str] = mapped_column(String(32))
    url: Mapped[str | None] = mapped_column(String(2048))
    decided_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Review(Base):
    """A person's decision on a doubtful one: confirmed (posted) or rejected (never posted)."""

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    decree_id: Mapped[int] = mapped_column(ForeignKey("decrees.id", ondelete="CASCADE"), index=True)
    #: confirm or reject
    decision: Mapped[str] = mapped_column(String(16))
    #: the decree's categories and doubts when decided (the labelled example's label and why)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


class Channel(Base):
    """A channel this database has posted to, and since when (its backlog is held)."""

    __tablename__ = "channels"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class Route:
    """Which flagged decrees a channel posts: its categories (in order of preference) and,
    when set, only those of these sources."""

    channel: str
    categories: tuple[str, ...]
    source_ids: frozenset[str] | None = None
    #: categories whose doubtful decisions are held for review (the others are posted marked)
    review: frozenset[str] = frozenset()

    def category_for(self, decree: DecreeRow) -> str | None:
        if self.source_ids is not None and decree.recueil.source_id not in self.source_ids:
            return None
        return next((c for c in self.categories if c in decree.categories), None)


@dataclass
class Saved:
    """What storing a recueil's reading did."""

    flagged_ids: list[int]
    posts_queued: int = 0
    #: decrees flagged by this reading that were not before (a re-read under new rules)
    newly_flagged: list[int] = field(default_factory=list)
    #: decrees flagged before, not any more (their posts stay as they are)
    unflagged: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class SourceStatus:
    source_id: str
    last_run: datetime | None
    last_outcome: str | None
    last_error: str | None
    recueils: int
    failed: int
    decrees: int
    flagged: int
    posts_waiting: int
    healthy: bool = True
    health: str | None = None
    #: unhealthy, degraded, never or ok (attrap.run.health)
    state: str = "ok"
    #: why the oldest waiting post has not gone out yet (its last error)
    posts_waiting_reason: str | None = None


@dataclass(frozen=True)
class LinkView:
    """One side of a change: the other decree (None when not stored yet), as cited or as read."""

    kind: str
    decree_id: int | None
    number: str | None
    signed_on: date | None
    title: str | None
    link: str | None
    flagged: bool


@dataclass(frozen=True)
class Life:
    #: the decrees this one changes, as it cites them
    changes: list[LinkView]
    #: the decrees that change this one
    changed_by: list[LinkView]
    annotations: list[Annotation]


@dataclass(frozen=True)
class ReviewItem:
    decree_id: int
    source_id: str
    title: str
    categories: list[str]
    reasons: list[str]
    link: str
    #: a post waits for the decision (its category holds doubtful decisions)
    held: bool
    flagged_at: datetime | None


def idempotency_key(url: str, first_page: int, channel: str) -> str:
    """Stable across retries, restarts and re-readings: derived from what the decree is (its
    recueil's URL and first page) and the channel, never from a database id."""
    raw = f"{url}#page={first_page}|{channel}"
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def _schema_version(conn: Connection) -> str | None:
    """The Alembic revision the database is at (its ``alembic_version`` table), None when empty."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return versions[0] if len(versions) == 1 else None


class Store:
    """Thin repository over the database; every method is one short transaction."""

    def __init__(self, url: str, *, echo: bool = False, upgrade: bool = True):
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.engine: Engine = create_engine(url, echo=echo)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if upgrade:
            self.upgrade()

    def schema_version(self) -> str | None:
        with self.engine.connect() as conn:
            return _schema_version(conn)

    def upgrade(self) -> tuple[str | None, str | None]:
        """Apply the migrations the database lacks (Alembic); safe when several processes start
        at once. Returns (version before, version after) and logs the change."""
        with self.engine.connect() as conn:  # the usual case, read without loading Alembic
            if (current := _schema_version(conn)) == SCHEMA_HEAD:
                return current, current
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", "attrap.store:migrations")
        for attempt in range(5):
            try:
                with self.engine.begin() as conn:
                    if conn.dialect.name == "postgresql":
                        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
                    else:  # SQLite runs DDL outside a transaction unless one is open: open it, holding
                        # the write lock (others wait, busy_timeout), so an upgrade is seen whole or not
                        conn.exec_driver_sql("BEGIN IMMEDIATE")
                    before = _schema_version(conn)
                    if before == SCHEMA_HEAD:
                        return before, before
                    cfg.attributes["connection"] = conn
                    if before is None and inspect(conn).has_table("decrees"):
                        command.stamp(cfg, "0001")  # created by attrap 0.1, before migrations
                    command.upgrade(cfg, "head")
                    after = _schema_version(conn)
                log.info("database schema upgraded from %s to %s", before or "empty", after)
                return before, after
            except (IntegrityError, OperationalError, ProgrammingError):
                # SQLite: another process holds the write lock, or created a table meanwhile
                if attempt == 4:
                    raise
                time.sleep(0.3 * (attempt + 1))
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as s:
            with s.begin():
                yield s

    # -- crawl runs ---------------------------------------------------------------------------
    def start_run(self, source_id: str) -> int:
        with self.session() as s:
            run = CrawlRun(source_id=source_id)
            s.add(run)
            s.flush()
            return run.id

    def finish_run(
        self, run_id: int, *, outcome: str, error: str | None = None, moved: str | None = None, **counts: int
    ) -> None:
        with self.session() as s:
            run = s.get_one(CrawlRun, run_id)
            run.finished_at = utcnow()
            run.outcome = outcome
            run.error = error
            run.moved = moved
            for key, value in counts.items():
                setattr(run, key, value)

    # -- recueils -----------------------------------------------------------------------------
    def known_urls(self, source_id: str) -> set[str]:
        with self.session() as s:
            return set(s.scalars(select(Recueil.url).where(Recueil.source_id == source_id)))

    def add_recueil(self, link: RecueilLink) -> Recueil:
        """Record a discovered recueil, once: two crawls discovering it at once both get it."""
        values = {
            "source_id": link.source_id,
            "url": link.url,
            "title": link.title,
            "published": link.published,
            "first_seen_at": utcnow(),
            "status": "discovered",
            "status_at": utcnow(),
            "attempts": 0,
        }
        with self.session() as s:
            self._insert_ignore(s, Recueil, values)
            return s.scalars(select(Recueil).where(Recueil.url == link.url)).one()

    def pending_recueils(self, source_id: str, *, now: datetime | None = None) -> list[Recueil]:
        """Recueils to (re)process: new ones, and failed ones with attempts left."""
        with self.session() as s:
            q = select(Recueil).where(
                Recueil.source_id == source_id,
                (Recueil.status == "discovered")
                | ((Recueil.status == "failed") & (Recueil.attempts < MAX_ATTEMPTS)),
            )
            return list(s.scalars(q.order_by(Recueil.published.desc(), Recueil.id)))

    def set_recueil_status(self, recueil_id: int, status: str) -> None:
        """``queued``: downloaded and handed to a worker (attrap.run.tasks); ``reading``: a worker
        reads it; ``discovered``: to be read again by the next crawl."""
        with self.session() as s:
            rec = s.get_one(Recueil, recueil_id)
            rec.status, rec.status_at = status, utcnow()

    def processed_recueils(
        self, *, source_ids: Sequence[str] | None = None, since: date | None = None
    ) -> list[Recueil]:
        """The recueils read and stored (of these sources, published since that day)."""
        with self.session() as s:
            q = select(Recueil).where(Recueil.status == "processed")
            if source_ids:
                q = q.where(Recueil.source_id.in_(list(source_ids)))
            if since:
                q = q.where(Recueil.published >= since)
            return list(s.scalars(q.order_by(Recueil.id)))

    def decree_summaries(self, decree_ids: Sequence[int]) -> list[tuple[str, str, list[str], str]]:
        """(link, title, categories, post statuses joined) of these decrees, for reports."""
        with self.session() as s:
            q = select(DecreeRow).where(DecreeRow.id.in_(list(decree_ids))).order_by(DecreeRow.id)
            rows = s.scalars(q)
            out = []
            for d in rows:
                posts = s.scalars(select(Post).where(Post.decree_id == d.id).order_by(Post.id))
                said = ", ".join(f"{p.channel}: {p.status}" for p in posts)
                out.append((d.link, d.title, list(d.categories), said))
            return out

    def recueil_processed(self, recueil_id: int) -> bool:
        with self.session() as s:
            return s.get_one(Recueil, recueil_id).status == "processed"

    def recueil_failed(self, recueil_id: int, reason: str) -> None:
        with self.session() as s:
            rec = s.get_one(Recueil, recueil_id)
            rec.status, rec.status_at = "failed", utcnow()
            rec.attempts += 1
            rec.error = reason

    def save_processed(
        self,
        recueil_id: int,
        decrees: Sequence[ClassifiedDecree],
        *,
        sha256: str,
        size: int,
        page_count: int,
        pdf_created_at: datetime | None,
        routes: Sequence[Route] = (),
        hold: bool = False,
    ) -> Saved:
        """Store the decrees read in a recueil and, in the same transaction, the outbox posts of
        those flagged (one per decree and route, ever): a crash leaves both or neither.

        A decree is known by its first page: read again (new rules, a retry), its row is updated
        in place, so its posts stay what they were; a decree no longer found is kept when it has
        posts (``superseded_at``) and dropped otherwise.
        """
        for attempt in range(3):
            try:
                with self.session() as s:
                    file = {"sha256": sha256, "size": size, "page_count": page_count}
                    file["pdf_created_at"] = pdf_created_at
                    return self._save(s, recueil_id, decrees, routes, hold, file)
            except IntegrityError:  # another process stored the same recueil meanwhile
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _save(
        self,
        s: Session,
        recueil_id: int,
        decrees: Sequence[ClassifiedDecree],
        routes: Sequence[Route],
        hold: bool,
        file: dict[str, Any],
    ) -> Saved:
        now = utcnow()
        rec = s.get_one(Recueil, recueil_id, with_for_update=self.engine.dialect.name == "postgresql")
        existing = {d.first_page: d for d in rec.decrees}
        saved = Saved(flagged_ids=[])
        rows: list[DecreeRow] = []
        for cd in decrees:
            d = cd.decree
            row = existing.pop(d.first_page, None)
            if row is None:
                row = DecreeRow(first_page=d.first_page, recueil=rec)
                s.add(row)
            was_flagged = bool(row.flagged)
            row.last_page, row.title, row.number = d.last_page, d.title, d.number
            row.signed_on, row.signatory = d.signed_on, d.signatory
            row.text, row.ocr_pages = d.text, d.ocr_pages
            row.categories = list(cd.categories)  # and row.flagged
            row.matches = [m.__dict__ for m in cd.matches]
            row.details = cd.details.to_json() if cd.details else None
            row.from_sommaire, row.pages_missing = cd.from_sommaire, d.missing
            row.doubts = list(cd.doubts)
            row.superseded_at = None
            if row.flagged and row.flagged_at is None:
                row.flagged_at = now
            rows.append(row)
            if row.flagged and not was_flagged and row.id is not None:
                saved.newly_flagged.append(row.id)
            if was_flagged and not row.flagged:
                saved.unflagged.append(row.id)
        for row in existing.values():  # not in this reading
            if s.scalar(select(Post.id).where(Post.decree_id == row.id).limit(1)) is None:
                rec.decrees.remove(row)  # deleted as an orphan
            else:
                if row.flagged:
                    saved.unflagged.append(row.id)
                row.flagged, row.superseded_at = False, now
        rec.status, rec.status_at, rec.error, rec.attempts = "processed", now, None, rec.attempts + 1
        for key, value in file.items():  # sha256, size, page_count, pdf_created_at
            setattr(rec, key, value)
        rec.processed_at = now
        s.flush()
        saved.flagged_ids = [r.id for r in rows if r.flagged]
        changing = self._link(s, rec.source_id, rows, [cd.citations for cd in decrees])
        saved.posts_queued = self._queue(s, [r for r in rows if r.flagged], routes, hold=hold)
        self._queue_changes(s, changing, routes, hold=hold)
        return saved

    # -- a decree's life ------------------------------------------------------------------------
    def _link(
        self, s: Session, source_id: str, rows: Sequence[DecreeRow], citations: Sequence[Sequence[Citation]]
    ) -> set[int]:
        """Record what each decree of a reading cites as changed and link each citation to the
        decree it names; link citations stored before that name one of these decrees. Returns
        the ids of the changing decrees whose links were (re)made."""
        changing: set[int] = set()
        for row, cited in zip(rows, citations, strict=True):
            s.execute(_table(DecreeLink).delete().where(DecreeLink.decree_id == row.id))
            for position, c in enumerate(cited):
                link = DecreeLink(
                    decree_id=row.id,
                    position=position,
                    kind=c.kind,
                    cited_number=c.number,
                    cited_date=c.signed_on,
                )
                s.add(link)
                s.flush()
                link.target_id = self._resolve(s, link, source_id)
                changing.add(row.id)
        for row in rows:  # citations of an earlier reading that name a decree of this one
            conditions = []
            if number := normalize_number(row.number):
                conditions.append(DecreeLink.cited_number == number)
            if row.signed_on is not None and row.flagged:
                conditions.append(
                    DecreeLink.cited_number.is_(None) & (DecreeLink.cited_date == row.signed_on)
                )
            if not conditions:
                continue
            pending = s.scalars(
                select(DecreeLink)
                .join(DecreeRow, DecreeLink.decree_id == DecreeRow.id)
                .join(Recueil)
                .where(
                    DecreeLink.target_id.is_(None),
                    DecreeLink.decree_id != row.id,
                    Recueil.source_id == source_id,
                    or_(*conditions),
                )
            )
            for link in pending:
                link.target_id = self._resolve(s, link, source_id)
                if link.target_id is not None:
                    changing.add(link.decree_id)
        s.flush()
        return changing

    def _resolve(self, s: Session, link: DecreeLink, source_id: str) -> int | None:
        """The one decree of ``source_id`` the citation names: by number (its date choosing
        among several), else by signature date among flagged decrees; None when none or several."""
        q = (
            select(DecreeRow.id, DecreeRow.number, DecreeRow.signed_on)
            .join(Recueil)
            .where(Recueil.source_id == source_id, DecreeRow.id != link.decree_id)
        )
        if link.cited_number:
            digits = regex.findall(r"\d+", link.cited_number)
            if digits:
                q = q.where(DecreeRow.number.contains(max(digits, key=len)))
            found = [r for r in s.execute(q) if normalize_number(r.number) == link.cited_number]
            if len(found) > 1 and link.cited_date is not None:
                found = [r for r in found if r.signed_on == link.cited_date] or found
        elif link.cited_date is not None:
            found = list(s.execute(q.where(DecreeRow.signed_on == link.cited_date, DecreeRow.flagged)))
        else:
            return None
        return found[0].id if len(found) == 1 else None

    def _queue_changes(self, s: Session, changing: set[int], routes: Sequence[Route], *, hold: bool) -> int:
        """A post for each change of a decree posted (or about to be) on a route's channel, by
        the changing decree, unless that decree has its own post there: one per change and
        channel, ever, with the same Idempotency-Key rules as any post."""
        if not changing or not routes:
            return 0
        links = s.scalars(
            select(DecreeLink)
            .where(DecreeLink.decree_id.in_(changing), DecreeLink.target_id.is_not(None))
            .order_by(DecreeLink.decree_id, DecreeLink.position)
        ).all()
        added = 0
        for link in links:
            row = s.get_one(DecreeRow, link.decree_id)
            for route in routes:
                if route.source_ids is not None and row.recueil.source_id not in route.source_ids:
                    continue
                target_post = s.scalar(
                    select(Post).where(
                        Post.decree_id == link.target_id,
                        Post.channel == route.channel,
                        Post.status.in_(("queued", "sending", "posted")),
                    )
                )
                if target_post is None:
                    continue
                values = {
                    "decree_id": row.id,
                    "channel": route.channel,
                    "category": target_post.category,
                    "kind": "change",
                    "status": "held" if hold else "queued",
                    "idempotency_key": idempotency_key(row.recueil.url, row.first_page, route.channel),
                    "attempts": 0,
                    "created_at": utcnow(),
                    "updated_at": utcnow(),
                }
                added += self._insert_ignore(s, Post, values)
        return added

    def life(self, decree_id: int) -> Life:
        """What a decree changes, what changed it, and the court decisions recorded against it."""
        with self.session() as s:
            changes = [
                LinkView(
                    link.kind, link.target_id, link.cited_number, link.cited_date, *self._named(link.target)
                )
                for link in s.scalars(
                    select(DecreeLink).where(DecreeLink.decree_id == decree_id).order_by(DecreeLink.position)
                )
            ]
            changed_by = [
                LinkView(
                    link.kind,
                    link.decree_id,
                    link.decree.number,
                    link.decree.signed_on,
                    *self._named(link.decree),
                )
                for link in s.scalars(
                    select(DecreeLink).where(DecreeLink.target_id == decree_id).order_by(DecreeLink.id)
                )
            ]
            notes = list(
                s.scalars(select(Annotation).where(Annotation.decree_id == decree_id).order_by(Annotation.id))
            )
            s.expunge_all()
            return Life(changes, changed_by, notes)

    @staticmethod
    def _named(row: DecreeRow | None) -> tuple[str | None, str | None, bool]:
        if row is None:
            return None, None, False
        return row.title, row.link, bool(row.flagged)

    def annotate(
        self, decree_id: int, kind: str, *, url: str | None, decided_on: date | None, note: str | None
    ) -> int:
        """Record a court decision (or another fact) against a decree; its id."""
        with self.session() as s:
            if s.get(DecreeRow, decree_id) is None:
                raise LookupError(f"no decree {decree_id}")
            a = Annotation(decree_id=decree_id, kind=kind, url=url, decided_on=decided_on, note=note)
            s.add(a)
            s.flush()
            return a.id

    # -- the review queue -------------------------------------------------------------------------
    def review_queue(self) -> list[ReviewItem]:
        """Doubtful flagged decrees nobody decided on yet, oldest first; ``held`` when a post
        waits for the decision (the others went out marked). One query, however long the queue."""
        with self.session() as s:
            decided = select(Review.id).where(Review.decree_id == DecreeRow.id)
            held = select(Post.id).where(Post.decree_id == DecreeRow.id, Post.status == "review")
            rows = s.execute(
                select(DecreeRow, held.exists())
                .join(Recueil)
                .where(DecreeRow.flagged, DecreeRow.superseded_at.is_(None), ~decided.exists())
                .where(cast(DecreeRow.doubts, String) != "[]")  # JSON text, as SQLAlchemy writes it
                .options(defer(DecreeRow.text), contains_eager(DecreeRow.recueil))
                .order_by(DecreeRow.flagged_at, DecreeRow.id)
            )
            return [
                ReviewItem(
                    d.id,
                    d.recueil.source_id,
                    d.title,
                    list(d.categories),
                    list(d.doubts),
                    d.link,
                    bool(waiting),
                    aware(d.flagged_at) if d.flagged_at else None,
                )  # fmt: skip
                for d, waiting in rows
                if d.doubts
            ]

    def decide(self, decree_id: int, decision: str, *, note: str | None = None) -> int:
        """Record a person's decision on a decree (``confirm`` or ``reject``): its posts waiting
        for review are queued (confirmed) or never sent (rejected). The number of posts released
        or stopped."""
        if decision not in ("confirm", "reject"):
            raise ValueError(f"decision must be confirm or reject, not {decision!r}")
        with self.session() as s:
            d = s.get(DecreeRow, decree_id)
            if d is None:
                raise LookupError(f"no decree {decree_id}")
            s.add(
                Review(
                    decree_id=d.id,
                    decision=decision,
                    categories=list(d.categories),
                    reasons=list(d.doubts or []),
                    note=note,
                    decided_at=utcnow(),
                )
            )
            status = "queued" if decision == "confirm" else "rejected"
            q = update(Post).where(Post.decree_id == d.id, Post.status == "review")
            return _rowcount(s.execute(q.values(status=status, updated_at=utcnow()))) or 0

    def reviews(self) -> list[tuple[Review, DecreeRow]]:
        """Every decision taken, oldest first, with its decree (its text loaded): the labelled
        examples ``attrap review export`` writes."""
        with self.session() as s:
            q = select(Review, DecreeRow).join(DecreeRow).order_by(Review.id)
            rows = [(r, d) for r, d in s.execute(q)]
            for _, d in rows:
                _ = d.recueil, d.text
            s.expunge_all()
            return rows

    # -- posts --------------------------------------------------------------------------------
    def register_channels(self, names: Sequence[str]) -> None:
        """Remember when each channel was first seen: older flagged decrees are its backlog."""
        with self.session() as s:
            for name in names:
                self._insert_ignore(s, Channel, {"name": name, "added_at": utcnow()})

    def _queue(self, s: Session, rows: Sequence[DecreeRow], routes: Sequence[Route], *, hold: bool) -> int:
        """Insert the missing posts of flagged ``rows`` on ``routes`` (inside the caller's
        transaction). A post for a decree flagged before its channel was added is held: a new
        channel starts with the news, not with the archive."""
        added_since = {c.name: aware(c.added_at) for c in s.scalars(select(Channel))}
        for route in routes:
            if route.channel not in added_since and rows:
                # first seen with these decrees: they are its news, not its backlog
                start = min((aware(r.flagged_at) for r in rows if r.flagged_at), default=utcnow())
                self._insert_ignore(s, Channel, {"name": route.channel, "added_at": start})
                added_since[route.channel] = aware(s.get_one(Channel, route.channel).added_at)
        decided = dict(
            s.execute(
                select(Review.decree_id, Review.decision)
                .where(Review.decree_id.in_([r.id for r in rows]))
                .order_by(Review.decided_at, Review.id)
            ).all()
        )  # the latest decision on each decree
        added = 0
        for row in rows:
            for route in routes:
                category = route.category_for(row)
                if category is None:
                    continue
                since = added_since.get(route.channel)
                backlog = since is not None and row.flagged_at is not None and aware(row.flagged_at) < since
                decision = decided.get(row.id)
                if backlog:
                    status = "held"
                elif decision == "reject":
                    status = "rejected"
                elif decision is None and row.doubts and category in route.review:
                    status = "review"
                else:
                    status = "held" if hold else "queued"
                values = {
                    "decree_id": row.id,
                    "channel": route.channel,
                    "category": category,
                    "status": status,
                    "idempotency_key": idempotency_key(row.recueil.url, row.first_page, route.channel),
                    "attempts": 0,
                    "created_at": utcnow(),
                    "updated_at": utcnow(),
                }
                added += self._insert_ignore(s, Post, values)
        return added

    def queue_missing(self, routes: Sequence[Route]) -> int:
        """The sweep: a post for every flagged decree that has none on a route that should
        carry it (whatever lost it; a channel added later gets its backlog held), and a change
        post for every change of a decree posted on a channel where the changing decree has
        none. It runs at each publishing pass: its queries select only what is missing (not
        every flagged decree or link of the archive)."""
        added = 0
        with self.session() as s:
            for route in routes:
                if not route.categories:
                    continue
                has_post = select(Post.id).where(
                    Post.decree_id == DecreeRow.id, Post.channel == route.channel
                )
                # a superset of what the route carries (LIKE on the JSON list): _queue decides
                categories = cast(DecreeRow.categories, String)
                carried = or_(*(categories.like(f'%"{c}"%') for c in route.categories))
                q = (
                    select(DecreeRow)
                    .join(Recueil)
                    .where(DecreeRow.flagged, DecreeRow.superseded_at.is_(None), carried, ~has_post.exists())
                    .options(defer(DecreeRow.text), contains_eager(DecreeRow.recueil))
                )
                if route.source_ids is not None:
                    q = q.where(Recueil.source_id.in_(route.source_ids))
                added += self._queue(s, list(s.scalars(q)), [route], hold=False)
            target_post, own = aliased(Post), aliased(Post)
            unposted = (
                select(DecreeLink.decree_id)
                .join(target_post, target_post.decree_id == DecreeLink.target_id)
                .where(
                    target_post.channel.in_([r.channel for r in routes]),
                    target_post.status.in_(("queued", "sending", "posted")),
                    ~select(own.id)
                    .where(own.decree_id == DecreeLink.decree_id, own.channel == target_post.channel)
                    .exists(),
                )
            )
            added += self._queue_changes(s, set(s.scalars(unposted)), routes, hold=False)
        return added

    def requeue_stuck(self, older_than: timedelta) -> list[str]:
        """Recueils left ``queued`` or ``reading`` longer than ``older_than`` (a lost job, a dead
        worker) go back to ``discovered``, for the next crawl; returns their URLs."""
        cutoff = utcnow() - older_than
        with self.session() as s:
            stuck = list(
                s.scalars(
                    select(Recueil).where(
                        Recueil.status.in_(("queued", "reading")),
                        (Recueil.status_at.is_(None)) | (Recueil.status_at < cutoff),
                    )
                )
            )
            for rec in stuck:
                rec.status, rec.status_at = "discovered", utcnow()
            return [rec.url for rec in stuck]

    def release_held(self, channel: str | None = None) -> int:
        """Held posts (a backlog, a --no-publish run) of ``channel`` (or every channel) go to the queue."""
        with self.session() as s:
            q = update(Post).where(Post.status == "held")
            if channel is not None:
                q = q.where(Post.channel == channel)
            return _rowcount(s.execute(q.values(status="queued", updated_at=utcnow()))) or 0

    def due_posts(self, channel: str, *, limit: int | None = None, flush: bool = False) -> list[Post]:
        """Posts to send now, oldest first; ``flush`` ignores the backoff after a failure. A
        post ``sending`` is one whose sender may have died: :meth:`claim_post` decides."""
        now = utcnow()
        with self.session() as s:
            q = (
                select(Post)
                .where(Post.channel == channel, Post.status.in_(("queued", "sending")))
                .order_by(Post.id)
            )
            if not flush:
                q = q.where((Post.next_attempt_at.is_(None)) | (Post.next_attempt_at <= now))
            if limit:
                q = q.limit(limit)
            return list(s.scalars(q))

    def claim_post(
        self, post_id: int, owner: str, *, lease: timedelta, dead_owner: str | None = None
    ) -> Post | None:
        """Take a post to send it, atomically: a queued post, or one ``sending`` whose claim is
        older than ``lease`` or whose holder is known dead (``dead_owner``, compared and swapped).
        None when another sender has it: it is theirs to send."""
        now = utcnow()
        stale = (Post.claimed_at.is_(None)) | (Post.claimed_at < now - lease)
        if dead_owner is not None:
            stale = stale | (Post.claimed_by == dead_owner)
        with self.session() as s:
            q = (
                update(Post)
                .where(Post.id == post_id)
                .where((Post.status == "queued") | ((Post.status == "sending") & stale))
                .values(status="sending", claimed_by=owner, claimed_at=now, updated_at=now)
            )
            if _rowcount(s.execute(q)) != 1:
                return None
            return s.get_one(Post, post_id)

    def sending(self, post_id: int, text: str, *, new_window: bool = False) -> None:
        """About to hand the post to the server: its text, and when it was first sent (now, if
        never, or if ``new_window``: the server forgot its key and it was not found posted)."""
        with self.session() as s:
            p = s.get_one(Post, post_id)
            p.text = text
            if new_window or p.first_sent_at is None:
                p.first_sent_at = utcnow()

    def posted_status_urls(self) -> set[str]:
        """Every status URL some post already took as its own (reconciliation never takes one twice)."""
        with self.session() as s:
            return set(s.scalars(select(Post.status_url).where(Post.status_url.is_not(None))))

    def alert_for(self, post_id: int, source_names: dict[str, str], departments: dict) -> Alert:
        with self.session() as s:
            p = s.get_one(Post, post_id)
            d, rec = p.decree, p.decree.recueil
            excerpt = next((m["excerpt"] for m in d.matches if m["category"] == p.category), None)
            return Alert(
                decree_id=d.id,
                category=p.category,
                source_id=rec.source_id,
                source_name=source_names.get(rec.source_id, rec.source_id),
                department=departments.get(rec.source_id),
                title=d.title,
                url=d.link,
                signed_on=d.signed_on,
                number=d.number,
                excerpt=excerpt,
                details=Details.from_json(d.details) if d.details else None,
                first_seen=rec.first_seen_at,
                published=rec.published,
                from_sommaire=bool(d.from_sommaire),
                pages_missing=bool(d.pages_missing),
                doubts=list(d.doubts or []),
                change=self._change_of(s, p) if p.kind == "change" else None,
                changes=self._changes_of(s, p) if p.kind != "change" else [],
            )

    def _changes_of(self, s: Session, post: Post, *, posted_only: bool = False) -> list[Change]:
        """The earlier decrees a post's decree changes, each with its post on the post's
        channel (``posted_only``: only those that have one)."""
        out = []
        for link in s.scalars(
            select(DecreeLink)
            .where(DecreeLink.decree_id == post.decree_id, DecreeLink.target_id.is_not(None))
            .order_by(DecreeLink.position)
        ):
            target = link.target
            assert target is not None
            on_channel = (Post.decree_id == target.id) & (Post.channel == post.channel)
            target_post = s.scalar(select(Post).where(on_channel))
            if target_post is None and posted_only:
                continue
            url = target_post.status_url if target_post is not None else None
            out.append(Change(link.kind, target.title, target.number, target.signed_on, target.link, url))
        return out

    def _change_of(self, s: Session, post: Post) -> Change | None:
        """What a change post says of the decree changed: the first one its decree cites that
        was posted on the post's channel."""
        return next(iter(self._changes_of(s, post, posted_only=True)), None)

    def update_post(self, post_id: int, **values: Any) -> None:
        with self.session() as s:
            p = s.get_one(Post, post_id)
            for key, value in values.items():
                setattr(p, key, value)
            if values.get("status") != "sending":
                p.claimed_by = p.claimed_at = None

    def retry_later(self, post_id: int, reason: str, delay: timedelta) -> None:
        with self.session() as s:
            p = s.get_one(Post, post_id)
            p.status, p.error = "queued", reason
            p.claimed_by = p.claimed_at = None
            p.attempts += 1
            p.next_attempt_at = utcnow() + delay

    def _insert_ignore(self, s: Session, model: type[Base], values: dict[str, Any]) -> int:
        """INSERT unless a unique key is already there (another process's row is as good):
        1 if inserted, 0 if not. ON CONFLICT DO NOTHING on SQLite and PostgreSQL alike."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        key = next(iter(_table(model).primary_key.columns))
        q = dialect.insert(model).values(**values).on_conflict_do_nothing().returning(key)
        return len(s.execute(q).all())  # rowcount is -1 here on psycopg

    # -- reading ------------------------------------------------------------------------------
    def flagged_decrees(self, *, source_id: str | None = None) -> list[DecreeRow]:
        with self.session() as s:
            q = select(DecreeRow).join(Recueil).where(DecreeRow.flagged).order_by(DecreeRow.id)
            if source_id:
                q = q.where(Recueil.source_id == source_id)
            rows = list(s.scalars(q))
            for d in rows:
                _ = d.recueil  # load before the session closes
            return rows

    def search(
        self,
        query: str,
        *,
        source_ids: Sequence[str] | None = None,
        since: date | None = None,
        category: str | None = None,
        limit: int = 50,
    ) -> list[DecreeRow]:
        """Decrees whose title or text match ``query`` (words, "quoted phrases", AND, OR, NOT or
        -word), best first; case and accents ignored."""
        with self.session() as s:
            q = self._matching(select(DecreeRow).join(Recueil), query)
            if source_ids:
                q = q.where(Recueil.source_id.in_(list(source_ids)))
            if since:
                q = q.where(func.coalesce(DecreeRow.signed_on, Recueil.published) >= since)
            if category:
                q = q.where(cast(DecreeRow.categories, String).like(f'%"{category}"%'))
            rows = list(s.scalars(q.limit(limit)))
            for d in rows:
                _ = d.recueil
            return rows

    def posts(self, status: str | None = None) -> list[Post]:
        with self.session() as s:
            q = select(Post).order_by(Post.id)
            if status:
                q = q.where(Post.status == status)
            return list(s.scalars(q))

    def source_status(self, source_ids: Sequence[str]) -> list[SourceStatus]:
        """Each source's last runs, health and counts, in a fixed number of queries (not one
        set per source: the status page and ``attrap status`` ask for every source at once)."""
        ids = list(source_ids)

        def latest(row_id: Any, key: Any, order: tuple[Any, ...], n: int, *where: Any) -> Select:
            """The ids of the ``n`` latest rows (by ``order``) of each source (``key``)."""
            rank = func.row_number().over(partition_by=key, order_by=order).label("rank")
            ranked = select(row_id.label("id"), rank).where(key.in_(ids), *where).subquery()
            return select(ranked.c.id).where(ranked.c.rank <= n)

        def per_source(query: Select) -> dict[str, tuple]:
            query = query.where(Recueil.source_id.in_(ids)).group_by(Recueil.source_id)
            return {sid: tuple(rest) for sid, *rest in s.execute(query)}

        with self.session() as s:
            runs: dict[str, list[CrawlRun]] = {sid: [] for sid in ids}
            run_order = (CrawlRun.started_at.desc(), CrawlRun.id.desc())
            last_runs = latest(CrawlRun.id, CrawlRun.source_id, run_order, 10, CrawlRun.outcome != "running")
            for run in s.scalars(select(CrawlRun).where(CrawlRun.id.in_(last_runs)).order_by(*run_order)):
                runs[run.source_id].append(run)
            published: dict[str, list[date]] = {sid: [] for sid in ids}
            last_recueils = latest(Recueil.id, Recueil.source_id, (Recueil.id.desc(),), 200)
            for sid, day, seen in s.execute(
                select(Recueil.source_id, Recueil.published, Recueil.first_seen_at)
                .where(Recueil.id.in_(last_recueils))
                .order_by(Recueil.id.desc())
            ):
                published[sid].append(day or seen.date())
            recueils = per_source(
                select(
                    Recueil.source_id,
                    func.count(Recueil.id),
                    func.sum(case((Recueil.status == "failed", 1), else_=0)),
                )
            )
            decrees = per_source(
                select(
                    Recueil.source_id,
                    func.count(DecreeRow.id),
                    func.sum(case((DecreeRow.flagged, 1), else_=0)),
                ).join(Recueil, DecreeRow.recueil_id == Recueil.id)
            )
            waiting = (
                select(Recueil.source_id)
                .select_from(Post)
                .join(DecreeRow, Post.decree_id == DecreeRow.id)
                .join(Recueil, DecreeRow.recueil_id == Recueil.id)
                .where(Post.status.in_(("queued", "sending")))
            )
            posts = per_source(waiting.add_columns(func.count(Post.id)))
            first_error = per_source(waiting.add_columns(func.min(Post.id)).where(Post.error.is_not(None)))
            error_ids = [post_id for (post_id,) in first_error.values()]
            errors = {i: e for i, e in s.execute(select(Post.id, Post.error).where(Post.id.in_(error_ids)))}
            out = []
            for sid in ids:
                last = runs[sid][0] if runs[sid] else None
                health = assess(runs[sid], published=published[sid], source_id=sid)
                n_recueils, n_failed = recueils.get(sid, (0, 0))
                n_decrees, n_flagged = decrees.get(sid, (0, 0))
                out.append(
                    SourceStatus(
                        source_id=sid,
                        last_run=last.started_at if last else None,
                        last_outcome=last.outcome if last else None,
                        last_error=last.error if last else None,
                        recueils=n_recueils,
                        failed=n_failed,
                        decrees=n_decrees,
                        flagged=n_flagged,
                        posts_waiting=posts.get(sid, (0,))[0],
                        posts_waiting_reason=errors.get(first_error[sid][0]) if sid in first_error else None,
                        healthy=health.healthy,
                        health=health.reason,
                        state=health.state,
                    )
                )
        return out

    # -- HTTP validators (conditional requests) -----------------------------------------------
    def get_validator(self, url: str) -> Validator | None:
        """The ETag, Last-Modified and body kept for a listing page, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(select(HTTP_VALIDATORS).where(HTTP_VALIDATORS.c.url == url)).first()
        if row is None:
            return None
        return Validator(row.etag, row.last_modified, row.final_url, row.body)

    def put_validator(self, source_id: str, url: str, validator: Validator) -> None:
        values = {
            "source_id": source_id,
            "etag": validator.etag,
            "last_modified": validator.last_modified,
            "final_url": validator.final_url,
            "body": validator.body,
            "checked_at": utcnow(),
        }
        t = HTTP_VALIDATORS
        with self.engine.begin() as conn:
            if conn.execute(t.update().where(t.c.url == url).values(**values)).rowcount:
                return
        try:
            with self.engine.begin() as conn:
                conn.execute(t.insert().values(url=url, **values))
        except IntegrityError:  # another crawl stored it meanwhile: theirs is as good
            pass

    def forget_validators(self, source_id: str | None = None) -> int:
        """Drop the kept validators (of one source): the next crawl fetches every page in full."""
        t = HTTP_VALIDATORS
        q = t.delete() if source_id is None else t.delete().where(t.c.source_id == source_id)
        with self.engine.begin() as conn:
            return conn.execute(q).rowcount

    # -- the web interface (attrap.serve.pages) -----------------------------------------------------
    def search_flagged_ids(self, query: str) -> list[int]:
        """Ids of the flagged decrees matching ``query`` (the syntax of :meth:`search`), best
        first. ValueError when the query holds no word."""
        with self.session() as s:
            return list(s.scalars(self._matching(select(DecreeRow.id).where(DecreeRow.flagged), query)))

    def _matching(self, q: Select[Any], query: str) -> Select[Any]:
        """``q`` narrowed to the decrees matching ``query``, best first (SQLite FTS5 or
        PostgreSQL full-text search). ValueError when the query holds no word."""
        terms = parse_query(query)
        if not terms:
            raise ValueError("empty search")
        if self.engine.dialect.name == "sqlite":
            fts = table("decrees_fts", column("rowid"), column("rank"))
            q = q.join(fts, fts.c.rowid == DecreeRow.id).where(text("decrees_fts MATCH :match"))
            return q.order_by(fts.c.rank, DecreeRow.id.desc()).params(match=_fts5_query(terms))
        vector: ColumnClause[Any] = literal_column(PG_SEARCH_VECTOR.format(t="decrees."))
        tsq = func.websearch_to_tsquery("french", _websearch_query(terms))
        q = q.where(vector.op("@@")(tsq))
        return q.order_by(func.ts_rank(vector, tsq).desc(), DecreeRow.id.desc())

    def decree_matches_and_posts(self, decree_id: int) -> tuple[list[dict[str, Any]], list[Post]]:
        """What classification matched in a decree, and the posts made for it (oldest first)."""
        with self.session() as s:
            matches = s.scalar(select(DecreeRow.matches).where(DecreeRow.id == decree_id)) or []
            posts = list(s.scalars(select(Post).where(Post.decree_id == decree_id).order_by(Post.id)))
            return list(matches), posts

    def flagged_facts(self) -> list[tuple[str, date | None, datetime, list[str]]]:
        """(source id, recueil published, recueil first seen, categories) of every flagged decree."""
        with self.session() as s:
            q = (
                select(Recueil.source_id, Recueil.published, Recueil.first_seen_at, DecreeRow.categories)
                .join(Recueil)
                .where(DecreeRow.flagged)
            )
            return [(r[0], r[1], r[2], list(r[3] or [])) for r in s.execute(q)]

    def lateness_facts(self) -> list[tuple[str, list[str], date | None, Any, date | None, Any, datetime]]:
        """(source id, categories, signed on, details, recueil published, PDF created, first seen)
        of every flagged decree: what the lateness figures are computed from."""
        with self.session() as s:
            q = (
                select(
                    Recueil.source_id, DecreeRow.categories, DecreeRow.signed_on, DecreeRow.details,
                    Recueil.published, Recueil.pdf_created_at, Recueil.first_seen_at,
                )
                .join(Recueil)
                .where(DecreeRow.flagged)
            )  # fmt: skip
            return [(r[0], list(r[1] or []), r[2], r[3], r[4], r[5], r[6]) for r in s.execute(q)]

    def last_published(self) -> dict[str, date]:
        """Per source, the newest date a recueil of it was published."""
        with self.session() as s:
            q = (
                select(Recueil.source_id, func.max(Recueil.published))
                .where(Recueil.published.is_not(None))
                .group_by(Recueil.source_id)
            )
            return {sid: day for sid, day in s.execute(q) if day}

    def source_history(
        self, source_id: str, *, limit: int = 20
    ) -> tuple[list[CrawlRun], list[Recueil], Recueil | None]:
        """A source's newest runs (newest first), the recueils that failed to be read (newest
        first), and its newest recueil."""
        with self.session() as s:
            runs = s.scalars(
                select(CrawlRun)
                .where(CrawlRun.source_id == source_id)
                .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
                .limit(limit)
            )
            failed = s.scalars(
                select(Recueil)
                .where(Recueil.source_id == source_id, Recueil.status == "failed")
                .order_by(Recueil.first_seen_at.desc(), Recueil.id.desc())
                .limit(limit)
            )
            newest = s.scalar(
                select(Recueil)
                .where(Recueil.source_id == source_id)
                .order_by(Recueil.published.desc().nulls_last(), Recueil.first_seen_at.desc())
                .limit(1)
            )
            return list(runs), list(failed), newest


#: ETag / Last-Modified and body per listing URL: a cache a full crawl rebuilds (migration 0004)
HTTP_VALIDATORS = Table(
    "http_validators",
    Base.metadata,
    Column("url", String(2048), primary_key=True),
    Column("source_id", String(64), nullable=False, index=True),
    Column("etag", String(512)),
    Column("last_modified", String(64)),
    Column("final_url", String(2048), nullable=False),
    Column("body", Text, nullable=False),
    Column("checked_at", DateTime(timezone=True), nullable=False),
)


_QUERY_TOKEN = regex.compile(r'"[^"]*"?|\S+')


def parse_query(query: str) -> list[tuple[str, str]]:
    """("word"|"phrase"|"op", value) tokens of a search: AND (implicit), OR, NOT / -word, "…"."""
    out: list[tuple[str, str]] = []
    for tok in _QUERY_TOKEN.findall(query):
        if tok.startswith('"'):
            words = regex.findall(r"\w+", tok)
            if words:
                out.append(("phrase", " ".join(words)))
        elif tok in ("AND", "OR", "NOT"):
            out.append(("op", tok))
        elif tok.startswith("-") and len(tok) > 1:
            out += [("op", "NOT")] + [("word", w) for w in regex.findall(r"\w+", tok[1:])[:1]]
        elif regex.fullmatch(r"\w+(?:[-/.]\w+)+", tok):
            # a decree number ("13-2026-10-14-00003", "2025/PP/12"): its parts in a row, as a
            # phrase, which PostgreSQL's parser cuts as it cut the text ("13", "-2026"…)
            out.append(("phrase", tok))
        else:
            out += [("word", w) for w in regex.findall(r"\w+", tok)]
    # operators need a term on each side; NOT needs one on its left (FTS5 NOT is binary)
    clean: list[tuple[str, str]] = []
    for i, (kind, value) in enumerate(out):
        if kind == "op":
            if not clean or clean[-1][0] == "op" or i + 1 == len(out) or out[i + 1][0] == "op":
                continue
        clean.append((kind, value))
    return clean


def _fts5_query(terms: list[tuple[str, str]]) -> str:
    return " ".join(v if k == "op" else '"' + v.replace('"', "") + '"' for k, v in terms)


def _websearch_query(terms: list[tuple[str, str]]) -> str:
    parts = []
    for kind, value in terms:
        if kind != "op":
            value = value.lower().translate(_PG_FOLD)
        if kind == "op":
            parts.append({"AND": "", "OR": "or", "NOT": "-"}[value])
        elif kind == "phrase":
            parts.append(f'"{value}"')
        else:
            parts.append(value)
    return " ".join(p for p in parts if p).replace("- ", "-")


def aware(when: datetime) -> datetime:
    """SQLite gives back naive datetimes; ours are all UTC."""
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
