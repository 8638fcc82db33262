"""``attrap serve``: a web interface, Atom feeds and a read-only JSON API over the store, as a
small WSGI app.

HTML pages in French (:mod:`attrap.serve.pages`; no JavaScript, nothing from another host):

- ``/`` the flagged decrees with a search box and filters, paged (to a client that asks for
  ``text/html``, as browsers do; other clients get the JSON index of the API there);
- ``/decret/<id>`` one decree; ``/statistiques`` charts; ``/etat`` and ``/etat/<source id>`` the
  sources' health; ``/static/…`` the style sheet and icon.

API endpoints (all GET or HEAD; the OpenAPI 3.1 description is at ``/openapi.json``):

- ``/feeds/all.atom``, ``/feeds/<category>.atom``, ``/feeds/departement/<dep>.atom``: the
  newest flagged decrees as Atom 1.0 feeds;
- ``/decrees?category=&department=&source=&since=&q=&limit=&offset=``: flagged decrees, paged;
- ``/decrees/<id>``: one flagged decree;
- ``/sources``: every source with its health (as ``attrap status`` gives it).

No login, nothing written. A bad parameter is a 400 with ``{"error": "<param>: …"}`` (a page
naming the parameter, for the HTML pages), an unknown path a 404, any method but GET and HEAD a
405. The standard library's ``wsgiref`` serves it (threaded) in :func:`serve`; any WSGI server
can run :func:`make_app` instead.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs, urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.util import application_uri

from attrap import __version__
from attrap.config import PROJECT_URL, Settings
from attrap.crawl.sources import Source
from attrap.run.health import STATES
from attrap.serve.formats import FORMATS, Format, to_atom
from attrap.serve.pages import PageError, WebUI
from attrap.store.db import SourceStatus, Store
from attrap.store.read import BadParameter, Catalog, Filter, parse_day

log = logging.getLogger(__name__)

#: entries in a feed (the newest)
FEED_SIZE = 100
#: page size of /decrees: default and maximum
DEFAULT_LIMIT, MAX_LIMIT = 50, 200
#: seconds /sources keeps the health it computed (it reads every source's runs)
SOURCES_TTL = 60.0
DECREE_PARAMS = ("category", "department", "source", "since", "q", "limit", "offset")
EXPORT_PARAMS = ("category", "department", "source", "since", "until", "q")
_EXPORT = re.compile(r"/export\.([a-z]+)")
_DEPARTMENT_FEED = re.compile(r"/feeds/departement/([0-9A-Za-z]{2,3})\.atom")
_CATEGORY_FEED = re.compile(r"/feeds/([a-z0-9_-]+)\.atom")
_DECREE = re.compile(r"/decrees/([^/]+)")
_INT = re.compile(r"[0-9]{1,9}")

#: what a page may load: its own style sheet and icon; no script, no frame, forms to itself
HTML_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"

StartResponse = Callable[..., Any]
Handler = Callable[[dict[str, Any], dict[str, str]], "Response"]


class HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: Iterable[tuple[str, str]] = ()):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, list(headers)


@dataclass
class Response:
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)


def _json(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False, indent=1, default=str).encode("utf-8")
    return Response(body + b"\n", status=status)


def _int_param(params: dict[str, str], name: str, default: int, low: int, high: int | None) -> int:
    value = params.get(name)
    if value is None:
        return default
    if not _INT.fullmatch(value) or int(value) < low or (high is not None and int(value) > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise BadParameter(name, f"expected an integer {bound}, got {value!r}")
    return int(value)


class WebApp:
    """The WSGI application. Holds one Store (its connection pool is shared by threads)."""

    def __init__(
        self, settings: Settings, *, store: Store | None = None, sources: dict[str, Source] | None = None
    ):
        self.store = store or Store(settings.database_url)
        self.catalog = Catalog(self.store, sources=sources)
        self._status_cache: tuple[float, dict[str, SourceStatus]] | None = None
        self._lock = threading.Lock()
        self.ui = WebUI(self.store, self.catalog, self._statuses)

    def close(self) -> None:
        self.store.close()

    # -- WSGI -----------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO") or "/"
        # errors are pages for the HTML pages (and for browsers on unknown paths), JSON elsewhere
        html = _wants_html(environ)
        try:
            handler, html = self._route(path, environ)
            if method not in ("GET", "HEAD"):
                message = f"method {method} not allowed: this API is read-only"
                if html:
                    message = f"La méthode {method} n'est pas permise : ce site se lit seulement."
                raise HTTPError(405, message, [("Allow", "GET, HEAD")])
            response = handler(environ, self._params(environ))
        except BadParameter as exc:
            if html:
                message = str(exc).removeprefix(f"{exc.param}: ")
                response = self._page_error(400, message, exc.param)
            else:
                response = _json({"error": str(exc)}, 400)
        except (HTTPError, PageError) as exc:
            response = (
                self._page_error(exc.status, exc.message)
                if html
                else _json({"error": exc.message}, exc.status)
            )
            response.headers += getattr(exc, "headers", [])
        except Exception:
            log.exception("error serving %s %s", method, path)
            response = (
                self._page_error(500, "Erreur interne.") if html else _json({"error": "internal error"}, 500)
            )
        if path == "/":
            response.headers.append(("Vary", "Accept"))
        return self._send(environ, start_response, method, response)

    def _page_error(self, status: int, message: str, param: str | None = None) -> Response:
        try:
            page = self.ui.error(status, message, param)
        except Exception:  # the page itself failed: say it plainly
            log.exception("error rendering the %d page", status)
            return Response(message.encode("utf-8"), "text/plain; charset=utf-8", status)
        return Response(page.body, page.content_type, status)

    def _send(
        self, environ: dict[str, Any], start_response: StartResponse, method: str, r: Response
    ) -> list[bytes]:
        headers = [
            ("Content-Type", r.content_type),
            ("X-Content-Type-Options", "nosniff"),
            ("Content-Security-Policy", HTML_CSP if r.content_type.startswith("text/html") else API_CSP),
            ("Referrer-Policy", "no-referrer"),
            ("Access-Control-Allow-Origin", "*"),
            *r.headers,
        ]
        body = r.body
        if r.status == 200:
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            headers += [("ETag", etag), ("Cache-Control", "public, max-age=300")]
            wanted = [t.strip().removeprefix("W/") for t in environ.get("HTTP_IF_NONE_MATCH", "").split(",")]
            if etag in wanted or "*" in wanted:
                start_response("304 Not Modified", [h for h in headers if h[0] != "Content-Type"])
                return []
        else:
            headers.append(("Cache-Control", "no-store"))
        headers.append(("Content-Length", str(len(body))))
        start_response(f"{r.status} {HTTPStatus(r.status).phrase}", headers)
        return [] if method == "HEAD" else [body]

    @staticmethod
    def _params(environ: dict[str, Any]) -> dict[str, str]:
        try:
            raw = parse_qs(
                environ.get("QUERY_STRING", ""), keep_blank_values=True, errors="strict", max_num_fields=20
            )
        except UnicodeDecodeError:
            raise HTTPError(400, "query string: not valid UTF-8") from None
        except ValueError:
            raise HTTPError(400, "query string: too many parameters") from None
        params = {}
        for name, values in raw.items():
            if len(values) > 1:
                raise BadParameter(name, "given more than once")
            params[name] = values[0]
        return params

    def _route(self, path: str, environ: dict[str, Any]) -> tuple[Handler, bool]:
        """The handler of ``path`` and whether it answers HTML."""
        if path == "/" and _wants_html(environ):
            return self._page(self.ui.home), True
        if (page := self.ui.route(path)) is not None:
            return self._page(page), True
        return self._api_route(path), False

    @staticmethod
    def _page(handler: Callable[[dict[str, Any], dict[str, str]], Any]) -> Handler:
        def answer(environ: dict[str, Any], params: dict[str, str]) -> Response:
            page = handler(environ, params)
            return Response(page.body, page.content_type)

        return answer

    def _api_route(self, path: str) -> Handler:
        fixed: dict[str, Handler] = {
            "/": self.index,
            "/openapi.json": self.openapi,
            "/sources": self.sources,
            "/decrees": self.decrees,
            "/feeds/all.atom": lambda env, _p: self.feed(env, Filter(), "tous les arrêtés signalés"),
        }
        if path in fixed:
            return fixed[path]
        if m := _DEPARTMENT_FEED.fullmatch(path):
            dep = m[1].upper()
            if dep not in self.catalog.departments:
                raise HTTPError(404, f"no source for département {m[1]!r}")
            return lambda env, _p: self.feed(env, Filter(department=dep), f"département {dep}")
        if (m := _CATEGORY_FEED.fullmatch(path)) and m[1] in self.catalog.categories:
            category = m[1]
            return lambda env, _p: self.feed(
                env, Filter(category=category), self.catalog.categories[category]
            )
        if m := _DECREE.fullmatch(path):
            return lambda env, _p: self.decree(m[1])
        if (m := _EXPORT.fullmatch(path)) and m[1] in FORMATS:
            fmt = FORMATS[m[1]]
            return lambda _env, params: self.export(fmt, params)
        raise HTTPError(404, f"no such resource: {path} (see /openapi.json)")

    # -- endpoints ------------------------------------------------------------------------------
    def index(self, environ: dict[str, Any], params: dict[str, str]) -> Response:
        return _json(
            {
                "name": "attrap",
                "version": __version__,
                "project": PROJECT_URL,
                "openapi": "/openapi.json",
                "feeds": ["/feeds/all.atom"]
                + [f"/feeds/{c}.atom" for c in self.catalog.categories]
                + [f"/feeds/departement/{d}.atom" for d in sorted(self.catalog.departments)],
                "api": ["/decrees", "/decrees/{id}", "/sources"],
                "html": ["/", "/decret/{id}", "/statistiques", "/etat", "/etat/{source}"],
            }
        )

    def openapi(self, environ: dict[str, Any], params: dict[str, str]) -> Response:
        return _json(openapi_document(sorted(self.catalog.categories), sorted(self.catalog.departments)))

    def feed(self, environ: dict[str, Any], f: Filter, what: str) -> Response:
        result = self.catalog.find(f, limit=FEED_SIZE)
        path = environ.get("PATH_INFO", "/")
        body = to_atom(
            result.records,
            title=f"attrap — {what}",
            feed_id=f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, PROJECT_URL + path)}",
            self_url=application_uri(environ).rstrip("/") + path,
            labels=self.catalog.categories,
        )
        return Response(body, "application/atom+xml; charset=utf-8")

    @staticmethod
    def _filter(params: dict[str, str], known: tuple[str, ...]) -> Filter:
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise BadParameter(unknown[0], f"unknown parameter (known: {', '.join(known)})")
        since: date | None = parse_day(params["since"]) if params.get("since") else None
        return Filter(
            category=params.get("category") or None,
            source_id=params.get("source") or None,
            department=params.get("department") or None,
            since=since,
            q=params.get("q") or None,
            until=parse_day(params["until"]) if params.get("until") else None,
        )

    def export(self, fmt: Format, params: dict[str, str]) -> Response:
        """Every flagged decree the filters select, in one of the export formats, as a file."""
        f = self.catalog.check(self._filter(params, EXPORT_PARAMS))
        body = fmt.render(self.catalog, self.catalog.find(f).records, f)
        disposition = ("Content-Disposition", f'attachment; filename="{fmt.filename}"')
        return Response(body, fmt.media_type, headers=[disposition])

    def decrees(self, environ: dict[str, Any], params: dict[str, str]) -> Response:
        f = self._filter(params, DECREE_PARAMS)
        limit = _int_param(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = _int_param(params, "offset", 0, 0, None)
        result = self.catalog.find(f, limit=limit, offset=offset)
        next_offset = offset + limit if offset + limit < result.total else None
        nxt = None
        if next_offset is not None:
            nxt = "/decrees?" + urlencode({**params, "limit": limit, "offset": next_offset})
        return _json(
            {
                "total": result.total,
                "limit": limit,
                "offset": offset,
                "next_offset": next_offset,
                "next": nxt,
                "decrees": result.records,
            }
        )

    def decree(self, raw_id: str) -> Response:
        if not _INT.fullmatch(raw_id):
            raise BadParameter("id", f"expected a decree id (an integer), got {raw_id!r}")
        record = self.catalog.get(int(raw_id))
        if record is None:
            raise HTTPError(404, f"no flagged or posted decree with id {raw_id}")
        return _json(record)

    def sources(self, environ: dict[str, Any], params: dict[str, str]) -> Response:
        return _json({"sources": self._source_rows()})

    def _statuses(self) -> dict[str, SourceStatus]:
        """Every source's status, kept SOURCES_TTL seconds (it reads every source's runs)."""
        with self._lock:
            cached = self._status_cache
            if cached is None or time.monotonic() - cached[0] > SOURCES_TTL:
                sources = list(self.catalog.sources)
                cached = (time.monotonic(), {s.source_id: s for s in self.store.source_status(sources)})
                self._status_cache = cached
            return cached[1]

    def _source_rows(self) -> list[dict[str, Any]]:
        sources = self.catalog.sources
        status = self._statuses()
        rows = []
        for src in sources.values():
            st = status.get(src.id)
            rows.append(
                {
                    "id": src.id,
                    "name": src.name,
                    "department": src.department,
                    "urls": list(src.urls),
                    "health": {
                        "state": st.state if st and st.last_run else "never",
                        "healthy": st.healthy if st else False,
                        "reason": st.health if st else "never scanned",
                        "last_run": st.last_run.isoformat() if st and st.last_run else None,
                        "last_outcome": st.last_outcome if st else None,
                        "recueils": st.recueils if st else 0,
                        "failed": st.failed if st else 0,
                        "decrees": st.decrees if st else 0,
                        "flagged": st.flagged if st else 0,
                    },
                }
            )
        return rows


def _wants_html(environ: dict[str, Any]) -> bool:
    """Whether the client asks for a page (browsers send ``Accept: text/html,…``)."""
    accept = environ.get("HTTP_ACCEPT", "")
    return "text/html" in accept or "application/xhtml+xml" in accept


def make_app(settings: Settings, *, store: Store | None = None) -> WebApp:
    """The WSGI application over the settings' database (``app.close()`` releases it)."""
    return WebApp(settings, store=store)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        log.info("%s %s", self.address_string(), format % args)


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C, or SIGTERM turned into KeyboardInterrupt by the caller)."""
    app = make_app(settings)
    server = make_server(host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    try:
        if on_ready:
            name = f"[{host}]" if ":" in host else host
            on_ready(f"http://{name}:{server.server_address[1]}")
        server.serve_forever()
    finally:
        server.server_close()
        app.close()


# -- OpenAPI --------------------------------------------------------------------------------------
def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi_document(categories: list[str], departments: list[str]) -> dict[str, Any]:
    """The OpenAPI 3.1 description of this server, written by hand."""
    atom = {
        "description": f"An Atom 1.0 feed of the newest flagged decrees (at most {FEED_SIZE} entries).",
        "content": {"application/atom+xml": {"schema": {"type": "string"}}},
    }
    nullable_str = {"type": ["string", "null"]}
    nullable_date = {"type": ["string", "null"], "format": "date"}
    nullable_time = {"type": ["string", "null"], "format": "date-time"}
    decree_params: list[dict[str, Any]] = [
        {"name": "category", "in": "query", "schema": {"type": "string", "enum": categories}},
        {
            "name": "department",
            "in": "query",
            "description": "Département code of the source",
            "schema": {"type": "string", "enum": departments},
        },
        {
            "name": "source",
            "in": "query",
            "description": "Source id, e.g. pref13",
            "schema": {"type": "string"},
        },
        {
            "name": "since",
            "in": "query",
            "description": "Recueils published on or after this day (first seen, if undated)",
            "schema": {"type": "string", "format": "date"},
        },
        {
            "name": "q",
            "in": "query",
            "description": "Words that must all appear in the title, number, places, event, "
            "service or text; case and accents ignored",
            "schema": {"type": "string"},
        },
        {
            "name": "limit",
            "in": "query",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_LIMIT,
                "default": DEFAULT_LIMIT,
            },
        },
        {
            "name": "offset",
            "in": "query",
            "schema": {"type": "integer", "minimum": 0, "default": 0},
        },
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "attrap",
            "version": __version__,
            "summary": "Prefects' authorisations of police drones, algorithmic video-surveillance, CCTV.",
            "description": (
                "Read-only. The decrees attrap found in French prefectures' recueils des actes "
                "administratifs and flagged, with a link to the decree's page of the source PDF."
            ),
            "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/feeds/all.atom": {
                "get": {
                    "summary": "Every flagged decree, newest first",
                    "operationId": "feedAll",
                    "responses": {"200": atom},
                }
            },
            "/feeds/{category}.atom": {
                "get": {
                    "summary": "The flagged decrees of one category",
                    "operationId": "feedCategory",
                    "parameters": [
                        {
                            "name": "category",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "enum": categories},
                        }
                    ],
                    "responses": {"200": atom, "404": _error("Unknown category")},
                }
            },
            "/feeds/departement/{department}.atom": {
                "get": {
                    "summary": "The flagged decrees of one département's sources",
                    "operationId": "feedDepartment",
                    "parameters": [
                        {
                            "name": "department",
                            "in": "path",
                            "required": True,
                            "description": "Département code: 13, 2A, 971…",
                            "schema": {"type": "string", "enum": departments},
                        }
                    ],
                    "responses": {"200": atom, "404": _error("No source for this département")},
                }
            },
            "/decrees": {
                "get": {
                    "summary": "Flagged decrees, newest recueil first, paged",
                    "operationId": "listDecrees",
                    "parameters": decree_params,
                    "responses": {
                        "200": {
                            "description": "One page of decrees",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/DecreePage"}}
                            },
                        },
                        "400": _error("A bad parameter, named in the error"),
                    },
                }
            },
            "/export.{format}": {
                "get": {
                    "summary": "Every flagged decree the filters select, as a file to download",
                    "operationId": "exportDecrees",
                    "parameters": [
                        {
                            "name": "format",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "enum": list(FORMATS)},
                            "description": "; ".join(f"{f.name}: {f.description}" for f in FORMATS.values()),
                        },
                        *[p for p in decree_params if p["name"] in EXPORT_PARAMS],
                        {
                            "name": "until",
                            "in": "query",
                            "description": "Recueils published on or before this day (or first seen)",
                            "schema": {"type": "string", "format": "date"},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "The file (Content-Disposition: attachment)",
                            "content": {f.media_type.split(";")[0]: {} for f in FORMATS.values()},
                        },
                        "400": _error("A bad parameter, named in the error"),
                    },
                }
            },
            "/decrees/{id}": {
                "get": {
                    "summary": "One flagged decree, or one posted and no longer flagged",
                    "operationId": "getDecree",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                    ],
                    "responses": {
                        "200": {
                            "description": "The decree",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Decree"}}
                            },
                        },
                        "400": _error("The id is not an integer"),
                        "404": _error("No decree flagged now or posted before has this id"),
                    },
                }
            },
            "/sources": {
                "get": {
                    "summary": "Every source, with its health",
                    "operationId": "listSources",
                    "responses": {
                        "200": {
                            "description": "The sources",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["sources"],
                                        "properties": {
                                            "sources": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Source"},
                                            }
                                        },
                                    }
                                }
                            },
                        }
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "openapi",
                    "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string", "description": "Names the bad parameter first"}
                    },
                },
                "Flag": {
                    "type": "object",
                    "required": ["id", "text"],
                    "properties": {
                        "id": {"type": "string", "enum": ["published-late", "outside-legal-window"]},
                        "text": {"type": "string"},
                    },
                },
                "Details": {
                    "type": "object",
                    "description": "What the decree authorises, read from its text; null when not stated",
                    "properties": {
                        "places": {"type": "array", "items": {"type": "string"}},
                        "event": nullable_str,
                        "start": nullable_time,
                        "end": nullable_time,
                        "service": nullable_str,
                        "cameras": {"type": ["integer", "null"]},
                        "aircraft": {"type": ["integer", "null"]},
                        "legal_basis": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "Decree": {
                    "type": "object",
                    "required": ["id", "uid", "source_id", "categories", "title", "link", "recueil_url"],
                    "properties": {
                        "id": {"type": "integer"},
                        "uid": {"type": "string", "description": "Stable id (urn:uuid), from the link"},
                        "source_id": {"type": "string"},
                        "prefecture": {"type": "string"},
                        "department": nullable_str,
                        "categories": {"type": "array", "items": {"type": "string", "enum": categories}},
                        "title": {"type": "string"},
                        "number": nullable_str,
                        "signed_on": nullable_date,
                        "link": {
                            "type": "string",
                            "format": "uri",
                            "description": "The PDF at the decree's page (#page=N)",
                        },
                        "first_page": {"type": "integer"},
                        "last_page": {"type": "integer"},
                        "recueil_url": {"type": "string", "format": "uri"},
                        "recueil_title": {"type": "string"},
                        "published": nullable_date,
                        "first_seen_at": {"type": "string", "format": "date-time"},
                        "pdf_created_at": nullable_time,
                        "details": {"$ref": "#/components/schemas/Details"},
                        "flags": {"type": "array", "items": {"$ref": "#/components/schemas/Flag"}},
                        "flagged": {
                            "type": "boolean",
                            "description": "False for a decree posted under earlier rules that the current "
                            "rules, or a re-read of its recueil, no longer flag (only /decrees/{id} has it)",
                        },
                        "superseded_at": {
                            **nullable_time,
                            "description": "When a re-read of its recueil no longer found it at this page",
                        },
                        "from_sommaire": {
                            "type": "boolean",
                            "description": "Flagged from its recueil's sommaire: its pages could not be read",
                        },
                        "pages_missing": {
                            "type": "boolean",
                            "description": "Listed by the sommaire, its pages are not in the PDF",
                        },
                        "posted_categories": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "For a decree no longer flagged: the categories its posts carried",
                        },
                    },
                },
                "DecreePage": {
                    "type": "object",
                    "required": ["total", "limit", "offset", "next_offset", "decrees"],
                    "properties": {
                        "total": {"type": "integer", "description": "Decrees matching, over all pages"},
                        "limit": {"type": "integer"},
                        "offset": {"type": "integer"},
                        "next_offset": {"type": ["integer", "null"], "description": "null on the last page"},
                        "next": {"type": ["string", "null"], "description": "The next page's path and query"},
                        "decrees": {"type": "array", "items": {"$ref": "#/components/schemas/Decree"}},
                    },
                },
                "Source": {
                    "type": "object",
                    "required": ["id", "name", "urls", "health"],
                    "properties": {
                        "id": {"type": "string"},
                        "name": {"type": "string"},
                        "department": nullable_str,
                        "urls": {"type": "array", "items": {"type": "string", "format": "uri"}},
                        "health": {
                            "type": "object",
                            "properties": {
                                "state": {"type": "string", "enum": list(STATES)},
                                "healthy": {"type": "boolean"},
                                "reason": nullable_str,
                                "last_run": nullable_time,
                                "last_outcome": nullable_str,
                                "recueils": {"type": "integer"},
                                "failed": {"type": "integer"},
                                "decrees": {"type": "integer"},
                                "flagged": {"type": "integer"},
                            },
                        },
                    },
                },
            }
        },
    }
