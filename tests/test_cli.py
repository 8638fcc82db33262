"""End to end through the command line, as a user runs it: fixture site → posts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SITES, invoke_cli, run_cli
from tests.pdfgen import make_pdf, recueil_pages

EXPECTED = json.loads((SITES / "pref13" / "EXPECTED.json").read_text(encoding="utf-8"))
PUBLISHED = {"drone", "avs"}


REAL = "https://www.bouches-du-rhone.gouv.fr"


def _expected_flags(base_url: str = REAL) -> dict[str, list[str]]:
    """Link (…pdf#page=N) on the real site → categories, for every decree the oracle flags."""
    return {
        f"{base_url}{r['path']}#page={d['first_page']}": sorted(d["categories"])
        for r in EXPECTED["recueils"]
        for d in r["decrees"]
        if d["categories"]
    }


def test_sources_lists_every_registered_source(cli_env):
    out = json.loads(invoke_cli("sources", "--json", env=cli_env).stdout)
    pref13 = next(s for s in out if s["id"] == "pref13")
    assert pref13["urls"] == ["https://www.bouches-du-rhone.gouv.fr/Publications/RAA-et-Archives"]


def test_classify_reports_each_decree_with_pages_rules_and_excerpts(cli_env, tmp_path):
    pdf = make_pdf(tmp_path / "recueil.pdf", recueil_pages())
    txt = tmp_path / "recueil.txt"
    txt.write_text("\f".join(recueil_pages()), encoding="utf-8")
    out = json.loads(invoke_cli("classify", str(pdf), str(txt), "--json", env=cli_env).stdout)
    for result in out:
        assert result["categories"] == ["drone", "videoprotection"]
        decrees = result["decrees"]
        assert [d["pages"] for d in decrees] == [[3, 4], [5, 5], [6, 8], [9, 9]]
        assert decrees[0]["categories"] == ["drone"]
        match = decrees[0]["matches"][0]
        assert set(match) == {"rule", "category", "page", "excerpt"}
        assert match["page"] == 3 and "aéronefs" in match["excerpt"]
        assert decrees[3]["categories"] == []  # the flight ban


def test_classify_reports_a_bad_file_and_goes_on(cli_env, tmp_path):
    bad = tmp_path / "error.pdf"
    bad.write_text("<html>Service indisponible</html>")
    good = make_pdf(tmp_path / "ok.pdf", recueil_pages())
    proc = invoke_cli("classify", str(bad), str(good), env=cli_env, check=False)
    assert proc.returncode == 1
    assert "not a PDF (looks like HTML)" in proc.stdout
    assert "ok.pdf: drone, videoprotection" in proc.stdout


def test_scan_dry_run_finds_every_flagged_decree_then_nothing_twice(cli_env, fixture_site):
    base = fixture_site.base_url
    out = json.loads(run_cli("scan", "pref13", "--base-url", base, "--dry-run", "--json", env=cli_env).stdout)
    (report,) = out["sources"]
    assert report["outcome"] == "ok" and report["failed"] == 0
    assert report["pdfs_found"] == len(EXPECTED["recueils"])
    got = {f["link"]: sorted(f["categories"]) for f in report["flagged"]}
    assert got == _expected_flags()  # links to the real site, not the fixture server
    posted_links = sorted(line for p in out["posts"] for line in p["text"].split() if "#page=" in line)
    assert posted_links == sorted(k for k, v in got.items() if PUBLISHED & set(v))
    assert all(p["channel"] == "dry-run" for p in out["posts"])

    pdf_gets = [r for r in fixture_site.requests if r.path.endswith(".pdf")]
    again = json.loads(
        run_cli("scan", "pref13", "--base-url", base, "--dry-run", "--json", env=cli_env).stdout
    )
    assert again["sources"][0]["pdfs_new"] == 0 and again["posts"] == []
    assert [r for r in fixture_site.requests if r.path.endswith(".pdf")] == pdf_gets  # nothing downloaded

    status = json.loads(invoke_cli("status", "--json", env=cli_env).stdout)
    row = next(s for s in status if s["source_id"] == "pref13")
    assert row["recueils"] == len(EXPECTED["recueils"]) and row["flagged"] == len(got)
    assert row["last_outcome"] == "ok"


def test_scan_posts_to_mastodon_once_per_decree(cli_env, fixture_site, mastodon_server):
    env = dict(cli_env, MASTODON_API_BASE_URL=mastodon_server.base_url, MASTODON_ACCESS_TOKEN="test-token")
    base = fixture_site.base_url
    proc = run_cli("scan", "pref13", "--base-url", base, env=env)
    expected = {k for k, v in _expected_flags().items() if PUBLISHED & set(v)}
    links = {w for s in mastodon_server.statuses for w in s["text"].split() if "#page=" in w}
    assert links == expected and len(mastodon_server.statuses) == len(expected)
    assert "test-token" not in proc.stdout + proc.stderr
    # each post says where, when, who and how many, from the decree's own text
    match = next(s["text"] for s in mastodon_server.statuses if "13-2026-10-14-00003" in s["text"])
    assert "📍 stade Orange Vélodrome et ses abords, Marseille (8e arrondissement)" in match
    assert "🗓 du 15 octobre 2026 à 18h00 au 16 octobre 2026 à 02h00" in match
    assert (
        "👮 La direction interdépartementale de la police nationale des Bouches-du-Rhône, 2 aéronefs" in match
    )
    avs = next(s["text"] for s in mastodon_server.statuses if "#VSA" in s["text"])
    assert "⚠️ Hors de toute période d'expérimentation légale" in avs  # December 2025
    run_cli("scan", "pref13", "--base-url", base, env=env)
    run_cli("publish", env=env)
    assert len(mastodon_server.statuses) == len(expected)


def test_a_mastodon_outage_loses_nothing(cli_env, fixture_site, mastodon_server):
    env = dict(cli_env, MASTODON_API_BASE_URL=mastodon_server.base_url, MASTODON_ACCESS_TOKEN="test-token")
    mastodon_server.fail_next("500", times=100)
    invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, env=env)
    assert mastodon_server.statuses == []
    status = json.loads(invoke_cli("status", "--json", env=env).stdout)
    waiting = next(s for s in status if s["source_id"] == "pref13")["posts_waiting"]
    assert waiting > 0
    mastodon_server.fail_next("500", times=0)


def test_html_served_as_pdf_is_recorded_and_the_rest_goes_on(cli_env, fixture_site):
    broken = EXPECTED["recueils"][0]["path"]
    fixture_site.replace(broken, b"<!DOCTYPE html><html><body>Challenge</body></html>", "text/html")
    out = json.loads(
        invoke_cli(
            "scan", "pref13", "--base-url", fixture_site.base_url, "--dry-run", "--json", env=cli_env
        ).stdout
    )
    report = out["sources"][0]
    assert report["failed"] == 1 and report["processed"] == len(EXPECTED["recueils"]) - 1
    assert any("expected a PDF, got an HTML page" in e for e in report["errors"])
    status = json.loads(invoke_cli("status", "--json", env=cli_env).stdout)
    assert next(s for s in status if s["source_id"] == "pref13")["failed"] == 1


def test_every_command_takes_the_same_since_days(cli_env):
    """scan, search and export take --since as the web interface takes its dates: YYYY-MM-DD,
    digits padded; anything else is a usage error naming the option, before any work."""
    commands = [["scan", "pref13"], ["search", "drone"], ["export"]]
    # in this process: fourteen subprocesses would cost as many seconds
    for bad in ["2026-1-5", "20260105", "2026-02-30", "5/1/2026"]:
        for command in commands:
            proc = invoke_cli(*command, "--since", bad, env=cli_env, check=False)
            assert proc.returncode == 2 and "--since" in proc.stderr, (command, bad, proc.stderr)
    for command in commands[1:]:  # a good day is taken (scan would crawl: its tests cover it)
        invoke_cli(*command, "--since", "2026-01-05", env=cli_env)


def test_unknown_source_is_a_usage_error(cli_env):
    proc = run_cli("scan", "pref00", env=cli_env, check=False)
    assert proc.returncode == 2 and "unknown source(s): pref00" in proc.stderr


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_demo_runs_the_whole_pipeline_offline(cli_env):
    proc = run_cli("demo", env=cli_env)
    assert "served at http://127.0.0.1:" in proc.stdout
    assert "--- post (dry-run) ---" in proc.stdout and "#page=" in proc.stdout
    again = run_cli("demo", env=cli_env)
    assert "0 post(s) printed" in again.stdout


def test_data_dir_option_is_honoured(cli_env, tmp_path: Path):
    env = {k: v for k, v in cli_env.items() if k != "ATTRAP_DATABASE_URL"}
    run_cli("status", "--data-dir", str(tmp_path / "elsewhere"), env=env)
    assert (tmp_path / "elsewhere" / "attrap.db").exists()
