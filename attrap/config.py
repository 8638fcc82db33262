"""Settings from the command line, the environment and attrap.toml, in one place.

Precedence: the command line (``--data-dir``, ``--db``) wins over the environment, which wins
over the configuration file (:func:`apply_config` copies the file's values into the environment
where it does not set them, so child processes and options read from the environment see them
too), which wins over the defaults. Each source of settings has its contract: the file
(:class:`ConfigFile`), the environment (:class:`Environment`) and the channels file
(:class:`ChannelEntry`); a bad value stops attrap with the file (or the variable) and the key
named, in one line (:mod:`attrap.contracts`). Tokens are :class:`~pydantic.SecretStr`: no
repr, log line or error shows them.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping, MutableMapping
from dataclasses import field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic.dataclasses import dataclass

from attrap import __version__
from attrap.contracts import Contract, validate
from attrap.errors import ConfigError

PROJECT_URL = "https://github.com/attrap-bot/attrap"
USER_AGENT = f"attrap/{__version__} (+{PROJECT_URL}; veille des recueils des actes administratifs)"


VISIBILITIES = ("public", "unlisted", "private", "direct")
Visibility = Literal["public", "unlisted", "private", "direct"]
#: what reads the PDFs' text layers (attrap.read.extract.TEXT_BACKENDS)
TextBackend = Literal["pdfminer", "pdfium"]


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


#: seconds, or another quantity that may be zero but not negative
Seconds = Annotated[float, Field(ge=0), AfterValidator(_finite)]
#: seconds that must be more than zero (a time limit, an interval)
Period = Annotated[float, Field(gt=0), AfterValidator(_finite)]
Count = Annotated[int, Field(ge=1)]
Text = Annotated[str, Field(min_length=1)]


class MastodonSettings(BaseModel):
    """One Mastodon account to post to (a channel). The token is a SecretStr, never shown.

    ``categories`` (None: every category marked ``publish``) and ``departments`` (None: all)
    choose which flagged decrees the channel posts.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    api_base_url: Text
    token: SecretStr = Field(alias="access_token")
    visibility: Visibility = "public"
    name: Text = "default"
    categories: tuple[str, ...] | None = None
    departments: tuple[str, ...] | None = None

    @property
    def access_token(self) -> str:
        """The token itself: only for handing it to the Mastodon client."""
        return self.token.get_secret_value()


class Environment(BaseModel):
    """The environment variables attrap's settings come from (other variables are left alone).

    Values are strings, read as the field's type; an empty one counts as unset."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    data_dir: Path | None = Field(None, alias="ATTRAP_DATA_DIR")
    database_url: Text | None = Field(None, alias="ATTRAP_DATABASE_URL")
    request_delay: Seconds | None = Field(None, alias="ATTRAP_REQUEST_DELAY")
    workers: Count | None = Field(None, alias="ATTRAP_WORKERS")
    read_timeout: Period | None = Field(None, alias="ATTRAP_READ_TIMEOUT")
    read_memory_mb: Count | None = Field(None, alias="ATTRAP_READ_MEMORY_MB")
    mastodon_api_base_url: Text | None = Field(None, alias="MASTODON_API_BASE_URL")
    mastodon_access_token: SecretStr | None = Field(None, alias="MASTODON_ACCESS_TOKEN")
    mastodon_visibility: Visibility = Field("public", alias="MASTODON_VISIBILITY")
    channels_file: Path | None = Field(None, alias="ATTRAP_CHANNELS_FILE")

    @classmethod
    def read(cls, env: dict[str, str]) -> Environment:
        names = {f.alias for f in cls.model_fields.values()}
        return validate(cls, {k: v for k, v in env.items() if k in names and v != ""})


@dataclass(config=ConfigDict(extra="forbid"))
class Settings:
    data_dir: Path
    database_url: str
    #: the Mastodon channels posts go to (none: posting is a dry run)
    channels: list[MastodonSettings] = field(default_factory=list)
    #: seconds between two requests to the same host
    request_delay: Seconds = 3.0
    user_agent: str = USER_AGENT
    #: categories that are posted (others are stored and searchable only)
    publish_categories: tuple[str, ...] | None = None
    #: documents read at once, each in its own process (default: one per core)
    workers: Count = field(default_factory=lambda: os.cpu_count() or 1)
    #: wall-clock seconds one document may take to read (OCR included) before it is stopped
    read_timeout: Period = 1800.0
    #: address-space cap of a reading process, in MiB (stops decompression bombs)
    read_memory_mb: Count = 2048

    @property
    def pdf_dir(self) -> Path:
        return self.data_dir / "pdfs"

    @classmethod
    def load(
        cls,
        data_dir: str | Path | None = None,
        database_url: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Settings:
        """Command-line values first, then the environment (where :func:`apply_config` put the
        configuration file's values), then the defaults."""
        env = dict(os.environ) if env is None else env
        given = Environment.read(env)
        data = Path(data_dir or given.data_dir or "./data")
        url = database_url or given.database_url or f"sqlite:///{data / 'attrap.db'}"
        channels = []
        base, token = given.mastodon_api_base_url, given.mastodon_access_token
        if base and token:
            channels.append(
                MastodonSettings(api_base_url=base, token=token, visibility=given.mastodon_visibility)
            )
        channels_file = given.channels_file or (data / "channels.toml")
        if given.channels_file or channels_file.is_file():
            channels += load_channels(channels_file, env)
        names = [c.name for c in channels]
        if len(set(names)) != len(names):
            raise ConfigError(f"two channels have the same name: {sorted(names)}")
        chosen = {
            name: value
            for name in ("request_delay", "workers", "read_timeout", "read_memory_mb")
            if (value := getattr(given, name)) is not None
        }
        return cls(data_dir=data, database_url=url, channels=channels, **chosen)


# -- attrap.toml ---------------------------------------------------------------------------------


def _env(name: str) -> Any:
    """A key of attrap.toml, standing for the environment variable ``name``."""
    return Field(None, json_schema_extra={"env": name})


class CrawlTable(Contract):
    request_delay: Seconds | None = _env("ATTRAP_REQUEST_DELAY")


class ReadTable(Contract):
    workers: Count | None = _env("ATTRAP_WORKERS")
    timeout: Period | None = _env("ATTRAP_READ_TIMEOUT")
    memory_mb: Count | None = _env("ATTRAP_READ_MEMORY_MB")
    text_backend: TextBackend | None = _env("ATTRAP_TEXT_BACKEND")


class RunTable(Contract):
    interval: Period | None = _env("ATTRAP_SCAN_INTERVAL")
    publish_every: Period | None = _env("ATTRAP_PUBLISH_EVERY")


class MastodonTable(Contract):
    api_base_url: Text | None = _env("MASTODON_API_BASE_URL")
    visibility: Visibility | None = _env("MASTODON_VISIBILITY")
    channels_file: Text | None = _env("ATTRAP_CHANNELS_FILE")


class RulesTable(Contract):
    patterns_dir: Text | None = _env("ATTRAP_PATTERNS_DIR")
    post_template: Text | None = _env("ATTRAP_POST_TEMPLATE")


class ConfigFile(Contract):
    """attrap.toml: every key optional, each standing for an environment variable; no secrets."""

    data_dir: Text | None = _env("ATTRAP_DATA_DIR")
    database_url: Text | None = _env("ATTRAP_DATABASE_URL")
    crawl: CrawlTable = CrawlTable()
    read: ReadTable = ReadTable()
    run: RunTable = RunTable()
    mastodon: MastodonTable = MastodonTable()
    rules: RulesTable = RulesTable()


def _tables() -> dict[str, type[Contract]]:
    """The file's tables by name ("": its top level), from :class:`ConfigFile`."""
    out: dict[str, type[Contract]] = {"": ConfigFile}
    for name, f in ConfigFile.model_fields.items():
        if isinstance(f.annotation, type) and issubclass(f.annotation, Contract):
            out[name] = f.annotation
    return out


def _file_keys() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for table, model in _tables().items():
        out[table] = {
            key: str(f.json_schema_extra["env"])
            for key, f in model.model_fields.items()
            if isinstance(f.json_schema_extra, dict) and "env" in f.json_schema_extra
        }
    return out


#: attrap.toml keys, by table, and the environment variable each one stands for
FILE_KEYS: dict[str, dict[str, str]] = _file_keys()
#: where the configuration file is looked for when ATTRAP_CONFIG does not name one
CONFIG_PLACES = (Path("attrap.toml"), Path("/etc/attrap/attrap.toml"))


def find_config(env: Mapping[str, str]) -> Path | None:
    """The configuration file: $ATTRAP_CONFIG (which must exist), or the first of CONFIG_PLACES."""
    named = env.get("ATTRAP_CONFIG")
    if named:
        if not Path(named).is_file():
            raise ConfigError(f"ATTRAP_CONFIG names {named}, which is not a file")
        return Path(named)
    return next((p for p in CONFIG_PLACES if p.is_file()), None)


def read_config(path: Path) -> dict[str, str]:
    """The environment variables an attrap.toml file sets (see FILE_KEYS), the file checked
    against :class:`ConfigFile` first; a token in it is refused (it belongs elsewhere)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    for table, values in [("", data), *((k, v) for k, v in data.items() if isinstance(v, dict))]:
        for key in values:
            if "token" in key.lower():
                where = f"{table}.{key}" if table else key
                raise ConfigError(f"{path}: {where}: tokens go in the environment or the channels file")
    config = validate(ConfigFile, data, str(path))
    out: dict[str, str] = {}
    for table, keys in FILE_KEYS.items():
        part = getattr(config, table) if table else config
        for key, var in keys.items():
            value = getattr(part, key)
            if value is not None:
                out[var] = str(value)
    return out


def apply_config(env: MutableMapping[str, str]) -> Path | None:
    """Fill ``env`` (os.environ: child processes see it too) with the configuration file's
    values, where the environment does not already set them. Returns the file used."""
    path = find_config(env)
    if path is not None:
        for name, value in read_config(path).items():
            env.setdefault(name, value)
    return path


# -- the channels file ----------------------------------------------------------------------------


class ChannelEntry(Contract):
    """One ``[[channel]]`` of the channels file."""

    name: Text
    api_base_url: Text
    access_token: SecretStr | None = None
    #: the name of an environment variable holding the token
    access_token_env: Text | None = None
    visibility: Visibility = "public"
    categories: list[str] | None = None
    departments: list[str] | None = None

    @model_validator(mode="after")
    def _one_token(self) -> ChannelEntry:
        if self.access_token is None and self.access_token_env is None:
            raise ValueError("needs access_token or access_token_env")
        return self


class ChannelsFile(Contract):
    """The channels file: its ``[[channel]]`` tables (each checked as a :class:`ChannelEntry`)."""

    channel: list[dict[str, Any]] = []


def load_channels(path: Path, env: dict[str, str]) -> list[MastodonSettings]:
    """Channels from a TOML file that only its owner may read (it may hold tokens).

    Each ``[[channel]]`` has ``name``, ``api_base_url``, ``access_token`` or
    ``access_token_env`` (the name of an environment variable holding it), and optionally
    ``visibility``, ``categories`` and ``departments`` (:class:`ChannelEntry`). Errors name the
    file, the channel and the key, never a token.
    """
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the channels file ({exc.strerror})") from None
    if mode & 0o077:
        raise ConfigError(
            f"{path}: the channels file holds access tokens and is readable by others "
            f"(mode {mode & 0o777:o}); run: chmod 600 {path}"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({type(exc).__name__})") from None
    out = []
    for i, item in enumerate(validate(ChannelsFile, data, str(path)).channel, start=1):
        name = item.get("name")
        where = f"{path}: channel {name if isinstance(name, str) and name else f'#{i}'!r}"
        entry = validate(ChannelEntry, item, where)
        token = entry.access_token
        if token is None:  # then access_token_env names the variable (ChannelEntry._one_token)
            var = entry.access_token_env or ""
            if not env.get(var):
                raise ConfigError(f"{where}: the environment variable {var} is not set")
            token = SecretStr(env[var])
        out.append(
            MastodonSettings(
                api_base_url=entry.api_base_url,
                token=token,
                visibility=entry.visibility,
                name=entry.name,
                categories=tuple(entry.categories) if entry.categories is not None else None,
                departments=tuple(entry.departments) if entry.departments is not None else None,
            )
        )
    return out
