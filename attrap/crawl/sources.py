"""The registry of sources: one TOML file per prefecture in ``scrapers/``.

A source is data: its id, name, department, RAA page URL(s) and only the settings where its
site departs from the generic engine. See the README, "Adding a prefecture".
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import AfterValidator, AnyUrl, BeforeValidator, Field, TypeAdapter, ValidationError

from attrap.contracts import Contract, listed, one_of, validate
from attrap.errors import ConfigError
from attrap.resources import data_dir

#: a directory of source and engine files to use instead of the shipped ``scrapers/``
SCRAPERS_ENV = "ATTRAP_SCRAPERS_DIR"

#: site families (README, "Sources"); attrap.cli.FAMILY_FIXTURES names the fixture of each
FAMILIES = {"dsfr-cards", "dsfr-select", "dsfr-specific", "prefecture-police", "prefectures-regions", "dims"}

_URL = TypeAdapter(AnyUrl)


def _https_url(value: str) -> str:
    """``value`` itself (as written: it is what is stored and posted) when it is an https:// URL."""
    try:
        url = _URL.validate_python(value)
    except ValidationError:
        url = None
    if url is None or url.scheme != "https" or not url.host or not value.startswith("https://"):
        raise ValueError(f"must be an https:// URL, not {value!r}")
    return value


class SourceFile(Contract):
    """A ``scrapers/<id>.toml`` file: no other key, each of its type (README, "Adding a
    prefecture"). Its ``[settings]`` table is the engine's to check
    (:func:`attrap.crawl.discover.engine_for`)."""

    id: Annotated[str, Field(min_length=1)]
    name: Annotated[str, Field(min_length=1)]
    department: str | None = None
    urls: Annotated[
        list[Annotated[str, AfterValidator(_https_url)]], Field(min_length=1), BeforeValidator(listed)
    ]
    engine: str = "dsfr"
    #: hosts the crawl may visit besides those of ``urls``
    hosts: list[str] = []
    timezone: str = "Europe/Paris"
    confirmed: str | None = None
    family: Annotated[str, one_of(sorted(FAMILIES))] = "dsfr-cards"
    settings: dict[str, Any] = {}


_KEYS = set(SourceFile.model_fields)


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
    """The source a parsed source file describes, checked against :class:`SourceFile`; errors
    name ``origin`` (``scrapers/<file>.toml``) and the key."""
    spec = validate(SourceFile, data, origin)
    return Source(
        id=spec.id,
        name=spec.name,
        urls=tuple(spec.urls),
        department=spec.department,
        engine=spec.engine,
        extra_hosts=tuple(spec.hosts),
        timezone=spec.timezone,
        confirmed=spec.confirmed,
        family=spec.family,
        settings=dict(spec.settings),
    )


def load_sources(directory: Path | None = None) -> dict[str, Source]:
    """Every source defined in ``directory`` (default: the shipped ``scrapers/``), by id."""
    folder = Path(directory) if directory is not None else data_dir("scrapers", SCRAPERS_ENV)
    files = list(folder.glob("*.toml"))
    sources: dict[str, Source] = {}
    for f in sorted(files, key=lambda f: f.name):
        try:
            data = tomllib.loads(f.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"scrapers/{f.name}: not valid TOML: {exc}") from None
        src = parse_source(data, f"scrapers/{f.name}")
        if src.id in sources:
            raise ConfigError(f"scrapers/{f.name}: duplicate source id {src.id!r}")
        if f.name != f"{src.id}.toml":
            raise ConfigError(f"scrapers/{f.name}: file name must be {src.id}.toml")
        sources[src.id] = src
    return sources


def registry() -> dict[str, Source]:
    """The sources of the source folder in use (ATTRAP_SCRAPERS_DIR, else the shipped one), read
    again when a file of it is added, removed or edited."""
    folder = data_dir("scrapers", SCRAPERS_ENV)
    stamp = tuple(
        sorted((f.name, st.st_mtime_ns, st.st_size) for f in folder.glob("*.toml") if (st := f.stat()))
    )
    return _registry(folder, stamp)


@lru_cache(maxsize=4)
def _registry(folder: Path, stamp: tuple) -> dict[str, Source]:
    return load_sources(folder)
