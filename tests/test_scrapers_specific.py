"""The "dsfr-specific" family: DSFR sites arranged their own way, each walked by the generic
engine with the settings of its source file (fixtures/sites/dsfr-specific reproduces three).

The family tests (tests/test_families.py) run on the Charente; here, each site's quirk."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from urllib.parse import unquote

import pytest

from attrap.crawl.discover import Crawl
from attrap.crawl.sources import registry
from attrap.fixtureserver import FixtureServer
from tests.conftest import SITES, discover, invoke_cli

SITE = SITES / "dsfr-specific"
EXPECTED = json.loads((SITE / "EXPECTED.json").read_text(encoding="utf-8"))["sources"]


@pytest.fixture
def site() -> Iterator[FixtureServer]:
    with FixtureServer(SITE) as server:
        yield server


def _crawl(site: FixtureServer, sid: str, since: date | None = None) -> Crawl:
    return discover(registry()[sid].rebased(site.base_url), since=since)


@pytest.mark.parametrize("sid", sorted(EXPECTED))
def test_each_site_gives_exactly_its_recueils_named_and_dated(site, sid):
    crawl = _crawl(site, sid)
    found = {link.url.removeprefix(site.base_url): (link.title, str(link.published)) for link in crawl.links}
    assert crawl.errors == []
    assert found == {r["path"]: (r["title"], r["published"]) for r in EXPECTED[sid]["recueils"]}
    assert registry()[sid].family == "dsfr-specific"


def test_charente_year_page_items_are_detail_pages_holding_the_download(site):
    crawl = _crawl(site, "pref16")
    details = [unquote(p) for p in crawl.pages_visited if "/Media/Files/Publications/" in p]
    assert len(details) == len(EXPECTED["pref16"]["recueils"])
    assert all(link.found_on and "/Media/Files/Publications/" in link.found_on for link in crawl.links)


def test_gers_rows_name_and_date_a_link_that_says_only_download(site):
    crawl = _crawl(site, "pref32")
    assert all(not link.title.lower().startswith(("télécharger", "le document")) for link in crawl.links)
    assert any("-20232" in unquote(p) for p in crawl.pages_visited)  # the site's typo, followed


def test_belfort_plain_year_links_even_the_mislabelled_one(site):
    crawl = _crawl(site, "pref90")
    assert any(p.endswith("/Annee-2022") for p in crawl.pages_visited)  # reached by "Année 2021"
    recent = _crawl(site, "pref90", since=date(2026, 1, 1))
    assert sorted(str(link.published) for link in recent.links) == ["2026-08-21", "2026-10-02"]
    requested = [r.path for r in site.requests]
    # with --since, the page labelled "Année 2021" is not opened again: it was opened by the first crawl only
    assert requested.count("/Publications/Le-recueil-des-actes-administratifs/Annee-2022") == 1


@pytest.mark.parametrize("sid", ["pref16", "pref90"])
def test_a_scan_flags_the_drone_authorisation(site, cli_env, sid):
    args = ("scan", sid, "--base-url", site.base_url, "--dry-run", "--json")
    report = json.loads(invoke_cli(*args, env=cli_env).stdout)["sources"][0]
    assert report["outcome"] == "ok" and report["failed"] == 0
    want = [r for r in EXPECTED[sid]["recueils"] if r["categories"]]
    assert [f["categories"] for f in report["flagged"]] == [r["categories"] for r in want]
    host = registry()[sid].urls[0].split("/Publications", 1)[0]
    assert all(f["link"].startswith(host + want[0]["path"]) for f in report["flagged"])
