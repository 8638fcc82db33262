"""Settings from the command line and the environment, in one place."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from attrap import __version__
from attrap.errors import ConfigError

PROJECT_URL = "https://github.com/attrap-bot/attrap"
USER_AGENT = f"attrap/{__version__} (+{PROJECT_URL}; veille des recueils des actes administratifs)"


VISIBILITIES = ("public", "unlisted", "private", "direct")


@dataclass
class MastodonSettings:
    """One Mastodon account to post to (a channel). The token is never shown (repr=False).

    ``categories`` (None: every category marked ``publish``) and ``departments`` (None: all)
    choose which flagged decrees the channel posts.
    """

    api_base_url: str
    access_token: str = field(repr=False)
    visibility: str = "public"
    name: str = "default"
    categories: tuple[str, ...] | None = None
    departments: tuple[str, ...] | None = None


@dataclass
class Settings:
    data_dir: Path
    database_url: str
    #: the Mastodon channels posts go to (none: posting is a dry run)
    channels: list[MastodonSettings] = field(default_factory=list)
    #: seconds between two requests to the same host
    request_delay: float = 3.0
    user_agent: str = USER_AGENT
    #: categories that are posted (others are stored and searchable only)
    publish_categories: tuple[str, ...] | None = None
    #: documents read at once, each in its own process (default: one per core)
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    #: wall-clock seconds one document may take to read (OCR included) before it is stopped
    read_timeout: float = 1800.0
    #: address-space cap of a reading process, in MiB (stops decompression bombs)
    read_memory_mb: int = 2048

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
        """Command-line values first, then the environment, then defaults."""
        env = dict(os.environ) if env is None else env
        data = Path(data_dir or env.get("ATTRAP_DATA_DIR") or "./data")
        url = database_url or env.get("ATTRAP_DATABASE_URL") or f"sqlite:///{data / 'attrap.db'}"
        channels = []
        base, token = env.get("MASTODON_API_BASE_URL"), env.get("MASTODON_ACCESS_TOKEN")
        if base and token:
            visibility = env.get("MASTODON_VISIBILITY", "public")
            if visibility not in VISIBILITIES:
                raise ConfigError(f"MASTODON_VISIBILITY must be one of {', '.join(VISIBILITIES)}")
            channels.append(MastodonSettings(api_base_url=base, access_token=token, visibility=visibility))
        channels_file = env.get("ATTRAP_CHANNELS_FILE") or (data / "channels.toml")
        if env.get("ATTRAP_CHANNELS_FILE") or Path(channels_file).is_file():
            channels += load_channels(Path(channels_file), env)
        names = [c.name for c in channels]
        if len(set(names)) != len(names):
            raise ConfigError(f"two channels have the same name: {sorted(names)}")
        return cls(
            data_dir=data,
            database_url=url,
            channels=channels,
            request_delay=_number(env, "ATTRAP_REQUEST_DELAY", 3.0, float),
            workers=_number(env, "ATTRAP_WORKERS", os.cpu_count() or 1, int),
            read_timeout=_number(env, "ATTRAP_READ_TIMEOUT", 1800.0, float),
            read_memory_mb=_number(env, "ATTRAP_READ_MEMORY_MB", 2048, int),
        )


#: attrap.toml keys, by table, and the environment variable each one stands for
FILE_KEYS: dict[str, dict[str, str]] = {
    "": {"data_dir": "ATTRAP_DATA_DIR", "database_url": "ATTRAP_DATABASE_URL"},
    "crawl": {"request_delay": "ATTRAP_REQUEST_DELAY"},
    "read": {
        "workers": "ATTRAP_WORKERS",
        "timeout": "ATTRAP_READ_TIMEOUT",
        "memory_mb": "ATTRAP_READ_MEMORY_MB",
        "text_backend": "ATTRAP_TEXT_BACKEND",
    },
    "run": {"interval": "ATTRAP_SCAN_INTERVAL", "publish_every": "ATTRAP_PUBLISH_EVERY"},
    "mastodon": {
        "api_base_url": "MASTODON_API_BASE_URL",
        "visibility": "MASTODON_VISIBILITY",
        "channels_file": "ATTRAP_CHANNELS_FILE",
    },
    "rules": {"patterns_dir": "ATTRAP_PATTERNS_DIR", "post_template": "ATTRAP_POST_TEMPLATE"},
}
#: where the configuration file is looked for when ATTRAP_CONFIG does not name one
CONFIG_PLACES = (Path("attrap.toml"), Path("/etc/attrap/attrap.toml"))


def find_config(env: dict[str, str]) -> Path | None:
    """The configuration file: $ATTRAP_CONFIG (which must exist), or the first of CONFIG_PLACES."""
    named = env.get("ATTRAP_CONFIG")
    if named:
        if not Path(named).is_file():
            raise ConfigError(f"ATTRAP_CONFIG names {named}, which is not a file")
        return Path(named)
    return next((p for p in CONFIG_PLACES if p.is_file()), None)


def read_config(path: Path) -> dict[str, str]:
    """The environment variables an attrap.toml file sets (see FILE_KEYS); no secrets in it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    out: dict[str, str] = {}

    def take(table: str, values: dict) -> None:
        for key, value in values.items():
            where = f"{table}.{key}" if table else key
            if isinstance(value, dict) and not table and key in FILE_KEYS:
                take(key, value)
                continue
            if key not in FILE_KEYS[table]:
                if "token" in key:
                    raise ConfigError(f"{path}: {where}: tokens go in the environment or the channels file")
                raise ConfigError(f"{path}: unknown setting {where}")
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise ConfigError(f"{path}: {where} must be a string or a number")
            out[FILE_KEYS[table][key]] = str(value)

    take("", data)
    return out


def apply_config(env: dict[str, str]) -> Path | None:
    """Fill ``env`` (os.environ: child processes see it too) with the configuration file's
    values, where the environment does not already set them. Returns the file used."""
    path = find_config(env)
    if path is not None:
        for name, value in read_config(path).items():
            env.setdefault(name, value)
    return path


def _number(env: dict[str, str], name: str, default, kind):
    value = env.get(name)
    if value is None or value == "":
        return default
    try:
        number = kind(value)
    except ValueError:
        raise ConfigError(f"{name} must be a {kind.__name__} number, not {value!r}") from None
    if number < 0:
        raise ConfigError(f"{name} must not be negative") from None
    return number


_CHANNEL_KEYS = {
    "name",
    "api_base_url",
    "access_token",
    "access_token_env",
    "visibility",
    "categories",
    "departments",
}


def load_channels(path: Path, env: dict[str, str]) -> list[MastodonSettings]:
    """Channels from a TOML file that only its owner may read (it may hold tokens).

    Each ``[[channel]]`` has ``name``, ``api_base_url``, ``access_token`` or
    ``access_token_env`` (the name of an environment variable holding it), and optionally
    ``visibility``, ``categories`` and ``departments``. Errors name the file and the channel,
    never a token.
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
    for i, item in enumerate(data.get("channel", []), start=1):
        name = item.get("name") or f"#{i}"
        where = f"{path}: channel {name!r}"
        if unknown := set(item) - _CHANNEL_KEYS:
            raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}")
        if not item.get("name") or not item.get("api_base_url"):
            raise ConfigError(f"{where}: needs a name and an api_base_url")
        token = item.get("access_token")
        if token is None and (var := item.get("access_token_env")):
            token = env.get(var)
            if not token:
                raise ConfigError(f"{where}: the environment variable {var} is not set")
        if not token:
            raise ConfigError(f"{where}: needs access_token or access_token_env")
        visibility = item.get("visibility", "public")
        if visibility not in VISIBILITIES:
            raise ConfigError(f"{where}: visibility must be one of {', '.join(VISIBILITIES)}")
        cats, deps = item.get("categories"), item.get("departments")
        for key, value in (("categories", cats), ("departments", deps)):
            if value is not None and (
                not isinstance(value, list) or not all(isinstance(v, str) for v in value)
            ):
                raise ConfigError(f"{where}: {key} must be a list of strings")
        out.append(
            MastodonSettings(
                api_base_url=item["api_base_url"],
                access_token=token,
                visibility=visibility,
                name=item["name"],
                categories=tuple(cats) if cats is not None else None,
                departments=tuple(deps) if deps is not None else None,
            )
        )
    return out
