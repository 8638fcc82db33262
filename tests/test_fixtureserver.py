"""The fixture server (attrap/fixtureserver.py) and the generated pref13 site it serves."""

from __future__ import annotations

import http.client
import json
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from pdfminer.high_level import extract_text
from pdfminer.pdfpage import PDFPage

from attrap.fixtureserver import LAST_MODIFIED, FixtureServer

SITE = Path(__file__).resolve().parents[1] / "fixtures" / "sites" / "pref13"
EXPECTED = json.loads((SITE / "EXPECTED.json").read_text(encoding="utf-8"))
RAA = EXPECTED["root"]


def get(server: FixtureServer, path: str, method: str = "GET", headers: dict[str, str] | None = None):
    conn = http.client.HTTPConnection(urlsplit(server.base_url).netloc, timeout=5)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@pytest.fixture
def server():
    with FixtureServer(SITE) as srv:
        yield srv


def test_serves_pages_pdfs_and_robots(server):
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.base_url)
    status, headers, body = get(server, RAA)
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert 'href="/Publications/RAA-et-Archives/RAA-2026"' in body.decode()
    status, headers, body = get(server, RAA + "/")  # a trailing slash too, and no redirect either way
    assert status == 200
    status, headers, body = get(server, EXPECTED["recueils"][0]["path"] + "?download=1")
    assert status == 200 and headers["content-type"] == "application/pdf" and body.startswith(b"%PDF-")
    assert headers["last-modified"] == LAST_MODIFIED and headers["etag"]
    status, headers, body = get(server, "/robots.txt")
    assert headers["content-type"].startswith("text/plain") and b"Disallow: /recherche" in body
    status, headers, body = get(server, RAA, method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0
    assert get(server, "/Publications/Nulle-part")[0] == 404
    paths = [(r.method, r.path, r.status) for r in server.requests]
    assert paths[0] == ("GET", RAA, 200) and ("HEAD", RAA, 200) in paths
    assert server.requests[-1].status == 404
    times = [r.time for r in server.requests]
    assert times == sorted(times)


def test_conditional_get_answers_304(server):
    _, headers, _ = get(server, RAA)
    status, _, body = get(server, RAA, headers={"If-None-Match": headers["etag"]})
    assert status == 304 and body == b""
    status, _, body = get(server, RAA, headers={"If-Modified-Since": LAST_MODIFIED})
    assert status == 304 and body == b""
    assert get(server, RAA, headers={"If-None-Match": '"autre"'})[0] == 200
    assert get(server, RAA, headers={"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"})[0] == 200


def test_inject_then_normal(server):
    server.inject(RAA, 429, headers={"Retry-After": "2"})
    status, headers, _ = get(server, RAA)
    assert status == 429 and headers["retry-after"] == "2"
    assert get(server, RAA)[0] == 200
    server.inject(RAA, 503, times=2)
    assert [get(server, RAA)[0] for _ in range(3)] == [503, 503, 200]
    server.inject(RAA, 302, headers={"Location": RAA + "/RAA-2026"})
    status, headers, _ = get(server, RAA)
    assert status == 302 and headers["location"].endswith("/RAA-2026")
    assert [r.status for r in server.requests] == [429, 200, 503, 503, 200, 302]


def test_replace(server):
    path = EXPECTED["recueils"][0]["path"]
    server.replace(path, b"<html>Challenge</html>", "text/html")
    status, headers, body = get(server, path)
    assert status == 200 and body == b"<html>Challenge</html>" and headers["content-type"] == "text/html"


@pytest.mark.parametrize(
    "path", ["/../README.md", "/%2e%2e/%2e%2e/etc/passwd", "/Publications/../../pyproject.toml", "/..%2fx"]
)
def test_path_traversal_refused(server, path):
    assert get(server, path)[0] == 404


def test_site_links():
    """Every recueil in EXPECTED.json is a file, linked from a page of the site, shaped as on the real site."""
    links: dict[str, str] = {}
    for page in SITE.rglob("index.html"):
        for href in re.findall(r'href="([^"]+)"', page.read_text(encoding="utf-8")):
            links.setdefault(href, str(page.relative_to(SITE)))
    assert len(EXPECTED["recueils"]) == 7
    for rec in EXPECTED["recueils"]:
        assert rec["path"] in links, rec["path"]
        assert re.fullmatch(r"/contenu/telechargement/\d+/\d+/file/[^ ]+\.pdf", rec["path"])
        assert (SITE / unquote(rec["path"]).lstrip("/")).is_file()
    assert any("%20" in r["path"] for r in EXPECTED["recueils"])
    assert any("%C3%A9" in r["path"] for r in EXPECTED["recueils"])
    assert f"{RAA}/RAA-2026/(offset)/10" in links
    assert f"{RAA}/Archives-RAA-des-Bouches-du-Rhone/RAA-2024" in links


@pytest.mark.parametrize("rec", EXPECTED["recueils"], ids=lambda r: r["title"])
def test_expected_matches_pdfs(rec):
    pdf = SITE / unquote(rec["path"]).lstrip("/")
    with pdf.open("rb") as fh:
        assert sum(1 for _ in PDFPage.get_pages(fh)) == rec["pages"]
    assert 5 <= rec["pages"] <= 12
    for decree in rec["decrees"]:
        assert 3 <= decree["first_page"] <= decree["last_page"] <= rec["pages"]
        assert decree["title"].startswith(f"Arrêté n° {decree['id']} ")
        text = extract_text(str(pdf), page_numbers=[decree["first_page"] - 1])
        assert text.lstrip().startswith(decree["id"]) and "Arrêté" in text


def test_expected_categories():
    cats = [c for r in EXPECTED["recueils"] for d in r["decrees"] for c in d["categories"]]
    assert sorted(cats) == ["avs", "drone", "drone", "drone", "videoprotection", "videoprotection"]
