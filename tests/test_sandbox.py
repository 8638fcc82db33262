"""Bad files read in a bounded child process: a hanging page is stopped, a bomb is refused,
and the other files of the same command or scan are read all the same."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import invoke_cli
from tests.pdfgen import make_bomb_pdf, make_pdf, make_slow_layout_pdf, recueil_pages

# reading needs no database: one backend is enough
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_a_page_that_hangs_the_parser_is_stopped_and_the_next_file_read(cli_env, tmp_path):
    slow = make_slow_layout_pdf(tmp_path / "slow.pdf")
    good = make_pdf(tmp_path / "good.pdf", recueil_pages())
    env = dict(cli_env, ATTRAP_READ_TIMEOUT="3")
    started = time.monotonic()
    proc = invoke_cli("classify", "--json", str(slow), str(good), env=env, check=False)
    elapsed = time.monotonic() - started
    assert proc.returncode == 1
    results = {r["path"]: r for r in json.loads(proc.stdout)}
    assert "reading timed out after 3 s: the process was stopped" in results[str(slow)]["error"]
    assert results[str(good)]["categories"][0] == "drone"
    assert elapsed < 60  # stopped, not left to run for minutes


def test_a_decompression_bomb_is_refused_with_a_reason(cli_env, tmp_path):
    bomb = make_bomb_pdf(tmp_path / "bomb.pdf", expanded_mb=1200)
    assert bomb.stat().st_size < 5 * 1024 * 1024
    good = make_pdf(tmp_path / "good.pdf", recueil_pages())
    env = dict(cli_env, ATTRAP_READ_MEMORY_MB="400")
    proc = invoke_cli("classify", "--json", str(bomb), str(good), env=env, check=False)
    results = {r["path"]: r for r in json.loads(proc.stdout)}
    assert (
        "out of memory: reading needed more than 400 MiB (a decompression bomb?)"
        in results[str(bomb)]["error"]
    )
    assert results[str(good)]["categories"][0] == "drone"


def test_a_bad_setting_is_a_clear_error(cli_env, tmp_path):
    good = make_pdf(tmp_path / "good.pdf", recueil_pages())
    proc = invoke_cli("classify", str(good), env=dict(cli_env, ATTRAP_WORKERS="two"), check=False)
    assert proc.returncode != 0
    assert "ATTRAP_WORKERS must be an integer, not 'two'" in proc.stderr
