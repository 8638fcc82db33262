"""Settings from the command line and the environment, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from attrap import __version__
from attrap.errors import ConfigError

PROJECT_URL = "https://github.com/attrap-bot/attrap"
USER_AGENT = f"attrap/{__version__} (+{PROJECT_URL}; veille des recueils des actes administratifs)"


@dataclass
class MastodonSettings:
    """One Mastodon account to post to. The token is never shown (repr=False)."""

    api_base_url: str
    access_token: str = field(repr=False)
    visibility: str = "public"
    name: str = "default"


@dataclass
class Settings:
    data_dir: Path
    database_url: str
    mastodon: MastodonSettings | None = None
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
        mastodon = None
        base, token = env.get("MASTODON_API_BASE_URL"), env.get("MASTODON_ACCESS_TOKEN")
        if base and token:
            mastodon = MastodonSettings(
                api_base_url=base,
                access_token=token,
                visibility=env.get("MASTODON_VISIBILITY", "public"),
            )
        return cls(
            data_dir=data,
            database_url=url,
            mastodon=mastodon,
            request_delay=_number(env, "ATTRAP_REQUEST_DELAY", 3.0, float),
            workers=_number(env, "ATTRAP_WORKERS", os.cpu_count() or 1, int),
            read_timeout=_number(env, "ATTRAP_READ_TIMEOUT", 1800.0, float),
            read_memory_mb=_number(env, "ATTRAP_READ_MEMORY_MB", 2048, int),
        )


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
