"""Self-monitoring: a broken scraper is noticed by attrap itself, said in one line."""

from __future__ import annotations

import pytest

from attrap.config import Settings
from attrap.pipeline import Attrap
from attrap.sources import registry

ROOT = "/Publications/RAA-et-Archives"


@pytest.fixture
def app(tmp_path, db_url):
    settings = Settings(data_dir=tmp_path / "data", database_url=db_url, request_delay=0)
    app = Attrap(settings)
    yield app
    app.close()


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


def test_repeated_failures_make_a_source_unhealthy(app, fixture_site):
    source = registry()["pref13"].rebased(fixture_site.base_url)
    fixture_site.inject(ROOT, 404, times=3)
    app.scan(source)
    assert _status(app).healthy  # one failure may be passing
    app.scan(source)
    app.scan(source)
    row = _status(app)
    assert not row.healthy and row.health.startswith("failed 3 times in a row; last: HTTP 404")
