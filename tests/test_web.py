"""``attrap serve``: the WSGI app in a thread, queried over HTTP with httpx."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from attrap.crawl.sources import registry
from attrap.serve.api import MAX_LIMIT
from tests.conftest import serving
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
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(client, query, param):
    r = client.get("/decrees", params=query)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.json()["error"].startswith(f"{param}: ")


def test_errors_and_the_openapi_document(client):
    twice = client.get("/decrees?category=drone&category=avs")
    assert twice.status_code == 400 and twice.json()["error"].startswith("category:")
    assert client.get("/decrees/abc").status_code == 400
    for path in ["/nope", "/feeds/ufo.atom", "/feeds/departement/99.atom", "/decrees/1/x", "/decrees/"]:
        r = client.get(path)
        assert r.status_code == 404 and "error" in r.json(), path
    assert client.get("/decrees/1").status_code == 404  # empty store
    for method in ["POST", "PUT", "DELETE", "PATCH"]:
        r = client.request(method, "/decrees", content=b"{}")
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
        assert "error" in r.json()
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
