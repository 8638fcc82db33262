"""Discovery: walk a prefecture's RAA pages and list the PDFs found there.

The generic engine knows the State design system (DSFR) that most prefecture sites share: year
and month cards, pagers, download groups and single download links. A source only says where
its RAA pages are and, in ``settings``, what departs from the defaults. A scraper yields
"a PDF at this URL, named so, published then"; it never downloads, reads or posts.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol
from urllib.parse import unquote, urljoin, urlsplit

import regex
from bs4 import BeautifulSoup, Tag

from attrap.errors import FetchError
from attrap.fetch import Fetcher
from attrap.frdates import find_date, find_period
from attrap.model import RecueilLink
from attrap.sources import Source

log = logging.getLogger(__name__)

#: engine defaults; a source's ``settings`` table overrides any of them
DEFAULTS: dict[str, Any] = {
    # links to follow from a listing page to the next level (cards, tiles, plain lists)
    "follow": ".fr-card__title a, a.fr-card__link, .fr-tile__title a, .fr-tile__link",
    # pager links
    "pager": "a.fr-pagination__link--next, a.fr-pagination__link[href]",
    # where the page's own content is (header, menus and footer are left out)
    "content": "main, #main, #contenu, [role=main]",
    # only follow pages whose path starts with one of these (default: the source URLs' paths)
    "follow_prefixes": None,
    "max_pages": 300,
    "max_depth": 6,
}

_PDF_HREF = regex.compile(r"(\.pdf$)|(/contenu/telechargement/)|(/irecontenu/telechargement/)", regex.I)
_DOWNLOAD_WORD = regex.compile(r"^\s*t[ée]l[ée]charger\s*(?:le fichier\s*)?[:\-–]?\s*", regex.I)
_FILE_DETAIL = regex.compile(r"\b(PDF|pdf)\s*-\s*[\d,.]+\s*[kKMG]?o\b.*$")


@dataclass
class Crawl:
    """What one pass over a source found."""

    source_id: str
    links: list[RecueilLink] = field(default_factory=list)
    pages_visited: list[str] = field(default_factory=list)
    #: listing links (cards, tiles, pagers) the selectors matched, for self-monitoring
    listing_links: int = 0
    errors: list[str] = field(default_factory=list)


class Engine(Protocol):
    def discover(self, source: Source, fetcher: Fetcher, *, since: date | None = None) -> Crawl: ...


@dataclass(frozen=True)
class _Todo:
    url: str
    year: int | None
    month: int | None
    depth: int


def _before(since: date | None, year: int | None, month: int | None) -> bool:
    """True when the period (year, month) ended before ``since``."""
    if since is None or year is None:
        return False
    if month is None:
        return year < since.year
    return (year, month) < (since.year, since.month)


class DsfrEngine:
    """The generic engine for DSFR prefecture sites."""

    name = "dsfr"

    def discover(self, source: Source, fetcher: Fetcher, *, since: date | None = None) -> Crawl:
        cfg = {**DEFAULTS, **source.settings}
        prefixes = cfg["follow_prefixes"] or [urlsplit(u).path.rstrip("/") for u in source.urls]
        crawl = Crawl(source.id)
        seen_pages: set[str] = set()
        seen_pdfs: set[str] = set()
        queue = deque(_Todo(u, None, None, 0) for u in source.urls)
        while queue:
            todo = queue.popleft()
            key = _page_key(todo.url)
            if key in seen_pages:
                continue
            if len(seen_pages) >= cfg["max_pages"]:
                crawl.errors.append(f"stopped after {cfg['max_pages']} pages (max_pages)")
                break
            seen_pages.add(key)
            try:
                page = fetcher.get_page(todo.url)
            except FetchError as exc:
                crawl.errors.append(str(exc))
                log.warning("%s", exc)
                continue
            crawl.pages_visited.append(todo.url)
            soup = BeautifulSoup(page.text, "html.parser")
            content = _content(soup, cfg["content"])
            for link in self.pdf_links(source, content, page.url, todo):
                if link.url in seen_pdfs or (since and link.published and link.published < since):
                    continue
                seen_pdfs.add(link.url)
                crawl.links.append(link)
            if todo.depth >= cfg["max_depth"]:
                continue
            for child in self.children(content, page.url, todo, cfg, crawl):
                if _page_key(child.url) in seen_pages or _PDF_HREF.search(urlsplit(child.url).path):
                    continue
                if not any(urlsplit(child.url).path.startswith(p) for p in prefixes):
                    continue
                if _before(since, child.year, child.month):
                    continue  # older than --since: not even opened
                queue.append(child)
        return crawl

    # -- what a page links to -----------------------------------------------------------------
    def children(
        self, content: Tag, base: str, parent: _Todo, cfg: dict[str, Any], crawl: Crawl
    ) -> list[_Todo]:
        out = []
        for selector, inherit in ((cfg["follow"], False), (cfg["pager"], True)):
            for a in content.select(selector):
                href = a.get("href")
                if not isinstance(href, str) or not href.strip() or href.startswith("#"):
                    continue
                crawl.listing_links += 1
                url = urljoin(base, href.strip())
                if inherit:  # a pager's next page covers the same period as this one
                    out.append(_Todo(url, parent.year, parent.month, parent.depth))
                    continue
                label = f"{a.get_text(' ', strip=True)} {unquote(urlsplit(url).path.rsplit('/', 1)[-1])}"
                year, month = find_period(label)
                if year is None and month is not None:
                    year = parent.year
                if year is None:
                    year, month = parent.year, parent.month
                out.append(_Todo(url, year, month, parent.depth + 1))
        return out

    def pdf_links(self, source: Source, content: Tag, base: str, where: _Todo) -> list[RecueilLink]:
        """Every link to a PDF in the page's content, with its title and publication date."""
        out = []
        for a in content.find_all("a", href=True):
            href = str(a["href"]).strip()
            url = urljoin(base, href)
            classes = " ".join(a.get("class") or [])
            if not (_PDF_HREF.search(urlsplit(url).path) or "fr-link--download" in classes):
                continue
            title, detail = _link_text(a)
            published = (
                find_date(detail) or find_date(str(a.get("title") or "")) or find_date(title) or _card_date(a)
            )
            if not title:
                title = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
            out.append(
                RecueilLink(
                    source_id=source.id,
                    url=url.split("#", 1)[0],
                    title=title,
                    published=published,
                    found_on=base,
                )
            )
        return out


def _page_key(url: str) -> str:
    return url.split("#", 1)[0].rstrip("/")


def _content(soup: BeautifulSoup, selector: str) -> Tag:
    for sel in selector.split(","):
        found = soup.select_one(sel.strip())
        if found is not None:
            return found
    body = soup.body or soup
    for noise in body.select("header, footer, .fr-header, .fr-footer"):
        noise.decompose()
    return body


def _link_text(a: Tag) -> tuple[str, str]:
    """(title, detail) of a download link: "Télécharger X" and "PDF - 1,2 Mo - 16/07/2025"."""
    detail = " ".join(s.get_text(" ", strip=True) for s in a.select(".fr-link__detail"))
    parts = [
        s.strip()
        for s in a.find_all(string=True)
        if s.strip()
        and not any(isinstance(p, Tag) and "fr-link__detail" in (p.get("class") or []) for p in s.parents)
    ]
    title = " ".join(" ".join(parts).split())
    title = _DOWNLOAD_WORD.sub("", title)
    if not detail and (m := _FILE_DETAIL.search(title)):
        detail, title = m.group(0), title[: m.start()].rstrip(" -–")
    return title.strip(), detail


def _card_date(a: Tag) -> date | None:
    """The "Publié le 16/07/2025" detail of the card holding a link, if any."""
    card = a.find_parent(class_="fr-card")
    if card is None:
        return None
    details = " ".join(p.get_text(" ", strip=True) for p in card.select(".fr-card__detail, .fr-card__end"))
    return find_date(details)


ENGINES: dict[str, Callable[[], Engine]] = {"dsfr": DsfrEngine}


def engine_for(source: Source) -> Engine:
    try:
        return ENGINES[source.engine]()
    except KeyError:
        raise ValueError(f"{source.id}: unknown engine {source.engine!r}") from None
