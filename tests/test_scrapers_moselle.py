"""The Préfecture de la Moselle on mc.moselle.gouv.fr (DIMS): its session, its rows, its decrees.

The family tests (tests/test_families.py, "dims") cover what every family must do; here, what is
particular to this site: the session cookie, the expired-session page, the acts it flags."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest

from attrap.crawl.sources import registry
from fixtures.make_moselle_fixture import COOKIE, LIST, SITE, DimsFixtureServer
from tests.conftest import discover, invoke_cli

EXPECTED = json.loads((SITE / "EXPECTED.json").read_text(encoding="utf-8"))


@pytest.fixture
def site() -> Iterator[DimsFixtureServer]:
    with DimsFixtureServer() as server:
        yield server


def _crawl(site: DimsFixtureServer, urls: tuple[str, ...] | None = None):
    source = registry()["pref57"].rebased(site.base_url)
    if urls is not None:
        source = replace(source, urls=tuple(site.base_url + u for u in urls))
    return discover(source)


def test_the_session_is_opened_first_and_its_cookie_sent_with_the_list(site):
    crawl = _crawl(site)
    assert crawl.errors == [] and len(crawl.links) == len(EXPECTED["recueils"])
    gets = [r for r in site.requests if r.path != "/robots.txt"]
    assert gets[0].path == "/raa.html" and gets[1].path == LIST
    assert all(COOKIE in r.headers.get("Cookie", "") for r in gets[1:])


def test_without_the_session_the_list_is_an_error_not_an_empty_success(site):
    crawl = _crawl(site, urls=(LIST,))  # a source that forgot the page opening the session
    assert crawl.links == [] and crawl.pages_visited == []
    assert len(crawl.errors) == 1 and "no act in the list" in crawl.errors[0]


def test_titles_come_from_the_hidden_rows_and_dates_from_their_column(site):
    links = {link.url.removeprefix(site.base_url): link for link in _crawl(site).links}
    drone = next(r for r in EXPECTED["recueils"] if r["categories"] == ["drone"])
    assert links[drone["path"]].title.startswith("Arrêté n° 2026-DPPS-0412 autorisant la captation")
    assert str(links[drone["path"]].published) == drone["published"] == "2026-11-18"


def test_a_scan_flags_the_moselle_drone_authorisations_only(site, cli_env):
    args = ("scan", "pref57", "--base-url", site.base_url, "--dry-run", "--json")
    report = json.loads(invoke_cli(*args, env=cli_env).stdout)["sources"][0]
    assert report["outcome"] == "ok" and report["failed"] == 0
    flagged = {f["link"].split("docid=")[1].split("#")[0]: f["categories"] for f in report["flagged"]}
    want = {r["path"].split("docid=")[1]: r["categories"] for r in EXPECTED["recueils"] if r["categories"]}
    assert flagged == want  # the flight ban and the CCTV commission are not flagged
    # links point at the real host, not the mirror
    assert all(f["link"].startswith("https://mc.moselle.gouv.fr/index.php?") for f in report["flagged"])
