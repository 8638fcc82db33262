"""The public engine API: everything an engine for a specific site may use, in one place.

An engine file in ``scrapers/`` imports from here only (never a private name of attrap), defines
a class with ``settings`` (the keys a source file's ``[settings]`` may give it) and
``discover(source, fetcher, since=...) -> Crawl``, and registers it under the name source files
give as ``engine = "<name>"``::

    from attrap.crawl.api import Crawl, Fetcher, Source, register

    @register("my_cms")
    class MyCmsEngine:
        settings = frozenset({"rows"})

        def discover(self, source: Source, fetcher: Fetcher, *, since=None) -> Crawl: ...

An engine that is a variant of the DSFR one subclasses :class:`DsfrEngine` and overrides its
hooks (``pdf_links``, ``follow``, ``refused``...), taking :class:`Todo` (a page to open) and
returning :class:`RecueilLink` (a PDF found). A package installed beside attrap may also declare
engines under the ``attrap.engines`` entry point group.
"""

from attrap.crawl.discover import (
    DEFAULTS,
    Crawl,
    DsfrEngine,
    Engine,
    Todo,
    engine_class,
    link_label,
    register,
)
from attrap.crawl.fetch import Fetcher, Page
from attrap.crawl.sources import Source
from attrap.errors import FetchError
from attrap.model import RecueilLink
from attrap.rules.frdates import find_date, find_period, fold

__all__ = [
    "DEFAULTS", "Crawl", "DsfrEngine", "Engine", "FetchError", "Fetcher", "Page", "RecueilLink", "Source",
    "Todo", "engine_class", "find_date", "find_period", "fold", "link_label", "register",
]  # fmt: skip
