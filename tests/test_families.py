"""Each site family against its fixture site: what is found, faults, --since, an anti-bot page.

A family is a kind of prefecture site (attrap.crawl.sources.FAMILIES); each has a generated fixture
site with its oracle, EXPECTED.json. The same tests run on every family.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import unquote

import pytest

from attrap.crawl.discover import Crawl, DsfrEngine
from attrap.crawl.fetch import Fetcher, HostThrottle, ValidatorStore
from attrap.crawl.sources import Source, registry
from attrap.fixtureserver import FixtureServer
from fixtures.make_moselle_fixture import LIST, PRIMER, DimsFixtureServer
from fixtures.make_select_fixture import FormFixtureServer
from tests.conftest import SITES, discover, invoke_cli


@dataclass(frozen=True)
class Family:
    name: str
    source_id: str
    server: type[FixtureServer]
    #: a listing page deeper than the root, to inject faults on (as the server records it)
    deep_page: str
    #: a month before July 2026, which --since 2026-07-01 must not open
    old_month: str
    #: a page that opens a session, fetched in full each time for its cookie (never conditionally)
    session_page: str | None = None
    #: the fixture site's directory, when not the source's id (a site shared by several sources)
    site: str | None = None

    @property
    def expected(self) -> dict:
        return json.loads(
            (SITES / (self.site or self.source_id) / "EXPECTED.json").read_text(encoding="utf-8")
        )

    def serve(self) -> FixtureServer:
        return self.server(SITES / (self.site or self.source_id))


FAMILIES = [
    Family("dsfr-cards", "pref13", FixtureServer, "/Publications/RAA-et-Archives/RAA-2026/Octobre-2026",
           "/RAA-2026/Juin-2026"),
    Family("dsfr-select", "pref35", FormFixtureServer,
           "/Publications/Recueil-des-actes-administratifs/_form/RAA-2026", "/RAA-2026/_form/06"),
    Family("dsfr-specific", "pref16", FixtureServer,
           "/Publications/Recueil-des-actes-administratifs2/Recueil-des-actes-administratifs-2026",
           "recueil-16-2026-120", site="dsfr-specific"),
    Family("dims", "pref57", DimsFixtureServer, f"{LIST}&page=2", "page=3", session_page=PRIMER),
    Family("prefectures-regions", "reg-idf", FixtureServer,
           "/ile-de-france/Documents-publications/Recueil-des-actes-administratifs/RAA-de-la-region-Ile-de-France-2026/"
           "Octobre-2026", "Juin-2026"),
]  # fmt: skip


@pytest.fixture(params=FAMILIES, ids=lambda f: f.name)
def family(request: pytest.FixtureRequest) -> Family:
    return request.param


@pytest.fixture
def site(family: Family) -> Iterator[FixtureServer]:
    with family.serve() as server:
        yield server


def source_on(family: Family, server: FixtureServer) -> Source:
    return registry()[family.source_id].rebased(server.base_url)


def crawl(
    family: Family,
    server: FixtureServer,
    since: date | None = None,
    validators: ValidatorStore | None = None,
) -> Crawl:
    return discover(source_on(family, server), since=since, validators=validators, backoff=0.01)


def test_every_family_has_a_fixture_and_a_registered_source(family):
    source = registry()[family.source_id]
    assert source.family == family.name
    assert family.expected["source"] == family.source_id
    assert {f.name for f in FAMILIES} <= {s.family for s in registry().values()}


def test_exactly_the_expected_pdfs_are_found(family, site):
    found = crawl(family, site)
    assert found.errors == []
    links = {link.url.removeprefix(site.base_url): link for link in found.links}
    assert len(links) == len(found.links)  # no PDF twice
    want = family.expected["recueils"]
    assert set(links) == {r["path"] for r in want}
    for r in want:
        assert links[r["path"]].title == r["title"]
        assert links[r["path"]].published == date.fromisoformat(r["published"])
    requested = [unquote(r.path) for r in site.requests]
    assert not any(p.endswith(".pdf") for p in requested)  # discovery downloads nothing
    assert not any(p.startswith(("/Actualites", "/Demarches", "/Mentions")) for p in requested)
    assert all(r.status == 200 for r in site.requests)


@pytest.mark.parametrize("status", [429, 503])
def test_429_and_503_are_retried_then_succeed(family, site, status):
    root = family.expected["root"]
    for path in (root, family.deep_page):
        site.inject(path, status, times=2, headers={"Retry-After": "0"})
    found = crawl(family, site)
    assert found.errors == []
    assert {link.url.removeprefix(site.base_url) for link in found.links} == {
        r["path"] for r in family.expected["recueils"]
    }
    for path in (root, family.deep_page):
        assert [r.status for r in site.requests if r.path == path] == [status, status, 200]


def test_since_prunes_old_years_and_months_without_requesting_them(family, site):
    since = date(2026, 7, 1)
    found = crawl(family, site, since=since)
    assert found.errors == []
    assert sorted(link.published for link in found.links) == sorted(
        date.fromisoformat(r["published"])
        for r in family.expected["recueils"]
        if date.fromisoformat(r["published"]) >= since
    )
    requested = [unquote(r.path) for r in site.requests]
    assert not any(year in p for p in requested for year in ("2023", "2024", "2025"))
    assert not any(family.old_month in p for p in requested)


@pytest.mark.parametrize("family", [f for f in FAMILIES if f.name == "dsfr-select"], ids=lambda f: f.name)
def test_a_form_is_submitted_with_its_method_and_hidden_fields(family, site):
    crawl(family, site, since=date(2026, 10, 1))
    posts = [r for r in site.requests if r.method == "POST"]
    assert [unquote(r.path) for r in posts] == [f"{family.expected['root']}/_form/RAA-2026"]
    assert posts[0].headers["Content-Type"] == "application/x-www-form-urlencoded"
    gets = [unquote(r.path) for r in site.requests if r.method == "GET" and "/_form/" in r.path]
    assert gets == [f"{family.expected['root']}/RAA-2026/_form/10"]  # a GET form, by its query
    assert all(r.status == 200 for r in site.requests)  # hidden fields sent: no 404


def test_an_anti_bot_page_instead_of_a_pdf_is_the_sources_error_and_is_not_stored(family, site, cli_env):
    recueils = family.expected["recueils"]
    site.replace(
        recueils[0]["path"],
        b'<!DOCTYPE html><html><body><h1>Vous \xc3\xaates un robot ?</h1><div class="captcha"></div></body></html>',
        "text/html; charset=utf-8",
    )
    args = ("scan", family.source_id, "--base-url", site.base_url, "--dry-run", "--json")
    report = json.loads(invoke_cli(*args, env=cli_env).stdout)["sources"][0]
    assert report["source_id"] == family.source_id
    assert report["pdfs_found"] == len(recueils)
    assert report["failed"] == 1 and report["processed"] == len(recueils) - 1
    assert any("expected a PDF, got an HTML page" in e and recueils[0]["path"] in e for e in report["errors"])
    pdfs = Path(cli_env["ATTRAP_DATA_DIR"]) / "pdfs" / family.source_id
    assert len(list(pdfs.glob("*.pdf"))) == len(recueils) - 1 and not list(pdfs.glob("*.part"))
    status = json.loads(invoke_cli("status", "--json", env=cli_env).stdout)
    row = next(s for s in status if s["source_id"] == family.source_id)
    assert row["failed"] == 1 and row["recueils"] == len(recueils)


# -- select menus whose options are pages (no form to submit) --------------------------------
SELECT_PAGE = """<!DOCTYPE html><html lang="fr"><body><main>
<div class="fr-select-group"><label class="fr-label" for="Annees-liste-docs">Liste</label>
<select class="fr-select" id="Annees-liste-docs" name="Annees-liste-docs">
<option value="" selected disabled hidden>Liste</option>
<option value="Publications/RAA/Annee-2026" title="Année 2026">Année 2026</option>
<option value="Publications/RAA/Annee-2024" title="Année 2024">Année 2024</option>
</select></div>
<select class="fr-select" id="tri"><option value="date">Par date</option><option value="titre">Par titre</option></select>
</main></body></html>"""
YEAR_PAGE = """<!DOCTYPE html><html lang="fr"><body><main><ul><li>
<a class="fr-link fr-link--download" href="/contenu/telechargement/1/2/file/raa-{year}.pdf">Télécharger RAA n°1 du 3 mars {year}
<span class="fr-link__detail">PDF - 0,1 Mo - 03/03/{year}</span></a></li></ul></main></body></html>"""


def test_options_whose_values_are_paths_are_opened_as_pages(tmp_path):
    root = tmp_path / "site" / "Publications" / "RAA"
    root.mkdir(parents=True)
    (root / "index.html").write_text(SELECT_PAGE, encoding="utf-8")
    for year in (2026, 2024):
        (root / f"Annee-{year}").mkdir()
        (root / f"Annee-{year}" / "index.html").write_text(YEAR_PAGE.format(year=year), encoding="utf-8")
    with FixtureServer(tmp_path / "site") as server:
        host = server.base_url.split("//", 1)[1]
        source = Source(
            id="pref99", name="Test", urls=(f"{server.base_url}/Publications/RAA",), family="dsfr-select"
        )
        with Fetcher(source_id="pref99", allowed_hosts={host}, delay=0, throttle=HostThrottle()) as fetcher:
            found = DsfrEngine().discover(source, fetcher, since=date(2025, 1, 1))
    assert [link.url.removeprefix(server.base_url) for link in found.links] == [
        "/contenu/telechargement/1/2/file/raa-2026.pdf"
    ]
    requested = [(r.method, r.path) for r in server.requests if r.path != "/robots.txt"]
    assert requested == [("GET", "/Publications/RAA"), ("GET", "/Publications/RAA/Annee-2026")]
