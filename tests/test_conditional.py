"""Conditional requests: a sweep where nothing changed revalidates listing pages and downloads nothing.

Validators (ETag, Last-Modified and the page's body) are kept in the database, so they outlive
the process: each run below opens the store afresh.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from attrap.config import Settings
from attrap.crawl.fetch import Fetcher, HostThrottle, MemoryValidators
from attrap.fixtureserver import LAST_MODIFIED, FixtureServer
from attrap.run import pipeline
from attrap.store.db import Store
from tests.test_families import FAMILIES, Family, crawl, source_on

PAGE = '<!DOCTYPE html><html><body><main><a href="/files/raa.pdf">RAA</a></main></body></html>'


@pytest.fixture
def small_site(tmp_path: Path) -> Iterator[FixtureServer]:
    root = tmp_path / "site"
    (root / "RAA").mkdir(parents=True)
    (root / "RAA" / "index.html").write_text(PAGE, encoding="utf-8")
    with FixtureServer(root) as server:
        yield server


def _fetcher(server: FixtureServer, validators) -> Fetcher:
    host = server.base_url.split("//", 1)[1]
    return Fetcher(
        source_id="pref99", allowed_hosts={host}, delay=0, throttle=HostThrottle(), validators=validators
    )


def test_validators_are_kept_in_the_database_and_sent_back(small_site, db_url):
    url = small_site.base_url + "/RAA"
    store = Store(db_url)
    with _fetcher(small_site, store) as f:
        first = f.get_page(url)
    store.close()
    assert first.status == 200 and not first.not_modified

    store = Store(db_url)  # another run
    with _fetcher(small_site, store) as f:
        again = f.get_page(url)
        assert f.not_modified == 1
    (request,) = [r for r in small_site.requests if r.path == "/RAA"][1:]
    assert request.headers["If-None-Match"] == store.get_validator(url).etag
    assert request.headers["If-Modified-Since"] == LAST_MODIFIED
    assert request.status == 304
    assert again.not_modified and again.text == first.text and again.url == first.url

    changed = PAGE.replace("RAA</a>", "RAA</a><a href='/files/raa2.pdf'>RAA 2</a>")
    small_site.replace("/RAA", changed.encode(), "text/html; charset=utf-8")
    with _fetcher(small_site, store) as f:
        fresh = f.get_page(url)
    assert fresh.status == 200 and "raa2.pdf" in fresh.text
    assert store.get_validator(url).body == fresh.text  # the new body is the one kept
    assert store.forget_validators("pref99") == 1 and store.get_validator(url) is None
    store.close()


def test_a_form_posted_back_is_never_conditional(small_site):
    validators = MemoryValidators()
    with _fetcher(small_site, validators) as f:
        f.get_page(small_site.base_url + "/RAA")
        f.post_page(small_site.base_url + "/RAA", {"annee": "2026"})
        f.post_page(small_site.base_url + "/RAA", {"annee": "2026"})
    posts = [r for r in small_site.requests if r.method == "POST"]
    assert [r.status for r in posts] == [200, 200]
    assert not any("If-None-Match" in r.headers or "If-Modified-Since" in r.headers for r in posts)


@pytest.fixture(params=FAMILIES, ids=lambda f: f.name)
def family(request: pytest.FixtureRequest) -> Family:
    return request.param


@pytest.fixture
def site(family: Family) -> Iterator[FixtureServer]:
    with family.serve() as server:
        yield server


def _listing(requests) -> list:
    return [r for r in requests if not r.path.endswith(".pdf")]


def test_a_second_crawl_revalidates_every_listing_page(family, site, db_url):
    first = crawl(family, site, validators=(store := Store(db_url)))
    store.close()
    seen = len(site.requests)
    again = crawl(family, site, validators=(store := Store(db_url)))
    store.close()
    assert sorted(link.url for link in again.links) == sorted(link.url for link in first.links)
    second = [r for r in site.requests[seen:] if r.path != family.session_page]
    opened = [r for r in site.requests[seen:] if r.path == family.session_page]
    assert all(r.status == 200 and "If-None-Match" not in r.headers for r in opened)  # for its cookie
    gets = [r for r in second if r.method == "GET"]
    assert gets and all(r.status == 304 for r in gets)
    assert all(r.headers.get("If-None-Match") and r.headers.get("If-Modified-Since") for r in gets)
    for post in (r for r in second if r.method == "POST"):  # forms posted back are sent again
        assert post.status == 200 and "If-None-Match" not in post.headers


def test_a_second_scan_sends_conditional_requests_and_downloads_no_pdf(family, site, db_url, tmp_path):
    """Through Attrap.scan: the store keeps the validators between runs."""
    settings = Settings(data_dir=tmp_path / "data", database_url=db_url, request_delay=0, workers=2)
    source = source_on(family, site)

    def scan() -> pipeline.ScanReport:
        app = pipeline.Attrap(settings, sources={source.id: source})
        try:
            return app.scan(source, dry_run=True)
        finally:
            app.close()

    first = scan()
    assert first.outcome == "ok" and first.pdfs_new == len(family.expected["recueils"])
    seen = len(site.requests)
    again = scan()
    assert again.outcome == "ok" and again.pdfs_found == first.pdfs_found and again.pdfs_new == 0
    second = site.requests[seen:]
    pdfs = {r["path"] for r in family.expected["recueils"]}
    assert not any(r.path.endswith(".pdf") or r.path in pdfs for r in second)
    gets = [r for r in _listing(second) if r.method == "GET" and r.path != family.session_page]
    assert gets and all(r.status == 304 and "If-None-Match" in r.headers for r in gets)
    assert {unquote(r.path) for r in gets} >= {family.expected["root"], "/robots.txt"}
    assert again.pages_fetched == len(second)
