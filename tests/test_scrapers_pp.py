"""The Préfecture de police engine on its fixture site: arrêtés list, recueils by year, --since."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from urllib.parse import unquote

import httpx
import pytest

from attrap.crawl.discover import engine_for
from attrap.crawl.fetch import Fetcher, HostThrottle
from attrap.crawl.sources import registry
from attrap.rules.classify import load_rules
from attrap.run.pipeline import read_and_classify
from tests.conftest import SITES, invoke_cli

SITE = SITES / "pp"
EXPECTED = json.loads((SITE / "EXPECTED.json").read_text(encoding="utf-8"))
REAL = "https://www.prefecturedepolice.interieur.gouv.fr"
ARRETES = [p for p in EXPECTED["pdfs"] if p["kind"] == "arrete"]


@pytest.fixture
def pp_site():
    from attrap.fixtureserver import FixtureServer

    with FixtureServer(SITE) as server:
        yield server


def _source(base_url: str, *, recueils: bool = True):
    """The registered source, plus the fixture's recueil index (no real one is known yet)."""
    src = registry()["pp"]
    if recueils:
        src = replace(src, urls=(*src.urls, REAL + EXPECTED["recueils_index"]))
    return src.rebased(base_url)


def _crawl(base_url: str, since: date | None = None, **kw):
    source = _source(base_url, **kw)
    with Fetcher(source_id="pp", allowed_hosts=source.hosts, delay=0, throttle=HostThrottle()) as fetcher:
        return engine_for(source).discover(source, fetcher, since=since)


def test_every_pdf_is_found_with_its_title_and_date(pp_site):
    crawl = _crawl(pp_site.base_url)
    found = {link.url.removeprefix(pp_site.base_url): link for link in crawl.links}
    assert sorted(found) == sorted(p["path"] for p in EXPECTED["pdfs"])
    for p in EXPECTED["pdfs"]:
        assert (found[p["path"]].title, found[p["path"]].published) == (
            p["title"],
            date.fromisoformat(p["published"]),
        )
    assert crawl.errors == [] and crawl.listing_links > 0
    visited = [unquote(u.removeprefix(pp_site.base_url)) for u in crawl.pages_visited]
    assert not any(v.startswith(("/demarches", "/nous-connaitre", "/mentions-legales")) for v in visited)


def test_the_registered_source_reads_the_arretes_list(pp_site):
    crawl = _crawl(pp_site.base_url, recueils=False)
    assert sorted(link.url.removeprefix(pp_site.base_url) for link in crawl.links) == sorted(
        p["path"] for p in ARRETES
    )


def test_since_prunes_older_years_without_requesting_them(pp_site):
    crawl = _crawl(pp_site.base_url, since=date(2026, 9, 1))
    assert sorted(link.published for link in crawl.links) == [
        date(2026, 9, 15), date(2026, 9, 18), date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 2),
    ]  # fmt: skip
    requested = [unquote(r.path) for r in pp_site.requests]
    assert any(p.endswith("-2026") for p in requested)
    assert not any(p.endswith(("-2025", "-2024")) for p in requested)


@pytest.mark.parametrize("pdf", EXPECTED["pdfs"], ids=lambda p: p["path"].rsplit("/", 1)[-1][:28])
def test_fixture_pdf_is_classified_as_the_oracle_says(pdf):
    decrees = read_and_classify(SITE / unquote(pdf["path"]).lstrip("/"), load_rules())
    assert sorted({c for d in decrees for c in d.categories}) == pdf["categories"]


# -- the Drupal pager, on pages the fixture server cannot tell apart (?page=N) ---------------------
def _decree_page(items: list[tuple[str, str]], next_page: str | None) -> str:
    rows = "".join(
        f'<a href="/sites/default/files/Documents/{n}.pdf"><div class="node node--type--tc13-decree">'
        f'<span>Arrêté n° {n}</span><div class="field--type-datetime">{d}</div></div></a>'
        for n, d in items
    )
    pager = (
        f'<nav class="pager"><a href="?page={next_page}" rel="next">Suivant</a></nav>' if next_page else ""
    )
    return f'<main><div id="block-decree-list-block">{rows}</div>{pager}</main>'


PAGES = {
    "": _decree_page([("2026-00003", "02/10/2026"), ("2026-00002", "20/09/2026")], "1"),
    "page=1": _decree_page([("2026-00001", "30/08/2026"), ("2025-00009", "01/12/2025")], "2"),
    "page=2": _decree_page([("2025-00008", "01/06/2025")], None),
}


def _mock_crawl(pages: dict[str, str], since: date | None = None):
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        asked.append(request.url.query.decode())
        return httpx.Response(200, html=pages[request.url.query.decode()])

    source = registry()["pp"]
    fetcher = Fetcher(
        source_id="pp",
        allowed_hosts=source.hosts,
        delay=0,
        throttle=HostThrottle(),
        transport=httpx.MockTransport(handler),
    )
    with fetcher:
        return engine_for(source).discover(source, fetcher, since=since), asked


def test_the_decree_list_pager_is_followed_and_since_stops_it():
    crawl, asked = _mock_crawl(PAGES)
    assert asked == ["", "page=1", "page=2"] and len(crawl.links) == 5
    assert crawl.links[0].url == REAL + "/sites/default/files/Documents/2026-00003.pdf"
    assert crawl.links[0].published == date(2026, 10, 2)
    crawl, asked = _mock_crawl(PAGES, since=date(2026, 9, 1))
    # page 1 may still hold September 2026; page 2 comes after December 2025 and is not asked for
    assert asked == ["", "page=1"]
    assert [link.title for link in crawl.links] == ["Arrêté n° 2026-00003", "Arrêté n° 2026-00002"]


def test_an_empty_decree_list_is_an_error_not_silence():
    crawl, _ = _mock_crawl({"": '<main><div id="block-decree-list-block"></div></main>'})
    assert crawl.links == [] and "rendered by JavaScript" in crawl.errors[0]


# -- through the command line ----------------------------------------------------------------------
def test_an_anti_bot_page_instead_of_a_pdf_is_an_error_and_not_stored(cli_env, pp_site):
    broken = next(p for p in ARRETES if p["categories"] == ["drone"])["path"]
    pp_site.replace(broken, b"<!DOCTYPE html><html><body>Vous avez ete bloque</body></html>", "text/html")
    out = json.loads(
        invoke_cli("scan", "pp", "--base-url", pp_site.base_url, "--dry-run", "--json", env=cli_env).stdout
    )
    (report,) = out["sources"]
    assert report["pdfs_found"] == len(ARRETES)
    assert report["failed"] == 1 and report["processed"] == len(ARRETES) - 1
    assert any("expected a PDF, got an HTML page" in e and "2026_01252" in e for e in report["errors"])
    flagged = {f["link"].split("#", 1)[0] for f in report["flagged"]}
    assert REAL + broken not in flagged  # nothing read from the challenge page
    assert flagged == {REAL + p["path"] for p in ARRETES if p["categories"] and p["path"] != broken}
    status = json.loads(invoke_cli("status", "--json", env=cli_env).stdout)
    assert next(s for s in status if s["source_id"] == "pp")["failed"] == 1


# -- politeness, as for every family (tests/test_families.py) ------------------------------------
@pytest.mark.parametrize("status", [429, 503])
def test_429_and_503_are_retried_then_succeed(pp_site, status):
    arretes = EXPECTED["arretes"]
    pp_site.inject(arretes, status, times=2, headers={"Retry-After": "0"})
    source = _source(pp_site.base_url)
    fetcher = Fetcher(
        source_id="pp", allowed_hosts=source.hosts, delay=0, backoff=0.01, throttle=HostThrottle()
    )
    with fetcher:
        found = engine_for(source).discover(source, fetcher)
    assert found.errors == []
    assert {unquote(link.url.removeprefix(pp_site.base_url)) for link in found.links} == {
        p["path"] for p in EXPECTED["pdfs"]
    }
    assert [r.status for r in pp_site.requests if r.path == arretes] == [status, status, 200]


def test_a_second_scan_sends_conditional_requests_and_downloads_no_pdf(pp_site, cli_env):
    args = ("scan", "pp", "--base-url", pp_site.base_url, "--dry-run", "--json")
    first = json.loads(invoke_cli(*args, env=cli_env).stdout)["sources"][0]
    assert first["pdfs_new"] == len(ARRETES) and first["failed"] == 0
    seen = len(pp_site.requests)
    again = json.loads(invoke_cli(*args, env=cli_env).stdout)["sources"][0]
    assert again["pdfs_found"] == len(ARRETES) and again["pdfs_new"] == 0
    second = [r for r in pp_site.requests[seen:] if r.path != "/robots.txt"]
    assert second and not any(r.path.endswith(".pdf") for r in second)
    assert all(r.status == 304 and r.headers.get("If-None-Match") for r in second)
