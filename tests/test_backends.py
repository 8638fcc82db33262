"""The two text-layer readers (pdfminer.six and PDFium) find the same decrees, through the CLI."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import SITES, invoke_cli


@pytest.fixture
def env(tmp_path) -> dict[str, str]:  # no database involved: classify reads files only
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ATTRAP_", "MASTODON_"))}
    return dict(clean, ATTRAP_DATA_DIR=str(tmp_path / "data"))


def _decrees(out: list[dict]) -> list[tuple]:
    return [
        (doc["path"], d["number"], tuple(d["pages"]), d["signed_on"], tuple(d["categories"]))
        for doc in out
        for d in doc["decrees"]
    ]


def test_pdfium_and_pdfminer_find_the_same_decrees_in_every_fixture_recueil(env):
    pdfs = sorted(str(p) for p in (SITES / "pref13").rglob("*.pdf"))
    assert len(pdfs) >= 5
    got = {}
    for backend in ("pdfminer", "pdfium"):
        run_env = dict(env, ATTRAP_TEXT_BACKEND=backend)
        got[backend] = _decrees(json.loads(invoke_cli("classify", *pdfs, "--json", env=run_env).stdout))
    assert got["pdfium"] == got["pdfminer"]
    assert any(d[4] for d in got["pdfium"])  # flagged decrees among them


def test_an_unknown_backend_is_a_clear_error(env):
    pdf = next((SITES / "pref13").rglob("*.pdf"))
    proc = invoke_cli("classify", str(pdf), env=dict(env, ATTRAP_TEXT_BACKEND="mupdf"), check=False)
    assert proc.returncode != 0
    assert "ATTRAP_TEXT_BACKEND must be one of pdfminer, pdfium" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
