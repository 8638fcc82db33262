"""The layout as a newcomer meets it: engines use the public engine API only and are found by
their registered name; scrapers/ and patterns/ ship as data inside the one installed package."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

ENGINE_FILES = sorted((ROOT / "scrapers").glob("*.py"))


@pytest.mark.parametrize("path", ENGINE_FILES, ids=lambda p: p.name)
def test_an_engine_file_imports_only_the_public_engine_api(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.split(".")[0] in ("attrap", "scrapers")
        ):
            assert node.module == "attrap.crawl.api", f"{path.name} imports {node.module}"
            assert not [a.name for a in node.names if a.name.startswith("_")]
        if isinstance(node, ast.Import):
            assert not [a.name for a in node.names if a.name.split(".")[0] in ("attrap", "scrapers")]


def test_a_new_site_is_one_source_file_and_one_engine_file_found_by_its_registered_name(
    tmp_path: Path, cli_env: dict[str, str], fixture_site
) -> None:
    scrapers = tmp_path / "scrapers"
    shutil.copytree(ROOT / "scrapers", scrapers)
    # the engine's module name (the file) and its registered name differ on purpose
    (scrapers / "some_cms_site.py").write_text(
        """
from attrap.crawl.api import Crawl, RecueilLink, register


@register("listing_cms")
class ListingEngine:
    settings = frozenset({"list_path"})

    def discover(self, source, fetcher, *, since=None):
        crawl = Crawl(source.id)
        page = fetcher.get_page(source.urls[0])
        crawl.pages_visited.append(page.url)
        crawl.links.append(RecueilLink(source.id, source.urls[0] + "/recueil.pdf", "Recueil n°1"))
        return crawl
""",
        encoding="utf-8",
    )
    (scrapers / "prefzz.toml").write_text(
        'id = "prefzz"\nname = "Préfecture de test"\ndepartment = "99"\nengine = "listing_cms"\n'
        'urls = ["https://www.example.gouv.fr/Publications/RAA-et-Archives"]\n[settings]\nlist_path = "/"\n',
        encoding="utf-8",
    )
    env = {**cli_env, "ATTRAP_SCRAPERS_DIR": str(scrapers)}
    listing = run_cli("sources", env=env).stdout
    assert "prefzz" in listing and "pref13" in listing
    proc = run_cli("sources", "--check", "prefzz", "--base-url", fixture_site.base_url, "--json", env=env)
    [check] = json.loads(proc.stdout)
    assert check["state"] == "ok" and check["raa"] == 1, check

    # a misspelt setting of that engine is refused, naming the file and the key
    (scrapers / "prefzz.toml").write_text(
        (scrapers / "prefzz.toml").read_text(encoding="utf-8").replace("list_path", "list_pat"),
        encoding="utf-8",
    )
    proc = run_cli(
        "sources", "--check", "prefzz", "--base-url", fixture_site.base_url, "--json", env=env, check=False
    )
    assert "prefzz.toml" in proc.stdout + proc.stderr and "list_pat" in proc.stdout + proc.stderr


def test_two_engines_under_one_name_are_refused_naming_both(tmp_path: Path, cli_env: dict[str, str]) -> None:
    scrapers = tmp_path / "scrapers"
    shutil.copytree(ROOT / "scrapers", scrapers)
    (scrapers / "copy_of_moselle.py").write_text(
        'from attrap.crawl.api import register\n\n\n@register("moselle")\nclass Other:\n    settings = frozenset()\n',
        encoding="utf-8",
    )
    env = {**cli_env, "ATTRAP_SCRAPERS_DIR": str(scrapers)}
    proc = run_cli(
        "sources", "--check", "pref57", "--base-url", "http://127.0.0.1:9", "--json", env=env, check=False
    )
    out = proc.stdout + proc.stderr
    assert "two engines are named 'moselle'" in out and "Traceback" not in out


def test_the_wheel_installs_one_package_with_its_sources_and_rules_as_data(tmp_path: Path) -> None:
    """Built and installed as a deployment would, then run away from the checkout."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("attrap-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {
        "attrap",
        wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info",
    }
    assert "attrap/_bundled/scrapers/pref13.toml" in names and "attrap/_bundled/scrapers/moselle.py" in names
    assert "attrap/_bundled/patterns/drone.toml" in names
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import attrap, json; from attrap.crawl.sources import registry; from attrap.crawl.discover import engine_for;"
        "r = registry(); print(json.dumps([attrap.__file__, len(r), type(engine_for(r['pp'])).__name__,"
        "type(engine_for(r['pref57'])).__name__]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=elsewhere,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    where, count, pp, moselle = json.loads(proc.stdout)
    assert where.startswith(str(target))
    assert count == len(list((ROOT / "scrapers").glob("*.toml")))
    assert (pp, moselle) == ("PrefecturePoliceEngine", "DimsEngine")
