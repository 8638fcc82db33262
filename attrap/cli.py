"""The ``attrap`` command: thin commands over :mod:`attrap.run.pipeline`."""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from attrap import logs
from attrap.config import Settings, apply_config
from attrap.crawl.sources import Source, registry
from attrap.errors import AttrapError
from attrap.model import Details
from attrap.rules.frdates import format_period
from attrap.run.health import STATES
from attrap.serve.formats import FORMATS as EXPORT_FORMATS

if TYPE_CHECKING:  # the pipeline (PDF readers, HTTP client) is imported by the commands that run it
    from attrap.publish.outbox import PublishReport
    from attrap.run.pipeline import Attrap, ScanReport


def _common(f: Callable[..., Any]) -> Callable[..., Any]:
    """--data-dir, --db and --verbose on every command."""

    @click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Where PDFs and the SQLite file go (env ATTRAP_DATA_DIR, default ./data).",
    )
    @click.option("--db", "database_url", help="SQLAlchemy URL (env ATTRAP_DATABASE_URL).")
    @click.option("-v", "--verbose", is_flag=True, help="Log every request and decision.")
    @functools.wraps(f)
    def wrapper(data_dir: Path | None, database_url: str | None, verbose: bool, **kw: Any):
        logs.setup(verbose)
        try:
            return f(Settings.load(data_dir, database_url), **kw)
        except AttrapError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


def _json_default(o: Any) -> Any:
    if isinstance(o, date | datetime):
        return o.isoformat()
    if isinstance(o, Path):
        return str(o)
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return dataclasses.asdict(o)
    raise TypeError(type(o).__name__)


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, default=_json_default, ensure_ascii=False, indent=2))


def _show_post(channel: str, text: str) -> None:
    click.echo(f"--- post ({channel}) ---\n{text}\n")


def _since(value: str | None) -> date | None:
    """A --since option's day, YYYY-MM-DD as ``attrap export`` and the web interface take it."""
    from attrap.rules.frdates import iso_day

    try:
        return iso_day(value) if value else None
    except ValueError:
        raise click.BadParameter("expected YYYY-MM-DD", param_hint="--since") from None


@click.group()
@click.version_option(package_name="attrap")
def main() -> None:
    """Watch prefectures' RAA for algorithmic video-surveillance and police drone authorisations.

    Settings come from the command line, then the environment, then attrap.toml
    ($ATTRAP_CONFIG, ./attrap.toml or /etc/attrap/attrap.toml), then the defaults.
    """
    try:  # before the command's own options are read, so their envvar defaults see the file
        apply_config(os.environ)
    except AttrapError as exc:
        raise click.ClickException(str(exc)) from exc


#: the fixture that covers each site family (README, "Sources")
FAMILY_FIXTURES = {
    "dsfr-cards": "fixtures/sites/pref13",
    "dsfr-select": "fixtures/sites/pref35",
    "dsfr-specific": "fixtures/sites/dsfr-specific",
    "prefecture-police": "fixtures/sites/pp",
    "prefectures-regions": "fixtures/sites/reg-idf",
    "dims": "fixtures/sites/pref57",
}


@main.command()
@click.argument("source_ids", nargs=-1, metavar="[SOURCE...]")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--markdown", is_flag=True, help="The README's table of sources.")
@click.option(
    "--check",
    is_flag=True,
    help="Sweep each source's site once (nothing recorded): does its URL answer, where did its "
    "RAA page move, how many RAA it sees. Exit status 1 if one fails.",
)
@click.option("--base-url", help="With --check: a mirror's scheme, host and port instead of the real sites'.")
@_common
def sources(
    settings: Settings,
    source_ids: tuple[str, ...],
    as_json: bool,
    markdown: bool,
    check: bool,
    base_url: str | None,
) -> None:
    """List every registered source (or SOURCE...), or check them against their sites."""
    if check:
        _check_sources(settings, _pick_sources(source_ids, not source_ids, base_url), as_json)
        return
    chosen = _pick_sources(source_ids, not source_ids, None)
    rows = [
        {
            "id": s.id,
            "name": s.name,
            "department": s.department,
            "urls": list(s.urls),
            "family": s.family,
            "confirmed": s.confirmed,
        }
        for s in chosen
    ]
    if as_json:
        _dump(rows)
    elif markdown:
        click.echo("| id | prefecture | RAA page | family | fixture | URL confirmed |")
        click.echo("|---|---|---|---|---|---|")
        for s in chosen:
            pages = " ; ".join(s.urls)
            fixture = FAMILY_FIXTURES[s.family]
            click.echo(f"| {s.id} | {s.name} | {pages} | {s.family} | {fixture} | {s.confirmed} |")
    else:
        for s in chosen:
            click.echo(f"{s.id:<14} {s.name:<50} {s.urls[0]}")


def _check_sources(settings: Settings, chosen: list[Source], as_json: bool) -> None:
    from attrap.run.pipeline import check_source

    results = []
    for source in chosen:
        r = check_source(source, settings)
        results.append(r)
        if as_json:
            continue
        if r.state == "moved":
            click.echo(f"{r.source_id:<14} MOVED      {r.url}\n{'':<14} → {r.moved_to}  ({r.raa} RAA)")
            click.echo(f"{'':<14} update scrapers/{r.source_id}.toml")
        elif r.state == "ok":
            click.echo(f"{r.source_id:<14} ok         {r.url}  ({r.raa} RAA, {r.requests} requests)")
        else:
            why = r.errors[0] if r.errors else "no RAA download link found"
            click.echo(f"{r.source_id:<14} {r.state.upper():<10} {r.url}\n{'':<14} {why}")
    if as_json:
        _dump(results)
    if any(r.state in ("error", "unhealthy") for r in results):
        sys.exit(1)


def _pick_sources(ids: tuple[str, ...], all_: bool, base_url: str | None) -> list[Source]:
    known = registry()
    if all_:
        chosen = list(known.values())
    elif not ids:
        raise click.UsageError("name at least one source, or --all (see `attrap sources`)")
    else:
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise click.UsageError(f"unknown source(s): {', '.join(unknown)}")
        chosen = [known[i] for i in ids]
    return [s.rebased(base_url) for s in chosen] if base_url else chosen


def _print_report(r: ScanReport) -> None:
    state = "ok" if r.outcome == "ok" else r.outcome.upper()
    click.echo(
        f"{r.source_id}: {state} — {r.pdfs_found} PDF found, {r.pdfs_new} new, "
        f"{r.processed} read, {r.failed} failed, {len(r.flagged)} flagged, "
        f"{r.posts_queued} post(s) queued"
    )
    if r.moved:
        click.echo(f"  RAA page moved: {r.moved}; update scrapers/{r.source_id}.toml")
    if r.unchanged:
        click.echo(f"  {r.unchanged} recueil(s) that failed before are unchanged (HTTP 304): not downloaded")
    for f in r.flagged:
        click.echo(f"  [{', '.join(f.categories)}] {f.title}\n      {f.link}")
    for e in r.errors:
        click.echo(f"  error: {e}")


def _print_publish(app: Attrap, p: PublishReport, dry_run: bool) -> None:
    if app.publisher.is_dry_run:
        click.echo(
            "No Mastodon credentials (MASTODON_API_BASE_URL, MASTODON_ACCESS_TOKEN): "
            "dry run, posts are printed."
        )
    elif dry_run:
        click.echo("--dry-run: posts are printed, not sent.")
    click.echo(f"publish: {p.posted} posted, {p.shown} shown, {p.retrying} to retry, {p.failed} failed")
    for e in p.errors:
        click.echo(f"  error: {e}")


@main.command()
@click.argument("source_ids", nargs=-1, metavar="SOURCE...")
@click.option("--all", "all_", is_flag=True, help="Every registered source.")
@click.option("--base-url", help="Replace scheme, host and port of the sources' URLs (mirror, fixture).")
@click.option("--since", help="Ignore RAA published before YYYY-MM-DD (older years are not opened).")
@click.option("--dry-run", is_flag=True, help="Print the posts instead of sending them.")
@click.option("--no-publish", is_flag=True, help="Record decrees without posting them (first run, backfill).")
@click.option("--max-posts", type=int, help="Post at most this many now; the rest waits for the next run.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_common
def scan(
    settings: Settings,
    source_ids: tuple[str, ...],
    all_: bool,
    base_url: str | None,
    since: str | None,
    dry_run: bool,
    no_publish: bool,
    max_posts: int | None,
    as_json: bool,
) -> None:
    """One pass over SOURCE...: discover, download, read, classify, store, post."""
    from attrap.run.pipeline import Attrap

    chosen = _pick_sources(source_ids, all_, base_url)
    since_date = _since(since)
    app = Attrap(settings)
    try:
        shown: list[dict[str, str]] = []
        reports = app.scan_many(
            chosen,
            since=since_date,
            hold_posts=no_publish,
            dry_run=dry_run,
            on_report=None if as_json else _print_report,
        )
        show = (lambda c, t: shown.append({"channel": c, "text": t})) if as_json else _show_post
        pub = app.publish(dry_run=dry_run, limit=max_posts, show=show)
        if as_json:
            _dump({"sources": reports, "publish": pub, "posts": shown})
        else:
            _print_publish(app, pub, dry_run)
    finally:
        app.close()
    if any(r.outcome == "error" for r in reports):
        sys.exit(1)  # a degraded sweep found RAA: said above, and by `attrap status`


@main.command()
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_common
def classify(settings: Settings, paths: tuple[Path, ...], as_json: bool) -> None:
    """Read local PDF or .txt files and say which decrees are flagged, and why."""
    from attrap.rules.classify import load_rules
    from attrap.run.pipeline import read_and_classify

    ruleset = load_rules()
    results: list[dict[str, Any]] = []  # JSON objects
    failed = False
    for path in paths:
        try:
            decrees = read_and_classify(path, ruleset, settings)
        except AttrapError as exc:
            failed = True
            results.append({"path": str(path), "error": str(exc), "categories": [], "decrees": []})
            continue
        results.append(
            {
                "path": str(path),
                "categories": sorted({c for d in decrees for c in d.categories}),
                "decrees": [
                    {
                        "title": d.decree.title,
                        "pages": [d.decree.first_page, d.decree.last_page],
                        "number": d.decree.number,
                        "signed_on": d.decree.signed_on,
                        "categories": d.categories,
                        "matches": [dataclasses.asdict(m) for m in d.matches],
                        "ocr_pages": d.decree.ocr_pages,
                        "details": d.details.to_json() if d.details else None,
                        "from_sommaire": d.from_sommaire,
                        "pages_missing": d.decree.missing,
                    }
                    for d in decrees
                ],
            }
        )
    if as_json:
        _dump(results)
    else:
        for r in results:
            if "error" in r:
                click.echo(f"{r['path']}: ERROR {r['error']}")
                continue
            click.echo(f"{r['path']}: {', '.join(r['categories']) or 'nothing flagged'}")
            for d in r["decrees"]:
                cats = ", ".join(d["categories"]) or "-"
                click.echo(f"  p.{d['pages'][0]}-{d['pages'][1]} [{cats}] {d['title']}")
                if d["from_sommaire"]:
                    why = "its pages could not be read"
                    if d["pages_missing"]:
                        why = "its pages are not in the PDF"
                    click.echo(f"      flagged from the recueil's sommaire: {why}")
                for m in d["matches"]:
                    click.echo(f"      {m['rule']} (p.{m['page']}): {m['excerpt']}")
                for line in _details_lines(d["details"]):
                    click.echo(f"      {line}")
    if failed:
        sys.exit(1)


def _details_lines(details: dict[str, Any] | None) -> list[str]:
    """The extracted details of a flagged decree, one "label: value" line each."""
    if not details:
        return []
    d = Details.from_json(details)
    rows = [
        ("lieu", "; ".join(d.places)),
        ("événement", d.event or ""),
        ("période", format_period(d.start, d.end)),
        ("service", d.service or ""),
        ("aéronefs", str(d.aircraft or "")),
        ("caméras", str(d.cameras or "")),
        ("base légale", "; ".join(d.legal_basis)),
    ]
    return [f"{label}: {value}" for label, value in rows if value]


@main.command()
@click.option("--dry-run", is_flag=True, help="Print the queued posts instead of sending them.")
@click.option("--limit", type=int, help="Send at most this many posts.")
@click.option(
    "--backlog",
    "backlog",
    metavar="CHANNEL|all",
    help="Also post what is held: a channel's backlog (decrees flagged before it was added) "
    "and what --no-publish recorded.",
)
@_common
def publish(settings: Settings, dry_run: bool, limit: int | None, backlog: str | None) -> None:
    """Send everything waiting in the outbox now, even posts in their backoff after a failure."""
    from attrap.run.pipeline import Attrap

    app = Attrap(settings)
    try:
        if backlog is not None:
            known = [*app.publisher.channels, "dry-run"]
            if backlog != "all" and backlog not in known:
                message = f"no channel {backlog!r} (known: {', '.join(known)}, all)"
                raise click.BadParameter(message, param_hint="--backlog")
            released = app.store.release_held(None if backlog == "all" else backlog)
            click.echo(f"{released} held post(s) released")
        report = app.publish(dry_run=dry_run, limit=limit, show=_show_post, flush=True)
        _print_publish(app, report, dry_run)
    finally:
        app.close()


@main.command()
@click.option("--source", "source_ids", multiple=True, metavar="ID", help="Only this source (repeatable).")
@click.option("--since", help="Only recueils published on or after YYYY-MM-DD.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_common
def reclassify(settings: Settings, source_ids: tuple[str, ...], since: str | None, as_json: bool) -> None:
    """Read the stored recueils again with the current rules (after a change in patterns/).

    Nothing already posted is posted again or forgotten: a decree flagged only now is queued
    once (sent by the next publishing pass), one no longer flagged keeps its posts and is listed.
    """
    from attrap.run.pipeline import Attrap

    unknown = [i for i in source_ids if i not in registry()]
    if unknown:
        raise click.UsageError(f"unknown source(s): {', '.join(unknown)}")
    since_date = _since(since)
    app = Attrap(settings)
    try:
        r = app.reclassify(source_ids=list(source_ids) or None, since=since_date)
        now = app.store.decree_summaries(r.newly_flagged)
        gone = app.store.decree_summaries(r.unflagged)
    finally:
        app.close()
    describe = lambda rows: [  # noqa: E731
        {"link": link, "title": title, "categories": cats, "posts": posts}
        for link, title, cats, posts in rows
    ]
    if as_json:
        _dump(
            {
                "read": r.read,
                "posts_queued": r.posts_queued,
                "newly_flagged": describe(now),
                "no_longer_flagged": describe(gone),
                "to_fetch_again": r.refetch,
                "errors": r.errors,
            }
        )
    else:
        click.echo(
            f"reclassify: {r.read} recueil(s) read again, {len(now)} decree(s) flagged now, "
            f"{len(gone)} no longer flagged, {r.posts_queued} post(s) queued"
        )
        for link, title, cats, _posts in now:
            click.echo(f"  now flagged [{', '.join(cats)}] {title}\n      {link}")
        for link, title, _cats, posts in gone:
            click.echo(f"  no longer flagged (posts kept: {posts or 'none'}) {title}\n      {link}")
        for url in r.refetch:
            click.echo(f"  file not kept, read again by the next scan: {url}")
        for e in r.errors:
            click.echo(f"  error: {e}")
    if r.errors:
        sys.exit(1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_common
def status(settings: Settings, as_json: bool) -> None:
    """Per source: last run, documents seen, flagged, errors."""
    from attrap.run.pipeline import Attrap

    app = Attrap(settings)
    try:
        rows = app.status()
        held = [i for i in app.store.review_queue() if i.held]
    finally:
        app.close()
    rows.sort(key=lambda r: STATES.index(r.state))  # unhealthy sources first, then degraded
    from attrap.read.extract import reading_now

    if as_json:  # the sources, as always (the documents being read are said in the text form)
        _dump(rows)
        return
    if held:
        oldest = min((i.flagged_at for i in held if i.flagged_at), default=None)
        since = f", the oldest flagged {oldest:%Y-%m-%d %H:%M}" if oldest else ""
        click.echo(f"{len(held)} doubtful decision(s) held for review{since}: attrap review")
    reading = reading_now()
    for r in reading:
        of = f" of {r['pages']}" if r.get("pages") else ""
        click.echo(f"reading now: {r['label']} — page {r['page']}{of} ({r['ocr']} by OCR) since {r['since']}")
    click.echo(
        f"{'source':<14} {'last run':<20} {'outcome':<8} {'RAA':>5} {'failed':>6} "
        f"{'decrees':>7} {'flagged':>7} {'waiting':>7}"
    )
    for r in rows:
        last = r.last_run.strftime("%Y-%m-%d %H:%M") if r.last_run else "never"
        click.echo(
            f"{r.source_id:<14} {last:<20} {r.last_outcome or '-':<8} {r.recueils:>5} "
            f"{r.failed:>6} {r.decrees:>7} {r.flagged:>7} {r.posts_waiting:>7}"
        )
        if r.state in ("unhealthy", "degraded"):
            click.echo(f"    {r.state.upper()}: {r.health}")
        elif r.health:
            click.echo(f"    {r.health}")
        if r.last_error:
            click.echo(f"    last error: {r.last_error}")
        if r.posts_waiting and r.posts_waiting_reason:
            click.echo(f"    {r.posts_waiting} post(s) waiting: {r.posts_waiting_reason}")


@main.command()
@click.argument("source_ids", nargs=-1, metavar="[SOURCE...]")
@click.option(
    "--interval",
    type=float,
    default=3600.0,
    show_default=True,
    envvar="ATTRAP_SCAN_INTERVAL",
    help="Seconds between two scans of a source (env ATTRAP_SCAN_INTERVAL).",
)
@click.option(
    "--publish-every",
    type=float,
    default=300.0,
    show_default=True,
    envvar="ATTRAP_PUBLISH_EVERY",
    help="Seconds between two publishings (env ATTRAP_PUBLISH_EVERY).",
)
@click.option("--base-url", help="Replace scheme, host and port of the sources' URLs.")
@_common
def run(
    settings: Settings,
    source_ids: tuple[str, ...],
    interval: float,
    publish_every: float,
    base_url: str | None,
) -> None:
    """The scheduler: scans SOURCE... (default: all) periodically and publishes, until SIGTERM."""
    from attrap.run.scheduler import run_forever

    if logging.getLogger("attrap").getEffectiveLevel() > logging.INFO:
        logging.getLogger("attrap").setLevel(logging.INFO)  # a daemon says what it does

    chosen = _pick_sources(source_ids, not source_ids, base_url)
    run_forever(settings, chosen, interval=interval, publish_every=publish_every)


@main.command()
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    help="Jobs run at once by this worker (default: ATTRAP_WORKERS, one per core).",
)
@click.option(
    "--heartbeat",
    type=click.FloatRange(0.1),
    default=10.0,
    show_default=True,
    help="Seconds between heartbeats.",
)
@click.option(
    "--stalled-after",
    type=click.FloatRange(1.0),
    default=60.0,
    show_default=True,
    help="Seconds without a heartbeat after which a worker is held dead and its jobs requeued.",
)
@_common
def worker(settings: Settings, concurrency: int | None, heartbeat: float, stalled_after: float) -> None:
    """Execute the jobs `attrap run` defers (PostgreSQL only), until SIGTERM: crawls, reads, posts."""
    from attrap.run.tasks import run_worker, uses_queue

    if not uses_queue(settings):
        raise click.ClickException(
            "attrap worker needs PostgreSQL (ATTRAP_DATABASE_URL=postgresql+psycopg://…); "
            "with SQLite, `attrap run` does all the work itself"
        )
    if logging.getLogger("attrap").getEffectiveLevel() > logging.INFO:
        logging.getLogger("attrap").setLevel(logging.INFO)  # a daemon says what it does
    run_worker(
        settings,
        concurrency=concurrency or settings.workers,
        heartbeat=heartbeat,
        stalled_after=stalled_after,
    )


@main.group()
def db() -> None:
    """The database schema (Alembic migrations)."""


@db.command("upgrade")
@_common
def db_upgrade(settings: Settings) -> None:
    """Apply the migrations the database lacks (also done automatically on start)."""
    from attrap.store.db import Store

    store = Store(settings.database_url, upgrade=False)
    try:
        before, after = store.upgrade()
    finally:
        store.close()
    if before == after:
        click.echo(f"database schema is up to date (version {after})")
    else:
        click.echo(f"database schema upgraded from {before or 'empty'} to {after}")


@db.command("current")
@_common
def db_current(settings: Settings) -> None:
    """Print the database schema version."""
    from attrap.store.db import SCHEMA_HEAD, Store

    store = Store(settings.database_url, upgrade=False)
    try:
        version = store.schema_version()
    finally:
        store.close()
    state = "up to date" if version == SCHEMA_HEAD else f"needs upgrade to {SCHEMA_HEAD}"
    click.echo(f"{version or 'empty'} ({state})")


@main.command()
@click.argument("query")
@click.option("--source", "source_ids", multiple=True, help="Only this source (repeatable).")
@click.option("--since", help="Only decrees signed (or published) on or after YYYY-MM-DD.")
@click.option("--category", help="Only decrees flagged with this category.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_common
def search(
    settings: Settings,
    query: str,
    source_ids: tuple[str, ...],
    since: str | None,
    category: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Full-text search of every stored decree: words, "quoted phrases", AND, OR, NOT (or -word)."""
    from attrap.store.db import Store
    from attrap.store.read import Catalog

    since_date = _since(since)
    store = Store(settings.database_url)
    try:
        rows = store.search(query, source_ids=source_ids, since=since_date, category=category, limit=limit)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="QUERY") from None
    finally:
        store.close()
    # a hit is a few fields of the decree's one record (attrap.store.read.DecreeRecord); making it
    # reads nothing more from the store
    catalog = Catalog(store)
    records = [catalog.record(d) for d in rows]
    results = [
        {
            "id": r.id,
            "title": r.title,
            "source_id": r.source_id,
            "prefecture": r.prefecture,
            "date": r.signed_on or r.published,
            "categories": r.categories,
            "link": r.link,
        }
        for r in records
    ]
    if as_json:
        _dump(results)
        return
    if not results:
        click.echo("no decree matches")
    for r in records:
        day = r.signed_on or r.published
        when = day.isoformat() if day else "date unknown"
        cats = f" [{', '.join(r.categories)}]" if r.categories else ""
        click.echo(f"{when}  {r.prefecture}{cats}\n  {r.title}\n  {r.link}")


@main.command()
@click.option("--port", type=int, default=0, help="Port of the fixture server (default: any free one).")
@_common
def demo(settings: Settings, port: int) -> None:
    """Serve the bundled fixture site on 127.0.0.1 and run the whole pipeline on it (dry run)."""
    from attrap.demo import run_demo

    run_demo(settings, port=port, echo=click.echo, show=_show_post)


@main.command()
@click.option("--format", "fmt", type=click.Choice(list(EXPORT_FORMATS)), default="json", show_default=True)
@click.option("--category", help="Only decrees flagged with this category (drone, avs, videoprotection).")
@click.option("--source", "source_id", help="Only decrees of this source (e.g. pref13).")
@click.option("--department", help="Only decrees of this département's sources (e.g. 13, 2A, 971).")
@click.option("--since", help="Only recueils published on or after YYYY-MM-DD.")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: stdout)."
)
@_common
def export(
    settings: Settings,
    fmt: str,
    category: str | None,
    source_id: str | None,
    department: str | None,
    since: str | None,
    output: Path | None,
) -> None:
    """The flagged decrees, newest first, as JSON, CSV or an Atom feed."""
    from attrap.serve.formats import export as render
    from attrap.store.db import Store
    from attrap.store.read import BadParameter, Catalog, Filter, parse_day

    store = Store(settings.database_url)
    try:
        f = Filter(category, source_id, department, parse_day(since) if since else None)
        data = render(Catalog(store), fmt, f)
    except BadParameter as exc:
        raise click.BadParameter(str(exc).partition(": ")[2], param_hint=f"--{exc.param}") from None
    finally:
        store.close()
    if output:
        output.write_bytes(data)
    else:
        click.echo(data, nl=False)  # bytes: written as they are, UTF-8


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="0: any free one."
)
@click.option(
    "--forwarded-allow-ips",
    metavar="IPS",
    envvar="ATTRAP_FORWARDED_ALLOW_IPS",
    help="Believe X-Forwarded-For and X-Forwarded-Proto from these addresses only (a reverse "
    "proxy's, comma-separated; env ATTRAP_FORWARDED_ALLOW_IPS). Default: from none.",
)
@_common
def serve(settings: Settings, host: str, port: int, forwarded_allow_ips: str | None) -> None:
    """Read-only HTTP server (FastAPI under uvicorn): web pages in French (/, /decret/ID,
    /statistiques, /etat), Atom feeds and a JSON API of the flagged decrees (/openapi.json)."""
    import signal

    from attrap.serve.api import serve as serve_http

    if logging.getLogger("attrap").getEffectiveLevel() > logging.INFO:
        logging.getLogger("attrap").setLevel(logging.INFO)  # a server logs its requests

    def stop(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    # uvicorn takes SIGINT and SIGTERM while it serves, stops gracefully, then raises the signal
    # again to this handler
    signal.signal(signal.SIGTERM, stop)
    try:
        serve_http(
            settings,
            host,
            port,
            on_ready=lambda url: click.echo(f"serving on {url}/"),
            forwarded_allow_ips=forwarded_allow_ips,
        )
    except KeyboardInterrupt:
        pass


#: what ``attrap annotate`` records, by its flag
COURT_DECISIONS = {
    "court_suspended": ("court-suspended", "suspended by a court (référé-suspension, référé-liberté)"),
    "court_annulled": ("court-annulled", "annulled by a court"),
    "court_rejected": ("court-rejected", "a challenge of it was rejected by a court"),
}


@main.command()
@click.argument("decree_id", type=int, metavar="DECREE")
@click.option("--court-suspended", is_flag=True, help=COURT_DECISIONS["court_suspended"][1])
@click.option("--court-annulled", is_flag=True, help=COURT_DECISIONS["court_annulled"][1])
@click.option("--court-rejected", is_flag=True, help=COURT_DECISIONS["court_rejected"][1])
@click.option("--url", help="Where the decision can be read (the court's site, a press release).")
@click.option("--on", "decided_on", help="The decision's date, YYYY-MM-DD.")
@click.option("--note", help="A line shown with it (the court, the case number).")
@_common
def annotate(
    settings: Settings,
    decree_id: int,
    url: str | None,
    decided_on: str | None,
    note: str | None,
    **flags: bool,
) -> None:
    """Record a court's decision against a decree (its id on the web pages and in the API); it is
    shown on the decree's page and in the API."""
    from attrap.rules.frdates import iso_day
    from attrap.store.db import Store

    chosen = [COURT_DECISIONS[name][0] for name, on in flags.items() if on]
    if len(chosen) != 1:
        raise click.UsageError("give one of --court-suspended, --court-annulled, --court-rejected")
    if url is not None and not url.startswith(("https://", "http://")):
        raise click.BadParameter("expected an http(s) URL", param_hint="--url")
    try:
        day = iso_day(decided_on) if decided_on else None
    except ValueError:
        raise click.BadParameter("expected YYYY-MM-DD", param_hint="--on") from None
    store = Store(settings.database_url)
    try:
        store.annotate(decree_id, chosen[0], url=url, decided_on=day, note=note)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    click.echo(f"decree {decree_id}: {chosen[0]} recorded")


@main.group(invoke_without_command=True)
@click.pass_context
def review(ctx: click.Context) -> None:
    """Doubtful decisions (flagged from a sommaire, low OCR confidence, title and articles that
    disagree): list them, confirm or reject each, export the decisions as labelled examples."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(review_list)


@review.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_common
def review_list(settings: Settings, as_json: bool = False) -> None:
    """The decisions waiting for a person, oldest first."""
    from attrap.rules.review import REASONS
    from attrap.store.db import Store

    store = Store(settings.database_url)
    try:
        items = store.review_queue()
    finally:
        store.close()
    if as_json:
        _dump([{**dataclasses.asdict(i), "why": [REASONS.get(r, r) for r in i.reasons]} for i in items])
        return
    if not items:
        click.echo("nothing to review")
        return
    for i in items:
        state = "held, not posted" if i.held else "posted with a mark"
        click.echo(f"#{i.decree_id} [{i.source_id}] {', '.join(i.categories)} ({state}): {i.title}")
        for r in i.reasons:
            click.echo(f"    - {REASONS.get(r, r)}")
        click.echo(f"    {i.link}")
    click.echo(f"{len(items)} to review: attrap review confirm ID | attrap review reject ID")


def _decide(settings: Settings, decree_id: int, decision: str, note: str | None) -> None:
    from attrap.store.db import Store

    store = Store(settings.database_url)
    try:
        released = store.decide(decree_id, decision, note=note)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    effect = (
        f"{released} post(s) queued" if decision == "confirm" else f"{released} post(s) will never be sent"
    )
    click.echo(f"decree {decree_id}: {decision}ed, {effect}")


@review.command("confirm")
@click.argument("decree_id", type=int, metavar="DECREE")
@click.option("--note", help="Why (kept with the decision).")
@_common
def review_confirm(settings: Settings, decree_id: int, note: str | None) -> None:
    """The decree is what it was flagged as: its held posts go out with the next publishing pass."""
    _decide(settings, decree_id, "confirm", note)


@review.command("reject")
@click.argument("decree_id", type=int, metavar="DECREE")
@click.option("--note", help="Why (kept with the decision).")
@_common
def review_reject(settings: Settings, decree_id: int, note: str | None) -> None:
    """The decree is not what it was flagged as: its held posts are never sent."""
    _decide(settings, decree_id, "reject", note)


@review.command("export")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: stdout)."
)
@click.option(
    "--corpus",
    type=click.Path(file_okay=False, path_type=Path),
    help="Add the decided decrees to the corpus in this folder instead (labels.toml and text/, as "
    "fixtures/corpus), each labelled by its last decision; those already there are left.",
)
@_common
def review_export(settings: Settings, output: Path | None, corpus: Path | None) -> None:
    """Every decision as a labelled example, one JSON object per line: the decree's title and
    text, the categories it was flagged with, the decision, its reasons (see fixtures/corpus);
    or, with --corpus, added to a corpus for bench/classify_eval.py."""
    from attrap.rules.review import add_to_corpus
    from attrap.store.db import Store

    store = Store(settings.database_url)
    try:
        examples = [
            {
                "decree_id": d.id,
                "source_id": d.recueil.source_id,
                "link": d.link,
                "title": d.title,
                "number": d.number,
                "signed_on": d.signed_on.isoformat() if d.signed_on else None,
                "flagged": r.categories,
                "decision": r.decision,
                # the label: what the decree is, as the person said
                "categories": r.categories if r.decision == "confirm" else [],
                "reasons": r.reasons,
                "note": r.note,
                "decided_at": r.decided_at.isoformat(),
                "text": d.text,
            }
            for r, d in store.reviews()
        ]
    finally:
        store.close()
    if corpus is not None:
        names = {sid: src.name for sid, src in registry().items()}
        added = add_to_corpus(corpus, examples, names)
        click.echo(f"{len(added)} example(s) added to {corpus}" + "".join(f"\n  {i}" for i in added))
        if added:
            ids = " ".join(added)
            click.echo(
                f"next: .venv/bin/python fixtures/corpus/make_ocr.py --corpus {corpus} --only {ids}"
                " (their OCR variant), then bench/classify_eval.py --corpus {corpus}"
            )
        return
    data = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples)
    if output:
        output.write_text(data, encoding="utf-8")
    else:
        click.echo(data, nl=False)


if __name__ == "__main__":
    main()
