"""Self-monitoring: a broken scraper is noticed by attrap itself, said in one line."""

from __future__ import annotations

import functools
import json
import urllib.parse
from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from attrap.config import Settings
from attrap.crawl.sources import registry
from attrap.run.health import assess
from attrap.run.pipeline import Attrap
from tests.conftest import invoke_cli

ROOT = "/Publications/RAA-et-Archives"


@pytest.fixture
def app(tmp_path, db_url):
    settings = Settings(data_dir=tmp_path / "data", database_url=db_url, request_delay=0)
    app = Attrap(settings)
    yield app
    app.close()


@pytest.fixture
def quick_retries(monkeypatch):
    """In this process, the fetcher retries a failing page as many times, without the 2, 4 then
    8 s it waits in between (14 s per page that keeps failing, for every scan)."""
    from attrap.crawl import fetch

    init = fetch.Fetcher.__init__

    @functools.wraps(init)
    def quick(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.backoff = 0.001

    monkeypatch.setattr(fetch.Fetcher, "__init__", quick)


def _status(app):
    (row,) = app.status(["pref13"])
    return row


def test_a_working_source_is_healthy(app, fixture_site):
    app.scan(registry()["pref13"].rebased(fixture_site.base_url))
    row = _status(app)
    assert row.healthy and row.health is None and row.recueils == 7


def test_a_redesign_where_selectors_match_nothing_is_reported(app, fixture_site):
    fixture_site.replace(
        ROOT, b"<html><body><main><div class='new-widget'>RAA</div></main></body></html>", "text/html"
    )
    report = app.scan(registry()["pref13"].rebased(fixture_site.base_url))
    assert report.outcome == "ok"  # no error was raised: only self-monitoring can tell
    row = _status(app)
    assert not row.healthy and "selectors matched nothing" in row.health


def test_no_raa_where_there_usually_are_some_is_reported(app, fixture_site):
    source = registry()["pref13"].rebased(fixture_site.base_url)
    app.scan(source)
    empty = b"<html><body><main><p>Aucun recueil.</p></main></body></html>"
    for year in ("RAA-2026", "RAA-2025", "Archives-RAA-des-Bouches-du-Rhone"):
        fixture_site.replace(f"{ROOT}/{year}", empty, "text/html")
    app.scan(source)
    row = _status(app)
    assert not row.healthy and row.health == "found no RAA where it usually finds 7"


def test_a_failed_sweep_is_unhealthy_and_repeated_failures_say_so(app, fixture_site, quick_retries):
    source = registry()["pref13"].rebased(fixture_site.base_url)
    fixture_site.inject(ROOT, 503, times=1000)
    app.scan(source)
    row = _status(app)
    assert row.state == "unhealthy" and row.health.startswith("last sweep failed: HTTP 503")
    app.scan(source)
    app.scan(source)
    row = _status(app)
    assert row.state == "unhealthy" and row.health.startswith("failed 3 times in a row; last: HTTP 503")


def test_a_first_sweep_whose_listing_holds_no_download_link_is_unhealthy(app, fixture_site):
    cards = "".join(
        f'<div class="fr-card"><h3 class="fr-card__title"><a href="{ROOT}/RAA-{y}">RAA {y}</a></h3></div>'
        for y in (2026, 2025)
    )
    fixture_site.replace(ROOT, f"<html><body><main>{cards}</main></body></html>".encode(), "text/html")
    for y in (2026, 2025):
        fixture_site.replace(
            f"{ROOT}/RAA-{y}", b"<html><body><main><p>Aucun recueil.</p></main></body></html>", "text/html"
        )
    report = app.scan(registry()["pref13"].rebased(fixture_site.base_url))
    assert report.outcome == "ok" and report.pdfs_found == 0
    row = _status(app)
    assert row.state == "unhealthy" and not row.healthy
    assert row.health == "listing pages parsed (4 requests, 2 listing links) but no RAA download link found"


def test_a_sweep_where_a_listing_page_failed_is_degraded(app, fixture_site, quick_retries):
    fixture_site.inject(f"{ROOT}/Archives-RAA-des-Bouches-du-Rhone", 500, times=1000)
    report = app.scan(registry()["pref13"].rebased(fixture_site.base_url))
    assert report.outcome == "degraded" and report.pdfs_found > 0
    row = _status(app)
    assert row.state == "degraded" and not row.healthy and "HTTP 500" in row.health


def test_a_moved_raa_page_is_followed_and_status_says_where(cli_env, fixture_site):
    new = "/Publications/Recueils-des-actes-administratifs"
    root = (fixture_site.root / ROOT.lstrip("/") / "index.html").read_bytes()
    fixture_site.inject(ROOT, 404, times=1000)  # renamed by the site
    fixture_site.replace(new, root, "text/html; charset=utf-8")
    fixture_site.replace(
        "/Publications",
        f'<html><body><main><a href="/Publications/Annonces">Annonces</a> <a href="{new}">Recueil des actes '
        "administratifs</a></main></body></html>".encode(),
        "text/html; charset=utf-8",
    )
    scan = invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, "--dry-run", env=cli_env)
    moved = f"https://www.bouches-du-rhone.gouv.fr{ROOT} → https://www.bouches-du-rhone.gouv.fr{new}"
    assert f"RAA page moved: {moved}; update scrapers/pref13.toml" in scan.stdout
    assert "7 PDF found" in scan.stdout
    status = invoke_cli("status", env=cli_env).stdout
    assert f"DEGRADED: RAA page moved: {moved}; update scrapers/pref13.toml" in status
    assert status.index("pref13") < status.index("pref01")  # what needs a look comes first


def test_a_source_whose_newest_raa_is_long_overdue_is_unhealthy():
    run = SimpleNamespace(
        outcome="ok", pages_fetched=5, pdfs_found=20, listing_links=8, error=None, moved=None, older=0
    )
    weekly = [date(2026, 9, 30) - timedelta(days=7 * i) for i in range(12)]
    late = assess([run], published=weekly, today=date(2026, 12, 2))
    assert late.state == "unhealthy"
    assert (
        late.reason == "newest RAA is from 2026-09-30, 63 days ago, where it usually publishes every 7 days"
    )
    assert assess([run], published=weekly, today=date(2026, 10, 20)).state == "ok"  # 20 days: within 21
    assert assess([run], published=weekly[:3], today=date(2026, 12, 2)).state == "ok"  # too few to tell
    assert assess([], published=weekly).state == "never"


def test_a_sweep_with_a_file_that_is_not_a_pdf_is_degraded_and_says_which(cli_env, fixture_site):
    oracle = json.loads((fixture_site.root / "EXPECTED.json").read_text(encoding="utf-8"))
    broken = oracle["recueils"][0]["path"]
    fixture_site.replace(broken, b"<html><body>Service indisponible</body></html>", "application/pdf")
    scan = invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, "--dry-run", env=cli_env)
    assert "pref13: DEGRADED" in scan.stdout and "expected a PDF, got an HTML page" in scan.stdout
    status = invoke_cli("status", env=cli_env).stdout
    line = next(x for x in status.splitlines() if x.strip().startswith("DEGRADED"))
    assert "expected a PDF, got an HTML page" in line


def test_a_broken_file_unchanged_since_it_failed_costs_a_304_not_a_download(cli_env, fixture_site):
    oracle = json.loads((fixture_site.root / "EXPECTED.json").read_text(encoding="utf-8"))
    broken = oracle["recueils"][0]["path"]
    real = (fixture_site.root / urllib.parse.unquote(broken).lstrip("/")).read_bytes()
    fixture_site.replace(broken, b"<html><body>Service indisponible</body></html>", "application/pdf")
    invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, "--dry-run", env=cli_env)
    asked = [r for r in fixture_site.requests if r.path == broken]
    again = invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, "--dry-run", env=cli_env)
    second = [r for r in fixture_site.requests if r.path == broken][len(asked) :]
    assert [r.status for r in second] == [304] and "If-None-Match" in second[0].headers
    assert "1 recueil(s) that failed before are unchanged (HTTP 304): not downloaded" in again.stdout
    attempts = _sql_one(cli_env, "SELECT attempts, status FROM recueils WHERE status = 'failed'")
    assert attempts == (1, "failed")  # no attempt spent on an unchanged file
    # the site fixes the file: it changes, is downloaded and read
    fixture_site.replace(broken, real, "application/pdf")
    invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, "--dry-run", env=cli_env)
    assert [r for r in fixture_site.requests if r.path == broken][-1].status == 200
    assert _sql_one(cli_env, "SELECT COUNT(*) FROM recueils WHERE status = 'failed'") == (0,)


def _sql_one(env, statement):
    import sqlalchemy

    engine = sqlalchemy.create_engine(env["ATTRAP_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(sqlalchemy.text(statement)).one())
    finally:
        engine.dispose()


def test_a_misspelt_setting_in_a_source_file_is_refused_by_name_not_a_silent_empty_site(app, fixture_site):
    from dataclasses import replace

    source = registry()["pref13"].rebased(fixture_site.base_url)
    report = app.scan(replace(source, settings={"folow": ".fr-card__title a"}))
    assert report.outcome == "error"
    assert "scrapers/pref13.toml: unknown setting(s) folow for engine 'dsfr'" in report.errors[0]
    row = _status(app)
    assert row.state == "unhealthy" and "unknown setting(s) folow" in row.health


def test_every_source_files_settings_are_known_to_its_engine():
    from attrap.crawl.discover import engine_for

    for source in registry().values():
        engine_for(source)  # raises ConfigError naming the file and the key
