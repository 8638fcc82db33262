"""attrap.toml: settings under the environment and over the defaults; clear errors."""

from __future__ import annotations

import json

import pytest

from attrap.config import read_config
from tests.conftest import ROOT, invoke_cli


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
    out = invoke_cli("db", "upgrade", env=env).stdout
    assert "upgraded from empty" in out and db.is_file()

    other = tmp_path / "from-env.db"
    invoke_cli("db", "upgrade", env=dict(env, ATTRAP_DATABASE_URL=f"sqlite:///{other}"))
    assert other.is_file()
    status = json.loads(invoke_cli("status", "--json", env=env).stdout)
    assert status and all(s["recueils"] == 0 for s in status)


def test_unknown_settings_and_tokens_are_refused_with_the_file_and_key(tmp_path):
    proc = invoke_cli("status", env=_env(tmp_path, "[crawl]\ndelay = 3\n"), check=False)
    assert proc.returncode == 1
    assert f"{tmp_path / 'attrap.toml'}: unknown key 'crawl.delay' (known: request_delay)" in proc.stderr
    proc = invoke_cli("status", env=_env(tmp_path, '[mastodon]\naccess_token = "abc123"\n'), check=False)
    assert proc.returncode == 1 and "tokens go in the environment" in proc.stderr
    assert "abc123" not in proc.stderr
    proc = invoke_cli("status", env=_env(tmp_path, "data_dir = [\n"), check=False)
    assert proc.returncode == 1 and "attrap.toml" in proc.stderr and "Traceback" not in proc.stderr


def test_a_missing_named_file_is_an_error(tmp_path):
    env = _env(tmp_path, "")
    env["ATTRAP_CONFIG"] = str(tmp_path / "nope.toml")
    proc = invoke_cli("status", env=env, check=False)
    assert proc.returncode == 1 and "nope.toml, which is not a file" in proc.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("reqest_delay = 3\n", "unknown key 'reqest_delay' (known: crawl, data_dir, database_url,"),
        ("[reed]\nworkers = 2\n", "unknown key 'reed' (known: crawl,"),
        ('[crawl]\nrequest_delay = "3"\n', "crawl.request_delay must be a number, not '3'"),
        ("[crawl]\nrequest_delay = -1\n", "crawl.request_delay must not be negative: -1"),
        ("[read]\nworkers = 2.5\n", "read.workers must be an integer, not 2.5"),
        (
            '[read]\ntext_backend = "pdfbox"\n',
            "read.text_backend must be one of pdfminer, pdfium, not 'pdfbox'",
        ),
        (
            '[mastodon]\nvisibility = "loud"\n',
            "mastodon.visibility must be one of public, unlisted, private, direct",
        ),
        ("crawl = 3\n", "crawl must be a table, not 3"),
        ("data_dir = true\n", "data_dir must be a string, not True"),
    ],
)
def test_a_bad_key_or_value_is_one_line_naming_the_file_and_the_key(tmp_path, text, message):
    proc = invoke_cli("status", env=_env(tmp_path, text), check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    [line] = [x for x in proc.stderr.splitlines() if x.startswith("Error:")]
    assert line.startswith(f"Error: {tmp_path / 'attrap.toml'}: ") and message in line, line


def test_the_command_line_wins_over_the_environment_which_wins_over_the_file_then_the_defaults(tmp_path):
    """One setting, the database, given at each level in turn: each level above the others wins."""
    data = tmp_path / "data"
    urls = {level: f"sqlite:///{tmp_path / level}.db" for level in ("file", "env", "cli")}
    env = _env(tmp_path, f'database_url = "{urls["file"]}"\n')
    env["ATTRAP_DATA_DIR"] = str(data)
    no_file = dict(env, ATTRAP_CONFIG=str(tmp_path / "empty.toml"))
    (tmp_path / "empty.toml").write_text("", encoding="utf-8")

    def created(*args: str, env: dict[str, str]) -> set[str]:
        before = {p.name for p in tmp_path.rglob("*.db")}
        invoke_cli("db", "upgrade", *args, env=env)
        return {p.name for p in tmp_path.rglob("*.db")} - before

    assert created(env=no_file) == {"attrap.db"} and (data / "attrap.db").is_file()  # the default
    assert created(env=env) == {"file.db"}
    assert created(env=dict(env, ATTRAP_DATABASE_URL=urls["env"])) == {"env.db"}
    assert created("--db", urls["cli"], env=dict(env, ATTRAP_DATABASE_URL=urls["env"])) == {"cli.db"}


def test_the_files_values_are_under_the_environment_and_over_the_defaults_through_the_api(tmp_path):
    from attrap.config import Settings, apply_config

    (tmp_path / "attrap.toml").write_text(
        "[crawl]\nrequest_delay = 7\n[read]\nworkers = 3\n", encoding="utf-8"
    )
    env = {"ATTRAP_CONFIG": str(tmp_path / "attrap.toml"), "ATTRAP_WORKERS": "5"}
    assert apply_config(env) == tmp_path / "attrap.toml"
    settings = Settings.load(env=env)
    assert (settings.request_delay, settings.workers, settings.read_timeout) == (7.0, 5, 1800.0)
    assert Settings.load(env={}).request_delay == 3.0
