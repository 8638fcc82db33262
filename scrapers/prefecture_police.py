"""The Préfecture de police (Paris): its list of arrêtés, and recueils listed by year.

The PP's site (Drupal) lists its arrêtés one PDF each, newest first, in a "decree list" block:
``<a href="/sites/default/files/Documents/….pdf"><div class="node node--type--tc13-decree">
<span>title</span><div class="field--type-datetime">02/10/2026</div></div></a>``, paginated
the Drupal way (``?page=1``, ``a[rel=next]``). Drone and AVS authorisations appear there as
separate PDFs, sometimes only after the event. A recueil index lists one PDF per issue under
year pages. Everything else (the walk, ``--since``, download links, dates) is the generic
DSFR engine's; this class only reads the decree list and follows year links.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from bs4 import Tag

from attrap.crawl.api import (
    Crawl,
    DsfrEngine,
    Fetcher,
    RecueilLink,
    Source,
    Todo,
    engine_class,
    find_date,
    find_period,
    link_label,
    register,
)

#: the look of prefectures-regions sites, which the Préfecture de police's shares
THEME = engine_class("prefectures_regions").theme  # type: ignore[union-attr]

#: selectors for the PP's pages; a source's ``settings`` overrides any of them
SETTINGS: dict[str, Any] = {
    # the decree list block, and one arrêté in it (the <a> holding it is the PDF link)
    "decree_list": "#block-decree-list-block, .view-decree-list",
    "decree": ".node--type--tc13-decree",
    "decree_date": ".field--type-datetime",
    # the Drupal pager's "next page" link
    "decree_pager": "a[rel=next], .pager__item--next a",
    # a recueil's name in its download link, as on prefectures-regions.gouv.fr, whose theme the
    # recueil index has: without the "(pdf - 2 Mo)" after it
    "download_name": THEME["download_name"],
}


@register("prefecture_police")
class PrefecturePoliceEngine(DsfrEngine):
    """Decree lists (one PDF per arrêté) and recueil indexes by year, on one site."""

    name = "prefecture_police"
    settings = DsfrEngine.settings | frozenset(SETTINGS)

    def discover(self, source: Source, fetcher: Fetcher, *, since: date | None = None) -> Crawl:
        return super().discover(
            replace(source, settings={**SETTINGS, **source.settings}), fetcher, since=since
        )

    def pdf_links(self, source: Source, content: Tag, base: str, where: Todo) -> list[RecueilLink]:
        decrees = content.select(source.settings["decree"])
        if not decrees:  # a recueil page: the generic download links, named by their <span>
            return super().pdf_links(source, content, base, where)
        out = []
        for node in decrees:
            a = node if node.name == "a" else node.find_parent("a", href=True)
            if a is None:
                continue
            url = urljoin(base, str(a["href"]).strip()).split("#", 1)[0]
            title = _decree_title(node) or unquote(urlsplit(url).path.rsplit("/", 1)[-1])
            when = node.select_one(source.settings["decree_date"])
            published = find_date(when.get_text(" ", strip=True)) if when else None
            out.append(RecueilLink(source.id, url, title, published or find_date(title), base))
        return out

    def children(
        self, content: Tag, base: str, parent: Todo, cfg: dict[str, Any], crawl: Crawl
    ) -> list[Todo]:
        decrees = content.select(cfg["decree"])
        if decrees or content.select_one(cfg["decree_list"]):
            return self._next_decree_page(content, base, parent, cfg, crawl, decrees)
        found = super().children(content, base, parent, cfg, crawl)
        return found + self._year_links(content, base, parent, crawl)

    def _next_decree_page(
        self, content: Tag, base: str, parent: Todo, cfg: dict[str, Any], crawl: Crawl, decrees: list[Tag]
    ) -> list[Todo]:
        crawl.listing_links += len(decrees)
        if not decrees:
            # The list is filled by JavaScript on some visits: say so rather than find nothing.
            crawl.errors.append(f"{base}: the decree list is empty (rendered by JavaScript?)")
            return []
        nxt = content.select_one(cfg["decree_pager"])
        href = nxt.get("href") if nxt else None
        if not isinstance(href, str) or not href.strip():
            return []
        # Newest first: the next page is no newer than this page's oldest arrêté, so it is
        # labelled with that month and --since does not open it when that month is too old.
        dates = [
            d for n in decrees if (f := n.select_one(cfg["decree_date"])) and (d := find_date(f.get_text()))
        ]
        oldest = min(dates, default=None)
        year, month = (oldest.year, oldest.month) if oldest else (parent.year, parent.month)
        return [Todo(urljoin(base, href.strip()), year, month, parent.depth)]

    def _year_links(self, content: Tag, base: str, parent: Todo, crawl: Crawl) -> list[Todo]:
        """Links to a year's recueils ("Recueils 2026", ".../recueils-2026"), of any markup."""
        out = []
        for a in content.find_all("a", href=True):
            url = urljoin(base, str(a["href"]).strip())
            label = link_label(a, url)
            year, month = find_period(label)
            if year is None or month is not None or find_date(label) or url.split("#", 1)[0] == base:
                continue  # only year pages: a month or a dated issue is not a year index
            crawl.listing_links += 1
            out.append(Todo(url, year, None, parent.depth + 1))
        return out


def _decree_title(node: Tag) -> str:
    return _text(node.find("span") or node)


def _text(tag: Tag) -> str:
    return " ".join(tag.get_text(" ", strip=True).split())
