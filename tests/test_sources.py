"""The source registry: scrapers/*.toml files, their validation, --base-url rebasing."""

from __future__ import annotations

import re

import pytest

from attrap.crawl.sources import load_sources, registry
from attrap.errors import ConfigError


def test_registry_has_bouches_du_rhone_with_its_real_url():
    src = registry()["pref13"]
    assert src.name == "Préfecture des Bouches-du-Rhône"
    assert src.department == "13"
    assert src.urls[0] == "https://www.bouches-du-rhone.gouv.fr/Publications/RAA-et-Archives"
    assert src.hosts == {"www.bouches-du-rhone.gouv.fr"}


def test_every_source_file_is_valid_and_named_after_its_id():
    sources = registry()
    assert sources
    for sid, src in sources.items():
        assert src.id == sid
        assert all(u.startswith("https://") for u in src.urls)


def test_rebased_keeps_paths_and_moves_hosts():
    src = registry()["pref13"].rebased("http://127.0.0.1:8123")
    assert src.urls == ("http://127.0.0.1:8123/Publications/RAA-et-Archives",)
    assert src.hosts == {"127.0.0.1:8123"}


def test_rebased_rejects_a_url_without_host():
    with pytest.raises(ConfigError, match="scheme and a host"):
        registry()["pref13"].rebased("127.0.0.1:8000")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('id = "pref99"\nname = "X"\n', "pref99.toml: missing key 'urls'"),
        (
            'id = "pref99"\nname = "X"\nurls = ["http://x.gouv.fr/"]\n',
            "urls[0] must be an https:// URL, not 'http://x.gouv.fr/'",
        ),
        ('id = "pref99"\nname = "X"\nurls = []\n', "urls must not be empty"),
        (
            'id = "pref99"\nname = "X"\nurls = ["https://x.gouv.fr/"]\nselectr = 1\n',
            "pref99.toml: unknown key 'selectr' (known: confirmed, department, engine, family, hosts, id, name, settings, timezone, urls)",
        ),
        (
            'id = "pref99"\nname = "X"\nurls = ["https://x.gouv.fr/"]\ndepartment = 99\n',
            "department must be a string, not 99",
        ),
        (
            'id = "pref99"\nname = "X"\nurls = ["https://x.gouv.fr/"]\nfamily = "dsfr"\n',
            "family must be one of dims,",
        ),
        (
            'id = "pref99"\nname = "X"\nurls = ["https://x.gouv.fr/"]\nsettings = 3\n',
            "settings must be a table",
        ),
        ('id = "pref98"\nname = "X"\nurls = ["https://x.gouv.fr/"]\n', "file name must be pref98.toml"),
        ("id = [", "scrapers/pref99.toml"),
    ],
)
def test_a_broken_source_file_names_the_file_and_the_problem(tmp_path, content, message):
    (tmp_path / "pref99.toml").write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        load_sources(tmp_path)
    assert "pref99.toml" in str(err.value)


def test_a_mirror_changes_where_attrap_fetches_not_what_it_records():
    src = registry()["pref13"].rebased("http://127.0.0.1:8123")
    real = "https://www.bouches-du-rhone.gouv.fr/contenu/telechargement/1/2/file/a.pdf"
    mirrored = "http://127.0.0.1:8123/contenu/telechargement/1/2/file/a.pdf"
    assert src.public_url(mirrored) == real
    assert src.fetch_url(real) == mirrored
    assert registry()["pref13"].public_url(real) == real


def test_readme_table_lists_every_source(cli_env):
    from tests.conftest import ROOT, invoke_cli

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- sources:begin -->\n", 1)[1].split("\n<!-- sources:end -->", 1)[0]
    assert block.strip() == invoke_cli("sources", "--markdown", env=cli_env).stdout.strip()


def test_every_departmental_prefecture_but_paris_and_moselle_has_a_source():
    deps = {s.department for s in registry().values()}
    expected = {f"{n:02d}" for n in range(1, 96)} - {"20", "57", "75"} | {
        "2A",
        "2B",
        "971",
        "972",
        "973",
        "974",
        "976",
    }
    assert expected <= deps
