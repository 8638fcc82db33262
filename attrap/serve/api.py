"""``attrap serve``: a web interface, Atom feeds and a read-only JSON API over the store, as a
FastAPI application (Starlette underneath) that uvicorn serves.

HTML pages in French (:mod:`attrap.serve.pages`; no JavaScript, nothing from another host):

- ``/`` the flagged decrees with a search box and filters, paged (to a client that asks for
  ``text/html``, as browsers do; other clients get the JSON index of the API there);
- ``/decret/<id>`` one decree (its life: what changed it, court decisions; its delays);
  ``/statistiques`` charts and lateness figures; ``/carte`` the départements on a map;
  ``/etat`` and ``/etat/<source id>`` the sources' health; ``/static/…`` the style sheet and icon.

API endpoints (all GET or HEAD; the OpenAPI 3.1 description is at ``/openapi.json``, generated
by FastAPI from the routes and from the pydantic models of the answers, the decree's being
:class:`attrap.store.read.DecreeRecord`; the pages, ``/`` and ``/static`` are not in it):

- ``/feeds/all.atom``, ``/feeds/<category>.atom``, ``/feeds/departement/<dep>.atom``: the
  newest flagged decrees as Atom 1.0 feeds;
- ``/decrees?category=&department=&source=&since=&q=&limit=&offset=``: flagged decrees, paged;
- ``/decrees/<id>``: one flagged decree;
- ``/export.<format>?category=&department=&source=&since=&until=&q=``: every flagged decree
  the filters select, as a file (:data:`attrap.serve.formats.FORMATS`);
- ``/sources``: every source with its health (as ``attrap status`` gives it).

Query parameters are declared on the routes with their types and bounds; on the pages and on the
routes that filter (``/decrees``, ``/export.*``) a parameter the route does not declare is refused
too, and anywhere one given twice. A bad parameter is a 400 with
``{"error": "<param>: …"}`` (a page naming the parameter, for the HTML pages; never FastAPI's
422), an unknown path a 404, any method but GET and HEAD a 405. Every answer, errors included,
carries the same security headers (a strict Content-Security-Policy, ``nosniff``, no referrer);
a 200 has an ETag (a hash of its body) and answers ``If-None-Match`` with a 304. No login,
nothing written. :func:`serve` runs :func:`make_app` under uvicorn, with bounded connections,
keep-alive and request heads, its access log going through attrap's logging.
"""

# no ``from __future__ import annotations``: FastAPI reads the routes' annotations as objects, and
# some are types made in make_app (the categories and départements known then)
import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode

import uvicorn
from annotated_types import Ge, Le
from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticUseDefault
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from attrap import __version__
from attrap.config import PROJECT_URL, Settings
from attrap.crawl.sources import Source
from attrap.rules.frdates import iso_day
from attrap.run.health import STATES
from attrap.serve import pages
from attrap.serve.formats import FORMATS, to_atom
from attrap.serve.pages import Page, PageError, WebUI
from attrap.store.db import SourceStatus, Store
from attrap.store.read import BadParameter, Catalog, DecreeRecord, Filter, Instant

log = logging.getLogger(__name__)

#: entries in a feed (the newest)
FEED_SIZE = 100
#: page size of /decrees: default and maximum
DEFAULT_LIMIT, MAX_LIMIT = 50, 200
#: seconds /sources keeps the health it computed (it reads every source's runs)
SOURCES_TTL = 60.0
#: fields a query string may hold
MAX_QUERY_FIELDS = 20
#: uvicorn's limits: connections and requests at once (beyond, a 503), seconds an idle
#: keep-alive connection is kept, bytes of a request's line and headers h11 buffers while they
#: are incomplete (beyond, a 400), seconds in-flight requests are given on shutdown
MAX_CONNECTIONS = 100
KEEP_ALIVE = 5
MAX_REQUEST_HEAD = 16 * 1024
SHUTDOWN_GRACE = 10

#: what a page may load: its own style sheet and icon; no script, no frame, forms to itself
HTML_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"

_DIGITS = re.compile(r"[0-9]{1,9}")


class HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: Iterable[tuple[str, str]] = ()):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, list(headers)


# -- answers ------------------------------------------------------------------------------------
class _Charset(Response):
    """The media type with ``; charset=utf-8`` in Content-Type (the OpenAPI document lists the
    bare media type, as a key)."""

    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        media_type: str | None = None,
        background: Any = None,
    ):
        headers = {"content-type": f"{media_type or self.media_type}; charset=utf-8", **(headers or {})}
        super().__init__(content, status_code, headers, media_type, background)


class JSONAnswer(_Charset, JSONResponse):
    """JSON as attrap has always written it: UTF-8, indented, a final newline."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return (json.dumps(content, ensure_ascii=False, indent=1, default=str) + "\n").encode("utf-8")


class AtomAnswer(_Charset):
    media_type = "application/atom+xml"


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Error(_Answer):
    """Every error (400, 404, 405), and only errors."""

    error: str = Field(description="What is wrong; a bad parameter is named first: `limit: …`")


class DecreePage(_Answer):
    """One page of the flagged decrees a query selects."""

    total: int = Field(description="Decrees matching, over all pages")
    limit: int
    offset: int
    next_offset: int | None = Field(description="null on the last page")
    next: str | None = Field(description="The next page's path and query; null on the last page")
    decrees: list[DecreeRecord]


class SourceHealth(_Answer):
    """A source's health, as ``attrap status`` says it (attrap.run.health)."""

    state: Literal[STATES]  # type: ignore[valid-type]  # a Literal of a tuple: pydantic reads it, mypy cannot
    healthy: bool
    reason: str | None = Field(description="Why it is not ok, in one line")
    last_run: Instant | None
    last_outcome: str | None
    recueils: int
    failed: int
    decrees: int
    flagged: int


class SourceRecord(_Answer):
    """A source: a prefecture's site, where attrap reads its recueils."""

    id: str
    name: str
    department: str | None
    urls: list[str]
    health: SourceHealth


class SourceList(_Answer):
    """Every source attrap knows."""

    sources: list[SourceRecord]


def _errors(described: dict[int, str], *, json_route: bool = True) -> dict[int | str, Any]:
    """The error answers of an operation, JSON whatever the route answers when it succeeds (the
    body an :class:`Error`)."""
    if json_route:
        return {status: {"model": Error, "description": text} for status, text in described.items()}
    schema = {"$ref": f"#/components/schemas/{Error.__name__}"}
    content = {"application/json": {"schema": schema}}
    return {status: {"description": text, "content": content} for status, text in described.items()}


# -- parameters ---------------------------------------------------------------------------------
def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def _integer(*, blank_is_default: bool) -> BeforeValidator:
    """Digits only (pydantic alone would take "+5", "1_0" or "5.0")."""

    def check(value: Any) -> Any:
        if blank_is_default and _blank(value):
            raise PydanticUseDefault()
        if isinstance(value, str) and not _DIGITS.fullmatch(value):
            raise ValueError("not an integer")
        return value

    return BeforeValidator(check)


def _day(value: Any) -> Any:
    """YYYY-MM-DD and nothing else (pydantic alone would take a number of seconds); blank is none."""
    if _blank(value):
        raise PydanticUseDefault()
    return iso_day(value) if isinstance(value, str) else value


def _choice(value: Any) -> Any:
    if _blank(value):
        raise PydanticUseDefault()
    return value.strip() if isinstance(value, str) else value


def _capitals(value: Any) -> Any:
    value = _choice(value)
    return value.upper() if isinstance(value, str) else value


def _one_of(values: Iterable[str]) -> Any:
    """The type of a choice among ``values`` (a plain string when there are none)."""
    values = tuple(values)
    return Literal[values] if values else str


Day = Annotated[date | None, BeforeValidator(_day)]
Limit = Annotated[int, Ge(1), Le(MAX_LIMIT), _integer(blank_is_default=False)]
Offset = Annotated[int, Ge(0), _integer(blank_is_default=False)]
PageNumber = Annotated[int, Ge(1), Le(pages.MAX_PAGE), _integer(blank_is_default=True)]
DecreeId = Annotated[int, _integer(blank_is_default=False)]


def _english(param: str, value: Any, catalog: Catalog) -> str | None:
    """What the API says of a value its declarations refused."""
    if param == "limit":
        return f"expected an integer between 1 and {MAX_LIMIT}, got {value!r}"
    if param == "offset":
        return f"expected an integer at least 0, got {value!r}"
    if param in ("since", "until"):
        return f"expected a date YYYY-MM-DD, got {value!r}"
    if param == "id":
        return f"expected a decree id (an integer), got {value!r}"
    if param == "category":
        return f"unknown category {value!r} (known: {', '.join(sorted(catalog.categories))})"
    if param == "department":
        return f"no source for département {value!r}"
    return None


def _wants_html(accept: str) -> bool:
    """Whether the client asks for a page (browsers send ``Accept: text/html,…``)."""
    return "text/html" in accept or "application/xhtml+xml" in accept


class PageRoute(APIRoute):
    """A route of the HTML pages: its errors are pages too."""


class HomeRoute(PageRoute):
    """``/`` for the clients that ask for HTML; the others reach the JSON index after it."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE and not _wants_html(Headers(scope=scope).get("accept", "")):
            return Match.NONE, {}
        return match, child_scope


def _is_page(scope: Scope) -> bool:
    """Whether an answer to this request is a page: a route of the pages, or a browser's
    request for a path that is none."""
    route = scope.get("route")
    if route is None:
        return _wants_html(Headers(scope=scope).get("accept", ""))
    return isinstance(route, PageRoute)


def _query_string(request: Request) -> None:
    """On every route: the query string is UTF-8, of at most MAX_QUERY_FIELDS fields, each once."""
    raw = request.scope.get("query_string", b"").decode("latin-1")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, errors="strict", max_num_fields=MAX_QUERY_FIELDS)
    except UnicodeDecodeError:
        raise HTTPError(400, "query string: not valid UTF-8") from None
    except ValueError:
        raise HTTPError(400, "query string: too many parameters") from None
    for name, n in Counter(name for name, _ in pairs).items():
        if n > 1:
            raise BadParameter(name, pages.REPEATED if _is_page(request.scope) else "given more than once")


def _only_declared(request: Request) -> None:
    """On the routes that take filters: a query parameter the route does not declare is refused
    (a misspelt filter would otherwise select everything)."""
    route = request.scope["route"]
    declared = [p.alias for p in route.dependant.query_params]
    unknown = sorted(set(request.query_params) - set(declared))
    if unknown:
        if _is_page(request.scope):
            raise BadParameter(unknown[0], pages.unknown_param(declared))
        raise BadParameter(unknown[0], f"unknown parameter (known: {', '.join(declared)})")


STRICT = [Depends(_only_declared)]


# -- the application ----------------------------------------------------------------------------
class WebApp:
    """What the routes read: one Store (its connection pool shared by the worker threads), its
    Catalog, the pages, and the sources' health kept SOURCES_TTL seconds."""

    def __init__(
        self, settings: Settings, *, store: Store | None = None, sources: dict[str, Source] | None = None
    ):
        self.owns_store = store is None
        self.store = store or Store(settings.database_url)
        self.catalog = Catalog(self.store, sources=sources)
        self._status_cache: tuple[float, dict[str, SourceStatus]] | None = None
        self._lock = threading.Lock()
        self.ui = WebUI(self.store, self.catalog, self.statuses)

    def close(self) -> None:
        self.store.close()

    def statuses(self) -> dict[str, SourceStatus]:
        """Every source's status, kept SOURCES_TTL seconds (it reads every source's runs)."""
        with self._lock:
            cached = self._status_cache
            if cached is None or time.monotonic() - cached[0] > SOURCES_TTL:
                sources = list(self.catalog.sources)
                cached = (time.monotonic(), {s.source_id: s for s in self.store.source_status(sources)})
                self._status_cache = cached
            return cached[1]

    def source_rows(self) -> list[SourceRecord]:
        status = self.statuses()
        rows = []
        for src in self.catalog.sources.values():
            st = status.get(src.id)
            health = SourceHealth(
                state=st.state if st and st.last_run else "never",
                healthy=st.healthy if st else False,
                reason=st.health if st else "never scanned",
                last_run=st.last_run if st else None,
                last_outcome=st.last_outcome if st else None,
                recueils=st.recueils if st else 0,
                failed=st.failed if st else 0,
                decrees=st.decrees if st else 0,
                flagged=st.flagged if st else 0,
            )
            rows.append(
                SourceRecord(
                    id=src.id, name=src.name, department=src.department, urls=list(src.urls), health=health
                )
            )
        return rows

    def error(
        self,
        scope: Scope,
        status: int,
        message: str,
        *,
        french: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """An error answer: a page (in ``french`` when given) for the pages, JSON elsewhere."""
        if not _is_page(scope):
            return JSONAnswer({"error": f"{param}: {message}" if param else message}, status, headers)
        text = french or message
        try:
            page = self.ui.error(status, text, param)
        except Exception:  # the page itself failed: say it plainly
            log.exception("error rendering the %d page", status)
            return PlainTextResponse(text, status, headers)
        return HTMLResponse(page.body, status, headers)


def _page(page: Page) -> Response:
    return Response(page.body, media_type=page.content_type)


def make_app(
    settings: Settings, store: Store | None = None, sources: dict[str, Source] | None = None
) -> FastAPI:
    """The ASGI application over the settings' database, or over ``store`` (left open: its
    owner closes it); the store it opened itself is closed when the server stops (lifespan)."""
    web = WebApp(settings, store=store, sources=sources)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        try:
            yield
        finally:
            if web.owns_store:
                web.close()

    app = FastAPI(
        title="attrap",
        version=__version__,
        openapi_url=None,  # served by a route of its own, in the document
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,  # /decrees/ is not /decrees
        dependencies=[Depends(_query_string)],
        lifespan=lifespan,
    )
    app.add_middleware(_Finish, web=web)
    _handle_errors(app, web)
    _page_routes(app, web)  # first: its "/" (HomeRoute) takes the browsers' requests from the JSON index
    _api_routes(app, web)
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]  # FastAPI's way to a custom schema
    return app


def _handle_errors(app: FastAPI, web: WebApp) -> None:
    async def bad_parameter(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadParameter)
        return web.error(request.scope, 400, str(exc).removeprefix(f"{exc.param}: "), param=exc.param)

    async def refused(request: Request, exc: Exception) -> Response:
        """What the declarations refused: a 400 naming the parameter, never a 422."""
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0]
        loc = [str(part) for part in first.get("loc", ())]
        param = loc[1] if len(loc) > 1 else (loc[0] if loc else "request")
        value = first.get("input")
        french = pages.bad_value(param, value)
        english = _english(param, value, web.catalog) or f"{first.get('msg', 'invalid')}, got {value!r}"
        return web.error(request.scope, 400, english, french=french, param=param)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPError | PageError)
        return web.error(request.scope, exc.status, exc.message, headers=dict(getattr(exc, "headers", [])))

    async def starlette_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        method, path = request.method, request.url.path
        if exc.status_code == 405:
            return web.error(
                request.scope,
                405,
                f"method {method} not allowed: this API is read-only",
                french=f"La méthode {method} n'est pas permise : ce site se lit seulement.",
                headers={"Allow": "GET, HEAD"},
            )
        if exc.status_code == 404:
            return web.error(
                request.scope,
                404,
                f"no such resource: {path} (see /openapi.json)",
                french="Il n'y a pas de page à cette adresse.",
            )
        headers = dict(exc.headers) if exc.headers else None
        return web.error(request.scope, exc.status_code, str(exc.detail), headers=headers)

    app.add_exception_handler(BadParameter, bad_parameter)
    app.add_exception_handler(RequestValidationError, refused)
    app.add_exception_handler(HTTPError, http_error)
    app.add_exception_handler(PageError, http_error)
    app.add_exception_handler(StarletteHTTPException, starlette_error)


def _api_routes(app: FastAPI, web: WebApp) -> None:
    catalog = web.catalog
    categories, departments = list(catalog.categories), sorted(catalog.departments)
    if TYPE_CHECKING:  # a Literal of the catalog's values, built at run time: a string to mypy
        Category = Annotated[str | None, BeforeValidator(_choice)]
        Department = Annotated[str | None, BeforeValidator(_capitals)]
    else:
        Category = Annotated[_one_of(categories) | None, BeforeValidator(_choice)]
        Department = Annotated[_one_of(departments) | None, BeforeValidator(_capitals)]
    atom = f"An Atom 1.0 feed of the newest flagged decrees (at most {FEED_SIZE} entries)"
    bad = "A bad parameter, named in the error"

    def no_such(request: Request) -> HTTPError:
        return HTTPError(404, f"no such resource: {request.url.path} (see /openapi.json)")

    def feed(request: Request, f: Filter, what: str) -> Response:
        path = request.url.path
        body = to_atom(
            catalog.find(f, limit=FEED_SIZE).records,
            title=f"attrap — {what}",
            feed_id=f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, PROJECT_URL + path)}",
            self_url=str(request.base_url).rstrip("/") + path,
            labels=catalog.categories,
        )
        return AtomAnswer(body)

    @app.get("/", response_class=JSONAnswer, include_in_schema=False)
    def index() -> Response:
        """The index of the API, for the clients that do not ask for HTML (see :class:`HomeRoute`)."""
        return JSONAnswer(
            {
                "name": "attrap",
                "version": __version__,
                "project": PROJECT_URL,
                "openapi": "/openapi.json",
                "feeds": ["/feeds/all.atom"]
                + [f"/feeds/{c}.atom" for c in catalog.categories]
                + [f"/feeds/departement/{d}.atom" for d in departments],
                "api": ["/decrees", "/decrees/{id}", "/sources"],
                "html": ["/", "/decret/{id}", "/statistiques", "/carte", "/etat", "/etat/{source}"],
            }
        )

    @app.get(
        "/openapi.json",
        response_class=JSONAnswer,
        summary="This document",
        operation_id="openapi",
        response_description="OpenAPI 3.1",
    )
    def openapi() -> Response:
        return JSONAnswer(app.openapi())

    @app.get(
        "/feeds/all.atom",
        response_class=AtomAnswer,
        summary="Every flagged decree, newest first",
        operation_id="feedAll",
        response_description=atom,
    )
    def feed_all(request: Request) -> Response:
        return feed(request, Filter(), "tous les arrêtés signalés")

    @app.get(
        "/feeds/departement/{department}.atom",
        response_class=AtomAnswer,
        summary="The flagged decrees of one département's sources",
        operation_id="feedDepartment",
        response_description=atom,
        responses=_errors({404: "No source for this département"}, json_route=False),
    )
    def feed_department(
        request: Request,
        department: Annotated[
            str, Path(description="Département code: 13, 2A, 971…", json_schema_extra={"enum": departments})
        ],
    ) -> Response:
        dep = department.upper()
        if dep not in catalog.departments:
            raise HTTPError(404, f"no source for département {department!r}")
        return feed(request, Filter(department=dep), f"département {dep}")

    @app.get(
        "/feeds/{category}.atom",
        response_class=AtomAnswer,
        summary="The flagged decrees of one category",
        operation_id="feedCategory",
        response_description=atom,
        responses=_errors({404: "Unknown category"}, json_route=False),
    )
    def feed_category(
        request: Request, category: Annotated[str, Path(json_schema_extra={"enum": categories})]
    ) -> Response:
        if category not in catalog.categories:
            raise no_such(request)
        return feed(request, Filter(category=category), catalog.categories[category])

    @app.get(
        "/decrees",
        response_class=JSONAnswer,
        response_model=DecreePage,
        dependencies=STRICT,
        summary="Flagged decrees, newest recueil first, paged",
        operation_id="listDecrees",
        response_description="One page of decrees",
        responses=_errors({400: bad}),
    )
    def list_decrees(
        request: Request,
        category: Annotated[Category, Query()] = None,
        department: Annotated[Department, Query(description="Département code of the source")] = None,
        source: Annotated[str | None, Query(description="Source id, e.g. pref13")] = None,
        since: Annotated[
            Day, Query(description="Recueils published on or after this day (first seen, if undated)")
        ] = None,
        q: Annotated[
            str | None,
            Query(
                description="Words that must all appear in the title, number, places, event, service "
                "or text; case and accents ignored"
            ),
        ] = None,
        limit: Annotated[Limit, Query()] = DEFAULT_LIMIT,
        offset: Annotated[Offset, Query()] = 0,
    ) -> DecreePage:
        f = catalog.check(Filter(category, source or None, department, since, q or None))
        result = catalog.find(f, limit=limit, offset=offset)
        next_offset = offset + limit if offset + limit < result.total else None
        nxt = None
        if next_offset is not None:
            query = {**dict(request.query_params), "limit": limit, "offset": next_offset}
            nxt = "/decrees?" + urlencode(query)
        return DecreePage(
            total=result.total,
            limit=limit,
            offset=offset,
            next_offset=next_offset,
            next=nxt,
            decrees=result.records,
        )

    @app.get(
        "/export.{format}",
        response_class=Response,
        dependencies=STRICT,
        summary="Every flagged decree the filters select, as a file to download",
        operation_id="exportDecrees",
        responses={
            200: {
                "description": "The file (Content-Disposition: attachment)",
                "content": {
                    f.media_type.split(";")[0]: {"schema": _export_schema(f.name)} for f in FORMATS.values()
                },
            },
            **_errors({400: bad, 404: "No such format"}, json_route=False),
        },
    )
    def export(
        request: Request,
        format: Annotated[
            str,
            Path(
                description="; ".join(f"{f.name}: {f.description}" for f in FORMATS.values()),
                json_schema_extra={"enum": list(FORMATS)},
            ),
        ],
        category: Annotated[Category, Query()] = None,
        department: Annotated[Department, Query(description="Département code of the source")] = None,
        source: Annotated[str | None, Query(description="Source id, e.g. pref13")] = None,
        since: Annotated[
            Day, Query(description="Recueils published on or after this day (first seen, if undated)")
        ] = None,
        until: Annotated[
            Day, Query(description="Recueils published on or before this day (or first seen)")
        ] = None,
        q: Annotated[
            str | None,
            Query(description="Words that must all appear (as for /decrees); case and accents ignored"),
        ] = None,
    ) -> Response:
        fmt = FORMATS.get(format)
        if fmt is None:
            raise no_such(request)
        f = catalog.check(Filter(category, source or None, department, since, q or None, until))
        body = fmt.render(catalog, catalog.find(f).records, f)
        disposition = {"Content-Disposition": f'attachment; filename="{fmt.filename}"'}
        return Response(body, media_type=fmt.media_type, headers=disposition)

    @app.get(
        "/decrees/{id}",
        response_class=JSONAnswer,
        response_model=DecreeRecord,
        summary="One flagged decree, or one posted and no longer flagged",
        operation_id="getDecree",
        response_description="The decree",
        responses=_errors(
            {400: "The id is not an integer", 404: "No decree flagged now or posted before has this id"}
        ),
    )
    def get_decree(id: Annotated[DecreeId, Path()]) -> DecreeRecord:
        record = catalog.get(id)
        if record is None:
            raise HTTPError(404, f"no flagged or posted decree with id {id}")
        return record

    @app.get(
        "/sources",
        response_class=JSONAnswer,
        response_model=SourceList,
        summary="Every source, with its health",
        operation_id="listSources",
        response_description="The sources",
    )
    def list_sources() -> SourceList:
        return SourceList(sources=web.source_rows())


def _export_schema(name: str) -> dict[str, Any]:
    if name == "json":
        return {"type": "array", "items": {"$ref": f"#/components/schemas/{DecreeRecord.__name__}"}}
    return {"type": "string"}


def _page_routes(app: FastAPI, web: WebApp) -> None:
    catalog, ui = web.catalog, web.ui
    if TYPE_CHECKING:  # a Literal of the catalog's values, built at run time: a string to mypy
        Category = Annotated[str | None, BeforeValidator(_choice)]
        Department = Annotated[str | None, BeforeValidator(_capitals)]
    else:
        Category = Annotated[_one_of(catalog.categories) | None, BeforeValidator(_choice)]
        Department = Annotated[_one_of(sorted(catalog.departments)) | None, BeforeValidator(_capitals)]

    def html_page(path: str, route: type[PageRoute] = PageRoute) -> Callable[[Callable[..., Any]], Any]:
        def register(endpoint: Callable[..., Any]) -> Any:
            app.router.add_api_route(
                path,
                endpoint,
                methods=["GET"],
                response_class=HTMLResponse,
                dependencies=STRICT,
                include_in_schema=False,
                route_class_override=route,
            )
            return endpoint

        return register

    @html_page("/", HomeRoute)
    def home(
        q: Annotated[str | None, Query()] = None,
        category: Annotated[Category, Query()] = None,
        department: Annotated[Department, Query()] = None,
        source: Annotated[str | None, Query()] = None,
        since: Annotated[Day, Query()] = None,
        until: Annotated[Day, Query()] = None,
        page: Annotated[PageNumber, Query()] = 1,
    ) -> Response:
        return _page(
            ui.home(
                q=q,
                category=category,
                department=department,
                source=source,
                since=since,
                until=until,
                page=page,
            )
        )

    @html_page("/decret/{id}")
    def decree(id: Annotated[DecreeId, Path()], q: Annotated[str | None, Query()] = None) -> Response:
        return _page(ui.decree(id, q))

    @html_page("/statistiques")
    def stats(
        category: Annotated[Category, Query()] = None, department: Annotated[Department, Query()] = None
    ) -> Response:
        return _page(ui.stats(category, department))

    @html_page("/carte")
    def map_page(
        category: Annotated[Category, Query()] = None,
        since: Annotated[Day, Query()] = None,
        until: Annotated[Day, Query()] = None,
    ) -> Response:
        return _page(ui.carte(category, since, until))

    @html_page("/etat")
    def sources() -> Response:
        return _page(ui.sources())

    @html_page("/etat/{source}")
    def source(source: str) -> Response:
        return _page(ui.source(source))

    @html_page("/static/{name}")
    def static(
        name: str, v: Annotated[str | None, Query(description="the version, for caches")] = None
    ) -> Response:
        return _page(ui.static(name))


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the routes in the schema, made once by FastAPI. A refused
    parameter is a 400 here, never FastAPI's 422: the 422 answers it adds are taken out."""
    if app.openapi_schema is None:
        doc = get_openapi(
            title="attrap",
            version=__version__,
            summary="Prefects' authorisations of police drones, algorithmic video-surveillance, CCTV.",
            description=(
                "Read-only. The decrees attrap found in French prefectures' recueils des actes "
                "administratifs and flagged, with a link to the decree's page of the source PDF."
            ),
            license_info={"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
            servers=[{"url": "/"}],
            routes=app.routes,
        )
        for item in doc["paths"].values():
            for operation in item.values():
                operation.get("responses", {}).pop("422", None)
        schemas = doc.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = doc
    return app.openapi_schema


# -- what every answer gets -----------------------------------------------------------------------
class _Finish:
    """Around the whole application (an ASGI middleware): HEAD is answered as GET without the
    body; every answer, errors included, gets the security headers, its Content-Length and its
    caching (a 200: an ETag, ``public, max-age=300``, a 304 to a matching ``If-None-Match``;
    anything else: ``no-store``); an exception no handler took is a 500 page or JSON; each
    request is logged (the access log, through attrap's logging)."""

    def __init__(self, app: ASGIApp, web: WebApp):
        self.app, self.web = app, web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        inner = dict(scope, method="GET") if method == "HEAD" else scope
        start: Message = {}
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(inner, receive, keep)
            status, raw, body = start["status"], list(start.get("headers", [])), b"".join(chunks)
        except Exception:
            log.exception("error serving %s %s", method, scope.get("path"))
            failed = self.web.error(inner, 500, "internal error", french="Erreur interne.")
            status, raw, body = failed.status_code, list(failed.raw_headers), bytes(failed.body)
        headers = [(k, v) for k, v in raw if k.lower() != b"content-length"]
        content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
        csp = HTML_CSP if content_type.startswith(b"text/html") else API_CSP
        headers += [
            (b"x-content-type-options", b"nosniff"),
            (b"content-security-policy", csp.encode()),
            (b"referrer-policy", b"no-referrer"),
            (b"access-control-allow-origin", b"*"),
        ]
        if scope["path"] == "/":
            headers.append((b"vary", b"Accept"))
        if status == 200:
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            headers += [(b"etag", etag.encode()), (b"cache-control", b"public, max-age=300")]
            wanted = Headers(scope=scope).get("if-none-match", "")
            if etag in [t.strip().removeprefix("W/") for t in wanted.split(",")] or wanted.strip() == "*":
                status, body = 304, b""
                headers = [(k, v) for k, v in headers if k.lower() != b"content-type"]
        else:
            headers.append((b"cache-control", b"no-store"))
        if status != 304:
            headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
        _access(scope, status, len(body))


def _access(scope: Scope, status: int, size: int) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    client = scope.get("client") or ("-", 0)
    target = scope.get("raw_path") or scope["path"].encode("utf-8")
    if scope.get("query_string"):
        target += b"?" + scope["query_string"]
    # the request's own bytes, escaped: a request cannot forge a line of the log
    shown = target.decode("latin-1").encode("unicode_escape").decode("ascii").replace('"', '\\"')
    log.info(
        '%s "%s %s HTTP/%s" %d %d', client[0], scope["method"], shown, scope.get("http_version"), status, size
    )


# -- the server -----------------------------------------------------------------------------------
def server_config(
    app: ASGIApp, host: str, port: int, *, forwarded_allow_ips: str | None = None
) -> uvicorn.Config:
    """uvicorn's settings for attrap: HTTP/1.1 (h11) only, its limits, no logging of its own
    (:class:`_Finish` writes the access log), ``X-Forwarded-*`` believed only from
    ``forwarded_allow_ips`` (a reverse proxy's addresses), none by default."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http="h11",
        ws="none",
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=forwarded_allow_ips is not None,
        forwarded_allow_ips=forwarded_allow_ips,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_keep_alive=KEEP_ALIVE,
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD,
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
    )


@contextmanager
def serving_in_thread(settings: Settings, host: str = "127.0.0.1") -> Iterator[str]:
    """The app over ``settings``' store under uvicorn (:func:`server_config`) in a thread, on a
    free port of ``host``: its base URL until the block ends (tests, screenshots)."""
    server = uvicorn.Server(server_config(make_app(settings), host, 0))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the web server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True  # then the lifespan's end closes the app's store
        thread.join(30)


class _Server(uvicorn.Server):
    """uvicorn's server, saying where it listens once it does."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[str], None] | None):
        super().__init__(config)
        self.on_ready = on_ready

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.on_ready:
            host = self.config.host
            port = self.servers[0].sockets[0].getsockname()[1]
            self.on_ready(f"http://{f'[{host}]' if ':' in host else host}:{port}")


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    on_ready: Callable[[str], None] | None = None,
    forwarded_allow_ips: str | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM (uvicorn finishes the requests in hand, then re-raises the
    signal to the handler the caller had set)."""
    app = make_app(settings)
    _Server(server_config(app, host, port, forwarded_allow_ips=forwarded_allow_ips), on_ready).run()
