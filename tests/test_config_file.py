"""attrap.toml: settings under the environment and over the defaults; clear errors."""

from __future__ import annotations

import json

from attrap.config import read_config
from tests.conftest import ROOT, run_cli


def _env(tmp_path, text: str) -> dict[str, str]:
    cfg = tmp_path / "attrap.toml"
    cfg.write_text(text, encoding="utf-8")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("ATTRAP_", "MASTODON_"))}
    return dict(env, ATTRAP_CONFIG=str(cfg))


def test_the_documented_example_file_loads():
    values = read_config(ROOT / "deploy" / "attrap.toml")
    assert values["ATTRAP_DATA_DIR"] == "/var/lib/attrap"
    assert values["ATTRAP_SCAN_INTERVAL"] and values["ATTRAP_REQUEST_DELAY"]
    assert not any("TOKEN" in k for k in values)


def test_the_file_sets_where_data_goes_and_the_environment_wins(tmp_path):
    db = tmp_path / "from-file.db"
    env = _env(tmp_path, f'data_dir = "{tmp_path / "d"}"\ndatabase_url = "sqlite:///{db}"\n')
    out = run_cli("db", "upgrade", env=env).stdout
    assert "upgraded from empty" in out and db.is_file()

    other = tmp_path / "from-env.db"
    run_cli("db", "upgrade", env=dict(env, ATTRAP_DATABASE_URL=f"sqlite:///{other}"))
    assert other.is_file()
    status = json.loads(run_cli("status", "--json", env=env).stdout)
    assert status and all(s["recueils"] == 0 for s in status)


def test_unknown_settings_and_tokens_are_refused_with_the_file_and_key(tmp_path):
    proc = run_cli("status", env=_env(tmp_path, "[crawl]\ndelay = 3\n"), check=False)
    assert proc.returncode == 1 and "unknown setting crawl.delay" in proc.stderr
    assert str(tmp_path / "attrap.toml") in proc.stderr
    proc = run_cli("status", env=_env(tmp_path, '[mastodon]\naccess_token = "abc123"\n'), check=False)
    assert proc.returncode == 1 and "tokens go in the environment" in proc.stderr
    assert "abc123" not in proc.stderr
    proc = run_cli("status", env=_env(tmp_path, "data_dir = [\n"), check=False)
    assert proc.returncode == 1 and "attrap.toml" in proc.stderr and "Traceback" not in proc.stderr


def test_a_missing_named_file_is_an_error(tmp_path):
    env = _env(tmp_path, "")
    env["ATTRAP_CONFIG"] = str(tmp_path / "nope.toml")
    proc = run_cli("status", env=env, check=False)
    assert proc.returncode == 1 and "nope.toml, which is not a file" in proc.stderr
