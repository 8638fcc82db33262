"""Discovery on the DSFR fixture site, and every fixture recueil read against its oracle."""

from __future__ import annotations

import json
from datetime import date
from urllib.parse import unquote

import pytest

from attrap.crawl.discover import DsfrEngine
from attrap.crawl.fetch import Fetcher, HostThrottle
from attrap.crawl.sources import registry
from attrap.rules.classify import load_rules
from attrap.run.pipeline import read_and_classify
from tests.conftest import SITES

EXPECTED = json.loads((SITES / "pref13" / "EXPECTED.json").read_text(encoding="utf-8"))


def _crawl(server, since=None):
    source = registry()["pref13"].rebased(server.base_url)
    fetcher = Fetcher(source_id="pref13", allowed_hosts=source.hosts, delay=0, throttle=HostThrottle())
    with fetcher:
        return DsfrEngine().discover(source, fetcher, since=since)


def test_every_recueil_is_found_with_its_title_and_date(fixture_site):
    crawl = _crawl(fixture_site)
    found = {link.url.removeprefix(fixture_site.base_url): link for link in crawl.links}
    assert set(found) == {r["path"] for r in EXPECTED["recueils"]}
    for r in EXPECTED["recueils"]:
        link = found[r["path"]]
        assert link.title == r["title"]
        assert link.published == date.fromisoformat(r["published"])
    assert crawl.errors == []
    # the pager's second page was followed, the site's menus and footer were not
    visited = [unquote(u.removeprefix(fixture_site.base_url)) for u in crawl.pages_visited]
    assert "/Publications/RAA-et-Archives/RAA-2026/(offset)/10" in visited
    assert not any(p.startswith(("/Actualites", "/Demarches", "/Mentions")) for p in visited)
    assert len(visited) == len(set(visited))


def test_since_does_not_open_older_years_or_months(fixture_site):
    crawl = _crawl(fixture_site, since=date(2026, 7, 1))
    assert sorted(link.published for link in crawl.links) == [
        date(2026, 7, 10), date(2026, 9, 3), date(2026, 10, 14), date(2026, 10, 20),
    ]  # fmt: skip
    requested = [unquote(r.path) for r in fixture_site.requests]
    assert not any("RAA-2025" in p or "RAA-2024" in p or "RAA-2023" in p for p in requested)
    assert not any(p.endswith(("/Juin-2026", "/Janvier-2026")) for p in requested)


@pytest.mark.parametrize("recueil", EXPECTED["recueils"], ids=lambda r: r["path"].rsplit("/", 1)[-1][:24])
def test_fixture_recueil_is_split_and_classified_as_the_oracle_says(recueil):
    path = SITES / "pref13" / unquote(recueil["path"]).lstrip("/")
    decrees = read_and_classify(path, load_rules())
    got = [
        (d.decree.first_page, d.decree.last_page, d.decree.number, d.decree.signed_on, d.categories)
        for d in decrees
    ]
    want = [
        (d["first_page"], d["last_page"], d["id"], date.fromisoformat(d["signed_on"]), d["categories"])
        for d in recueil["decrees"]
    ]
    assert got == want
    assert [d.decree.title for d in decrees] == [d["title"] for d in recueil["decrees"]]
