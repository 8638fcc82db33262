"""End to end, in a real headless browser (Debian's chromium driven by Playwright), JavaScript off:
the home page over a store filled from the fixture site, a search for a drone decree, its page."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import invoke_cli, serving
from tests.test_export import oracle

#: Debian's chromium (apt-get install chromium; `make test` installs it); Playwright drives it
#: as is, so no browser download is needed
CHROMIUM = next(
    (p for p in ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or "")
     if p and Path(p).is_file()),
    None,
)  # fmt: skip
NUMBER = "13-2026-10-14-00003"


@pytest.fixture
def browser():
    if CHROMIUM is None:
        # `make test` installs chromium and sets ATTRAP_REQUIRE_BROWSER: there, a missing
        # browser fails the suite instead of skipping the test
        if os.environ.get("ATTRAP_REQUIRE_BROWSER"):
            pytest.fail("no chromium although ATTRAP_REQUIRE_BROWSER is set")
        pytest.skip("no chromium: apt-get install chromium (make test installs it)")
    from playwright.sync_api import sync_playwright  # the test extra's; chromium is Debian's

    with sync_playwright() as p:
        # the browser's own background calls (updates, Google sign-in) go to a closed port, not
        # to the recorder of requests to the web (tests/conftest.py): they are not the test's
        quiet = [
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1;localhost",
        ]  # fmt: skip
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=quiet)
        try:
            yield b
        finally:
            b.close()


def _open(browser):
    """A French browser page, JavaScript off, recording what it requests and what it complains
    of (a resource refused by the Content-Security-Policy, a 404)."""
    context = browser.new_context(
        java_script_enabled=False, locale="fr-FR", viewport={"width": 1200, "height": 900}
    )
    page = context.new_page()
    requested: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    return context, page, requested, problems


def test_search_a_drone_decree_and_open_its_page(browser, filled, tmp_path):
    # filled: a store filled by a dry-run scan of the fixture site (tests/conftest.py)
    link = next(url for url, d in oracle("drone").items() if d["id"] == NUMBER)
    with serving(filled) as base:
        context, page, requested, problems = _open(browser)

        page.goto(base + "/")
        assert page.title() == "Arrêtés signalés — attrap"
        assert page.locator("li.decree").count() == len(oracle())
        # the local style sheet is applied (no style from anywhere else)
        assert page.locator("a.brand").evaluate("e => getComputedStyle(e).fontWeight") == "700"
        page.screenshot(path=str(tmp_path / "home.png"), full_page=True)

        page.get_by_label("Rechercher").fill("vélodrome")
        page.get_by_label("Catégorie").select_option("drone")
        page.get_by_role("button", name="Rechercher").click()
        page.wait_for_url("**/?q=*")
        results = page.locator("li.decree")
        assert results.count() == 1 and NUMBER in results.first.inner_text()
        assert "1 arrêté signalé pour « vélodrome »" in page.locator(".summary").inner_text()

        results.first.locator("h2 a").click()
        page.wait_for_url("**/decret/*")
        assert NUMBER in page.locator("h1").inner_text()
        facts = dict(
            zip(
                page.locator("dl.facts dt").all_inner_texts(),
                page.locator("dl.facts dd").all_inner_texts(),
                strict=True,
            )
        )
        assert facts["Numéro"] == NUMBER and facts["Signé le"] == "14 octobre 2026"
        assert facts["Période autorisée"] == "du 15 octobre 2026 à 18h00 au 16 octobre 2026 à 02h00"
        assert "stade Orange Vélodrome" in facts["Lieu"] and facts["Nombre d'aéronefs"] == "2"
        assert facts["Catégorie"] == "Drones (caméras aéroportées)" and "L. 242-1" in facts["Base légale"]
        assert facts["Préfecture"] == "Préfecture des Bouches-du-Rhône"
        assert page.locator("dd mark").first.inner_text() == "Vélodrome"  # the search, marked
        assert page.locator("blockquote.excerpt mark").count() >= 2  # what the rules matched
        pdf = page.locator("a#pdf")
        assert pdf.get_attribute("href") == link and link.endswith("#page=5")
        assert "page 5 à 6" in pdf.inner_text()
        page.screenshot(path=str(tmp_path / "decree.png"), full_page=True)
        context.close()

    assert all(url.startswith(base + "/") for url in requested), requested  # nothing from elsewhere
    assert not problems, problems  # no resource refused by the Content-Security-Policy, no 404
    for name in ("home.png", "decree.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_map_leads_to_a_decree_and_its_abrogation(browser, cli_env, fixture_site, tmp_path):
    """/carte in the browser: the Bouches-du-Rhône's shape leads to its decrees; the drone
    decree's page says it was abrogated, and links to the abrogation's page, which links back."""
    from tests.pdfgen import make_pdf
    from tests.test_life import ABROGATION, _oracle

    later = _oracle()["recueils"][1]["path"]
    pdf = make_pdf(
        tmp_path / "abrogation.pdf", ["RECUEIL DES ACTES ADMINISTRATIFS N°13-2026-247", ABROGATION]
    )
    fixture_site.replace(later, pdf.read_bytes(), "application/pdf")
    invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, "--dry-run", env=cli_env)
    with serving(cli_env) as base:
        context, page, requested, problems = _open(browser)

        page.goto(base + "/")
        page.get_by_role("link", name="Carte", exact=True).click()
        page.wait_for_url("**/carte")
        svg = page.locator("svg.carte")
        assert svg.is_visible() and svg.bounding_box()["width"] > 600  # the map scales to the page
        page.screenshot(path=str(tmp_path / "carte.png"), full_page=True)
        shape = page.locator('svg.carte a[data-code="13"]:not([aria-hidden])')
        assert "arrêtés signalés" in shape.locator("title").text_content()
        # the shape's centre may fall outside the coast's outline: the link is activated as such
        shape.dispatch_event("click")
        page.wait_for_url("**/?department=13")
        assert page.locator("li.decree").count() >= 1

        page.get_by_label("Rechercher").fill(NUMBER)
        page.get_by_role("button", name="Rechercher").click()
        page.wait_for_url("**/?q=*")
        # the search finds the authorisation and the abrogation that cites it
        assert page.locator("li.decree").count() == 2
        page.locator("li.decree h2 a").filter(has_not_text="abrogation").click()
        page.wait_for_url("**/decret/*")
        assert NUMBER in page.locator("h1").inner_text()
        life = page.locator("#vie")
        assert "Abrogé par l'arrêté n° 13-2026-10-16-00010 du 16 octobre 2026" in life.inner_text()
        page.screenshot(path=str(tmp_path / "abroge.png"), full_page=True)
        life.get_by_role("link", name="l'arrêté n° 13-2026-10-16-00010 du 16 octobre 2026").click()
        page.wait_for_url("**/decret/*")
        assert "portant abrogation" in page.locator("h1").inner_text()
        assert (
            page.locator("#vie").get_by_role("link", name=f"l'arrêté n° {NUMBER} du 14 octobre 2026").count()
            == 1
        )
        context.close()

    assert all(url.startswith(base + "/") for url in requested), requested
    assert not problems, problems
    for name in ("carte.png", "abroge.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
