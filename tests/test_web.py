"""``attrap serve``: the FastAPI app under uvicorn in a thread, queried over HTTP with httpx; its
answers checked against the OpenAPI document it serves; ``attrap serve`` itself, started and
stopped as a user does."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate as validate_openapi

from attrap.crawl.sources import registry
from attrap.serve.api import API_CSP, HTML_CSP, MAX_LIMIT, WebApp
from tests.conftest import ROOT, serving
from tests.test_export import ATOM, EXPECTED, oracle


@pytest.fixture
def client(cli_env) -> Iterator[httpx.Client]:
    with serving(cli_env) as base, httpx.Client(base_url=base, timeout=10) as c:
        yield c


def _ok(c: httpx.Client, url: str, **params) -> dict:
    r = c.get(url, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.headers["x-content-type-options"] == "nosniff"
    return r.json()


def _links(page: dict) -> set[str]:
    return {d["link"] for d in page["decrees"]}


def _entries(r: httpx.Response) -> list[ET.Element]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert r.headers["x-content-type-options"] == "nosniff"
    feed = ET.fromstring(r.content)
    assert feed.tag == f"{ATOM}feed"
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == str(r.url)
    return feed.findall(f"{ATOM}entry")


def test_api_and_feeds_answer_as_documented(filled, client):
    want = oracle()
    # /decrees: every flagged decree of the oracle, with its page link
    page = _ok(client, "/decrees")
    assert page["total"] == len(want) and _links(page) == set(want)
    assert (page["limit"], page["offset"], page["next_offset"]) == (50, 0, None)
    for d in page["decrees"]:
        assert d["title"] == want[d["link"]]["title"]
        assert sorted(d["categories"]) == sorted(want[d["link"]]["categories"])

    # filters
    assert _links(_ok(client, "/decrees", category="drone")) == set(oracle("drone"))
    assert _links(_ok(client, "/decrees", category="avs")) == set(oracle("avs"))
    assert _links(_ok(client, "/decrees", department="13")) == set(want)
    assert _links(_ok(client, "/decrees", source="pref13", category="drone")) == set(oracle("drone"))
    assert _ok(client, "/decrees", source="pref01")["total"] == 0
    days = sorted({r["published"] for r in EXPECTED["recueils"]})
    since = date.fromisoformat(days[len(days) // 2])
    assert _links(_ok(client, "/decrees", since=since.isoformat())) == set(oracle(since=since))
    vel = _ok(client, "/decrees", q="VELODROME orange")  # case and accents ignored, every word
    assert [d["number"] for d in vel["decrees"]] == ["13-2026-10-14-00003"] and vel["total"] == 1
    assert _ok(client, "/decrees", q="vélodrome introuvablemot")["total"] == 0
    assert _ok(client, "/decrees", q="")["total"] == len(want)

    # pagination: pages of 2 walk every decree once, in the order of the full list
    seen, offset = [], 0
    while offset is not None:
        p = _ok(client, "/decrees", limit=2, offset=offset)
        assert p["total"] == len(want) and len(p["decrees"]) <= 2
        seen += [d["id"] for d in p["decrees"]]
        if p["next_offset"] is not None:
            assert p["next"] == f"/decrees?limit=2&offset={p['next_offset']}"
        offset = p["next_offset"]
    assert seen == [d["id"] for d in page["decrees"]]
    assert _ok(client, "/decrees", limit=MAX_LIMIT)["total"] == len(want)
    beyond = _ok(client, "/decrees", offset=1000)
    assert beyond["decrees"] == [] and beyond["total"] == len(want) and beyond["next_offset"] is None

    # /decrees/<id>
    first = page["decrees"][0]
    assert _ok(client, f"/decrees/{first['id']}") == first
    unflagged = client.get(f"/decrees/{max(d['id'] for d in page['decrees']) + 1000}")
    assert unflagged.status_code == 404 and "error" in unflagged.json()

    # feeds
    entries = _entries(client.get("/feeds/all.atom"))
    assert {e.find(f"{ATOM}link").get("href") for e in entries} == set(want)
    drone = _entries(client.get("/feeds/drone.atom"))
    assert {e.find(f"{ATOM}link").get("href") for e in drone} == set(oracle("drone"))
    assert len(_entries(client.get("/feeds/videoprotection.atom"))) == len(oracle("videoprotection"))
    assert len(_entries(client.get("/feeds/departement/13.atom"))) == len(want)
    corsica = sorted({s.department for s in registry().values() if s.department in ("2A", "2B")})
    for dep in corsica:  # a département with sources but nothing stored: an empty, valid feed
        assert _entries(client.get(f"/feeds/departement/{dep}.atom")) == []
        assert _entries(client.get(f"/feeds/departement/{dep.lower()}.atom")) == []

    # /sources: every registered source, with health from the store
    sources = {s["id"]: s for s in _ok(client, "/sources")["sources"]}
    assert set(sources) == set(registry())
    pref13 = sources["pref13"]
    assert pref13["department"] == "13" and pref13["urls"] == list(registry()["pref13"].urls)
    assert pref13["health"]["recueils"] == len(EXPECTED["recueils"])
    assert pref13["health"]["flagged"] == len(want) and pref13["health"]["last_outcome"] == "ok"

    # HEAD: headers, no body; ETag: 304
    r = client.get("/feeds/all.atom")
    head = client.head("/feeds/all.atom")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(r.content)) and head.headers["etag"] == r.headers["etag"]
    again = client.get("/feeds/all.atom", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize(
    "query, param",
    [
        ({"limit": "abc"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": str(MAX_LIMIT + 1)}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"since": "2026-13-45"}, "since"),
        ({"since": "20260101"}, "since"),
        ({"category": "<unknown>"}, "category"),
        ({"department": "99"}, "department"),
        ({"source": "pref00"}, "source"),
        ({"page": "2"}, "page"),
        # what pydantic alone would take for an integer or a date
        ({"limit": "+5"}, "limit"),
        ({"limit": "5.0"}, "limit"),
        ({"limit": "1_0"}, "limit"),
        ({"offset": ""}, "offset"),
        ({"since": "1700000000"}, "since"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(client, query, param):
    r = client.get("/decrees", params=query)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.json()["error"].startswith(f"{param}: ")
    assert "422" not in r.text and "detail" not in r.json()


def test_errors_and_the_openapi_document(client):
    twice = client.get("/decrees?category=drone&category=avs")
    assert twice.status_code == 400 and twice.json()["error"].startswith("category:")
    assert client.get("/decrees/abc").status_code == 400
    for path in ["/nope", "/feeds/ufo.atom", "/feeds/departement/99.atom", "/decrees/1/x", "/decrees/"]:
        r = client.get(path)
        assert r.status_code == 404 and "error" in r.json(), path
        _strict_headers(r, API_CSP)
        head = client.head(path)
        assert head.status_code == 404 and head.content == b"", path
        assert head.headers["content-length"] == r.headers["content-length"]
    assert client.get("/decrees/1").status_code == 404  # empty store
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]:
        r = client.request(method, "/decrees", content=b"{}")
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
        assert r.json() == {"error": f"method {method} not allowed: this API is read-only"}
        _strict_headers(r, API_CSP)
    assert client.post("/nope").status_code == 404  # no such path, whatever the method
    # the query string itself: UTF-8, and not too long
    r = client.get("/decrees?q=%ff")
    assert r.status_code == 400 and r.json() == {"error": "query string: not valid UTF-8"}
    r = client.get("/feeds/all.atom?" + "&".join(f"p{i}=1" for i in range(30)))
    assert r.status_code == 400 and r.json() == {"error": "query string: too many parameters"}
    _strict_headers(r, API_CSP)
    unknown = client.get("/decrees", params={"categorie": "drone"})
    assert unknown.json() == {
        "error": "categorie: unknown parameter (known: category, department, source, since, q, limit, offset)"
    }
    assert client.get("/feeds/all.atom", params={"utm_source": "x"}).status_code == 200  # feeds take any
    assert _ok(client, "/decrees") == {
        "total": 0, "limit": 50, "offset": 0, "next_offset": None, "next": None, "decrees": [],
    }  # fmt: skip
    assert _entries(client.get("/feeds/all.atom")) == []

    doc = _ok(client, "/openapi.json")
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {
        "/feeds/all.atom", "/feeds/{category}.atom", "/feeds/departement/{department}.atom",
        "/decrees", "/decrees/{id}", "/sources", "/openapi.json", "/export.{format}",
    }  # fmt: skip
    params = {p["name"] for p in doc["paths"]["/decrees"]["get"]["parameters"]}
    assert params == {"category", "department", "source", "since", "q", "limit", "offset"}
    assert set(doc["paths"]["/feeds/{category}.atom"]["get"]["parameters"][0]["schema"]["enum"]) == {
        "drone", "avs", "videoprotection", "abrogation",
    }  # fmt: skip
    refs = {m for m in json.dumps(doc).split('"') if m.startswith("#/components/schemas/")}
    assert {r.rsplit("/", 1)[1] for r in refs} <= set(doc["components"]["schemas"])
    index = _ok(client, "/")
    assert "/feeds/all.atom" in index["feeds"] and index["openapi"] == "/openapi.json"


def _strict_headers(r: httpx.Response, csp: str) -> None:
    """The headers every answer has, errors included."""
    assert r.headers["content-security-policy"] == csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == ("public, max-age=300" if r.status_code == 200 else "no-store")
    assert "server" not in r.headers  # uvicorn does not say its name


def _response_schema(doc: dict, path: str, status: int, media_type: str = "application/json") -> dict:
    """The schema of an answer in the document, its $refs resolved against the document's
    components (OpenAPI 3.1 schemas are JSON Schema 2020-12)."""
    responses = doc["paths"][path]["get"]["responses"]
    assert str(status) in responses, (path, status, list(responses))
    schema = responses[str(status)]["content"][media_type]["schema"]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "components": doc["components"],
    }


def _check(doc: dict, path: str, r: httpx.Response) -> dict:
    """That the answer ``r`` to a GET of the document's ``path`` is one the document describes."""
    responses = doc["paths"][path]["get"]["responses"]
    assert str(r.status_code) in responses, (path, r.status_code, list(responses))
    media_type = r.headers["content-type"].split(";")[0]
    assert media_type in responses[str(r.status_code)]["content"], (path, media_type)
    body = r.json()
    schema = _response_schema(doc, path, r.status_code, media_type)
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(body)
    return body


def test_real_answers_match_the_openapi_document(filled, client):
    doc = _ok(client, "/openapi.json")
    validate_openapi(doc)  # a valid OpenAPI 3.1 document
    assert not [
        (p, m) for p, ops in doc["paths"].items() for m, op in ops.items() if "422" in op["responses"]
    ]  # a bad parameter is a 400, never FastAPI's 422
    assert {"HTTPValidationError", "ValidationError"}.isdisjoint(doc["components"]["schemas"])
    params = {p["name"]: p for p in doc["paths"]["/decrees"]["get"]["parameters"]}
    limit = params["limit"]["schema"]
    assert (limit["type"], limit["minimum"], limit["maximum"], limit["default"]) == (
        "integer",
        1,
        MAX_LIMIT,
        50,
    )
    assert params["offset"]["schema"]["minimum"] == 0
    assert {"type": "string", "format": "date"} in params["since"]["schema"]["anyOf"]
    enums = [s.get("enum") for s in params["category"]["schema"]["anyOf"]]
    assert ["drone", "avs", "videoprotection", "abrogation"] in enums
    record = doc["components"]["schemas"]["DecreeRecord"]
    assert "posted_categories" not in record["required"] and "superseded_at" in record["required"]

    want = oracle()
    page = _check(doc, "/decrees", client.get("/decrees"))
    assert page["total"] == len(want) and page["decrees"]
    assert any(d["details"]["places"] and d["details"]["start"] for d in page["decrees"])
    assert any(d["flags"] for d in page["decrees"]) and any(d["pdf_created_at"] for d in page["decrees"])
    paged = _check(doc, "/decrees", client.get("/decrees", params={"limit": 2, "category": "drone"}))
    assert paged["next"] and paged["next_offset"] == 2
    for d in page["decrees"]:
        assert _check(doc, "/decrees/{id}", client.get(f"/decrees/{d['id']}")) == d
    sources = _check(doc, "/sources", client.get("/sources"))
    assert {s["health"]["state"] for s in sources["sources"]} == {"ok", "never"}
    exported = _check(doc, "/export.{format}", client.get("/export.json"))
    assert exported == page["decrees"]
    for path, r in [
        ("/decrees", client.get("/decrees", params={"limit": "abc"})),
        ("/decrees", client.get("/decrees", params={"category": "ufo"})),
        ("/decrees/{id}", client.get("/decrees/abc")),
        ("/decrees/{id}", client.get("/decrees/99999999")),
        ("/export.{format}", client.get("/export.xlsx")),
        ("/export.{format}", client.get("/export.csv", params={"until": "demain"})),
        ("/feeds/{category}.atom", client.get("/feeds/ufo.atom")),
        ("/feeds/departement/{department}.atom", client.get("/feeds/departement/99.atom")),
    ]:
        assert r.status_code in (400, 404)
        assert set(_check(doc, path, r)) == {"error"}
    assert _check(doc, "/decrees", client.get("/decrees", params={"limit": "0"})) == {
        "error": f"limit: expected an integer between 1 and {MAX_LIMIT}, got '0'"
    }
    feeds = {
        "/feeds/all.atom": "/feeds/all.atom",
        "/feeds/drone.atom": "/feeds/{category}.atom",
        "/feeds/departement/13.atom": "/feeds/departement/{department}.atom",
    }
    for path, template in feeds.items():
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"] == "application/atom+xml; charset=utf-8"
        assert "application/atom+xml" in doc["paths"][template]["get"]["responses"]["200"]["content"]

    # the check can fail: answers that are not what the document says are refused
    broken = dict(page["decrees"][0])
    del broken["uid"]
    for path, body in [
        ("/decrees/{id}", broken),
        ("/decrees/{id}", {**page["decrees"][0], "extra": 1}),
        ("/decrees/{id}", {**page["decrees"][0], "first_seen_at": "hier"}),
        ("/decrees", {**page, "total": "many"}),
        ("/sources", {"sources": [{**sources["sources"][0], "health": {"state": "sick"}}]}),
    ]:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(
                body,
                _response_schema(doc, path, 200),
                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
            )


def test_conditional_and_head_answers_of_the_api(filled, client):
    r = client.get("/decrees", params={"category": "drone"})
    _strict_headers(r, API_CSP)
    etag = r.headers["etag"]
    again = client.get("/decrees", params={"category": "drone"}, headers={"If-None-Match": f'W/{etag}, "x"'})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert "content-type" not in again.headers
    assert client.get("/decrees", headers={"If-None-Match": etag}).status_code == 200  # another body
    head = client.head("/decrees", params={"category": "drone"})
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == etag
    assert head.headers["content-length"] == str(len(r.content))
    export = client.head("/export.csv")
    assert export.status_code == 200 and export.headers["content-disposition"].startswith("attachment")
    index = client.get("/", headers={"Accept": "application/json"})
    assert index.headers["vary"] == "Accept" and index.json()["name"] == "attrap"
    # X-Forwarded-* is believed from no one unless told (attrap serve --forwarded-allow-ips)
    feed = ET.fromstring(client.get("/feeds/all.atom", headers={"X-Forwarded-Proto": "https"}).content)
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == str(client.base_url) + "/feeds/all.atom"


def test_an_unexpected_error_is_a_500_with_the_same_headers(cli_env, client, monkeypatch):
    def broken(self):
        raise RuntimeError("the store is gone")

    monkeypatch.setattr(WebApp, "source_rows", broken)
    monkeypatch.setattr("attrap.serve.pages.WebUI.sources", broken)
    r = client.get("/sources")
    assert r.status_code == 500 and r.json() == {"error": "internal error"}
    _strict_headers(r, API_CSP)
    page = client.get("/etat", headers={"Accept": "text/html"})
    assert page.status_code == 500 and "Erreur interne." in page.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    _strict_headers(page, HTML_CSP)
    assert client.get("/decrees").status_code == 200  # the next request is served


def test_attrap_serve_runs_until_sigterm_and_logs_requests(cli_env):
    proc = subprocess.Popen(
        [sys.executable, "-m", "attrap.cli", "serve", "--port", "0", "--forwarded-allow-ips", "127.0.0.1"],
        env=cli_env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "attrap serve said nothing"
        line = proc.stdout.readline()
        assert line.startswith("serving on http://127.0.0.1:"), line
        base = line.removeprefix("serving on ").strip()
        r = httpx.get(base + "decrees", params={"limit": 1}, timeout=10)
        assert r.status_code == 200 and r.json()["total"] == 0
        assert httpx.get(base + "decrees", params={"limit": "x"}, timeout=10).status_code == 400
        # behind a proxy it was told to believe: the feed's own link is the public one
        proxied = {"X-Forwarded-Proto": "https", "Host": "attrap.example.org"}
        feed = ET.fromstring(httpx.get(base + "feeds/all.atom", headers=proxied, timeout=10).content)
        assert (
            feed.find(f"{ATOM}link[@rel='self']").get("href") == "https://attrap.example.org/feeds/all.atom"
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0  # a graceful stop
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = proc.stderr.read()
    assert '"GET /decrees?limit=1 HTTP/1.1" 200' in log and '"GET /decrees?limit=x HTTP/1.1" 400' in log
    assert "Traceback" not in log
