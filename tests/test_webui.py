"""The web interface of ``attrap serve``: every page over HTTP, bad parameters, escaping."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

import httpx
import pytest

import attrap.serve.pages
from attrap.model import ClassifiedDecree, Decree, Details, Match, Page, RecueilLink
from attrap.serve import charts
from attrap.serve.api import HTML_CSP
from attrap.serve.highlight import mark, query_spans, query_terms
from attrap.store.db import Route, Store
from tests.conftest import invoke_cli, serving
from tests.test_export import EXPECTED, oracle

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
NUMBER = re.compile(r"\d{2}-\d{4}-\d{2}-\d{2}-\d{5}")


@pytest.fixture
def browse(cli_env) -> Iterator[httpx.Client]:
    """A client that asks for pages, as a browser does (started after the test filled the store)."""
    with serving(cli_env) as base, httpx.Client(base_url=base, headers=HTML, timeout=10) as c:
        yield c


def _page(c: httpx.Client, url: str, status: int = 200, **params) -> str:
    r = c.get(url, params=params) if params else c.get(url)  # params={} would drop url's query
    assert r.status_code == status, (url, params, r.text[:2000])
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["x-content-type-options"] == "nosniff"
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "style-src 'self'" in csp and "script" not in csp
    body = r.text
    assert body.startswith("<!doctype html>") and '<html lang="fr">' in body
    assert "<script" not in body.lower()
    # nothing loaded from another host: every src and every stylesheet or icon link is local
    for attr in re.findall(r'\ssrc="([^"]*)"', body):
        assert attr.startswith("/"), attr
    for tag in re.findall(r"<link [^>]*>", body):
        assert re.search(r'href="/[^/]', tag), tag
    return body


def _numbers(body: str) -> list[str]:
    """The decree numbers of a list page, in order."""
    items = re.findall(r'<li class="decree">.*?</li>\s*(?=<li class="decree">|</ol>)', body, re.S)
    return [NUMBER.search(html.unescape(re.sub(r"<[^>]+>", "", i)))[0] for i in items]


def _want(category: str | None = None, since: date | None = None) -> set[str]:
    return {d["id"] for d in oracle(category, since).values()}


def test_every_page_over_the_fixture_store(filled, browse, monkeypatch):
    want = oracle()
    # -- home: every flagged decree, newest recueil first
    body = _page(browse, "/")
    assert "Arrêtés signalés" in body and f"{len(want)} arrêtés signalés" in body
    shown = _numbers(body)
    assert set(shown) == _want() and len(shown) == len(want)
    published = {d["id"]: d["published"] for d in want.values()}
    assert [published[n] for n in shown] == sorted((published[n] for n in shown), reverse=True)
    text = html.unescape(body)
    for d in want.values():
        assert d["title"] in text
    assert 'href="/static/attrap.css?v=' in body and 'type="application/atom+xml"' in body

    # filters, alone and together
    assert set(_numbers(_page(browse, "/", category="drone"))) == _want("drone")
    assert set(_numbers(_page(browse, "/", category="avs"))) == _want("avs")
    assert set(_numbers(_page(browse, "/", department="13"))) == _want()
    assert set(_numbers(_page(browse, "/", department="13", category="videoprotection"))) == _want(
        "videoprotection"
    )
    assert _numbers(_page(browse, "/", source="pref01")) == []
    assert "Aucun arrêté signalé ne correspond" in _page(browse, "/", source="pref01")
    since = date(2026, 1, 1)
    assert set(_numbers(_page(browse, "/", since=since.isoformat()))) == _want(since=since)
    window = _numbers(_page(browse, "/", since="2025-12-01", until="2026-07-10"))
    assert set(window) == {"13-2025-12-04-00031", "13-2026-07-09-00021"}
    assert set(_numbers(_page(browse, "/", since="2026-10-14", until="2026-10-14"))) == {
        "13-2026-10-12-00002", "13-2026-10-14-00003",
    }  # fmt: skip
    assert 'href="/feeds/drone.atom"' in _page(browse, "/", category="drone")
    assert 'href="/feeds/departement/13.atom"' in _page(browse, "/", department="13")

    # search: the syntax of `attrap search`, on flagged decrees only
    assert _numbers(_page(browse, "/", q='"manifestation déclarée"')) == ["13-2026-10-20-00001"]
    assert set(_numbers(_page(browse, "/", q="vélodrome OR noël"))) == {
        "13-2026-10-14-00003", "13-2025-12-04-00031",
    }  # fmt: skip
    assert _numbers(_page(browse, "/", q="VELODROME")) == ["13-2026-10-14-00003"]
    assert set(_numbers(_page(browse, "/", q="aéronefs -manifestation", category="drone"))) == _want(
        "drone"
    ) - {"13-2026-10-20-00001"}
    assert _numbers(_page(browse, "/", q="vélodrome", category="avs")) == []
    found = _page(browse, "/", q="captation")
    assert "<mark>captation</mark>" in found and 'value="captation"' in found
    assert "?q=captation" in found  # the decree pages keep the search, to mark it

    # paging: pages of 2 walk every decree once, in the order of the whole list
    monkeypatch.setattr(attrap.serve.pages, "PAGE_SIZE", 2)
    seen, url = [], "/?category=&department="
    while url:
        body = _page(browse, html.unescape(url))
        seen += _numbers(body)
        assert len(_numbers(body)) <= 2 and "Page " in body
        m = re.search(r'<a rel="next" href="([^"]+)"', body)
        url = m[1] if m else None
    assert seen == shown
    assert 'rel="prev"' in _page(browse, "/", page="2") and "Page 2 sur 3" in _page(browse, "/", page="2")
    beyond = _page(browse, "/", page="50")
    assert _numbers(beyond) == [] and "Il n'y a que 3 pages" in beyond
    monkeypatch.undo()

    # -- a decree page per flagged decree, with what it authorises and its flags
    records = {d["number"]: d for d in browse.get("/decrees").json()["decrees"]}
    for number, r in records.items():
        body = _page(browse, f"/decret/{r['id']}")
        text = html.unescape(body)
        assert want[r["link"]]["title"] in text and number in text
        assert f'href="{r["link"]}"' in body and r["link"].endswith(f"#page={r['first_page']}")
        assert "<mark>" in body, number  # the words the rules matched
        assert "Vu par attrap le" in text and "Préfecture des Bouches-du-Rhône" in text
    velodrome = html.unescape(_page(browse, f"/decret/{records['13-2026-10-14-00003']['id']}"))
    assert "<dt>Nombre d'aéronefs</dt><dd>2</dd>" in velodrome
    assert "du 15 octobre 2026 à 18h00 au 16 octobre 2026 à 02h00" in velodrome
    assert "stade Orange Vélodrome" in velodrome and "L. 242-1" in velodrome
    assert "<dt>Signé le</dt><dd>14 octobre 2026</dd>" in velodrome
    assert "<mark>autorisant la captation</mark>" in velodrome
    assert "<td>dry-run</td>" in velodrome and "publié" in velodrome  # its post
    marked = _page(browse, f"/decret/{records['13-2026-10-14-00003']['id']}", q="vélodrome")
    assert "<mark>Vélodrome</mark>" in marked
    avs = html.unescape(_page(browse, f"/decret/{records['13-2025-12-04-00031']['id']}"))
    assert "Hors de toute période d'expérimentation légale" in avs
    assert "<dt>VSA hors de tout cadre légal</dt>" in avs
    for r in records.values():
        assert "Publié après le début de la période" in html.unescape(_page(browse, f"/decret/{r['id']}"))
    cctv = html.unescape(_page(browse, f"/decret/{records['13-2026-10-12-00002']['id']}"))
    assert "Aucune publication pour cet arrêté." in cctv  # videoprotection is not posted

    # -- charts: server-rendered SVG, and the same numbers in tables
    stats = _page(browse, "/statistiques")
    assert stats.count('<svg class="plot"') == 2 and f"{len(want)} arrêtés signalés" in stats
    today = datetime.now(attrap.serve.pages.PARIS).date()
    shown_months = charts.month_range((2000, 1), (today.year, today.month))
    months = set()
    for d in want.values():
        day = date.fromisoformat(d["published"])
        if (day.year, day.month) in shown_months:  # the newest 36 months
            months |= {(day.year, day.month, c) for c in d["categories"]}
    dep_bars = 3  # the département's bar: one piece per category
    assert stats.count("<rect x=") == len(months) + dep_bars
    assert "octobre 2026 — Drones (caméras aéroportées) : 2</title>" in html.unescape(stats)
    assert '<th scope="row">13 — Bouches-du-Rhône</th><td>3</td><td>1</td><td>2</td><td>0</td><td>6</td>' in (
        html.unescape(stats)
    )
    only_avs = _page(browse, "/statistiques", category="avs")
    assert only_avs.count("<rect x=") == 2 and "1 arrêté signalé" in only_avs
    assert "Aucun arrêté signalé" in _page(browse, "/statistiques", department="2A")

    # -- sources: the overview, then one source
    overview = _page(browse, "/etat")
    assert 'href="/etat/pref13"' in overview and "En bonne santé" in overview
    source = html.unescape(_page(browse, "/etat/pref13"))
    assert "Préfecture des Bouches-du-Rhône" in source and "réussi" in source
    assert f"<dt>Recueils</dt><dd>{len(EXPECTED['recueils'])}</dd>" in source
    newest = max(EXPECTED["recueils"], key=lambda r: r["published"])
    assert newest["title"] in source and "publié le 20 octobre 2026" in source
    assert f'<a href="/?source=pref13">{len(want)}</a>' in source

    # -- static files, and the JSON index for clients that do not ask for HTML
    css = browse.get("/static/attrap.css")
    assert css.status_code == 200 and css.headers["content-type"] == "text/css; charset=utf-8"
    assert browse.get("/static/favicon.svg").headers["content-type"] == "image/svg+xml"
    for accept in ("*/*", "application/json"):
        index = browse.get("/", headers={"Accept": accept})
        assert index.headers["content-type"] == "application/json; charset=utf-8"
        assert index.json()["openapi"] == "/openapi.json" and index.headers["vary"] == "Accept"
    head = browse.head("/")
    assert head.status_code == 200 and head.content == b"" and head.headers["vary"] == "Accept"


def test_source_health_unhealthy_first_with_the_reason(cli_env, fixture_site):
    invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, "--dry-run", env=cli_env)
    store = Store(cli_env["ATTRAP_DATABASE_URL"])
    for _ in range(3):  # three failures in a row: unhealthy
        run = store.start_run("pref06")
        store.finish_run(run, outcome="error", error="HTTP 503 <b>from</b> the site", errors=1)
    run = store.start_run("pref07")  # RAA found, a month page failed: degraded
    store.finish_run(run, outcome="degraded", error="HTTP 404 [pref07 …/Aout]", errors=1, pdfs_found=4)
    rec = store.add_recueil(RecueilLink("pref06", "https://www.alpes-maritimes.gouv.fr/raa.pdf", "RAA 06"))
    store.recueil_failed(rec.id, "not a PDF: <html>")
    store.close()
    with serving(cli_env) as base, httpx.Client(base_url=base, headers=HTML, timeout=10) as c:
        overview = _page(c, "/etat")
        order = re.findall(r'<tr class="state-([a-z]+)">\s*<th scope="row"><a href="/etat/([^"]+)"', overview)
        assert order[0] == ("unhealthy", "pref06") and order[1] == ("degraded", "pref07")
        assert ("ok", "pref13") in order and order[-1][0] == "never"
        assert [s for s, _ in order] == sorted(
            (s for s, _ in order), key=["unhealthy", "degraded", "ok", "never"].index
        )
        assert "1 en panne" in overview and "failed 3 times in a row" in overview
        assert "&lt;b&gt;from&lt;/b&gt;" in overview and "<b>from" not in overview
        page = _page(c, "/etat/pref06")
        assert "En panne" in page and "failed 3 times in a row; last: HTTP 503" in page
        assert page.count('<tr class="outcome-error">') == 3
        assert "not a PDF: &lt;html&gt;" in page and "1 essai" in page  # the failed recueil, and why
        assert "Cette source n'a jamais été parcourue." in _page(c, "/etat/pref01")


def test_bad_parameters_are_400_pages_naming_them(browse):
    cases = [
        ("/", {"page": "0"}, "page"),
        ("/", {"page": "abc"}, "page"),
        ("/", {"page": "5001"}, "page"),
        ("/", {"since": "2026-13-45"}, "since"),
        ("/", {"since": "20260101"}, "since"),
        ("/", {"until": "demain"}, "until"),
        ("/", {"since": "2026-02-01", "until": "2026-01-01"}, "until"),
        ("/", {"category": "<ufo>"}, "category"),
        ("/", {"department": "99"}, "department"),
        ("/", {"source": "pref00"}, "source"),
        ("/", {"q": "AND OR"}, "q"),
        ("/", {"q": '"'}, "q"),
        ("/", {"q": "mot " * 60}, "q"),
        ("/", {"limit": "10"}, "limit"),
        ("/statistiques", {"category": "ufo"}, "category"),
        ("/statistiques", {"department": "2C"}, "department"),
        ("/statistiques", {"page": "2"}, "page"),
        ("/decret/abc", {}, "id"),
        ("/decret/1", {"format": "json"}, "format"),
        ("/etat", {"tri": "nom"}, "tri"),
        ("/etat/pref13", {"x": "1"}, "x"),
        ("/", {"page": "+2"}, "page"),  # digits only, whatever pydantic would take
        ("/decret/1_0", {}, "id"),
        ("/static/attrap.css", {"x": "1"}, "x"),
    ]
    for path, params, name in cases:
        body = _page(browse, path, 400, **params)
        assert "Paramètre incorrect" in body and f"Paramètre <code>{name}</code>" in body, (path, params)
        assert "<ufo>" not in body
    twice = _page(browse, "/?category=drone&category=avs", 400)
    assert "<code>category</code>" in twice and "paramètre donné plusieurs fois" in twice
    assert "date attendue au format AAAA-MM-JJ, reçu « 2026-13-45 »" in _page(
        browse, "/", 400, since="2026-13-45"
    )
    assert "catégorie inconnu(e) : « ufo »" in html.unescape(
        _page(browse, "/statistiques", 400, category="ufo")
    )
    unknown = html.unescape(_page(browse, "/etat", 400, tri="nom"))
    assert "paramètre inconnu (paramètres reconnus : aucun)" in unknown
    assert "Arrêtés signalés" in _page(browse, "/", page="", category="", since="")  # blank: not given
    for path in ["/decret/1", "/decret/99999", "/etat/pref00", "/etat/", "/static/nope.css", "/nope"]:
        body = _page(browse, path, 404)
        assert "Page introuvable" in body, path
    assert browse.get("/nope", headers={"Accept": "*/*"}).json()["error"]  # API clients: JSON
    for method in ["POST", "PUT", "DELETE"]:
        r = browse.request(method, "/", content=b"q=x")
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert f"La méthode {method} n'est pas permise" in html.unescape(r.text)
        assert r.headers["content-security-policy"] == HTML_CSP and r.headers["cache-control"] == "no-store"
        assert r.headers["vary"] == "Accept"
    api = browse.post("/", headers={"Accept": "application/json"})  # the JSON index's 405
    assert api.status_code == 405 and api.json()["error"].startswith("method POST not allowed")
    head = browse.head("/statistiques")
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0
    assert head.headers["content-security-policy"] == HTML_CSP
    # an empty store: pages still render
    assert "Aucun arrêté signalé ne correspond" in _page(browse, "/")
    assert "0 arrêté signalé" in _page(browse, "/", q="drone")
    assert "Aucun arrêté signalé pour l'instant." in _page(browse, "/statistiques")


def test_text_from_pdfs_and_sites_is_escaped(cli_env):
    store = Store(cli_env["ATTRAP_DATABASE_URL"])
    evil = "<script>alert(1)</script>"
    rec = store.add_recueil(
        RecueilLink("pref13", "javascript:alert(1)//raa.pdf", f"RAA {evil}", date(2026, 10, 1))
    )
    text = f"Article 1 : la captation d'images au moyen de caméras installées sur des aéronefs est autorisée {evil}"
    decree = Decree(
        title='Arrêté autorisant la captation d\'images par aéronefs <img src=x onerror="alert(2)">',
        first_page=2,
        last_page=2,
        pages=[Page(2, text)],
        number='13-2026-10-01-00001"><b>',
    )
    classified = ClassifiedDecree(
        decree,
        ["drone"],
        [Match("drone-article-authorised", "drone", 2, f"…{evil} captation <i>aéronefs</i> est autorisée…")],
        Details(
            places=["<em>place</em>"],
            service="<svg onload=alert(3)>",
            start=datetime(2026, 10, 2, 8, tzinfo=UTC),
            end=datetime(2026, 10, 2, 20, tzinfo=UTC),
            legal_basis=["<u>L. 242-5</u>"],
        ),
    )
    [decree_id] = store.save_processed(
        rec.id,
        [classified],
        sha256="0" * 64,
        size=1,
        page_count=2,
        pdf_created_at=None,
        routes=[Route("main", ("drone",))],
    ).flagged_ids
    post = store.posts()[0]
    store.update_post(post.id, status="failed", error="<b>refused</b>", status_url="javascript:alert(4)")
    run = store.start_run("pref13")
    store.finish_run(run, outcome="error", error=evil)
    store.close()
    with serving(cli_env) as base, httpx.Client(base_url=base, headers=HTML, timeout=10) as c:
        pages = [
            _page(c, "/"),
            _page(c, "/", q="captation"),
            _page(c, f"/decret/{decree_id}"),
            _page(c, f"/decret/{decree_id}", q="script"),
            _page(c, "/etat"),
            _page(c, "/etat/pref13"),
            _page(c, "/", q=evil),
            _page(c, "/", 400, category=evil),
        ]
        for body in pages:
            for raw in (evil, "<img", "<svg onload", "<em>", "<u>", "<b>", "<i>", '"><b>', "javascript:"):
                assert raw not in body, raw
        decree_page = pages[2]
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in decree_page
        assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in decree_page
        assert "&lt;em&gt;place&lt;/em&gt;" in decree_page and "&lt;b&gt;refused&lt;/b&gt;" in decree_page
        assert "Lien vers le PDF indisponible." in decree_page  # no javascript: link
        assert "<mark>" in decree_page and "&lt;i&gt;" in decree_page
        assert "<mark>script</mark>" in pages[3]


def test_highlight_and_chart_helpers():
    assert mark("a <b> captation", [(6, 15)]) == "a &lt;b&gt; <mark>captation</mark>"
    assert mark("abc", [(0, 2), (1, 3)]) == "<mark>abc</mark>"
    assert query_terms('drone OR "vieux port" -marseille NOT lyon') == ["drone", "vieux port"]
    text = "Le Vieux-Port, les DRONES et l'Hélicoptère"
    spans = query_spans(["vieux port", "drone", "helicoptere"], text)
    assert [text[a:b] for a, b in sorted(spans)] == ["Vieux-Port", "DRONES", "Hélicoptère"]

    assert [charts.nice_step(n) for n in (1, 4, 5, 9, 23, 180)] == [1, 1, 2, 5, 10, 50]
    assert charts.month_range((2025, 11), (2026, 2)) == [(2025, 11), (2025, 12), (2026, 1), (2026, 2)]
    assert len(charts.month_range((2000, 1), (2026, 12))) == charts.MAX_MONTHS
    series = charts.series_for({"drone": "Drones", "avs": "VSA"})
    counts = {(2026, 1): {"drone": 2, "avs": 1}, (2026, 3): {"drone": 4}}
    c = charts.monthly(counts, charts.month_range((2026, 1), (2026, 3)), series, title="t")
    assert len(c.rects) == 3 and c.rows[1] == ["février 2026", 0, 0, 0]
    jan = [r for r in c.rects if r.title.startswith("janvier")]
    mar = [r for r in c.rects if r.title.startswith("mars")][0]
    assert sum(r.height for r in jan) * 4 == pytest.approx(mar.height * 3, abs=0.5)
    assert mar.y == pytest.approx(c.box[1], abs=0.5)  # the tallest column reaches the top
    deps = charts.by_department({"06": {"avs": 1}, "13": {"drone": 3}}, {"13": "13 — BdR"}, series, title="t")
    assert [row[0] for row in deps.rows] == ["13 — BdR", "06"] and deps.height > 40
    assert charts.monthly({}, [], series, title="t").empty
