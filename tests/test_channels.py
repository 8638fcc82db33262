"""Several Mastodon channels, each with its categories and departments, from a private file."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.conftest import SITES, invoke_cli
from tests.mastoserver import MastoServer

ORACLE = json.loads((SITES / "pref13" / "EXPECTED.json").read_text(encoding="utf-8"))
CATEGORIES = Counter(c for r in ORACLE["recueils"] for d in r["decrees"] for c in d["categories"])


def _channels(base_url: str, extra: str = "") -> str:
    return f"""
[[channel]]
name = "drones"
api_base_url = "{base_url}"
access_token = "tok-drones"
categories = ["drone"]

[[channel]]
name = "vsa"
api_base_url = "{base_url}"
access_token_env = "VSA_TOKEN"
categories = ["avs"]
departments = ["13"]
visibility = "unlisted"

[[channel]]
name = "paris-only"
api_base_url = "{base_url}"
access_token = "tok-paris"
categories = ["drone", "avs"]
departments = ["75"]
{extra}"""


@pytest.fixture
def server():
    accounts = {"tok-drones": "drones", "tok-vsa": "vsa", "tok-paris": "paris"}
    with MastoServer(accounts=accounts) as s:
        yield s


def _write(tmp_path, text, mode=0o600):
    path = tmp_path / "channels.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_each_channel_posts_its_categories_and_departments(cli_env, fixture_site, server, tmp_path):
    path = _write(tmp_path, _channels(server.base_url))
    env = dict(cli_env, ATTRAP_CHANNELS_FILE=str(path), VSA_TOKEN="tok-vsa")
    proc = invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, env=env)
    by_account = Counter(s["account"] for s in server.statuses)
    assert by_account == {"drones": CATEGORIES["drone"], "vsa": CATEGORIES["avs"]}
    assert all("#drones" in s["text"] for s in server.statuses if s["account"] == "drones")
    assert all("#VSA" in s["text"] for s in server.statuses if s["account"] == "vsa")
    assert {s["visibility"] for s in server.statuses if s["account"] == "vsa"} == {"unlisted"}
    assert "tok-" not in proc.stdout + proc.stderr
    # a second pass posts nothing again on any channel
    invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, env=env)
    invoke_cli("publish", env=env)
    assert Counter(s["account"] for s in server.statuses) == by_account


def test_a_channels_file_readable_by_others_is_refused(cli_env, server, tmp_path):
    path = _write(tmp_path, _channels(server.base_url), mode=0o644)
    proc = invoke_cli(
        "publish", env=dict(cli_env, ATTRAP_CHANNELS_FILE=str(path), VSA_TOKEN="tok-vsa"), check=False
    )
    assert proc.returncode != 0
    assert f"is readable by others (mode 644); run: chmod 600 {path}" in proc.stderr
    assert "tok-" not in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[[channel]]\nname = "x"\napi_base_url = "http://h"\n',
            "channel 'x': needs access_token or access_token_env",
        ),
        (
            '[[channel]]\nname = "x"\napi_base_url = "http://h"\naccess_token = "tok-secret"\nvisibility = "loud"\n',
            "channel 'x': visibility must be one of public, unlisted, private, direct",
        ),
        (
            '[[channel]]\nname = "drones"\napi_base_url = "http://h"\naccess_token = "tok-secret"\n',
            "same name",
        ),
        (  # a misspelt key (here the token's own): named, its value never shown
            '[[channel]]\nname = "x"\napi_base_url = "http://h"\nacess_token = "tok-secret"\n',
            "channel 'x': unknown key 'acess_token' (known: access_token, access_token_env, api_base_url, "
            "categories, departments, name, visibility)",
        ),
        (
            '[[channel]]\nname = "x"\napi_base_url = "http://h"\naccess_token = "tok-secret"\ncategories = "drone"\n',
            "channel 'x': categories must be a list, not 'drone'",
        ),
        (
            '[[channel]]\nname = "x"\napi_base_url = "http://h"\naccess_token = ["tok-secret"]\n',
            "channel 'x': access_token must be a string",
        ),
        ('[[chanel]]\nname = "x"\n', "channels.toml: unknown key 'chanel' (known: channel)"),
    ],
)
def test_a_bad_channel_is_a_clear_error_without_its_token(cli_env, server, tmp_path, extra, message):
    path = _write(tmp_path, _channels(server.base_url, extra))
    proc = invoke_cli(
        "publish", env=dict(cli_env, ATTRAP_CHANNELS_FILE=str(path), VSA_TOKEN="tok-vsa"), check=False
    )
    assert proc.returncode != 0 and message in proc.stderr
    assert "tok-" not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
    [line] = [x for x in proc.stderr.splitlines() if x.startswith("Error:")]
    assert message in line and (f"{path}: " in line or "same name" in message)


def test_a_missing_token_variable_is_named(cli_env, server, tmp_path):
    path = _write(tmp_path, _channels(server.base_url))
    proc = invoke_cli("publish", env=dict(cli_env, ATTRAP_CHANNELS_FILE=str(path)), check=False)
    assert (
        proc.returncode != 0 and "channel 'vsa': the environment variable VSA_TOKEN is not set" in proc.stderr
    )
