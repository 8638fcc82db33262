"""The pipeline: scrapers → fetch → extract → split → classify → store → publish.

The CLI and the scheduler both call these functions; nothing here prints. Every failure is
recorded against its source and file, and the rest of the run goes on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, as_completed
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from attrap import faults, logs
from attrap.config import Settings
from attrap.crawl.discover import engine_for
from attrap.crawl.fetch import Download, Fetcher, pdf_path
from attrap.crawl.politeness import DatabaseThrottle
from attrap.crawl.sources import Source, registry
from attrap.errors import AttrapError, NotModifiedError
from attrap.logs import event
from attrap.model import ClassifiedDecree, Decree
from attrap.publish.outbox import Publisher, PublishReport
from attrap.read import extract, sandbox
from attrap.read.document import ReadDocument, read_decrees
from attrap.read.sandbox import ReaderPool
from attrap.rules.changes import find_citations
from attrap.rules.classify import Ruleset, load_rules
from attrap.rules.details import extract_details
from attrap.rules.review import doubts
from attrap.store.db import Store

log = logging.getLogger(__name__)


@dataclass
class FlaggedDecree:
    title: str
    categories: list[str]
    link: str


@dataclass
class ScanReport:
    """What one pass over one source did."""

    source_id: str
    outcome: str = "ok"
    pages_fetched: int = 0
    pdfs_found: int = 0
    pdfs_new: int = 0
    listing_links: int = 0
    processed: int = 0
    failed: int = 0
    #: recueils that failed before and answered 304: unchanged, not downloaded again
    unchanged: int = 0
    flagged: list[FlaggedDecree] = field(default_factory=list)
    posts_queued: int = 0
    errors: list[str] = field(default_factory=list)
    #: "old → new" when the source's RAA page had moved and was found elsewhere on its site
    moved: str | None = None
    #: listing pages and links left out because older than --since
    older: int = 0


@dataclass
class SourceCheck:
    """What ``attrap sources --check`` says of one source: does its URL answer, where did its
    RAA page go, how many RAA does a sweep see."""

    source_id: str
    url: str
    #: "ok", "moved" (found elsewhere on its site), "unhealthy" (answers, but no RAA), "error"
    state: str
    moved_to: str | None = None
    raa: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)


def check_source(source: Source, settings: Settings) -> SourceCheck:
    """Sweep a source's site once, recording nothing: its URL, its RAA page's move, its RAA."""
    fetcher = Fetcher(
        source_id=source.id,
        allowed_hosts=source.hosts,
        user_agent=settings.user_agent,
        delay=settings.request_delay,
    )
    url = source.public_url(source.urls[0])
    try:
        crawl = engine_for(source).discover(source, fetcher)
    except Exception as exc:  # noqa: BLE001 - a scraper's bug is this source's answer
        return SourceCheck(source.id, url, "error", errors=[_describe(exc)], requests=fetcher.requests)
    finally:
        fetcher.close()
    moved = "; ".join(source.public_url(new) for _, new in crawl.moved) or None
    if crawl.root_failed or not crawl.pages_visited:
        state = "error"
    elif not crawl.links:
        state = "unhealthy"
    else:
        state = "moved" if moved else "ok"
    return SourceCheck(source.id, url, state, moved, len(crawl.links), fetcher.requests, list(crawl.errors))


class Attrap:
    """The application: settings, store, rules and sources, and the operations on them."""

    def __init__(
        self,
        settings: Settings,
        *,
        sources: dict[str, Source] | None = None,
        ruleset: Ruleset | None = None,
        store: Store | None = None,
    ):
        self.settings = settings
        self.sources = dict(registry() if sources is None else sources)
        self.ruleset = ruleset or load_rules()
        self.store = store or Store(settings.database_url)
        self.publisher = Publisher(self.store, settings, self.sources, self.ruleset)

    def close(self) -> None:
        self.store.close()

    # -- one source -----------------------------------------------------------------------
    def scan(
        self,
        source: Source,
        *,
        since: date | None = None,
        hold_posts: bool = False,
        dry_run: bool = False,
        defer_reading: Callable[[int, str, Download], None] | None = None,
    ) -> ScanReport:
        """Discover, download, read and classify a source's new recueils; queue their posts.

        With ``defer_reading`` (several workers, :mod:`attrap.run.tasks`), each downloaded recueil is
        handed to it (recueil id, URL, download) to be read by :meth:`read_recueil` elsewhere,
        instead of being read here. Downloads always happen here, one at a time per source.
        """
        report = ScanReport(source.id)
        try:
            run_id = self.store.start_run(source.id)
        except Exception as exc:  # noqa: BLE001 - the database is unreachable: nothing to record in
            report.outcome = "error"
            report.errors.append(f"the run could not be started: {_describe(exc)}")
            log.error("%s: the run could not be started: %s", source.id, exc)
            return report
        fetcher = Fetcher(
            source_id=source.id,
            allowed_hosts=source.hosts,
            user_agent=self.settings.user_agent,
            delay=self.settings.request_delay,
            validators=self.store,
            throttle=DatabaseThrottle(self.store.engine),
        )
        try:
            crawl = engine_for(source).discover(source, fetcher, since=since)
            report.errors.extend(crawl.errors)
            report.pdfs_found = len(crawl.links)
            report.listing_links = crawl.listing_links
            report.older = crawl.older
            if crawl.moved:
                report.moved = "; ".join(
                    f"{source.public_url(old)} → {source.public_url(new)}" for old, new in crawl.moved
                )
            known = self.store.known_urls(source.id)
            for link in crawl.links:
                link = replace(link, url=source.public_url(link.url))
                if link.url not in known:
                    self.store.add_recueil(link)
                    report.pdfs_new += 1
            pending = [
                rec
                for rec in self.store.pending_recueils(source.id)
                if not (since and rec.published and rec.published < since)
            ]
            if defer_reading is not None:
                for rec in pending:
                    dl = self._download(rec, source, fetcher, report)
                    if dl is not None:
                        defer_reading(rec.id, rec.url, dl)
            else:
                self._download_and_read(pending, source, fetcher, report, hold_posts, dry_run)
            if crawl.pages_visited == [] or (not crawl.links and crawl.errors):
                report.outcome = "error"
            elif report.errors or report.failed or report.moved:
                report.outcome = "degraded"  # found RAA, but a page, a file or the URL failed
        except AttrapError as exc:  # the whole source failed; others go on
            report.outcome = "error"
            report.errors.append(str(exc))
            log.error("%s", exc)
        except Exception as exc:  # noqa: BLE001 - a bug in a scraper, a lost database: recorded, others go on
            report.outcome = "error"
            report.errors.append(_describe(exc))
            log.exception("%s: the crawl failed", source.id)
        finally:
            report.pages_fetched = fetcher.requests
            fetcher.close()
            try:
                self.store.finish_run(
                    run_id,
                    outcome=report.outcome,
                    error="; ".join(report.errors[:5]) or None,
                    pages_fetched=report.pages_fetched,
                    pdfs_found=report.pdfs_found,
                    pdfs_new=report.pdfs_new,
                    listing_links=report.listing_links,
                    errors=len(report.errors),
                    moved=report.moved,
                    older=report.older,
                )
            except Exception as exc:  # noqa: BLE001 - the database is gone: the run stays "running"
                report.outcome = "error"
                report.errors.append(f"the run could not be recorded: {_describe(exc)}")
                log.error("%s: the run could not be recorded: %s", source.id, exc)
            event(
                log,
                logging.INFO if report.outcome == "ok" else logging.WARNING,
                source.id,
                {"ok": "scanned", "degraded": "scanned-degraded"}.get(report.outcome, "scan-failed"),
                found=report.pdfs_found,
                new=report.pdfs_new,
                read=report.processed,
                failed=report.failed,
                requests=report.pages_fetched,
            )
        return report

    def _download_and_read(
        self,
        pending: Sequence[Any],
        source: Source,
        fetcher: Fetcher,
        report: ScanReport,
        hold_posts: bool,
        dry_run: bool,
    ) -> None:
        """Downloads go one at a time (politeness); each downloaded file is read at once in its
        own process while the next one downloads, up to ``workers`` at a time."""
        with self._reader_pool() as pool:
            reading: dict[Future, tuple[int, str, Download]] = {}

            def pages() -> str:  # how far the long reads of these recueils are
                urls = {url for _, url, _ in reading.values()}
                now = [r for r in extract.reading_now() if r.get("label") in urls]
                return "  ".join(f"p. {r['page']}/{r.get('pages') or '?'} ({r['ocr']} OCR)" for r in now)

            with logs.progress(f"{source.id}: recueils", len(pending), pages) as advance:
                for rec in pending:
                    dl = self._download(rec, source, fetcher, report)
                    if dl is None:
                        advance(1)
                    else:
                        reading[pool.submit(read_decrees, dl.path, label=rec.url)] = (rec.id, rec.url, dl)
                    for done in [f for f in reading if f.done()]:
                        self._save(done.result, *reading.pop(done), source, report, hold_posts, dry_run)
                        advance(1)
                for done in as_completed(list(reading)):
                    self._save(done.result, *reading.pop(done), source, report, hold_posts, dry_run)
                    advance(1)

    def _reader_pool(self) -> ReaderPool:
        s = self.settings
        # the reading processes take it at each call: their tesseract slots (attrap.read.extract.OcrSlots)
        os.environ["ATTRAP_WORKERS"] = str(s.workers)
        return ReaderPool(s.workers, timeout=s.read_timeout, memory_mb=s.read_memory_mb)

    def read_recueil(
        self,
        source: Source,
        recueil_id: int,
        url: str,
        download: Download,
        *,
        hold_posts: bool = False,
        dry_run: bool = False,
    ) -> ScanReport:
        """Read, classify and store one downloaded recueil, in a bounded child process; queue
        the posts of what is flagged. What a worker does with a job :meth:`scan` deferred."""
        report = ScanReport(source.id)
        settings = self.settings

        def read() -> ReadDocument:
            return sandbox.run(
                read_decrees,
                download.path,
                label=url,
                timeout=settings.read_timeout,
                memory_mb=settings.read_memory_mb,
            )

        self._save(read, recueil_id, url, download, source, report, hold_posts, dry_run)
        return report

    def _download(self, rec: Any, source: Source, fetcher: Fetcher, report: ScanReport) -> Download | None:
        """Download a recueil to read (one that failed before, conditionally: see
        :meth:`Fetcher.download_pdf`); None when it failed, recorded, or is unchanged and broken."""
        try:
            url, directory = source.fetch_url(rec.url), self.settings.pdf_dir / source.id
            return fetcher.download_pdf(url, directory, failed_before=rec.status == "failed")
        except NotModifiedError:
            report.unchanged += 1  # still failed for what it said before; no attempt spent
            event(log, logging.INFO, source.id, "unchanged-failed", rec.url)
            return None
        except AttrapError as exc:
            self._failed(rec.id, rec.url, source, report, exc)
            return None

    def _failed(
        self, recueil_id: int, url: str, source: Source, report: ScanReport, exc: AttrapError
    ) -> None:
        """Recorded against the recueil, retried on a later run (a bounded number of times)."""
        exc.source, exc.url = exc.source or source.id, exc.url or url
        self.store.recueil_failed(recueil_id, exc.message)
        report.failed += 1
        report.errors.append(str(exc))
        event(log, logging.WARNING, source.id, "failed", url, error=exc.message)

    def _save(
        self,
        result: Callable[[], ReadDocument],
        recueil_id: int,
        url: str,
        dl: Download,
        source: Source,
        report: ScanReport,
        hold_posts: bool,
        dry_run: bool,
    ) -> None:
        """Classify what a reader returned; store it and the posts of what is flagged, in one
        transaction."""
        try:
            doc = result()
            decrees = classify_all(doc.decrees, self.ruleset)
        except AttrapError as exc:
            if dl.etag or dl.last_modified:  # asked for conditionally next time
                self.store.put_validator(source.id, source.fetch_url(url), dl.validator)
            self._failed(recueil_id, url, source, report, exc)
            return
        except Exception as exc:  # noqa: BLE001 - a bug in a rule or the reader: this recueil fails, others go on
            log.exception("%s: reading %s failed", source.id, url)
            self._failed(recueil_id, url, source, report, AttrapError(_describe(exc)))
            return
        if missing := [d.number or f"page {d.first_page}" for d in doc.decrees if d.missing]:
            report.errors.append(
                f"the sommaire lists {len(missing)} decree(s) whose pages are not in the PDF "
                f"({', '.join(missing[:5])}) [{source.id} {url}]"
            )
        faults.point("read")
        saved = self.store.save_processed(
            recueil_id,
            decrees,
            sha256=dl.sha256,
            size=dl.size,
            page_count=doc.page_count,
            pdf_created_at=doc.created,
            routes=self.publisher.routes(dry_run=dry_run),
            hold=hold_posts,
        )
        faults.point("stored")
        report.processed += 1
        flagged = sum(1 for cd in decrees if cd.categories)
        event(
            log,
            logging.INFO,
            source.id,
            "read",
            url,
            decrees=len(decrees),
            flagged=flagged,
            pages=doc.page_count,
        )
        for cd in decrees:
            if cd.categories:
                report.flagged.append(
                    FlaggedDecree(cd.decree.title, cd.categories, f"{url}#page={cd.decree.first_page}")
                )
        report.posts_queued += saved.posts_queued

    # -- stored recueils under the current rules ---------------------------------------------
    def reclassify(
        self, *, source_ids: Sequence[str] | None = None, since: date | None = None
    ) -> ReclassifyReport:
        """Read the stored recueils again (their PDFs kept in the data dir) with the current
        rules and store what they say now. Nothing posted is deleted or posted again: a decree
        flagged only now gets its posts queued once, a decree no longer flagged keeps its posts
        and is reported. A recueil whose file is gone is handed back to the next crawl."""
        report = ReclassifyReport()
        recueils = self.store.processed_recueils(source_ids=source_ids, since=since)
        routes = self.publisher.routes()
        with self._reader_pool() as pool:
            reading: dict[Future, Any] = {}
            for rec in recueils:
                path = pdf_path(self.settings.pdf_dir / rec.source_id, rec.sha256 or "")
                if not rec.sha256 or not path.is_file():
                    self.store.set_recueil_status(rec.id, "discovered")
                    report.refetch.append(rec.url)
                    continue
                reading[pool.submit(read_decrees, path, label=rec.url)] = (rec, path)
            for done in as_completed(list(reading)):
                rec, path = reading.pop(done)
                try:
                    doc = done.result()
                    decrees = classify_all(doc.decrees, self.ruleset)
                except Exception as exc:  # noqa: BLE001 - this recueil keeps what it had; the others go on
                    report.errors.append(f"{rec.url}: {_describe(exc)}")
                    continue
                saved = self.store.save_processed(
                    rec.id,
                    decrees,
                    sha256=rec.sha256,
                    size=rec.size or path.stat().st_size,
                    page_count=doc.page_count,
                    pdf_created_at=doc.created,
                    routes=routes,
                )
                report.read += 1
                report.posts_queued += saved.posts_queued
                report.newly_flagged += saved.newly_flagged
                report.unflagged += saved.unflagged
        return report

    # -- files ------------------------------------------------------------------------------
    def read(self, path: Path) -> list[ClassifiedDecree]:
        return read_and_classify(path, self.ruleset, self.settings)

    # -- many sources -----------------------------------------------------------------------
    def scan_many(
        self,
        sources: Iterable[Source],
        *,
        since: date | None = None,
        hold_posts: bool = False,
        dry_run: bool = False,
        on_report: Callable[[ScanReport], None] | None = None,
    ) -> list[ScanReport]:
        reports = []
        for source in sources:
            report = self.scan(source, since=since, hold_posts=hold_posts, dry_run=dry_run)
            reports.append(report)
            if on_report:
                on_report(report)
        return reports

    def publish(
        self,
        *,
        dry_run: bool = False,
        limit: int | None = None,
        show: Callable[[str, str], None] | None = None,
        flush: bool = False,
        only: str | None = None,
    ) -> PublishReport:
        """One publishing pass: the sweep (a post for every flagged decree that lacks one, stuck
        recueils back in the queue), then what is due."""
        self.publisher.sweep(stuck_after=self.stuck_after)
        return self.publisher.flush(dry_run=dry_run, limit=limit, show=show, flush=flush, only=only)

    @property
    def stuck_after(self) -> timedelta:
        """A recueil queued or being read for longer than this was lost (a dead worker's job)."""
        return timedelta(seconds=2 * self.settings.read_timeout + 600)

    def status(self, source_ids: Sequence[str] | None = None):
        return self.store.source_status(list(source_ids or self.sources))


def _describe(exc: BaseException) -> str:
    """An unexpected exception as a status line shows it: its type and message, bounded."""
    return f"{type(exc).__name__}: {exc}"[:500]


@dataclass
class ReclassifyReport:
    """What :meth:`Attrap.reclassify` did: recueils read again, decrees flagged now and no
    longer (database ids), posts queued, recueils left to the next crawl, errors."""

    read: int = 0
    newly_flagged: list[int] = field(default_factory=list)
    unflagged: list[int] = field(default_factory=list)
    posts_queued: int = 0
    refetch: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def read_and_classify(
    path: Path, ruleset: Ruleset, settings: Settings | None = None
) -> list[ClassifiedDecree]:
    """Extract, split and classify one local PDF or text file, read in a bounded child process
    (time limit: ``settings.read_timeout``, ATTRAP_READ_TIMEOUT; without settings, its default)."""
    timeout = settings.read_timeout if settings else sandbox.DEFAULT_TIMEOUT
    memory_mb = settings.read_memory_mb if settings else sandbox.DEFAULT_MEMORY_MB
    doc = sandbox.run(read_decrees, Path(path), label=str(path), timeout=timeout, memory_mb=memory_mb)
    return classify_all(doc.decrees, ruleset)


#: a decree whose pages hold fewer letters than this gives no decision of its own
MIN_LETTERS = 400
#: nor one whose pages were all OCR'd below this mean confidence (0-100)
MIN_OCR_CONFIDENCE = 60


def undecided(decree: Decree) -> bool:
    """Whether a decree's own pages can decide nothing: missing from the PDF, nearly no text,
    or only OCR of low confidence."""
    if decree.missing or not decree.pages:
        return True
    if sum(c.isalpha() for c in decree.text) < MIN_LETTERS:
        return True
    confidences = [p.confidence for p in decree.pages if p.method == "ocr" and p.confidence is not None]
    ocr_only = all(p.method == "ocr" for p in decree.pages)
    return ocr_only and bool(confidences) and sum(confidences) / len(confidences) < MIN_OCR_CONFIDENCE


def classify_all(decrees: Sequence[Decree], ruleset: Ruleset) -> list[ClassifiedDecree]:
    """Classify each decree; a flagged one gets its details (place, period, service, counts).

    A decree its pages cannot decide (:func:`undecided`) is classified by its sommaire entry's
    title instead, when the recueil has one: flagged so, it is marked ``from_sommaire``."""
    out = []
    scopes = {rule.id: rule.scope for rule in ruleset.rules}
    for decree in decrees:
        cd = ruleset.classify(decree)
        if decree.sommaire_title and undecided(decree):
            if cd.categories:  # its title was the sommaire's, its pages had none readable
                cd.from_sommaire = decree.title == decree.sommaire_title
            else:
                entry = Decree(decree.sommaire_title, decree.first_page, decree.last_page)
                by_title = ruleset.classify(entry)
                if by_title.categories:
                    cd = ClassifiedDecree(decree, by_title.categories, by_title.matches, from_sommaire=True)
        if cd.categories:
            cd.details = extract_details(decree)
            cd.doubts = doubts(cd, scopes)
            cd.citations = find_citations(decree.title, decree.text)
        out.append(cd)
    return out
