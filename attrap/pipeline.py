"""The pipeline: scrapers → fetch → extract → split → classify → store → publish.

The CLI and the scheduler both call these functions; nothing here prints. Every failure is
recorded against its source and file, and the rest of the run goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

from attrap import extract, split
from attrap.classify import Ruleset, load_rules
from attrap.config import Settings
from attrap.discover import engine_for
from attrap.errors import AttrapError
from attrap.fetch import Fetcher
from attrap.model import ClassifiedDecree
from attrap.publish import Publisher, PublishReport
from attrap.sources import Source, registry
from attrap.store import Store

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
    flagged: list[FlaggedDecree] = field(default_factory=list)
    posts_queued: int = 0
    errors: list[str] = field(default_factory=list)


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
    ) -> ScanReport:
        """Discover, download, read and classify a source's new recueils; queue their posts."""
        report = ScanReport(source.id)
        run_id = self.store.start_run(source.id)
        fetcher = Fetcher(
            source_id=source.id,
            allowed_hosts=source.hosts,
            user_agent=self.settings.user_agent,
            delay=self.settings.request_delay,
        )
        try:
            crawl = engine_for(source).discover(source, fetcher, since=since)
            report.errors.extend(crawl.errors)
            report.pdfs_found = len(crawl.links)
            report.listing_links = crawl.listing_links
            known = self.store.known_urls(source.id)
            for link in crawl.links:
                link = replace(link, url=source.public_url(link.url))
                if link.url not in known:
                    self.store.add_recueil(link)
                    report.pdfs_new += 1
            for rec in self.store.pending_recueils(source.id):
                if since and rec.published and rec.published < since:
                    continue
                flagged = self._process(rec.id, rec.url, source, fetcher, report)
                if flagged:
                    report.posts_queued += self.publisher.queue(flagged, hold=hold_posts, dry_run=dry_run)
            if crawl.pages_visited == [] or (not crawl.links and crawl.errors):
                report.outcome = "error"
        except AttrapError as exc:  # the whole source failed; others go on
            report.outcome = "error"
            report.errors.append(str(exc))
            log.error("%s", exc)
        finally:
            report.pages_fetched = fetcher.requests
            fetcher.close()
            self.store.finish_run(
                run_id,
                outcome=report.outcome,
                error="; ".join(report.errors[:5]) or None,
                pages_fetched=report.pages_fetched,
                pdfs_found=report.pdfs_found,
                pdfs_new=report.pdfs_new,
                listing_links=report.listing_links,
                errors=len(report.errors),
            )
        return report

    def _process(
        self, recueil_id: int, url: str, source: Source, fetcher: Fetcher, report: ScanReport
    ) -> list[int]:
        """Download and read one recueil; a failure is recorded and retried on a later run."""
        try:
            dl = fetcher.download_pdf(source.fetch_url(url), self.settings.pdf_dir / source.id)
            decrees = self.read(dl.path)
            created = extract.pdf_creation_date(dl.path)
        except AttrapError as exc:
            exc.source, exc.url = exc.source or source.id, exc.url or url
            self.store.recueil_failed(recueil_id, exc.message)
            report.failed += 1
            report.errors.append(str(exc))
            log.warning("%s", exc)
            return []
        page_count = max((d.decree.last_page for d in decrees), default=0)
        flagged_ids = self.store.save_processed(
            recueil_id,
            decrees,
            sha256=dl.sha256,
            size=dl.size,
            page_count=page_count,
            pdf_created_at=created,
        )
        report.processed += 1
        for cd in decrees:
            if cd.categories:
                report.flagged.append(
                    FlaggedDecree(cd.decree.title, cd.categories, f"{url}#page={cd.decree.first_page}")
                )
        return flagged_ids

    # -- files ------------------------------------------------------------------------------
    def read(self, path: Path) -> list[ClassifiedDecree]:
        return read_and_classify(path, self.ruleset)

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
    ) -> PublishReport:
        return self.publisher.flush(dry_run=dry_run, limit=limit, show=show, flush=flush)

    def status(self, source_ids: Sequence[str] | None = None):
        return self.store.source_status(list(source_ids or self.sources))


def read_and_classify(path: Path, ruleset: Ruleset) -> list[ClassifiedDecree]:
    """Extract, split and classify one local PDF or text file."""
    pages = extract.read_document(path)
    return [ruleset.classify(d) for d in split.split_decrees(pages)]


def parse_since(value: str | None) -> date | None:
    return datetime.strptime(value, "%Y-%m-%d").date() if value else None
