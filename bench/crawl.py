"""Crawl benchmark: a full sweep of every source against local fixture sites, then a second one.

One fixture server per site family (``dsfr-cards``: fixtures/sites/pref13, ``dsfr-select``:
fixtures/sites/pref35, ``prefecture-police``: fixtures/sites/pp, ``prefectures-regions``:
fixtures/sites/reg-idf, ``dims``: fixtures/sites/pref57, ``dsfr-specific``:
fixtures/sites/dsfr-specific). Each source of a family crawls that family's fixture: its URLs
are rebased onto the family's server (``Source.rebased``) and take the fixture's paths, since a
fixture reproduces one site (or keep their own, where a fixture reproduces several sites under
their paths: the Charente, the Gers and Belfort in dsfr-specific); its own settings still
apply (Paris follows only the Paris years of the Île-de-France tag view). Sources of a family
without a fixture are left out (and counted).
No delay between requests. The first sweep finds and downloads every PDF; the second, where
nothing changed, revalidates listing pages with the validators the first one kept in the
database (a temporary SQLite file) and downloads no PDF, as ``attrap scan`` does.

Corse-du-Sud's site holds two sources; a recueil one of them already knows is not downloaded
again by the other (as in ``attrap scan``), so PDFs downloaded can be fewer than PDFs found.

Prints, per sweep: requests, bytes received, 304 answers, PDFs found and downloaded, wall time;
then the ratio second/first for requests, bytes and time.

Then the real sites: every fixture of ``fixtures/real/`` (pages saved from the live sites in
August 2026, with the download links a person sees on them) crawled from its source file's
URL: RAA found against the oracles (recall, and links found that the oracle does not hold),
requests per RAA found, and the health one such sweep gives each source (how many a sweep
marks unhealthy or degraded; a reduced copy answers 404 for every page it did not keep, so
"degraded" is expected there). Usage: ``.venv/bin/python bench/crawl.py [--real-only]``.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from attrap.crawl.discover import engine_for  # noqa: E402
from attrap.crawl.fetch import Fetcher, HostThrottle, Validator  # noqa: E402
from attrap.crawl.sources import Source, load_sources  # noqa: E402
from attrap.errors import AttrapError  # noqa: E402
from attrap.fixtureserver import FixtureServer  # noqa: E402
from attrap.store.db import Store  # noqa: E402
from fixtures.make_moselle_fixture import DimsFixtureServer  # noqa: E402
from fixtures.make_select_fixture import FormFixtureServer  # noqa: E402

SITES = ROOT / "fixtures" / "sites"
#: family → (the fixture's source id, the server that serves it)
FIXTURES: dict[str, tuple[str, type[FixtureServer]]] = {
    "dsfr-cards": ("pref13", FixtureServer),
    "dsfr-select": ("pref35", FormFixtureServer),
    "prefecture-police": ("pp", FixtureServer),
    "prefectures-regions": ("reg-idf", FixtureServer),
    "dims": ("pref57", DimsFixtureServer),
    "dsfr-specific": ("dsfr-specific", FixtureServer),
}
#: the source whose paths a family's fixture takes, when its directory is not a source's id
REPRESENTATIVE = {"dsfr-specific": "pref16"}


class SourceValidators:
    """The store's validators, kept apart per source: here every source of a family shares one
    server (one host), where in reality each has its own."""

    def __init__(self, store: Store, source_id: str):
        self.store, self.prefix = store, f"{source_id} "

    def get_validator(self, url: str) -> Validator | None:
        return self.store.get_validator(self.prefix + url)

    def put_validator(self, source_id: str, url: str, validator: Validator) -> None:
        self.store.put_validator(source_id, self.prefix + url, validator)


@dataclass
class Sweep:
    sources: int = 0
    requests: int = 0
    bytes: int = 0
    not_modified: int = 0
    pdfs_found: int = 0
    pdfs_downloaded: int = 0
    errors: int = 0
    seconds: float = 0.0

    def line(self, name: str) -> str:
        return (
            f"{name:<7} {self.sources:>7} {self.requests:>9} {self.bytes:>12,} {self.not_modified:>6} "
            f"{self.pdfs_found:>6} {self.pdfs_downloaded:>6} {self.errors:>6} {self.seconds:>8.2f}"
        )


def sweep(sources: list[Source], store: Store, pdf_dir: Path) -> Sweep:
    """Discover every source, download the PDFs not yet known (what ``attrap scan`` fetches)."""
    out = Sweep()
    t0 = time.perf_counter()
    for source in sources:
        out.sources += 1
        fetcher = Fetcher(
            source_id=source.id,
            allowed_hosts=source.hosts,
            delay=0,
            throttle=HostThrottle(),
            validators=SourceValidators(store, source.id),
        )
        with fetcher:
            crawl = engine_for(source).discover(source, fetcher)
            out.pdfs_found += len(crawl.links)
            out.errors += len(crawl.errors)
            known = store.known_urls(source.id)
            for link in crawl.links:
                if (public := source.public_url(link.url)) not in known:
                    store.add_recueil(replace(link, url=public))
            for rec in store.pending_recueils(source.id):  # as Attrap.scan: new, or failed before
                try:
                    dl = fetcher.download_pdf(source.fetch_url(rec.url), pdf_dir / source.id)
                except AttrapError as exc:
                    store.recueil_failed(rec.id, exc.message)
                    out.errors += 1
                    continue
                out.pdfs_downloaded += 1
                # read and classified by the pipeline; here only marked done
                store.save_processed(
                    rec.id, [], sha256=dl.sha256, size=dl.size, page_count=0, pdf_created_at=None
                )
        out.requests += fetcher.requests
        out.bytes += fetcher.bytes
        out.not_modified += fetcher.not_modified
    out.seconds = time.perf_counter() - t0
    return out


@functools.cache
def _expected(site: str) -> dict:
    """A fixture site's oracle (read once per site, not once per source)."""
    return json.loads((SITES / site / "EXPECTED.json").read_text(encoding="utf-8"))


def on_fixture(source: Source, registry: dict[str, Source], base_url: str) -> Source:
    """``source`` crawling its family's fixture site served at ``base_url``: with its own paths
    when the fixture reproduces them (EXPECTED.json's "sources"), else with the fixture's."""
    site = FIXTURES[source.family][0]
    moved = source.rebased(base_url)
    if source.id in _expected(site).get("sources", {}):
        return moved
    fixture = registry[REPRESENTATIVE.get(source.family, site)]
    return replace(moved, urls=fixture.rebased(base_url).urls)


def real_sites() -> None:
    """The real-markup fixtures: recall against their oracles, requests per RAA, health."""
    from types import SimpleNamespace

    from attrap.run.health import assess
    from tests import realsites

    found = expected = extra = requests = 0
    states: dict[str, list[str]] = {}
    misses: list[str] = []
    t0 = time.perf_counter()
    for site in realsites.fixtures():
        source = load_sources()[site.name]
        start = None if any(realsites.served(site, u) for u in source.urls) else realsites.entry(site)
        r = realsites.crawl(site, start=start)
        found += len(r.found & r.expected)
        expected += len(r.expected)
        extra += len(r.extra)
        requests += r.requests
        if r.missed or r.extra:
            misses.append(f"{site.name}: {len(r.missed)} missed, {len(r.extra)} not in the oracle")
        c = r.crawl
        outcome = "degraded" if c.errors or c.moved else "ok"
        if c.root_failed or not c.pages_visited:
            outcome = "error"
        run = SimpleNamespace(
            outcome=outcome, pages_fetched=r.requests, pdfs_found=len(c.links), listing_links=c.listing_links,
            error="; ".join(c.errors[:1]) or None, moved="; ".join(b for _, b in c.moved) or None, older=0,
        )  # fmt: skip
        states.setdefault(assess([run], source_id=site.name).state, []).append(site.name)
    seconds = time.perf_counter() - t0
    n = len(realsites.fixtures())
    print(f"\nreal sites: {n} sources, pages saved from the live sites (fixtures/real/)")
    recall = found / expected if expected else float("nan")
    print(f"RAA found / oracle      {found}/{expected} = {recall:.3f}")
    print(f"links not in the oracle {extra}")
    print(f"requests per RAA found  {requests / found if found else float('nan'):.2f} ({requests} requests)")
    print("health after one sweep  " + ", ".join(f"{k} {len(v)}" for k, v in sorted(states.items())))
    print(f"unhealthy               {', '.join(states.get('unhealthy', [])) or 'none'}")
    print(f"time                    {seconds:.2f} s")
    for line in misses:
        print(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--real-only", action="store_true", help="only the real sites")
    if parser.parse_args().real_only:
        real_sites()
        return
    registry = load_sources()
    servers = {family: server(SITES / sid).start() for family, (sid, server) in FIXTURES.items()}
    for server in servers.values():
        # The fixture server writes headers and body apart: with Nagle's algorithm on, each body
        # then waits for the client's delayed ACK (40 ms), which would swamp what is measured.
        server._httpd.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[union-attr]
    try:
        sources = [
            on_fixture(s, registry, servers[s.family].base_url)
            for s in registry.values()
            if s.family in servers
        ]
        left_out = sorted({s.family for s in registry.values()} - set(servers))
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(f"sqlite:///{tmp}/bench.db")
            first = sweep(sources, store, Path(tmp) / "pdfs")
            served = {f: len(s.requests) for f, s in servers.items()}
            second = sweep(sources, store, Path(tmp) / "pdfs")
            store.close()
    finally:
        for server in servers.values():
            server.stop()
    second_served = {f: len(s.requests) - served[f] for f, s in servers.items()}

    skipped = len(registry) - len(sources)
    print(f"{len(sources)} sources crawled on {len(servers)} fixture servers ({', '.join(FIXTURES)});")
    print(f"{skipped} left out (families without a fixture: {', '.join(left_out) or 'none'})")
    print(f"{'sweep':<7} {'sources':>7} {'requests':>9} {'bytes':>12} {'304':>6} {'found':>6} {'dl':>6} "
          f"{'errors':>6} {'time s':>8}")  # fmt: skip
    print(first.line("first"))
    print(second.line("second"))
    print(f"requests seen by the servers: first {sum(served.values())}, second {sum(second_served.values())}")
    for name, a, b in (
        ("requests", first.requests, second.requests),
        ("bytes", first.bytes, second.bytes),
        ("time", first.seconds, second.seconds),
    ):
        print(f"second/first {name:<9} {b / a if a else float('nan'):.3f}")
    real_sites()


if __name__ == "__main__":
    main()
