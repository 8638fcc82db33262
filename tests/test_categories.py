"""Adding a category touches one place: patterns/categories.toml (and the rules that flag it).
Its label, heading, hashtags and colour reach posts, feeds, filters and charts from there."""

from __future__ import annotations

import shutil

import httpx

from tests.conftest import ROOT, invoke_cli, serving
from tests.mastoserver import MastoServer

CATEGORY = """
[[category]]
id = "roads"
label = "Fermetures de routes"
publish = true
heading = "🚧 Route fermée"
hashtags = "#routes #Test"
colour = "#12ab34"
description = "A test category."
"""
RULE = """
[[rule]]
id = "roads-title"
category = "roads"
scope = "title"
description = "test"
any = ["re:fermeture\\\\s+temporaire\\\\s+de\\\\s+la\\\\s+route"]
"""


def test_a_category_added_in_categories_toml_is_posted_shown_and_drawn_as_it_says(
    cli_env, fixture_site, tmp_path, monkeypatch
):
    patterns = tmp_path / "patterns"
    shutil.copytree(ROOT / "patterns", patterns)
    with (patterns / "categories.toml").open("a", encoding="utf-8") as f:
        f.write(CATEGORY)
    (patterns / "roads.toml").write_text(RULE, encoding="utf-8")
    channels = tmp_path / "channels.toml"
    with MastoServer() as server:
        channels.write_text(
            f'[[channel]]\nname = "roads"\napi_base_url = "{server.base_url}"\naccess_token = "test-token"\ncategories = ["roads"]\n',
            encoding="utf-8",
        )
        channels.chmod(0o600)
        env = dict(cli_env, ATTRAP_PATTERNS_DIR=str(patterns), ATTRAP_CHANNELS_FILE=str(channels))
        invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, env=env)
        posts = [s["text"] for s in server.statuses]
    assert posts and all(p.startswith("🚧 Route fermée") and "#routes #Test #dep13" in p for p in posts)
    monkeypatch.setenv("ATTRAP_PATTERNS_DIR", str(patterns))  # the web app runs in this process
    with serving(env) as base, httpx.Client(base_url=base, timeout=10) as web:
        assert web.get("/feeds/roads.atom").status_code == 200
        stats = web.get("/statistiques", headers={"Accept": "text/html"}).text
        assert "#12ab34" in stats and "Fermetures de routes" in stats


def test_one_registry_of_formats_serves_the_cli_and_the_web(filled, tmp_path):
    from attrap.serve.formats import FORMATS

    with serving(filled) as base, httpx.Client(base_url=base, timeout=10) as web:
        doc = web.get("/openapi.json").json()
        assert doc["paths"]["/export.{format}"]["get"]["parameters"][0]["schema"]["enum"] == list(FORMATS)
        for name, fmt in FORMATS.items():
            out = tmp_path / f"export.{name}"
            # in this process: a subprocess per format costs a second each
            invoke_cli("export", "--format", name, "--category", "drone", "-o", str(out), env=filled)
            cli = out.read_bytes()
            answer = web.get(f"/export.{name}", params={"category": "drone"})
            assert answer.status_code == 200 and answer.headers["content-type"] == fmt.media_type
            assert answer.headers["content-disposition"] == f'attachment; filename="attrap-arretes.{name}"'
            if name != "atom":  # a feed's <updated> is the time it is made
                assert answer.content == cli
        bad = web.get("/export.csv", params={"categorie": "drone"})
        assert bad.status_code == 400 and "categorie" in bad.text
        assert web.get("/export.xlsx").status_code == 404
        home = web.get("/", params={"category": "drone"}, headers={"Accept": "text/html"}).text
        assert 'href="/export.csv?category=drone"' in home
