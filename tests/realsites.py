"""Real-markup fixtures (fixtures/real/): each a site's pages as saved from the live site, with
the download links a person sees on them (the oracle). Used by tests/test_real_sites.py and
bench/crawl.py."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from attrap.crawl.discover import Crawl, engine_for
from attrap.crawl.fetch import Fetcher
from attrap.crawl.sources import Source, registry
from attrap.fixtureserver import RecordedSite, page_key

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real"


def fixtures() -> list[Path]:
    """Every real-markup fixture directory, by source id."""
    return sorted(p.parent for p in REAL.glob("*/manifest.json"))


def manifest(site: Path) -> dict:
    return json.loads((site / "manifest.json").read_text(encoding="utf-8"))


def link_key(url: str) -> str:
    """A download link as compared with the oracle: host, path and query, unquoted (a capture
    writes an href's spaces and accents raw, a client percent-encodes them)."""
    parts = urlsplit(url)
    return f"{parts.netloc}{unquote(parts.path)}" + (f"?{unquote(parts.query)}" if parts.query else "")


def oracle(site: Path) -> set[str]:
    m = manifest(site)
    return {link_key(u) for links in m["downloads"].values() for u in links}


def entry(site: Path) -> str:
    """The page a crawl of the fixture starts from: the first one saved."""
    return manifest(site)["pages"][0]["url"]


@dataclass
class Result:
    #: the source as crawled (rebased onto the fixture server: public_url gives the real URLs)
    source: Source
    crawl: Crawl
    found: set[str]
    expected: set[str]
    requests: int

    @property
    def missed(self) -> set[str]:
        return self.expected - self.found

    @property
    def extra(self) -> set[str]:
        return self.found - self.expected


def served(site: Path, url: str) -> bool:
    return page_key(url) in {page_key(p["url"]) for p in manifest(site)["pages"]}


def crawl(site: Path, *, start: str | None = None) -> Result:
    """Crawl a real-markup fixture as attrap crawls the live site: the source file's settings,
    engine and URLs (or ``start``), over a server that answers only the saved pages."""
    sid = manifest(site)["source"]
    source = registry()[sid]
    if start is not None:
        source = replace(source, urls=(start,))
    with RecordedSite(site) as server:
        rebased = source.rebased(server.base_url)
        with Fetcher(
            source_id=sid, allowed_hosts=rebased.hosts, user_agent="attrap-test", delay=0
        ) as fetcher:
            result = engine_for(rebased).discover(rebased, fetcher)
            requests = fetcher.requests
    found = {link_key(rebased.public_url(link.url)) for link in result.links}
    return Result(rebased, result, found, oracle(site), requests)
