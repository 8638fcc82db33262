"""The crawl on pages saved from the live prefecture sites (fixtures/real/, August 2026): every
download link a person sees is found, from the source file's own URL; a moved RAA page heals
and is reported; unrelated sections are not followed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from attrap.crawl.discover import engine_for
from attrap.crawl.fetch import Fetcher
from attrap.crawl.sources import registry
from attrap.fixtureserver import RecordedSite
from tests import realsites
from tests.conftest import invoke_cli

SITES = realsites.fixtures()
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "prefecture-sites.md"


def test_the_real_fixtures_cover_every_family_of_departmental_site():
    families = {registry()[realsites.manifest(s)["source"]].family for s in SITES}
    assert len(SITES) >= 90
    assert {"dsfr-cards", "dsfr-select", "dsfr-specific", "prefectures-regions", "dims"} <= families


@pytest.mark.parametrize("site", SITES, ids=[s.name for s in SITES])
def test_every_download_link_on_the_real_pages_is_found_from_the_source_file(site):
    source = registry()[site.name]
    start = None
    if not any(realsites.served(site, u) for u in source.urls):
        # the capture began below the source's page (a year page): the source's URL is its parent
        entry = realsites.entry(site)
        assert any(entry.lower().startswith(u.rstrip("/").lower() + "/") for u in source.urls), (
            f"{source.id}: its URL {source.urls} is not the page the site served ({entry})"
        )
        start = entry
    r = realsites.crawl(site, start=start)
    assert r.expected, "an oracle with no download link tests nothing"
    assert r.missed == set() and r.extra == set(), (sorted(r.missed), sorted(r.extra))


def test_every_source_carries_the_raa_page_its_site_served_in_august_2026():
    if not REFERENCE.exists():
        pytest.skip("../shared/reference/prefecture-sites.md is not here")
    text = REFERENCE.read_text(encoding="utf-8")
    table = text[text.index("### RAA entry pages as a public crawler") :]
    import regex

    stale = []
    for m in regex.finditer(r"^\| (\w{2,3}) \| (https://\S+) \|", table, flags=regex.M):
        source = registry().get(f"pref{m[1].lower()}")
        if source is None:
            stale.append(f"pref{m[1].lower()}: no source")
            continue
        opened = m[2].rstrip("/").lower()
        ok = any(opened == u.rstrip("/").lower() or opened.startswith(u.rstrip("/").lower() + "/")
                 for u in source.urls)  # fmt: skip
        site = realsites.REAL / source.id
        if not ok and site.exists():  # or a page below it that the capture holds
            ok = any(realsites.served(site, u) for u in source.urls)
        if not ok:
            stale.append(f"{source.id}: {source.urls[0]} (the site served {m[2]})")
    assert stale == []


def _moved_copy(tmp_path: Path, site: str, links_to: str) -> Path:
    """A copy of a real fixture whose site also has a Publications page linking to the RAA page
    (as every DSFR prefecture site's menu does)."""
    copy = tmp_path / site
    shutil.copytree(realsites.REAL / site, copy)
    m = realsites.manifest(copy)
    host = links_to.split("/Publications", 1)[0]
    (copy / "publications.html").write_text(
        '<!DOCTYPE html><html lang="fr"><head><title>Publications</title></head><body><main>'
        '<h1>Publications</h1><ul><li><a href="/Publications/Enquetes-publiques">Enquêtes publiques</a></li>'
        f'<li><a class="fr-card__link" href="{urlsplit(links_to).path}">Recueils des actes administratifs</a></li>'
        "</ul></main></body></html>",
        encoding="utf-8",
    )
    m["pages"].append({"url": f"{host}/Publications", "file": "publications.html"})
    (copy / "manifest.json").write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")
    return copy


def test_a_raa_page_that_moved_is_found_on_the_site_and_reported(tmp_path):
    # Seine-et-Marne's 2025 URL answers 404 since the site renamed its RAA page
    new = "https://www.seine-et-marne.gouv.fr/Publications/Recueils-des-actes-administratifs-RAA"
    old = "https://www.seine-et-marne.gouv.fr/Publications/RECUEILS-DES-ACTES-ADMINISTRATIFS-RAA-2025"
    site = _moved_copy(tmp_path, "pref77", new)
    r = realsites.crawl(site, start=old)
    assert r.missed == set() and r.extra == set()
    assert [(r.source.public_url(a), r.source.public_url(b)) for a, b in r.crawl.moved] == [(old, new)]


def test_a_raa_page_redirected_elsewhere_on_its_site_is_followed_and_reported(tmp_path):
    new = "https://www.seine-et-marne.gouv.fr/Publications/Recueils-des-actes-administratifs-RAA"
    old = "https://www.seine-et-marne.gouv.fr/Publications/RAA"
    site = tmp_path / "pref77"
    shutil.copytree(realsites.REAL / "pref77", site)
    m = realsites.manifest(site)
    m["pages"].append({"url": old, "status": 301, "location": new})
    (site / "manifest.json").write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")
    r = realsites.crawl(site, start=old)
    assert r.missed == set() and r.extra == set()
    assert [(r.source.public_url(a), r.source.public_url(b)) for a, b in r.crawl.moved] == [(old, new)]


def test_a_raa_page_gone_with_no_link_to_it_is_the_sources_error():
    r = realsites.crawl(
        realsites.REAL / "pref77", start="https://www.seine-et-marne.gouv.fr/Publications/RAA"
    )
    assert r.found == set() and r.crawl.root_failed
    assert "the RAA page is gone (HTTP 404)" in r.crawl.errors[-1]


def test_sources_check_says_what_answers_what_moved_and_how_many_raa(tmp_path, cli_env):
    site = _moved_copy(
        tmp_path,
        "pref77",
        "https://www.seine-et-marne.gouv.fr/Publications/Recueils-des-actes-administratifs-RAA",
    )
    with RecordedSite(site) as server:
        ok = invoke_cli("sources", "--check", "pref77", "--base-url", server.base_url, env=cli_env)
        assert "pref77" in ok.stdout and "ok" in ok.stdout and "(3 RAA" in ok.stdout
        # another source on this mirror: its page is not there, the site's menu leads to pref77's
        moved = invoke_cli(
            "sources", "--check", "pref93", "--json", "--base-url", server.base_url, env=cli_env
        )
        (row,) = json.loads(moved.stdout)
        assert row["state"] == "moved" and row["raa"] == 3
        assert (
            row["moved_to"]
            == "https://www.seine-saint-denis.gouv.fr/Publications/Recueils-des-actes-administratifs-RAA"
        )
    with RecordedSite(realsites.REAL / "pref93") as server:
        failed = invoke_cli(
            "sources", "--check", "pref77", "--base-url", server.base_url, env=cli_env, check=False
        )
        assert failed.returncode == 1 and "ERROR" in failed.stdout and "the RAA page is gone" in failed.stdout


def test_links_to_other_sections_and_other_sources_are_not_followed(fixture_site):
    root = "/Publications/RAA-et-Archives"
    page = (fixture_site.root / root.lstrip("/") / "index.html").read_text(encoding="utf-8")
    decoys = {
        "/Actualites/Communiques-de-presse-2026": "Communiqués de presse 2026",
        "/Publications/Enquetes-publiques/Enquetes-publiques-2026": "Enquêtes publiques 2026",
        "/Publications/RAA-et-Archives/Recueil-des-actes-administratifs-regionaux-2026": "Recueil des actes administratifs régionaux 2026",
        "/Publications": "Publications",
        "/Agenda/Aout-2026": "Agenda d'août 2026",
    }
    links = "".join(
        f'<div class="fr-card"><h3 class="fr-card__title"><a href="{h}">{t}</a></h3></div>'
        for h, t in decoys.items()
    )
    fixture_site.replace(
        root, page.replace("</main>", links + "</main>").encode(), "text/html; charset=utf-8"
    )
    source = registry()["pref13"].rebased(fixture_site.base_url)
    with Fetcher(
        source_id="pref13", allowed_hosts=source.hosts, user_agent="attrap-test", delay=0
    ) as fetcher:
        crawl = engine_for(source).discover(source, fetcher)
    asked = {r.path for r in fixture_site.requests}
    assert len(crawl.links) == 7
    assert asked.isdisjoint(decoys), sorted(asked & set(decoys))
