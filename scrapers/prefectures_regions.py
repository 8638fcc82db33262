"""prefectures-regions.gouv.fr: the regional prefectures' RAA, and Paris's, on an older theme.

Not the State design system: a folder or tag view lists its pages as news items
(``article.news-list-item h2.news-list-title a``, newest first, paged by ``li.next a`` to
``…/(offset)/10``), a year page may list its months in a table of contents
(``div.sommaire-bloc``), and a recueil is an ``a.link-download`` whose name is its ``<span>``,
followed by "(pdf - 2 Mo)". Dates are only in those names or in the file names ("1er mars 2024",
"12_mars_24", "16-07-2025"). Every page of the theme has a ``<main>``; the anti-bot interstitial
in front of the site has none, and is reported as the source's error.

Regions arrange these pages differently (one page for every RAA, one page per year, years then
months, a tag view mixing two sources): the walk, ``--since`` and the download links are the
generic engine's, with the settings below; a source adds only ``entries_match`` where a listing
holds another source's entries too (Île-de-France and Paris share theirs).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import regex
from bs4 import BeautifulSoup, Tag

from attrap.crawl.api import (
    Crawl,
    DsfrEngine,
    Fetcher,
    RecueilLink,
    Source,
    Todo,
    find_date,
    find_period,
    fold,
    link_label,
    register,
)

#: the theme's selectors; a source's ``settings`` overrides any of them
SETTINGS: dict[str, Any] = {
    # the page's own column (the side column holds unrelated links and PDFs), else <main>
    "content": "main div.col-main, main",
    # a listing's entries (folder or tag view): years, months, recueils or their detail pages
    "entries": "article.news-list-item h2.news-list-title a, .news-list-title a",
    # a year page's table of contents: its months ("Janvier", without the year)
    "months": "div.sommaire-bloc div.sommaire-content ol li a, .sommaire-content ol li a",
    "pager": "li.next a",
    "download_name": "a.link-download > span",
    # where a listing also holds another source's entries: a regex that the label (text and
    # slug, lower case without accents) of the entries to follow must contain
    "entries_match": None,
    # listings are newest first: a next page holds nothing newer than this page's oldest entry
    "newest_first": True,
}


@register("prefectures_regions")
class PrefecturesRegionsEngine(DsfrEngine):
    """The generic walk with the theme's selectors, its interstitial and its dates."""

    name = "prefectures_regions"
    settings = DsfrEngine.settings | frozenset(SETTINGS)
    #: the theme's selectors, for engines of sites that share it
    theme: dict[str, Any] = SETTINGS

    def discover(self, source: Source, fetcher: Fetcher, *, since: date | None = None) -> Crawl:
        settings = {**SETTINGS, **source.settings}
        settings.setdefault("follow", f"{settings['entries']}, {settings['months']}")
        if not settings.get("follow_prefixes"):  # anywhere in the source's regions
            settings["follow_prefixes"] = sorted({_region(u) for u in source.urls})
        return super().discover(replace(source, settings=settings), fetcher, since=since)

    def refused(self, soup: BeautifulSoup, cfg: dict[str, Any]) -> str | None:
        # the interstitial has no <main> and none of the theme's listings (a page saved
        # without its layout still shows its entries, months or downloads)
        theirs = f"{cfg['entries']}, {cfg['months']}, a.link-download"
        if soup.find("main") is None and soup.select_one(theirs) is None:
            return super().refused(soup, cfg) or "no <main>, unlike every page of the theme"
        return super().refused(soup, cfg)

    def children(
        self, content: Tag, base: str, parent: Todo, cfg: dict[str, Any], crawl: Crawl
    ) -> list[Todo]:
        labels = {
            url: link_label(a, url)
            for a in content.select(cfg["entries"])
            if (url := urljoin(base, str(a.get("href") or "").strip())) != base
        }
        wanted = cfg["entries_match"]
        others = {url for url, label in labels.items() if wanted and not regex.search(wanted, fold(label))}
        found = [t for t in super().children(content, base, parent, cfg, crawl) if t.url not in others]
        periods = [p for label in labels.values() if (p := find_period(label))[0] is not None]
        if not cfg["newest_first"] or not periods:
            return found
        year, month = min(periods, key=lambda p: (p[0], p[1] or 0))
        # a pager's next page (same depth) comes after this page's oldest entry
        return [replace(t, year=year, month=month) if t.depth == parent.depth else t for t in found]

    def pdf_links(self, source: Source, content: Tag, base: str, where: Todo) -> list[RecueilLink]:
        links = super().pdf_links(source, content, base, where)
        return [link if link.published else replace(link, published=_name_date(link)) for link in links]


def _region(url: str) -> str:
    """ "/ile-de-france/" for any page of that region's site."""
    return "/" + urlsplit(url).path.strip("/").split("/", 1)[0] + "/"


def _name_date(link: RecueilLink) -> date | None:
    """The date of a name written with underscores ("12_mars_24"), or only in the file name."""
    file_name = unquote(urlsplit(link.url).path.rsplit("/", 1)[-1])
    return find_date(link.title.replace("_", " ")) or find_date(file_name.replace("_", " "))
