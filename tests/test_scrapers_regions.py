"""The regional prefectures, Paris, Moselle and the Préfecture de police: their source files; the
prefectures-regions.gouv.fr family on its fixture site."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import unquote, urlsplit

import pytest

from attrap.crawl.discover import Crawl, DsfrEngine
from attrap.crawl.fetch import Fetcher, HostThrottle
from attrap.crawl.sources import Source, load_sources, registry
from attrap.fixtureserver import FixtureServer
from attrap.rules.classify import load_rules
from attrap.run.pipeline import read_and_classify
from tests.conftest import ROOT, SITES, discover, invoke_cli

NEW = [
    "pp", "pref57", "pref75", "reg-ara", "reg-bfc", "reg-bretagne", "reg-corse", "reg-grand-est",
    "reg-hdf", "reg-idf", "reg-na", "reg-normandie", "reg-occitanie", "reg-paca", "reg-pdl",
]  # fmt: skip


@pytest.mark.parametrize("sid", NEW)
def test_each_new_source_loads_with_gouv_fr_hosts(sid):
    src = registry()[sid]
    assert src.hosts and all(h.endswith(".gouv.fr") for h in src.hosts)
    assert all(urlsplit(u).scheme == "https" for u in src.urls)
    # a source says where its URL was seen, in a comment
    assert "Seen" in (ROOT / "scrapers" / f"{sid}.toml").read_text(encoding="utf-8")


def test_ids_are_unique_across_every_source_file():
    files = sorted((ROOT / "scrapers").glob("*.toml"))
    assert len(load_sources(ROOT / "scrapers")) == len(files)


def test_paris_and_moselle_now_have_a_departmental_source():
    deps = {s.department for s in registry().values()}
    assert {"57", "75"} <= deps


def test_attrap_sources_lists_them(cli_env):
    out = json.loads(invoke_cli("sources", "--json", env=cli_env).stdout)
    listed = {s["id"]: s for s in out}
    assert set(NEW) <= set(listed)
    assert listed["pp"]["urls"] == [
        "https://www.prefecturedepolice.interieur.gouv.fr/actualites-et-presse/arretes/accueil-arretes"
    ]


# -- the prefectures-regions.gouv.fr family on its fixture site (fixtures/sites/reg-idf) --------------
SITE = SITES / "reg-idf"
EXPECTED = json.loads((SITE / "EXPECTED.json").read_text(encoding="utf-8"))
THEME = sorted(s.id for s in registry().values() if s.family == "prefectures-regions")


@pytest.fixture
def idf_site() -> Iterator[FixtureServer]:
    with FixtureServer(SITE) as server:
        yield server


def _found(crawl: Crawl, server: FixtureServer) -> dict[str, tuple[str, str]]:
    return {link.url.removeprefix(server.base_url): (link.title, str(link.published)) for link in crawl.links}


def _oracle(recueils: list[dict]) -> dict[str, tuple[str, str]]:
    return {r["path"]: (r["title"], r["published"]) for r in recueils}


def test_every_regional_source_but_corse_and_paris_is_of_the_family():
    assert THEME == sorted({*(sid for sid in NEW if sid.startswith("reg-")), "pref75"} - {"reg-corse"})
    assert all(registry()[sid].engine == "prefectures_regions" for sid in THEME)


def test_paris_shares_the_tag_view_and_follows_only_its_own_years(idf_site):
    crawl = discover(registry()["pref75"].rebased(idf_site.base_url))
    assert crawl.errors == [] and _found(crawl, idf_site) == _oracle(EXPECTED["pref75"])
    visited = [unquote(u) for u in crawl.pages_visited]
    assert not any("Ile-de-France-20" in v for v in visited)  # no regional year page opened


@pytest.mark.parametrize("sid", THEME)
def test_each_source_of_the_family_walks_the_theme(idf_site, sid):
    """Each source's settings on the fixture's pages, as bench/crawl.py crawls them: no error, and
    a listing filter (Paris's, PACA's) keeps what it is meant to keep."""
    root = registry()["reg-idf"].rebased(idf_site.base_url).urls
    crawl = discover(replace(registry()[sid].rebased(idf_site.base_url), urls=root))
    found = set(_found(crawl, idf_site))
    paris, region = ({r["path"] for r in EXPECTED[k]} for k in ("pref75", "recueils"))
    assert crawl.errors == [] and (found == paris if sid == "pref75" else region <= found <= region | paris)


def test_side_column_pdfs_and_other_regions_are_left_out(idf_site):
    crawl = discover(registry()["reg-idf"].rebased(idf_site.base_url))
    assert not any("guide-des-demarches" in link.url for link in crawl.links)
    assert all(
        unquote(u).removeprefix(idf_site.base_url).startswith("/ile-de-france/") for u in crawl.pages_visited
    )


def test_the_interstitial_in_front_of_the_listing_is_the_sources_error(idf_site, cli_env):
    idf_site.replace(EXPECTED["root"], (SITE / "INTERSTITIAL.html").read_bytes(), "text/html; charset=utf-8")
    args = ("scan", "reg-idf", "--base-url", idf_site.base_url, "--dry-run", "--json")
    proc = invoke_cli(*args, env=cli_env, check=False)
    (report,) = json.loads(proc.stdout)["sources"]
    assert proc.returncode == 1 and report["outcome"] == "error" and report["pdfs_found"] == 0
    assert any(
        "anti-bot page instead of the listing" in e and EXPECTED["root"] in unquote(e)
        for e in report["errors"]
    )
    status = json.loads(invoke_cli("status", "--json", env=cli_env).stdout)
    row = next(s for s in status if s["source_id"] == "reg-idf")
    assert row["last_outcome"] == "error" and "anti-bot" in row["last_error"]


def test_an_interstitial_on_a_deeper_page_is_reported_and_the_rest_still_found(idf_site):
    month = EXPECTED["recueils"][0]["path"]  # its month page: the page listing the first recueil
    crawl = discover(registry()["reg-idf"].rebased(idf_site.base_url))
    page = next(link.found_on for link in crawl.links if link.url.endswith(month))
    idf_site.replace(
        urlsplit(page).path, (SITE / "INTERSTITIAL.html").read_bytes(), "text/html; charset=utf-8"
    )
    again = discover(registry()["reg-idf"].rebased(idf_site.base_url))
    assert len(again.errors) == 1 and "no <main>" in again.errors[0]
    assert 0 < len(again.links) < len(crawl.links)


def test_a_challenge_page_is_an_error_for_the_generic_engine_too(idf_site):
    """Cloudflare's "Just a moment..." has a role=main: its title gives it away."""
    page = b'<html><head><title>Just a moment...</title></head><body><div role="main">...</div></body></html>'
    idf_site.replace("/RAA", page, "text/html")
    host = idf_site.base_url.split("//", 1)[1]
    source = Source(id="pref99", name="Test", urls=(f"{idf_site.base_url}/RAA",))
    with Fetcher(source_id="pref99", allowed_hosts={host}, delay=0, throttle=HostThrottle()) as fetcher:
        crawl = DsfrEngine().discover(source, fetcher)
    assert crawl.links == [] and crawl.pages_visited == []
    assert crawl.errors == [
        f"an anti-bot page instead of the listing (it says 'just a moment') [pref99 {idf_site.base_url}/RAA]"
    ]


@pytest.mark.parametrize(
    "pdf", EXPECTED["recueils"] + EXPECTED["pref75"], ids=lambda p: p["path"].rsplit("/", 1)[-1][:30]
)
def test_fixture_pdf_is_classified_as_the_oracle_says(pdf):
    decrees = read_and_classify(SITE / unquote(pdf["path"]).lstrip("/"), load_rules())
    assert sorted({c for d in decrees for c in d.categories}) == pdf["categories"]
