"""The regional prefectures, Paris, Moselle and the Préfecture de police: their source files."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from attrap.sources import load_sources, registry
from tests.conftest import ROOT, run_cli

NEW = [
    "pp", "pref57", "pref75", "reg-ara", "reg-bfc", "reg-bretagne", "reg-corse", "reg-grand-est",
    "reg-hdf", "reg-idf", "reg-na", "reg-normandie", "reg-occitanie", "reg-paca", "reg-pdl",
]  # fmt: skip


@pytest.mark.parametrize("sid", NEW)
def test_each_new_source_loads_with_gouv_fr_hosts(sid):
    src = registry()[sid]
    assert src.hosts and all(h.endswith(".gouv.fr") for h in src.hosts)
    assert all(urlsplit(u).scheme == "https" for u in src.urls)
    # a source says where its URL was seen, in a comment
    assert "Seen" in (ROOT / "scrapers" / f"{sid}.toml").read_text(encoding="utf-8")


def test_ids_are_unique_across_every_source_file():
    files = sorted((ROOT / "scrapers").glob("*.toml"))
    assert len(load_sources(ROOT / "scrapers")) == len(files)


def test_paris_and_moselle_now_have_a_departmental_source():
    deps = {s.department for s in registry().values()}
    assert {"57", "75"} <= deps


def test_attrap_sources_lists_them(cli_env):
    out = json.loads(run_cli("sources", "--json", env=cli_env).stdout)
    listed = {s["id"]: s for s in out}
    assert set(NEW) <= set(listed)
    assert listed["pp"]["urls"] == [
        "https://www.prefecturedepolice.interieur.gouv.fr/actualites-et-presse/arretes/accueil-arretes"
    ]
