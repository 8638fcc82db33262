"""The registry of sources: one TOML file per prefecture in ``scrapers/``.

A source is data: its id, name, department, RAA page URL(s) and only the settings where its
site departs from the generic engine. See the README, "Adding a prefecture".
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from attrap.errors import ConfigError
from attrap.resources import data_dir

#: a directory of source and engine files to use instead of the shipped ``scrapers/``
SCRAPERS_ENV = "ATTRAP_SCRAPERS_DIR"

_KEYS = {
    "id", "name", "department", "urls", "engine", "hosts", "timezone", "confirmed", "family", "settings",
}  # fmt: skip
#: site families (README, "Sources"); attrap.cli.FAMILY_FIXTURES names the fixture of each
FAMILIES = {"dsfr-cards", "dsfr-select", "dsfr-specific", "prefecture-police", "prefectures-regions", "dims"}


@dataclass(frozen=True)
class Source:
    id: str
    name: str
    urls: tuple[str, ...]
    department: str | None = None
    #: which discovery engine walks the site ("dsfr" is the generic one)
    engine: str = "dsfr"
    #: hosts the crawl may visit besides those of ``urls``
    extra_hosts: tuple[str, ...] = ()
    timezone: str = "Europe/Paris"
    #: when the URL was last checked against the live site
    confirmed: str | None = None
    #: which site family the site belongs to (see FAMILIES)
    family: str = "dsfr-cards"
    #: engine settings where the site departs from the defaults
    settings: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    #: set by :meth:`rebased`: (mirror "scheme://host:port", real "scheme://host")
    mirror: tuple[str, str] | None = None

    @property
    def hosts(self) -> frozenset[str]:
        """Hosts this source's crawl is allowed to visit."""
        return frozenset({urlsplit(u).netloc for u in self.urls} | set(self.extra_hosts))

    def rebased(self, base_url: str) -> Source:
        """The same source with scheme, host and port of every URL replaced (paths kept)."""
        base = urlsplit(base_url)
        if not base.scheme or not base.netloc:
            raise ConfigError(f"--base-url needs a scheme and a host: {base_url!r}")

        def move(url: str) -> str:
            parts = urlsplit(url)
            return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, parts.fragment))

        real = urlsplit(self.urls[0])
        return replace(
            self,
            urls=tuple(move(u) for u in self.urls),
            extra_hosts=(),
            mirror=(f"{base.scheme}://{base.netloc}", f"{real.scheme}://{real.netloc}"),
        )

    def public_url(self, url: str) -> str:
        """The URL as the real site has it: what is stored and posted, mirror or not."""
        if self.mirror and url.startswith(self.mirror[0] + "/"):
            return self.mirror[1] + url[len(self.mirror[0]) :]
        return url

    def fetch_url(self, url: str) -> str:
        """Where to fetch a stored (public) URL from: the mirror when there is one."""
        if self.mirror and url.startswith(self.mirror[1] + "/"):
            return self.mirror[0] + url[len(self.mirror[1]) :]
        return url


def parse_source(data: dict[str, Any], origin: str) -> Source:
    unknown = set(data) - _KEYS
    if unknown:
        raise ConfigError(f"{origin}: unknown key(s) {sorted(unknown)}")
    for key in ("id", "name", "urls"):
        if key not in data:
            raise ConfigError(f"{origin}: missing {key!r}")
    if data.get("family", "dsfr-cards") not in FAMILIES:
        raise ConfigError(f"{origin}: family must be one of {sorted(FAMILIES)}")
    urls = data["urls"]
    if isinstance(urls, str):
        urls = [urls]
    if not urls or not all(isinstance(u, str) and u.startswith("https://") for u in urls):
        raise ConfigError(f"{origin}: urls must be a non-empty list of https:// URLs")
    return Source(
        id=data["id"],
        name=data["name"],
        urls=tuple(urls),
        department=str(data["department"]) if "department" in data else None,
        engine=data.get("engine", "dsfr"),
        extra_hosts=tuple(data.get("hosts", ())),
        timezone=data.get("timezone", "Europe/Paris"),
        confirmed=data.get("confirmed"),
        family=data.get("family", "dsfr-cards"),
        settings=dict(data.get("settings", {})),
    )


def load_sources(directory: Path | None = None) -> dict[str, Source]:
    """Every source defined in ``directory`` (default: the shipped ``scrapers/``), by id."""
    folder = Path(directory) if directory is not None else data_dir("scrapers", SCRAPERS_ENV)
    files = list(folder.glob("*.toml"))
    sources: dict[str, Source] = {}
    for f in sorted(files, key=lambda f: f.name):
        try:
            data = tomllib.loads(f.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"scrapers/{f.name}: {exc}") from exc
        src = parse_source(data, f"scrapers/{f.name}")
        if src.id in sources:
            raise ConfigError(f"scrapers/{f.name}: duplicate source id {src.id!r}")
        if f.name != f"{src.id}.toml":
            raise ConfigError(f"scrapers/{f.name}: file name must be {src.id}.toml")
        sources[src.id] = src
    return sources


@cache
def registry() -> dict[str, Source]:
    return load_sources()
