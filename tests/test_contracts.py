"""The contracts of the files a maintainer writes: a misspelt key or a value of the wrong type
stops attrap with one line naming the file and the key, never a traceback, never a token."""

from __future__ import annotations

import shutil
import typing
from dataclasses import replace
from pathlib import Path

import pytest

from attrap.errors import ConfigError
from tests.conftest import ROOT, invoke_cli

sqlite = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _refused(proc, *parts: str, stream: str = "") -> str:
    """The one error line of a run that failed, holding each of ``parts`` (in ``stream``:
    "stdout" or "stderr", default both)."""
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Traceback" not in out, out
    lines = [x for x in (getattr(proc, stream) if stream else out).splitlines() if all(p in x for p in parts)]
    assert len(lines) == 1, out
    return lines[0]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def scrapers(tmp_path: Path, cli_env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """A copy of scrapers/ that attrap uses instead of the shipped one."""
    folder = tmp_path / "scrapers"
    shutil.copytree(ROOT / "scrapers", folder)
    return folder, dict(cli_env, ATTRAP_SCRAPERS_DIR=str(folder))


@pytest.fixture
def patterns(tmp_path: Path, cli_env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """A copy of patterns/ that attrap uses instead of the shipped one."""
    folder = tmp_path / "patterns"
    shutil.copytree(ROOT / "patterns", folder)
    return folder, dict(cli_env, ATTRAP_PATTERNS_DIR=str(folder))


# -- source files ---------------------------------------------------------------------------------


@sqlite
def test_a_misspelt_key_in_a_source_file_stops_attrap_sources(scrapers):
    folder, env = scrapers
    _edit(folder / "pref13.toml", "confirmed =", "confirmd =")
    line = _refused(invoke_cli("sources", env=env, check=False), "scrapers/pref13.toml")
    assert line == (
        "Error: scrapers/pref13.toml: unknown key 'confirmd' (known: confirmed, department, engine, "
        "family, hosts, id, name, settings, timezone, urls)"
    )


@sqlite
def test_a_source_setting_of_the_wrong_type_is_refused_naming_the_file_and_the_key(scrapers, fixture_site):
    folder, env = scrapers
    _edit(
        folder / "pref13.toml",
        'confirmed = "2025-09-09"',
        'confirmed = "2025-09-09"\n[settings]\nmax_pages = "300"',
    )
    proc = invoke_cli(
        "scan", "pref13", "--base-url", fixture_site.base_url, "--dry-run", env=env, check=False
    )
    line = _refused(proc, "scrapers/pref13.toml", stream="stdout")  # the scan's report (and a log line)
    assert line.endswith("scrapers/pref13.toml: settings.max_pages must be an integer, not '300'"), line
    # the same value as a number is taken
    _edit(folder / "pref13.toml", 'max_pages = "300"', "max_pages = 300")
    invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, "--dry-run", env=env)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"max_pages": "300"}, "settings.max_pages must be an integer, not '300'"),
        ({"max_depth": 6.5}, "settings.max_depth must be an integer, not 6.5"),
        ({"follow": 3}, "settings.follow must be a string, not 3"),
        (
            {"follow_prefixes": "/Publications"},
            "settings.follow_prefixes must be a list, not '/Publications'",
        ),
        ({"follow_prefixes": ["/a", 2]}, "settings.follow_prefixes[1] must be a string, not 2"),
        ({"select_dated_only": "yes"}, "settings.select_dated_only must be true or false, not 'yes'"),
        ({"select_mode": "click"}, "settings.select_mode must be one of auto, navigate, submit, not 'click'"),
    ],
)
def test_the_generic_engines_settings_have_the_type_of_their_defaults(settings, message):
    from attrap.crawl.discover import engine_for
    from attrap.crawl.sources import registry

    with pytest.raises(ConfigError) as err:
        engine_for(replace(registry()["pref13"], settings=settings))
    assert str(err.value) == f"scrapers/pref13.toml: {message}"


def test_an_engine_files_settings_take_the_types_of_its_module_defaults():
    """scrapers/moselle.py says its defaults in SETTINGS (an int column, string selectors); the
    PP's engine adds its own to the generic one's."""
    from attrap.crawl.discover import engine_for
    from attrap.crawl.sources import registry

    moselle, pp = registry()["pref57"], registry()["pp"]
    engine_for(replace(moselle, settings={"date_column": 3, "rows": "tr.row"}))
    with pytest.raises(
        ConfigError, match=r"^scrapers/pref57\.toml: settings\.date_column must be an integer"
    ):
        engine_for(replace(moselle, settings={"date_column": "3"}))
    engine_for(replace(pp, settings={"decree": ".node", "max_pages": 12}))
    with pytest.raises(
        ConfigError, match=r"^scrapers/pp\.toml: settings\.decree must be a string, not \['\.node'\]"
    ):
        engine_for(replace(pp, settings={"decree": [".node"]}))


def test_an_engine_may_declare_its_defaults_and_the_types_its_defaults_do_not_say():
    from attrap.crawl import discover
    from attrap.crawl.sources import parse_source

    class Listing:
        settings = frozenset({"rows", "limit", "paths", "free", "table"})
        defaults: typing.ClassVar = {"rows": "tr", "limit": 10, "paths": ["/a"], "free": None, "table": None}
        setting_types: typing.ClassVar = {"table": dict[str, int]}

        def discover(self, source, fetcher, *, since=None):
            raise AssertionError("not run")

    discover.ENGINES["listing-for-test"] = Listing
    try:
        data = {"id": "prefzz", "name": "Z", "urls": ["https://z.gouv.fr/raa"], "engine": "listing-for-test"}
        source = parse_source(data, "scrapers/prefzz.toml")
        given = {"rows": "tr.x", "limit": 3, "paths": ["/b"], "free": [1, "x"], "table": {"a": 1}}
        assert isinstance(discover.engine_for(replace(source, settings=given)), Listing)
        for bad, message in [
            ({"limit": True}, "settings.limit must be an integer, not True"),
            ({"paths": [1]}, "settings.paths[0] must be a string, not 1"),
            ({"table": {"a": "1"}}, "settings.table.a must be an integer, not '1'"),
            ({"limt": 3}, "unknown setting(s) limt for engine 'listing-for-test'"),
        ]:
            with pytest.raises(ConfigError) as err:
                discover.engine_for(replace(source, settings=bad))
            assert str(err.value).startswith("scrapers/prefzz.toml: ") and message in str(err.value)
    finally:
        del discover.ENGINES["listing-for-test"]


# -- pattern files --------------------------------------------------------------------------------


@sqlite
def test_a_misspelt_key_in_a_rule_stops_attrap_classify_naming_the_file_the_rule_and_the_key(
    patterns, tmp_path
):
    folder, env = patterns
    _edit(folder / "avs.toml", "must_not_match = [", "must_not_mach = [")
    text = tmp_path / "decree.txt"
    text.write_text("Arrêté portant autorisation d'un système de vidéoprotection\n", encoding="utf-8")
    line = _refused(invoke_cli("classify", str(text), env=env, check=False), "patterns/avs.toml")
    assert line == (
        "Error: patterns/avs.toml: rule 'avs-title-authorisation': unknown key 'must_not_mach' (known: "
        "all, any, category, description, exclude, id, must_match, must_not_match, scope)"
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'scope = "title"',
            'scope = "titre"',
            "rule 'avs-title-authorisation': scope must be one of title, text",
        ),
        ('scope = "title"', "scope = 1", "rule 'avs-title-authorisation': scope must be a string, not 1"),
        ("[[rule]]", "[[rules]]", "unknown key 'rules' (known: rule)"),
        ('category = "avs"', 'category = "vsa"', "rule 'avs-title-authorisation': unknown category 'vsa'"),
        (
            "must_match = [\n",
            "must_match = [\n  3,\n",
            "rule 'avs-title-authorisation': must_match[0] must be a string",
        ),
    ],
)
def test_a_rule_of_the_wrong_shape_is_refused_naming_the_file_the_rule_and_the_key(
    patterns, old, new, message
):
    from attrap.rules.classify import load_rules

    folder, _ = patterns
    _edit(folder / "avs.toml", old, new)
    with pytest.raises(ConfigError) as err:
        load_rules(folder)
    assert str(err.value).startswith(f"patterns/avs.toml: {message}"), str(err.value)


@sqlite
def test_a_misspelt_key_in_categories_toml_stops_attrap_classify(patterns, tmp_path):
    folder, env = patterns
    _edit(folder / "categories.toml", 'colour = "#000091"', 'color = "#000091"')
    text = tmp_path / "decree.txt"
    text.write_text("Arrêté\n", encoding="utf-8")
    line = _refused(invoke_cli("classify", str(text), env=env, check=False), "patterns/categories.toml")
    assert line.startswith(
        "Error: patterns/categories.toml: category 'drone': unknown key 'color' (known: colour, description,"
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "\npublish = true",
            '\npublish = "yes"',
            "category 'drone': publish must be true or false, not 'yes'",
        ),
        ('colour = "#000091"', 'colour = "blue"', "category 'drone': colour must be #rrggbb, not 'blue'"),
        ('id = "drone"', 'id = "avs"', "category 'avs': duplicate id"),
        ("\n[[category]]", "\n[[categories]]", "unknown key 'categories' (known: category)"),
    ],
)
def test_a_category_of_the_wrong_shape_is_refused(patterns, old, new, message):
    from attrap.rules.classify import load_rules

    folder, _ = patterns
    _edit(folder / "categories.toml", old, new)
    with pytest.raises(ConfigError) as err:
        load_rules(folder)
    assert str(err.value).startswith(f"patterns/categories.toml: {message}"), str(err.value)


@sqlite
def test_a_misspelt_key_in_windows_toml_stops_attrap_export(patterns):
    folder, env = patterns
    _edit(folder / "windows.toml", 'status = "in_force"', 'stauts = "in_force"')
    invoke_cli("db", "upgrade", env=env)
    line = _refused(invoke_cli("export", env=env, check=False), "patterns/windows.toml")
    assert line.startswith("Error: patterns/windows.toml: window 'loi n° 2023-380") and line.endswith(
        ": unknown key 'stauts' (known: category, end, law, note, start, status)"
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("end = 2025-03-31", 'end = "2025-03-31"', "end must be a date (YYYY-MM-DD), not '2025-03-31'"),
        ("end = 2025-03-31", "end = 2022-03-31", "ends (2022-03-31) before it starts (2023-05-20)"),
        ('status = "in_force"', 'status = "voted"', "status must be one of in_force, pending, struck_down"),
    ],
)
def test_a_window_of_the_wrong_shape_is_refused(patterns, old, new, message):
    from attrap.rules.details import load_windows

    folder, _ = patterns
    _edit(folder / "windows.toml", old, new)
    with pytest.raises(ConfigError) as err:
        load_windows(folder)
    assert str(err.value).startswith("patterns/windows.toml: window 'loi n° 2023-380")
    assert message in str(err.value)


# -- settings and tokens --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ATTRAP_REQUEST_DELAY", "abc", "ATTRAP_REQUEST_DELAY must be a number, not 'abc'"),
        ("ATTRAP_REQUEST_DELAY", "-2", "ATTRAP_REQUEST_DELAY must not be negative: '-2'"),
        ("ATTRAP_WORKERS", "two", "ATTRAP_WORKERS must be an integer, not 'two'"),
        ("ATTRAP_WORKERS", "0", "ATTRAP_WORKERS must be at least 1, not '0'"),
        ("ATTRAP_READ_TIMEOUT", "inf", "ATTRAP_READ_TIMEOUT must be a finite number"),
        (
            "MASTODON_VISIBILITY",
            "loud",
            "MASTODON_VISIBILITY must be one of public, unlisted, private, direct",
        ),
    ],
)
def test_a_bad_environment_variable_is_named_with_its_value(tmp_path, name, value, message):
    from attrap.config import Settings

    with pytest.raises(ConfigError) as err:
        Settings.load(env={"ATTRAP_DATA_DIR": str(tmp_path), name: value})
    assert str(err.value).startswith(message)


@sqlite
def test_a_bad_environment_variable_stops_the_command_in_one_line(cli_env):
    proc = invoke_cli("status", env=dict(cli_env, ATTRAP_REQUEST_DELAY="abc"), check=False)
    assert _refused(proc, "ATTRAP_REQUEST_DELAY") == "Error: ATTRAP_REQUEST_DELAY must be a number, not 'abc'"


def test_tokens_are_never_shown_by_the_settings_nor_by_an_error(tmp_path):
    import logging

    from attrap.config import Settings, load_channels

    channels = tmp_path / "channels.toml"
    channels.write_text(
        '[[channel]]\nname = "a"\napi_base_url = "http://h"\naccess_token = "tok-from-file"\n'
        '[[channel]]\nname = "b"\napi_base_url = "http://h"\naccess_token_env = "B_TOKEN"\n',
        encoding="utf-8",
    )
    channels.chmod(0o600)
    env = {
        "ATTRAP_DATA_DIR": str(tmp_path / "data"),
        "MASTODON_API_BASE_URL": "http://h",
        "MASTODON_ACCESS_TOKEN": "tok-from-env",
        "ATTRAP_CHANNELS_FILE": str(channels),
        "B_TOKEN": "tok-from-variable",
    }
    settings = Settings.load(env=env)
    assert [c.name for c in settings.channels] == ["default", "a", "b"]
    # the Mastodon client gets each token
    assert [c.access_token for c in settings.channels] == [
        "tok-from-env",
        "tok-from-file",
        "tok-from-variable",
    ]
    record = logging.LogRecord(
        "attrap", logging.INFO, __file__, 1, "settings: %s %r", (settings, settings), None
    )
    for shown in (repr(settings), str(settings), repr(settings.channels), record.getMessage()):
        assert "tok-" not in shown and "**********" in shown

    # a bad channel: neither the message nor what it was raised from holds the token
    channels.write_text(
        '[[channel]]\nname = "a"\napi_base_url = "http://h"\naccess_token = "tok-from-file"\nvisiblity = "public"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_channels(channels, env)
    assert str(err.value).startswith(
        f"{channels}: channel 'a': unknown key 'visiblity' (known: access_token,"
    )
    assert err.value.__cause__ is None and err.value.__context__ is None  # no ValidationError with inputs
    channels.write_text(
        '[[channel]]\nname = "a"\napi_base_url = "http://h"\naccess_token = 12345678\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError) as err:
        load_channels(channels, env)
    assert str(err.value) == f"{channels}: channel 'a': access_token must be a string"


def test_the_files_text_backends_are_the_readers():
    from attrap.config import TextBackend
    from attrap.read.extract import TEXT_BACKENDS

    assert typing.get_args(TextBackend) == TEXT_BACKENDS
