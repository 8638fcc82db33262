"""Discovery: walk a prefecture's RAA pages and list the PDFs found there.

The generic engine knows the State design system (DSFR) that most prefecture sites share: year
and month cards, pagers, select menus of years or months, download groups and single download
links. A source only says where its RAA pages are and, in ``settings``, what departs from the
defaults. A scraper yields "a PDF at this URL, named so, published then"; it never downloads,
reads or posts.

Select menus (``div.fr-select-group select.fr-select``) come in two kinds. Where the options'
values are paths ("Publications/RAA/Annee-2026"), each is a page to open, as the site's own
script does. Otherwise the menu's form is submitted once per option, as a browser would: to the
form's action (the page itself when it has none), with its method, its hidden inputs and the
option's value under the select's name; a select outside any form is posted back to its page
under its id. Options are dated by their title and text ("Juillet 2024", "RAA année 2024"), and
those older than ``--since`` are never requested.

Links are followed by what they are, not by where they point: a year, month or quarter card or
link, a link that names a recueil or the RAA ("Recueil…", "RAA", "actes administratifs": the
year pages at the site's root, a sibling slug, detail pages under ``/Media/Files/…``), a pager;
on the source's hosts only, never up to a page above the source's own (its breadcrumb), never
into another section (news, public inquiries, regional RAA for a departmental source: see
``exclude``), within ``max_depth`` levels and ``max_pages`` requests. Cards and tiles under the
source's own paths (compared without letter case) are followed whatever they say.

When a source's RAA page answers 404 or 410, or redirects away from it, the engine looks for the
page itself, by its link text, on the site's Publications and home pages, crawls from there for
that sweep and reports the move (:attr:`Crawl.moved`): the source file is then to be updated.

A page that answers 200 but is an anti-bot interstitial (``challenge``; an engine may say more
in :meth:`DsfrEngine.refused`) is the source's error, never an empty listing.
"""

from __future__ import annotations

import functools
import logging
import sys
import types
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import unquote, urlencode, urljoin, urlsplit

import regex
from bs4 import BeautifulSoup, Tag
from pydantic import BaseModel, ConfigDict, Field, create_model

from attrap.contracts import validate
from attrap.crawl.fetch import Fetcher, Page
from attrap.crawl.sources import SCRAPERS_ENV, Source
from attrap.errors import ConfigError, FetchError
from attrap.model import RecueilLink
from attrap.rules.frdates import find_date, find_period, fold

log = logging.getLogger(__name__)

#: engine defaults; a source's ``settings`` table overrides any of them
DEFAULTS: dict[str, Any] = {
    # links to follow from a listing page to the next level (cards, tiles, plain lists)
    "follow": ".fr-card__title a, a.fr-card__link, .fr-tile__title a, .fr-tile__link",
    # pager links
    "pager": "a.fr-pagination__link--next, a.fr-pagination__link[href]",
    # where the page's own content is (header, menus and footer are left out)
    "content": "main, #main, #contenu, [role=main]",
    # paths whose cards and tiles are followed whatever they say (default: the source URLs' paths)
    "follow_prefixes": None,
    # links never followed, whatever they name: their text or last path segment, folded (lower
    # case, no accents), searched with this pattern
    "exclude": (
        r"actualites?|\bpresse\b|communiques?|agenda|evenements|enquetes?[ -]publiques?|consultations?"
        r"|marches[ -]publics|recrutement|emplois?\b|elections?|demarches|contact|plan du site|mentions"
        r"|accessibilite|donnees personnelles|\brss\b|newsletter|lettre d.information|annuaire"
        r"|avis d.appel|appels? a projets|subventions?"
    ),
    # for a departmental source, links to the regional prefecture's RAA are another source's
    "exclude_regional": r"\bregion(?:al|aux|ale|ales)?\b",
    "max_pages": 300,
    "max_depth": 6,
    # select menus whose options lead to periods (years, months, recueils)
    "select": "select",
    # the form a select belongs to, when it is not the select's own <form> (or form= attribute)
    "select_form": None,
    # "auto": "navigate" when every option value is a path or URL, else "submit" the form
    "select_mode": "auto",
    # only use selects where some option names a year or a month (a "sort by" menu is not one)
    "select_dated_only": True,
    # download links that are not recueils: the DSFR "download this page" PDF
    "skip_downloads": r"/telechargement/page-entiere\.pdf$",
    # where a download link's name is, when not its whole text ("a.link-download > span")
    "download_name": None,
    # the element around a download link that names and dates it ("tr": a table row holding
    # the number and the date, the link saying only "Télécharger le document")
    "download_row": None,
    # what an anti-bot interstitial says, in lower case without accents: searched in a page's
    # <title>, and in its whole text when it has no content (see ``content``)
    "challenge": (
        r"captcha|\brobots?\b|just a moment|checking your browser|attention required|access denied"
        r"|verification (?:de securite|en cours|de votre navigateur)|acces (?:refuse|bloque)|ete bloque"
    ),
}

_PDF_HREF = regex.compile(
    r"(\.pdf$)|(/contenu/telechargement/)|(/irecontenu/telechargement/)|(/content/download/)", regex.I
)
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
    #: listing pages and download links left out because older than ``since`` (a partial crawl
    #: by request, not a site that shows nothing)
    older: int = 0
    #: (the source's URL, where its RAA page was found instead) when it had moved
    moved: list[tuple[str, str]] = field(default_factory=list)
    #: the source's own RAA page(s) answered an error (and no new place was found)
    root_failed: bool = False


class Engine(Protocol):
    #: the settings a source file may give this engine (its ``[settings]`` table's keys)
    settings: frozenset[str]

    def discover(self, source: Source, fetcher: Fetcher, *, since: date | None = None) -> Crawl: ...


E = TypeVar("E", bound=Engine)


@dataclass(frozen=True)
class Todo:
    """A page an engine is to open: where, for which period, how deep, and how (GET or a form)."""

    url: str
    year: int | None
    month: int | None
    depth: int
    #: "GET", or "POST" with ``data`` for a form posted back
    method: str = "GET"
    data: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """What makes two requests the same one (a form posted with other values is another)."""
        if self.method == "GET":
            return _page_key(self.url)
        return f"{self.method} {_page_key(self.url)} {urlencode(self.data)}"


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
    settings: frozenset[str] = frozenset(DEFAULTS)
    #: each setting's default: a source file's value must be of its type (:func:`engine_for`)
    defaults: dict[str, Any] = DEFAULTS
    #: the type of the settings whose default (None) does not tell it
    setting_types: dict[str, Any] = {
        "follow_prefixes": list[str],
        "select_form": str,
        "download_name": str,
        "download_row": str,
        "select_mode": Literal["auto", "navigate", "submit"],
    }
    #: which links the crawl under way follows (set by :meth:`discover`)
    policy: _Policy

    def discover(self, source: Source, fetcher: Fetcher, *, since: date | None = None) -> Crawl:
        cfg = {**DEFAULTS, **source.settings}
        crawl = Crawl(source.id)
        located = [self.locate(source, url, fetcher, crawl) for url in source.urls]
        roots = [r for r in located if r is not None]
        if not roots:
            crawl.root_failed = True
            return crawl
        self.policy = policy = _Policy.of(source, [url for url, _ in roots], cfg)
        seen_pages: set[str] = set()
        seen_pdfs: set[str] = set()
        queue = deque(Todo(url, None, None, 0) for url, _ in roots)
        answered = {_page_key(url): page for url, page in roots}
        while queue:
            todo = queue.popleft()
            key = todo.key
            if key in seen_pages:
                continue
            if len(seen_pages) >= cfg["max_pages"]:
                crawl.errors.append(f"stopped after {cfg['max_pages']} pages (max_pages)")
                break
            seen_pages.add(key)
            page = answered.pop(key, None) if todo.method == "GET" else None
            try:
                if page is not None:
                    pass  # a root, fetched when it was located
                elif todo.method == "POST":
                    page = fetcher.post_page(todo.url, dict(todo.data))
                else:
                    page = fetcher.get_page(todo.url)
            except FetchError as exc:
                crawl.errors.append(str(exc))
                log.warning("%s", exc)
                continue
            soup = BeautifulSoup(page.text, "html.parser")
            if (why := self.refused(soup, cfg)) is not None:  # answered 200, but not the listing
                error = fetcher.error(f"an anti-bot page instead of the listing ({why})", page.url)
                crawl.errors.append(str(error))
                log.warning("%s", error)
                continue
            crawl.pages_visited.append(todo.url)
            content = _content(soup, cfg["content"])
            for link in self.pdf_links(source, content, page.url, todo):
                if link.url in seen_pdfs:
                    continue
                seen_pdfs.add(link.url)
                if since and link.published and link.published < since:
                    crawl.older += 1
                    continue
                crawl.links.append(link)
            if todo.depth >= cfg["max_depth"]:
                continue
            children = self.children(content, page.url, todo, cfg, crawl)
            children += self.select_children(content, page.url, todo, cfg, crawl)
            for child in children:
                if child.key in seen_pages or _PDF_HREF.search(urlsplit(child.url).path):
                    continue
                if not policy.allowed(child.url):
                    continue
                if _before(since, child.year, child.month):
                    crawl.older += 1
                    continue  # older than --since: not even opened
                queue.append(child)
        return crawl

    # -- where the RAA page is ----------------------------------------------------------------
    def locate(self, source: Source, url: str, fetcher: Fetcher, crawl: Crawl) -> tuple[str, Page] | None:
        """The source's RAA page, fetched: at ``url``, or where the site now has it when ``url``
        answers 404 or 410 or redirects elsewhere (the move is recorded in ``crawl.moved``).
        None, with the error recorded, when neither answers."""
        try:
            page = fetcher.get_page(url)
        except FetchError as exc:
            if exc.status not in (404, 410):
                crawl.errors.append(str(exc))
                log.warning("%s", exc)
                return None
            failure: str = exc.message
            landed = None
        else:
            if _same_page(page.url, url) or _under(page.url, url):
                return url, page
            failure, landed = f"redirected to {page.url}", page
        found = self.find_raa_page(source, url, fetcher, landed)
        if found is None:
            message = (
                f"the RAA page is gone ({failure}) and no link to it was found on the site's "
                "Publications or home page"
            )
            crawl.errors.append(str(fetcher.error(message, url)))
            log.warning("%s: %s", source.id, message)
            return None
        new_url, new_page = found
        crawl.moved.append((url, new_url))
        log.warning("%s: RAA page moved: %s -> %s", source.id, url, new_url)
        return new_url, new_page

    def find_raa_page(
        self, source: Source, old: str, fetcher: Fetcher, landed: Page | None
    ) -> tuple[str, Page] | None:
        """Look for the RAA page by its link text where a site links to it: the page a redirect
        landed on, the site's Publications page, its home page."""
        parts = urlsplit(old)
        base = f"{parts.scheme}://{parts.netloc}"
        regional = source.department is None
        tried: set[str] = {_page_key(old)}
        pages: list[Page | str] = [landed] if landed is not None else []
        pages += [f"{base}/Publications", f"{base}/"]
        for item in pages:
            if isinstance(item, str):
                if _page_key(item) in tried:
                    continue
                tried.add(_page_key(item))
                try:
                    item = fetcher.get_page(item)
                except FetchError:
                    continue
            if _looks_like_raa_page(item.text) and not _same_page(item.url, f"{base}/"):
                if _page_key(item.url) != _page_key(f"{base}/Publications"):
                    return item.url, item
            for url in _raa_links(item.text, item.url, source.hosts, regional=regional):
                if _page_key(url) in tried:
                    continue
                tried.add(_page_key(url))
                try:
                    return url, fetcher.get_page(url)
                except FetchError:
                    continue
        return None

    def refused(self, soup: BeautifulSoup, cfg: dict[str, Any]) -> str | None:
        """Why a page is an anti-bot interstitial rather than the page asked for, or None."""
        if not cfg["challenge"]:
            return None
        title = soup.title.get_text(" ", strip=True) if soup.title else ""
        has_content = any(soup.select_one(sel.strip()) for sel in cfg["content"].split(","))
        text = title if has_content else soup.get_text(" ", strip=True)
        found = regex.search(cfg["challenge"], fold(text))
        return f"it says {found[0]!r}" if found else None

    # -- what a page links to -----------------------------------------------------------------
    def children(
        self, content: Tag, base: str, parent: Todo, cfg: dict[str, Any], crawl: Crawl
    ) -> list[Todo]:
        """The listing pages a page links to: pagers (same period as the page), and links that
        are a period, a recueil or the RAA, or a card or tile under the source's paths."""
        policy = self.policy
        pagers = {id(a) for a in content.select(cfg["pager"])} if cfg["pager"] else set()
        cards = {id(a) for a in content.select(cfg["follow"])} if cfg["follow"] else set()
        out = []
        for a in content.find_all("a", href=True):
            href = str(a.get("href") or "").strip()
            if not href or href.startswith(("#", "mailto:", "tel:", "javascript:")):
                continue
            url = urljoin(base, href).split("#", 1)[0]
            if id(a) in pagers or _is_pager(a):
                crawl.listing_links += 1
                out.append(Todo(url, parent.year, parent.month, parent.depth))
                continue
            label = link_label(a, url)
            if not policy.listing(a.get_text(" ", strip=True), label, url, card=id(a) in cards):
                continue
            crawl.listing_links += 1
            year, month = find_period(label)
            if year is None and month is not None:
                year = parent.year
            if year is None:
                year, month = parent.year, parent.month
            out.append(Todo(url, year, month, parent.depth + 1))
        return out

    def select_children(
        self, content: Tag, base: str, parent: Todo, cfg: dict[str, Any], crawl: Crawl
    ) -> list[Todo]:
        """One request per option of the page's select menus (see the module's docstring)."""
        out = []
        for select in content.select(cfg["select"]) if cfg["select"] else ():
            options = [
                (value, _option_period(option, value, parent))
                for option in select.find_all("option")
                if (value := str(option.get("value") or "").strip()) and not option.has_attr("disabled")
            ]
            if not options or (cfg["select_dated_only"] and not any(y or m for _, (y, m) in options)):
                continue
            mode = cfg["select_mode"]
            if mode == "auto":
                mode = "navigate" if all(_is_path(v) for v, _ in options) else "submit"
            submit = None if mode == "navigate" else _Form.of(select, content, base, cfg["select_form"])
            for value, (year, month) in options:
                crawl.listing_links += 1
                if submit is None:  # a path from the site's root, usually without its leading "/"
                    url = value if value.startswith(("http://", "https://")) else "/" + value.lstrip("/")
                    out.append(Todo(urljoin(base, url), year, month, parent.depth + 1))
                else:
                    out.append(submit.todo(value, year, month, parent.depth + 1))
        return out

    def pdf_links(self, source: Source, content: Tag, base: str, where: Todo) -> list[RecueilLink]:
        """Every link to a PDF in the page's content, with its title and publication date."""
        name_selector = source.settings.get("download_name", DEFAULTS["download_name"])
        names = {
            id(a): " ".join(el.get_text(" ", strip=True).split())
            for el in (content.select(name_selector) if name_selector else ())
            if (a := el if el.name == "a" else el.find_parent("a", href=True)) is not None
        }
        row_tag = source.settings.get("download_row", DEFAULTS["download_row"])
        skip = source.settings.get("skip_downloads", DEFAULTS["skip_downloads"])
        out = []
        for a in content.find_all("a", href=True):
            href = str(a["href"]).strip()
            url = urljoin(base, href)
            classes = " ".join(a.get("class") or [])
            if not (_PDF_HREF.search(urlsplit(url).path) or "fr-link--download" in classes):
                continue
            if skip and regex.search(skip, urlsplit(url).path):
                continue
            title, detail = _link_text(a)
            title = names.get(id(a)) or title
            if row_tag and (row := a.find_parent(row_tag)) is not None:
                cells = [" ".join(c.get_text(" ", strip=True).split()) for c in row.find_all(["td", "th"])]
                own = a.get_text(" ", strip=True)
                text = " ".join(c for c in cells if c and c != own) or row.get_text(" ", strip=True)
                title, detail = text, f"{detail} {text}"
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


@dataclass(frozen=True)
class _Form:
    """How to submit a select menu: where, how, and with which other fields."""

    action: str
    method: str
    field: str
    fixed: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, select: Tag, content: Tag, base: str, form_selector: str | None) -> _Form:
        form = None
        if form_selector:
            form = content.select_one(form_selector)
        elif select.get("form"):
            form = content.find("form", id=str(select["form"]))
        if form is None:
            form = select.find_parent("form")
        field = str(select.get("name") or select.get("id") or "")
        if form is None:  # no form: posted back to the page under the select's id
            return cls(base, "POST", field, ())
        fixed: list[tuple[str, str]] = []
        for el in form.select("input[name], select[name]"):
            name = str(el["name"])
            kind = str(el.get("type") or "").lower()
            if el is select or el.has_attr("disabled"):
                continue
            if el.name == "select":  # another menu of the same form keeps its chosen option
                chosen = el.select_one("option[selected]") or el.find("option")
                fixed.append((name, str(chosen.get("value") or "") if isinstance(chosen, Tag) else ""))
            elif kind in ("hidden", "text", "search", ""):
                fixed.append((name, str(el.get("value") or "")))
            elif kind in ("checkbox", "radio") and el.has_attr("checked"):
                fixed.append((name, str(el.get("value") or "on")))
        submit = form.select_one("[type=submit][name]")
        if submit is not None:  # the button that submits the form is sent too
            fixed.append((str(submit["name"]), str(submit.get("value") or "")))
        action = urljoin(base, str(form.get("action") or "").strip())
        method = "POST" if str(form.get("method") or "get").lower() == "post" else "GET"
        return cls(action, method, field, tuple(fixed))

    def todo(self, value: str, year: int | None, month: int | None, depth: int) -> Todo:
        data = (*self.fixed, (self.field, value))
        if self.method == "GET":  # the form's fields replace the action's query
            return Todo(f"{self.action.split('?', 1)[0]}?{urlencode(data)}", year, month, depth)
        return Todo(self.action, year, month, depth, "POST", data)


#: what names a recueil or the RAA, in a folded link text or path
_RAA_WORDS = regex.compile(r"\brecueils?\b|\braa[a-z]?\d*\b|\bactes? administratifs?\b|\bbulletins?\b")
#: what the RAA page itself is called where a site links to it (folded)
_RAA_PAGE = regex.compile(r"\brecueils? (?:des |d )?actes administratifs\b|\braa\b")
#: words a link that names only a period may hold besides the period itself
_PERIOD_FILLER = regex.compile(
    r"\b(?:annees?|mois|trimestres?|semestres?|janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre"
    r"|octobre|novembre|decembre|\d+(?:er|e|eme)?|de|du|des|d|en|l|le|la|les|et|au|a|publies?|parus?"
    r"|recueils?|raa|premier|deuxieme|troisieme|quatrieme|1er|2e|3e|4e)\b"
)
_PAGER_TEXT = regex.compile(r"^(?:suivante?s?|page suivante|>|»|›|>>|derniere page|derniere|next)$")


@dataclass(frozen=True)
class _Policy:
    """Which links a crawl follows (see the module's docstring)."""

    hosts: frozenset[str]
    #: the RAA pages' paths, lower case: their cards are followed, their ancestors never
    roots: tuple[str, ...]
    prefixes: tuple[str, ...]
    exclude: regex.Pattern[str] | None

    @classmethod
    def of(cls, source: Source, roots: list[str], cfg: dict[str, Any]) -> _Policy:
        paths = tuple(urlsplit(u).path.rstrip("/").lower() for u in roots)
        prefixes = tuple(p.rstrip("/").lower() for p in (cfg["follow_prefixes"] or [])) or paths
        patterns = [cfg["exclude"]] if cfg["exclude"] else []
        if source.department is not None and cfg["exclude_regional"]:
            patterns.append(cfg["exclude_regional"])
        exclude = regex.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None
        hosts = frozenset(source.hosts | {urlsplit(u).netloc for u in roots})
        return cls(hosts, paths, prefixes, exclude)

    def allowed(self, url: str) -> bool:
        """On the source's hosts, and not a page above the RAA page (a breadcrumb, the home)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.netloc not in self.hosts:
            return False
        path = parts.path.rstrip("/").lower()
        return not any(root.startswith(path + "/") or (path == "" and root) for root in self.roots)

    def on_paths(self, url: str) -> bool:
        path = urlsplit(url).path.rstrip("/").lower()
        return any(path == p or path.startswith(p + "/") for p in self.prefixes)

    def listing(self, text: str, label: str, url: str, *, card: bool) -> bool:
        """Whether a link (its text, its :func:`link_label`, its URL) leads to a listing: a
        period, a recueil, the RAA, a card under the RAA page."""
        folded = fold(label)
        if self.exclude is not None and self.exclude.search(folded):
            return False
        if not self.allowed(url):
            return False
        on_paths = self.on_paths(url)
        if card and on_paths:
            return True
        if _RAA_WORDS.search(folded) or _RAA_WORDS.search(_words(unquote(urlsplit(url).path))):
            return True
        year, month = find_period(label)
        if year is None and month is None:
            return False
        return on_paths or card or _only_a_period(text)


def _words(text: str) -> str:
    return " ".join(regex.split(r"[\s/_.+\-()]+", fold(text)))


def _only_a_period(text: str) -> bool:
    """ "Année 2026", "Août 2026", "08. Aout 2026", "2e trimestre 2026": nothing but a period."""
    rest = _PERIOD_FILLER.sub(" ", regex.sub(r"[^\w]+", " ", fold(text)))
    return not rest.strip()


def _is_pager(a: Tag) -> bool:
    """A link to the next (or last) page of the same listing, by what it is or says."""
    if "next" in (a.get("rel") or []):
        return True
    for el in (a, a.parent, a.parent.parent if a.parent else None):
        if isinstance(el, Tag) and any("pagination" in c or "pager" in c for c in (el.get("class") or [])):
            return True
    return bool(_PAGER_TEXT.match(" ".join(fold(a.get_text(" ", strip=True)).split())))


def _same_page(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return pa.netloc == pb.netloc and pa.path.rstrip("/").lower() == pb.path.rstrip("/").lower()


def _under(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return pa.netloc == pb.netloc and pa.path.lower().startswith(pb.path.rstrip("/").lower() + "/")


def _looks_like_raa_page(html: str) -> bool:
    """Whether a page (where a redirect landed) is itself an RAA page, by its title or heading."""
    soup = BeautifulSoup(html, "html.parser")
    names = [soup.title.get_text(" ", strip=True) if soup.title else ""]
    names += [h.get_text(" ", strip=True) for h in soup.find_all("h1")]
    return any(_RAA_PAGE.search(fold(n)) for n in names)


def _raa_links(html: str, base: str, hosts: frozenset[str], *, regional: bool) -> list[str]:
    """Links to the RAA page on a site's page (its menus included), best first."""
    soup = BeautifulSoup(html, "html.parser")
    scored: dict[str, int] = {}
    for a in soup.find_all("a", href=True):
        text = " ".join(fold(a.get_text(" ", strip=True)).split())
        url = urljoin(base, str(a["href"]).strip()).split("#", 1)[0]
        parts = urlsplit(url)
        if parts.netloc not in hosts or _PDF_HREF.search(parts.path) or not _RAA_PAGE.search(text):
            continue
        if not regional and regex.search(r"\bregion", text):
            continue
        score = 2 if text.startswith(("recueil", "raa")) else 0
        score += 1 if "recueil" in parts.path.lower() else 0
        scored[url] = max(score, scored.get(url, 0))
    return sorted(scored, key=lambda u: -scored[u])


def _is_path(value: str) -> bool:
    return "/" in value or value.startswith(("http://", "https://"))


def _option_period(option: Tag, value: str, parent: Todo) -> tuple[int | None, int | None]:
    """(year, month) an option stands for: "RAA année 2024", "Juillet 2024", "… du 1er juillet 2025"."""
    label = f"{option.get('title') or ''} {option.get_text(' ', strip=True)}"
    day = find_date(label)
    if day is not None:
        return day.year, day.month
    year, month = find_period(label)
    if year is None and month is None:
        year, month = find_period(unquote(value).rsplit("/", 1)[-1])
    if year is None and month is not None:
        year = parent.year
    if year is None:
        year, month = parent.year, parent.month
    return year, month


def link_label(a: Tag, url: str) -> str:
    """What names a listing link's period: its text and the last segment of its path."""
    return f"{a.get_text(' ', strip=True)} {unquote(urlsplit(url).path.rstrip('/').rsplit('/', 1)[-1])}"


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


#: the engines by name: "dsfr" built in; one per file of ``scrapers/`` (``@register``), and any an
#: installed package declares under the ``attrap.engines`` entry point group
ENGINES: dict[str, Callable[[], Engine]] = {"dsfr": DsfrEngine}
_LOADED: set[str] = set()


def register(name: str) -> Callable[[type[E]], type[E]]:
    """Class decorator: the engine a source file names as ``engine = "<name>"``."""
    if not regex.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"engine names are lower-case identifiers: {name!r}")

    def add(cls: type[E]) -> type[E]:
        known = ENGINES.get(name)
        if known is not None and known is not cls:
            raise ConfigError(f"two engines are named {name!r}: {_where(known)} and {_where(cls)}")
        ENGINES[name] = cls
        return cls

    return add


def _where(cls: Any) -> str:
    return f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', '?')}"


def _load_engines() -> None:
    """Run every engine file of ``scrapers/`` once (each registers what it defines), then the
    ``attrap.engines`` entry points. Files are data shipped with attrap, loaded by path: no
    top-level ``scrapers`` package is installed, and no engine is found by its module's name."""
    import importlib.metadata
    import importlib.util
    import sys

    from attrap.resources import data_dir

    for path in sorted(data_dir("scrapers", SCRAPERS_ENV).glob("*.py")):
        key = str(path.resolve())
        if key in _LOADED or path.name.startswith("_"):
            continue
        _LOADED.add(key)  # before running it: an engine file may ask for another engine
        module_name = f"attrap._engines.{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # dataclasses look their module up while it runs
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
    for ep in importlib.metadata.entry_points(group="attrap.engines"):
        if ep.name not in ENGINES:
            register(ep.name)(ep.load())


def engine_class(name: str) -> Callable[[], Engine] | None:
    """The engine registered under ``name`` (engine files are loaded on first need), or None."""
    if name not in ENGINES:
        _load_engines()
    return ENGINES.get(name)


def engine_for(source: Source) -> Engine:
    """The engine a source names, with its ``[settings]`` checked against the engine's: every
    key one of the engine's ``settings``, every value of the type the engine expects
    (:func:`setting_types`)."""
    factory = engine_class(source.engine)
    if factory is None:
        raise ValueError(f"{source.id}: unknown engine {source.engine!r}")
    engine = factory()
    # a misspelt setting would load silently and the site then "find nothing": refused, named
    accepted: frozenset[str] = getattr(engine, "settings", frozenset())  # declaring none: takes none
    if unknown := sorted(set(source.settings) - set(accepted)):
        known = ", ".join(sorted(accepted)) or "none"
        raise ConfigError(
            f"scrapers/{source.id}.toml: unknown setting(s) {', '.join(unknown)} for engine "
            f"{source.engine!r} (known: {known})"
        )
    # and a value of another type (max_pages = "300") would fail in the middle of a crawl
    contract = _settings_contract(type(engine), frozenset(accepted))
    validate(contract, {"settings": source.settings}, f"scrapers/{source.id}.toml")
    return engine


def setting_types(cls: type) -> dict[str, Any]:
    """The type each setting of engine class ``cls`` takes, where it says one: the type of its
    default (``300``: an integer; ``".fr-card a"``: a string; a list of strings…), the default
    being in the class's ``defaults``, else in the ``SETTINGS`` dict of the module that defines
    it (as engine files in ``scrapers/`` have it), for the class and each of its bases; and
    where the default is None, the class's ``setting_types``."""
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        defaults = klass.__dict__.get("defaults")
        if defaults is None and klass is not object:
            defaults = getattr(sys.modules.get(klass.__module__), "SETTINGS", None)
        if isinstance(defaults, dict):
            out.update({k: _type_of(v) for k, v in defaults.items() if v is not None})
        declared = klass.__dict__.get("setting_types")
        if isinstance(declared, dict):
            out.update(declared)
    return out


def _type_of(value: Any) -> Any:
    """The type a setting must have, from its default value."""
    if isinstance(value, bool | int | float | str):
        return type(value)
    if isinstance(value, list | tuple):
        kinds = {_type_of(v) for v in value}
        return types.GenericAlias(list, (kinds.pop() if len(kinds) == 1 else Any,))
    if isinstance(value, dict):
        return dict[str, Any]
    return Any


@functools.cache
def _settings_contract(cls: type, accepted: frozenset[str]) -> type[BaseModel]:
    """A pydantic model of a source file's ``[settings]`` table for engine class ``cls``:
    ``{"settings": {...}}``, each known key of its type (strict: TOML gives native values).
    Fields go by alias, so that a setting may have any name ("json", "copy"...)."""
    strict = ConfigDict(strict=True, extra="ignore", frozen=True)
    kinds = setting_types(cls)
    fields: dict[str, Any] = {
        f"setting_{i}": (kinds.get(key, Any), Field(None, alias=key))
        for i, key in enumerate(sorted(accepted))
    }
    table = create_model(f"{cls.__name__}Settings", __config__=strict, **fields)
    return create_model(f"{cls.__name__}SourceSettings", __config__=strict, settings=(table, ...))
