"""The web interface of ``attrap serve``: server-rendered HTML pages, in French.

Pages (GET or HEAD; no JavaScript, nothing loaded from another host, readable on a phone):

- ``/`` the flagged decrees, newest recueil first, 20 a page: a search box (the syntax of
  ``attrap search``: words, "quoted phrases", AND, OR, NOT or -word) and filters
  ``category``, ``department``, ``source``, ``since``, ``until`` (YYYY-MM-DD, on the date the
  recueil was published, or first seen when the site gives none), ``page``;
- ``/decret/<id>`` one decree: where it was found, what it authorises, its flags, the excerpts
  that made it flagged with the matched words marked, the link to its page of the PDF, its posts;
- ``/statistiques`` flagged decrees per month and per département, as SVG charts and tables;
- ``/etat`` every source's health, the unhealthy ones first; ``/etat/<source id>`` one source;
- ``/static/…`` the style sheet and the icon.

Templates are Jinja2 with autoescaping: text read from PDFs (titles, excerpts, places, errors)
is always escaped, and links taken from the store are only made links when they are http(s).
A decree reaches a template as its record's JSON (``DecreeRecord.model_dump(mode="json")``, what
the API answers). The routes and their query parameters are declared in :mod:`attrap.serve.api`
(FastAPI), which calls :class:`WebUI` with the values checked; a bad query parameter is a 400
page naming it, in the French words of :func:`bad_value` and the checks here.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from attrap import __version__
from attrap.config import PROJECT_URL
from attrap.crawl.sources import Source
from attrap.model import Details
from attrap.rules.changes import VERBS
from attrap.rules.classify import load_rules
from attrap.rules.frdates import format_date, format_period
from attrap.rules.lateness import LatenessSummary, lateness, summarise
from attrap.rules.review import REASONS
from attrap.run.health import STATES
from attrap.serve import carte, charts, departements
from attrap.serve.formats import COURT
from attrap.serve.highlight import mark, query_spans, query_terms, rule_spans
from attrap.store.db import SourceStatus, Store, parse_query
from attrap.store.read import BadParameter, Catalog, DecreeRecord, Filter

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
#: decrees on a page of the home
PAGE_SIZE = 20
#: the last page number accepted (20 × 5000 decrees)
MAX_PAGE = 5000
#: the longest search accepted, in characters
MAX_QUERY = 200
#: seconds the charts' counts are kept (they read every flagged decree)
STATS_TTL = 60.0
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
PARIS = ZoneInfo("Europe/Paris")
_SOURCE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_STATIC_NAME = re.compile(r"[a-z0-9-]+\.(?:css|svg)")
#: what each filter chooses, in the messages about an unknown value
WHAT = {"category": "catégorie", "department": "département", "source": "source"}
OUTCOMES = {"ok": "réussi", "degraded": "partiel", "error": "échec", "running": "en cours"}
POST_STATUSES = {
    "queued": "en attente", "sending": "en cours d'envoi", "posted": "publié", "failed": "échec définitif",
    "held": "retenu (non publié)", "review": "en attente de vérification",
    "rejected": "écarté à la vérification",
}  # fmt: skip
#: a decree's life, as its page says it (attrap.rules.changes kinds; attrap annotate decisions)
CHANGED_BY = {"abrogation": "Abrogé par", "retrait": "Retiré par", "suspension": "Suspendu par",
              "modification": "Modifié par"}  # fmt: skip
CHANGES = VERBS

HTML = "text/html; charset=utf-8"


@dataclass
class Page:
    body: bytes
    content_type: str = HTML


class PageError(Exception):
    """An answer other than 200 for a page: 404 and the like, with a message in French."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


# -- parameters: the French words for what the declarations in attrap.serve.api refuse --------
def unknown_param(allowed: Collection[str]) -> str:
    return f"paramètre inconnu (paramètres reconnus : {', '.join(allowed) or 'aucun'})"


REPEATED = "paramètre donné plusieurs fois"


class SourceRow(TypedDict):
    """A row of the sources page."""

    source: Source
    status: SourceStatus | None
    state: str
    #: the newest date a recueil of the source was published
    newest: date | None


def bad_value(param: str, value: Any) -> str:
    """Why ``value`` of the query or path parameter ``param`` is refused, in French."""
    shown = _short(str(value))
    if param == "page":
        return f"numéro de page attendu, entre 1 et {MAX_PAGE}, reçu « {shown} »"
    if param in ("since", "until"):
        return f"date attendue au format AAAA-MM-JJ, reçu « {shown} »"
    if param == "id":
        return f"numéro d'arrêté attendu (un entier), reçu « {shown} »"
    if param in WHAT:
        return f"{WHAT[param]} inconnu(e) : « {shown} »"
    return f"valeur incorrecte : « {shown} »"


def known(param: str, value: str | None, allowed: Collection[str]) -> str | None:
    """``value`` when it is one of ``allowed`` (a département in capitals), None when blank."""
    value = (value or "").strip()
    if not value:
        return None
    if param == "department":
        value = value.upper()
    if value not in allowed:
        raise BadParameter(param, bad_value(param, value))
    return value


def search_query(value: str | None) -> str | None:
    value = " ".join((value or "").split())
    if not value:
        return None
    if len(value) > MAX_QUERY:
        raise BadParameter("q", f"recherche trop longue ({len(value)} caractères, au plus {MAX_QUERY})")
    if not parse_query(value):
        raise BadParameter("q", "la recherche ne contient aucun mot")
    return value


def _short(value: str, n: int = 60) -> str:
    return value if len(value) <= n else value[: n - 1] + "…"


# -- formatting (Jinja filters) ---------------------------------------------------------------
def _parse(value: str | date | datetime | None) -> date | datetime | None:
    if value is None or isinstance(value, date):
        return value
    return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)


def fr_date(value: str | date | datetime | None) -> str:
    """ "14 octobre 2026"; a date and time is said in Paris time."""
    parsed = _parse(value)
    if parsed is None:
        return ""
    if isinstance(parsed, datetime):
        parsed = _paris(parsed).date()
    return format_date(parsed)


def fr_datetime(value: str | datetime | None) -> str:
    """ "14 octobre 2026 à 09h05" (Paris time)."""
    parsed = _parse(value)
    if parsed is None:
        return ""
    if not isinstance(parsed, datetime):
        return format_date(parsed)
    t = _paris(parsed)
    return f"{format_date(t.date())} à {t.hour:02d}h{t.minute:02d}"


def _paris(t: datetime) -> datetime:
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(PARIS)


def http_url(value: str | None) -> str | None:
    """The URL when it is http(s), else None: a link read from a site is never ``javascript:``."""
    if not value:
        return None
    try:
        scheme = urlsplit(value).scheme.lower()
    except ValueError:
        return None
    return value if scheme in ("http", "https") else None


def period(details: dict[str, Any]) -> str:
    start, end = _parse(details.get("start")), _parse(details.get("end"))
    if not isinstance(start, datetime):
        return ""
    return format_period(start, end if isinstance(end, datetime) else None)


def hours(value: float | None) -> str:
    """ "5 h", "3 jours (72 h)", "inconnu": a delay in hours as the pages say it."""
    if value is None:
        return "inconnu"
    h = round(value)
    if abs(h) < 48:
        return f"{h} h"
    return f"{round(h / 24)} jours ({h} h)"


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n <= 1 else many or one + 's'}"


@dataclass
class Pager:
    page: int
    pages: int
    total: int
    prev_url: str | None
    next_url: str | None
    first: int
    last: int


class WebUI:
    """The HTML pages over a Catalog (decree records) and the store."""

    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        statuses: Callable[[], dict[str, SourceStatus]],
    ):
        self.store, self.catalog, self.statuses = store, catalog, statuses
        self.ruleset = load_rules()
        self.rules = {r.id: r for r in self.ruleset.rules}
        self.series = charts.series_for(
            catalog.categories, {c.id: c.colour for c in self.ruleset.categories.values()}
        )
        self._facts: tuple[float, list[tuple[str, date | None, datetime, list[str]]]] | None = None
        env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters.update(
            fr_date=fr_date,
            fr_datetime=fr_datetime,
            http_url=http_url,
            period=period,
            upfirst=lambda s: s[:1].upper() + s[1:],
            hours=hours,
            dep=departements.label,
            category=lambda c: catalog.categories.get(c, c),
        )
        env.globals.update(
            version=__version__,
            project=PROJECT_URL,
            categories=catalog.categories,
            plural=plural,
            outcomes=OUTCOMES,
            post_statuses=POST_STATUSES,
            changed_by=CHANGED_BY,
            changes=CHANGES,
            court=COURT,
            reasons=REASONS,
        )
        self.env = env

    def render(self, template: str, **context: Any) -> Page:
        return Page(self.env.get_template(template).render(**context).encode("utf-8"))

    def error(self, status: int, message: str, param: str | None = None) -> Page:
        """The page of an error (its status is the caller's to send)."""
        titles = {400: "Paramètre incorrect", 404: "Page introuvable", 405: "Méthode non permise"}
        return self.render(
            "error.html",
            heading=titles.get(status, "Erreur"),
            message=message,
            param=param,
            nav=None,
        )

    # -- pages ----------------------------------------------------------------------------------
    def home(
        self,
        *,
        q: str | None = None,
        category: str | None = None,
        department: str | None = None,
        source: str | None = None,
        since: date | None = None,
        until: date | None = None,
        page: int = 1,
    ) -> Page:
        """The flagged decrees the filters select, one page of them (``page`` from 1)."""
        query = search_query(q)
        form = {
            "q": query,
            "category": known("category", category, self.catalog.categories),
            "department": known("department", department, self.catalog.departments),
            "source": known("source", source, self.catalog.sources),
            "since": since,
            "until": until,
        }
        if since and until and until < since:
            raise BadParameter("until", "la date de fin précède la date de début")
        total, records = self._listing(form, page)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        kept = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in form.items() if v}

        def url(n: int) -> str:
            query = urlencode({**kept, "page": n} if n > 1 else kept)
            return "/?" + query if query else "/"

        pager = Pager(
            page=page,
            pages=pages,
            total=total,
            prev_url=url(page - 1) if 1 < page <= pages else None,
            next_url=url(page + 1) if page < pages else None,
            first=(page - 1) * PAGE_SIZE + 1,
            last=min(total, page * PAGE_SIZE),
        )
        terms = query_terms(query)
        items = [
            {
                **r.model_dump(mode="json"),
                "title_html": mark(r.title or "Arrêté sans titre", query_spans(terms, r.title)),
                "url": f"/decret/{r.id}" + ("?" + urlencode({"q": form["q"]}) if form["q"] else ""),
            }
            for r in records
        ]
        chosen = {
            k: form[k] for k in ("category", "department", "source", "since", "until", "q") if form.get(k)
        }
        exports = {
            name: f"/export.{name}" + (f"?{urlencode(chosen)}" if chosen else "") for name in ("csv", "json")
        }
        feed = "/feeds/all.atom"
        if form["category"] and not any(form[k] for k in ("q", "department", "source", "since", "until")):
            feed = f"/feeds/{form['category']}.atom"
        elif form["department"] and not any(form[k] for k in ("q", "category", "source", "since", "until")):
            feed = f"/feeds/departement/{form['department']}.atom"
        return self.render(
            "home.html",
            nav="home",
            form=form,
            exports=exports,
            filtered=bool(kept),
            departments=sorted(self.catalog.departments, key=departements.sort_key),
            sources=self.catalog.sources,
            records=items,
            pager=pager,
            feed=feed,
        )

    def _listing(self, form: dict[str, Any], page: int) -> tuple[int, list[DecreeRecord]]:
        """How many flagged decrees the form selects, and the records of one page of them."""
        f = Filter(
            form["category"], form["source"], form["department"], form["since"],
            until=form["until"], search=form["q"],
        )  # fmt: skip
        result = self.catalog.find(f, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        return result.total, result.records

    def decree(self, decree_id: int, q: str | None = None) -> Page:
        """One decree's page, the words of the search ``q`` marked."""
        record = self.catalog.get(decree_id)
        if record is None:
            raise PageError(404, f"Aucun arrêté signalé ne porte le numéro {decree_id}.")
        q = search_query(q)
        terms = query_terms(q)
        raw_matches, posts = self.store.decree_matches_and_posts(record.id)
        matches = []
        seen: set[tuple[str | None, str]] = set()
        for m in raw_matches:
            excerpt = str(m.get("excerpt") or "")
            if (m.get("category"), excerpt) in seen:
                continue  # two rules on the title: the title once
            seen.add((m.get("category"), excerpt))
            spans = rule_spans(self.rules.get(str(m.get("rule"))), self.ruleset.vocabulary, excerpt)
            page = m.get("page") if isinstance(m.get("page"), int) else None
            rule = self.rules.get(str(m.get("rule")))
            matches.append(
                {
                    "category": m.get("category"),
                    "where": "le titre" if rule is not None and rule.scope == "title" else "le texte",
                    "rule_id": m.get("rule"),
                    "page": page,
                    "link": f"{record.recueil_url}#page={page}" if page else record.link,
                    "html": mark(excerpt, spans + query_spans(terms, excerpt)),
                }
            )
        title = record.title or "Arrêté sans titre"
        flags = {f.id: f.text for f in record.flags}
        event = record.details.event or ""
        return self.render(
            "decree.html",
            nav="home",
            r=record.model_dump(mode="json"),
            title=title,
            title_html=mark(title, query_spans(terms, title)),
            places=[mark(p, query_spans(terms, p)) for p in record.details.places],
            event=mark(event, query_spans(terms, event)),
            q=q,
            flags=flags,
            matches=matches,
            posts=posts,
        )

    def stats(self, category: str | None = None, department: str | None = None) -> Page:
        """Flagged decrees per month and per département, of one category or département."""
        category = known("category", category, self.catalog.categories)
        department = known("department", department, self.catalog.departments)
        facts = self._flagged_facts()
        sources = self.catalog.sources
        per_month: dict[tuple[int, int], dict[str, int]] = {}
        per_dep: dict[str, dict[str, int]] = {}
        total = 0
        for source_id, published, first_seen, cats in facts:
            src = sources.get(source_id)
            dep = src.department if src else None
            if department and dep != department:
                continue
            cats = [c for c in cats if category is None or c == category]
            if not cats:
                continue
            total += 1
            when = published or _paris(first_seen).date()
            month = per_month.setdefault((when.year, when.month), {})
            by_dep = per_dep.setdefault(dep or "?", {})
            for cat in cats:
                month[cat] = month.get(cat, 0) + 1
                by_dep[cat] = by_dep.get(cat, 0) + 1
        series = [s for s in self.series if category is None or s.id == category]
        today = datetime.now(PARIS).date()
        first = min(per_month, default=(today.year, today.month))
        months = charts.month_range(first, max((today.year, today.month), max(per_month, default=first)))
        monthly = charts.monthly(per_month, months, series, title="Arrêtés signalés par mois")
        names = {d: departements.label(d) for d in per_dep}
        deps = charts.by_department(per_dep, names, series, title="Arrêtés signalés par département")
        late = self._lateness(category, department)
        return self.render(
            "stats.html",
            nav="stats",
            late=late,
            source_names={s.id: s.name for s in self.catalog.sources.values()},
            late_total=sum(r.authorisations for r in late),
            late_after=sum(r.published_after_start for r in late),
            category=category,
            department=department,
            departments=sorted(self.catalog.departments, key=departements.sort_key),
            total=total,
            monthly=monthly,
            deps=deps,
            series=series,
            cut=len(months) == charts.MAX_MONTHS and first < months[0],
        )

    def carte(
        self, category: str | None = None, since: date | None = None, until: date | None = None
    ) -> Page:
        """The départements coloured by flagged decrees of ``category`` whose recueil was published
        (or first seen) between ``since`` and ``until``; not watched and unhealthy ones apart."""
        category = known("category", category, self.catalog.categories)
        if since and until and since > until:
            raise PageError(400, "La date « depuis » est postérieure à la date « jusqu'au ».")
        statuses = self.statuses()
        by_dep: dict[str, list[str]] = {}
        for src in self.catalog.sources.values():
            if src.department:
                by_dep.setdefault(src.department, []).append(src.id)
        dep_of = {s.id: s.department for s in self.catalog.sources.values()}
        counts: dict[str, int] = {}
        for source_id, published, first_seen, cats in self._flagged_facts():
            when = published or _paris(first_seen).date()
            if (since and when < since) or (until and when > until) or (category and category not in cats):
                continue
            if dep := dep_of.get(source_id):
                counts[dep] = counts.get(dep, 0) + 1
        states = {
            dep: carte.DepartmentState(
                count=counts.get(dep, 0),
                healthy=all(_state(statuses.get(i)) != "unhealthy" for i in ids),
            )
            for dep, ids in by_dep.items()
        }
        bins = carte.auto_bins(counts.values())
        filters = {k: v for k, v in (("category", category), ("since", since), ("until", until)) if v}

        def href(code: str) -> str | None:
            return "/?" + urlencode({**filters, "department": code}) if code in by_dep else None

        def source_href(code: str) -> str | None:
            return f"/etat/{by_dep[code][0]}" if code in by_dep else None

        label = self.catalog.categories.get(category, "arrêtés signalés") if category else "Arrêtés signalés"
        span = " ".join(
            x
            for x in (
                f"depuis le {fr_date(since)}" if since else "",
                f"jusqu'au {fr_date(until)}" if until else "",
            )
            if x
        )
        return self.render(
            "carte.html",
            nav="carte",
            category=category,
            since=since.isoformat() if since else "",
            until=until.isoformat() if until else "",
            svg=carte.render_map(
                states, href=href, bins=bins, title=f"{label} par département" + (f", {span}" if span else "")
            ),
            rows=carte.table(states, href=href, source_href=source_href, bins=bins),
            total=sum(counts.values()),
            unhealthy=sorted(d for d, s in states.items() if not s.healthy),
        )

    def _lateness(self, category: str | None, department: str | None) -> list[LatenessSummary]:
        """Per prefecture and month, the authorisations (a category posted, or ``category``)
        published after their period began and the median delay from signature."""
        wanted = {category} if category else {c.id for c in self.ruleset.categories.values() if c.publish}
        rows = []
        for fact in self.store.lateness_facts():
            source_id, cats, signed_on, details, published, pdf_created, first_seen = fact
            src = self.catalog.sources.get(source_id)
            if not wanted & set(cats) or (department and (src is None or src.department != department)):
                continue
            start = Details.from_json(details).start if details else None
            rows.append(
                (
                    source_id,
                    lateness(
                        signed_on=signed_on,
                        period_start=start,
                        published=published,
                        pdf_created_at=pdf_created,
                        first_seen=first_seen,
                    ),
                )
            )
        return summarise(rows)

    def _flagged_facts(self) -> list[tuple[str, date | None, datetime, list[str]]]:
        cached = self._facts
        if cached is None or time.monotonic() - cached[0] > STATS_TTL:
            cached = self._facts = (time.monotonic(), self.store.flagged_facts())
        return cached[1]

    def sources(self) -> Page:
        statuses = self.statuses()
        newest = self.store.last_published()
        rows: list[SourceRow] = []
        for src in self.catalog.sources.values():
            st = statuses.get(src.id)
            state = _state(st)
            rows.append({"source": src, "status": st, "state": state, "newest": newest.get(src.id)})
        order = {state: i for i, state in enumerate(STATES)}
        rows.sort(
            key=lambda r: (
                order[r["state"]],
                departements.sort_key(r["source"].department or "999"),
                r["source"].name,
            )
        )
        counts = {k: sum(1 for r in rows if r["state"] == k) for k in order}
        return self.render("sources.html", nav="sources", rows=rows, counts=counts)

    def source(self, raw_id: str) -> Page:
        if not _SOURCE_ID.fullmatch(raw_id) or raw_id not in self.catalog.sources:
            raise PageError(404, f"Aucune source ne porte l'identifiant « {_short(raw_id)} ».")
        src = self.catalog.sources[raw_id]
        st = self.statuses().get(src.id)
        runs, failed, newest = self.store.source_history(src.id)
        return self.render(
            "source.html",
            nav="sources",
            src=src,
            st=st,
            state=_state(st),
            runs=runs,
            last=next((r for r in runs if r.outcome != "running"), None),
            failed=failed,
            newest=newest,
        )

    def static(self, name: str) -> Page:
        path = STATIC / name
        if not _STATIC_NAME.fullmatch(name) or not path.is_file():
            raise PageError(404, f"Aucun fichier « {name} ».")
        return Page(path.read_bytes(), STATIC_TYPES[path.suffix])


def _state(st: SourceStatus | None) -> str:
    """unhealthy, degraded, ok, or never (never scanned): attrap.run.health's word."""
    if st is None or st.last_run is None:
        return "never"
    return st.state
