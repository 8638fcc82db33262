"""mc.moselle.gouv.fr: the Préfecture de la Moselle's acts, on the DIMS CMS rather than DSFR.

www.moselle.gouv.fr only links out to it. Its list is a table of acts, newest first, one row per
act (``tr.li1`` / ``tr.li2``: type, reference, "Date de publication", and a direct download link
``a[href*="dims_op=doc_file_download"]``), each followed by a hidden row holding the act's title
(``div[id^="info_acte"]``). The list answers only inside a session: the first URL of the source
(``/raa.html``) is opened first and sets the ``DIMSPHPSESSID`` cookie, which the fetcher's
client sends back. A list page without any act row (an expired session, an anti-bot page, a
redesign) is the source's error, never an empty success. Each PDF is one act, often a scan.

The pager's markup was not recorded: ``pager`` is a guess a source may override.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag

from attrap.crawl.api import Crawl, Fetcher, FetchError, RecueilLink, Source, find_date, register

#: the list's selectors; a source's ``settings`` overrides any of them
SETTINGS: dict[str, Any] = {
    "rows": "tr.li1, tr.li2",
    "download": 'a[href*="dims_op=doc_file_download"]',
    "title": 'div[id^="info_acte"]',
    "pager": "a.page_suivante, a[rel=next]",
    "max_pages": 30,
    # the "Date de publication" column (0-based), read first; a date elsewhere in the row after
    "date_column": 2,
}


@register("moselle")
class DimsEngine:
    name = "dims"
    settings = frozenset(SETTINGS)

    def discover(self, source: Source, fetcher: Fetcher, *, since: date | None = None) -> Crawl:
        cfg = {**SETTINGS, **source.settings}
        crawl = Crawl(source.id)
        primer, listing = source.urls[0], source.urls[-1]
        url: str | None = listing
        try:
            fetcher.get_page(primer, conditional=False)  # opens the session (cookie DIMSPHPSESSID)
        except FetchError as exc:
            crawl.errors.append(str(exc))
            return crawl
        seen: set[str] = set()
        while url and url not in seen and len(seen) < cfg["max_pages"]:
            seen.add(url)
            try:
                page = fetcher.get_page(url)
            except FetchError as exc:
                crawl.errors.append(str(exc))
                break
            soup = BeautifulSoup(page.text, "html.parser")
            rows = soup.select(cfg["rows"])
            if not rows:
                crawl.errors.append(
                    str(
                        fetcher.error(
                            "no act in the list (an expired session or an anti-bot page?)", page.url
                        )
                    )
                )
                break
            crawl.pages_visited.append(url)
            crawl.listing_links += len(rows)
            oldest = None
            for row in rows:
                link = self.act(source, row, page.url, cfg)
                if link is None:
                    continue
                oldest = link.published or oldest
                if since and link.published and link.published < since:
                    continue
                crawl.links.append(link)
            if since and oldest and oldest < since:
                break  # newest first: the next pages are older still
            nxt = soup.select_one(cfg["pager"])
            url = urljoin(page.url, str(nxt["href"])) if nxt and nxt.get("href") else None
        return crawl

    @staticmethod
    def act(source: Source, row: Tag, base: str, cfg: dict[str, Any]) -> RecueilLink | None:
        """The act of one row: its PDF, its title from the hidden row after it, its date."""
        a = row.select_one(cfg["download"])
        if a is None or not a.get("href"):
            return None
        cells = [" ".join(td.get_text(" ", strip=True).split()) for td in row.find_all("td")]
        info = row.find_next_sibling("tr")
        title_el = info.select_one(cfg["title"]) if info is not None else None
        title = " ".join(title_el.get_text(" ", strip=True).split()) if title_el else ""
        col = cfg["date_column"]
        published = (find_date(cells[col]) if col < len(cells) else None) or next(
            (d for c in cells if (d := find_date(c))), None
        )
        reference = " ".join(c for c in cells[:2] if c)
        return RecueilLink(
            source.id,
            urljoin(base, str(a["href"]).strip()),
            title or reference or "Acte",
            published,
            found_on=base,
        )
