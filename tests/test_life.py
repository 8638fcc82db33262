"""A decree's life: an abrogation or a modification is linked to the decree it cites, posted
once as that change when the decree it changes was posted; court decisions recorded with
``attrap annotate``; doubtful decisions held for ``attrap review``."""

from __future__ import annotations

import csv
import io
import json
import shutil
import tomllib
from datetime import date
from xml.etree import ElementTree

import httpx
import pytest
from bs4 import BeautifulSoup

from attrap.model import Decree, Page
from attrap.rules.changes import find_citations, normalize_number
from attrap.rules.classify import load_rules
from attrap.run.pipeline import classify_all
from tests.conftest import ROOT, invoke_cli, run_cli, serving
from tests.pdfgen import make_pdf

AUTHORISED = "13-2026-10-14-00003"  # the fixture site's drone authorisation (recueil 0, pages 5-6)
ABROGATION = f"""PRÉFET DES BOUCHES-DU-RHÔNE
Cabinet - Direction de la sécurité
Arrêté n° 13-2026-10-16-00010 portant abrogation de l'arrêté n° {AUTHORISED} du 14 octobre 2026 autorisant la captation, l'enregistrement et la transmission d'images au moyen de caméras installées sur des aéronefs
Le préfet de police des Bouches-du-Rhône,
Vu le code de la sécurité intérieure, notamment ses articles L. 242-1 à L. 242-8 ;
Vu l'arrêté n° {AUTHORISED} du 14 octobre 2026 autorisant la captation, l'enregistrement et la transmission d'images au moyen de caméras installées sur des aéronefs ;
Considérant le report de la rencontre de football qui avait motivé cette autorisation ;
ARRÊTE :
Article 1er : L'arrêté n° {AUTHORISED} du 14 octobre 2026 est abrogé.
Article 2 : Le directeur de cabinet est chargé de l'exécution du présent arrêté, qui sera publié au recueil des actes administratifs.
Fait à Marseille, le 16 octobre 2026
"""
MODIFICATION = """Arrêté n° 2025-00733 modifiant l'arrêté n° 2025-00701 du 2 septembre 2025 autorisant la captation, l'enregistrement et la transmission d'images au moyen de caméras installées sur des aéronefs
Vu l'arrêté n° 2024-00012 du 5 janvier 2024 modifié portant délégation de signature ;
Arrête :
Article 1er : L'arrêté n° 2025-00701 du 2 septembre 2025 susvisé est modifié comme suit : les mots « 18 heures » sont remplacés par les mots « 23 heures »."""


def _oracle() -> dict:
    return json.loads((ROOT / "fixtures" / "sites" / "pref13" / "EXPECTED.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        # real wording (fixtures/corpus: Gironde, Alpes-Maritimes; patterns/abrogation.toml)
        (
            "Arrêté portant abrogation de l'arrêté n° 33-2025-05-29-00012 du 29 mai 2025 autorisant la captation",
            "",
            [("abrogation", "33-2025-05-29-00012", date(2025, 5, 29))],
        ),
        (
            "Arrêté portant abrogation de l'arrêté du 23 décembre 2023 autorisant la captation, l'enregistrement",
            "",
            [("abrogation", None, date(2023, 12, 23))],
        ),
        (
            "Arrêté portant retrait de l'arrêté n° 2025-00162 autorisant la captation",
            "",
            [("retrait", "2025-00162", None)],
        ),
        # the visas' "Vu l'arrêté … modifié" is what it builds on, not what it changes
        (MODIFICATION.split("\n")[0], MODIFICATION, [("modification", "2025-00701", date(2025, 9, 2))]),
        ("Arrêté autorisant la captation", "Vu l'arrêté n° 2020-1 du 1er janvier 2020 modifié ;", []),
        # a change that names no decree (no number, no date) links nothing
        ("Arrêté modifiant l'arrêté autorisant la captation", "", []),
    ],
)
def test_the_decree_a_decree_changes_is_read_from_its_title_and_articles(title, text, expected):
    assert [(c.kind, c.number, c.signed_on) for c in find_citations(title, text)] == expected


def test_numbers_compare_as_they_are_cited():
    assert normalize_number("N° 13-2026–10-14-00003.") == normalize_number(AUTHORISED) == AUTHORISED


@pytest.mark.parametrize("fault", [None, "stored", "sent"])
def test_an_abrogation_is_linked_posted_once_as_a_change_and_shown_on_the_decree(
    tmp_path, cli_env, fixture_site, mastodon_server, fault
):
    """Whatever kills the scan that finds it (SIGKILL once the abrogation is stored, or once its
    post is sent but before that is recorded), the change is posted once."""
    recueils = _oracle()["recueils"]
    later = recueils[1]["path"]
    # the abrogation's recueil is not online yet at the first scan (a file the bot tries again)
    fixture_site.inject(later, 404, times=50)
    env = dict(cli_env, MASTODON_API_BASE_URL=mastodon_server.base_url, MASTODON_ACCESS_TOKEN="test-token")
    invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, env=env, check=False)
    first = [
        s for s in mastodon_server.statuses if "#page=5" in s["text"] and recueils[0]["path"] in s["text"]
    ]
    assert len(first) == 1, [s["text"] for s in mastodon_server.statuses]

    pdf = make_pdf(
        tmp_path / "abrogation.pdf", ["RECUEIL DES ACTES ADMINISTRATIFS N°13-2026-247", ABROGATION]
    )
    fixture_site._faults.clear()
    fixture_site.replace(later, pdf.read_bytes(), "application/pdf")
    crashed = dict(env, ATTRAP_FAULTS=f"{fault}:1") if fault else env
    proc = run_cli("scan", "pref13", "--base-url", fixture_site.base_url, env=crashed, check=False)
    assert proc.returncode == (-9 if fault else 0), proc.stderr
    # exactly once: another scan and another publishing pass post nothing more
    invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, env=env, check=False)
    invoke_cli("publish", env=env)
    changes = [s["text"] for s in mastodon_server.statuses if later in s["text"]]
    assert len(changes) == 1, changes
    change = changes[0]
    assert change.startswith("↩️ Abrogée : 🚁 Autorisation de drones")
    assert f"L'arrêté n° {AUTHORISED} du 14 octobre 2026" in change
    assert "est abrogé par l'arrêté n° 13-2026-10-16-00010 du 16 octobre 2026" in change
    assert f"Publication d'origine : {first[0]['url']}" in change and f"{later}#page=2" in change

    decrees = json.loads(invoke_cli("export", "--format", "json", env=env).stdout)
    authorised = next(d for d in decrees if d["number"] == AUTHORISED)
    [by] = authorised["changed_by"]
    assert (
        by["kind"] == "abrogation"
        and by["number"] == "13-2026-10-16-00010"
        and by["link"].endswith("#page=2")
    )
    if fault:
        return
    # the decree's page, the API, the feed and the CSV say it, with links both ways
    with serving(env) as base, httpx.Client(base_url=base, timeout=10) as web:
        page = web.get(f"/decret/{authorised['id']}", headers={"Accept": "text/html"}).text
        life = BeautifulSoup(page, "html.parser").select_one("#vie")
        assert life is not None and "Abrogé par" in life.get_text()
        assert life.select_one(f'a[href="/decret/{by["decree_id"]}"]').get_text() == (
            "l'arrêté n° 13-2026-10-16-00010 du 16 octobre 2026"
        )
        api = web.get(f"/decrees/{by['decree_id']}").json()
        [changes] = api["changes"]
        assert changes["kind"] == "abrogation" and changes["decree_id"] == authorised["id"]
        changing_page = web.get(f"/decret/{by['decree_id']}", headers={"Accept": "text/html"}).text
        assert f'href="/decret/{authorised["id"]}"' in changing_page and "Abroge" in changing_page
        feed = web.get("/feeds/drone.atom").text
        assert "Abrogé par l'arrêté n° 13-2026-10-16-00010 du 16 octobre 2026" in feed
        atom = "{http://www.w3.org/2005/Atom}"
        related = ElementTree.fromstring(feed.encode()).iter(f"{atom}link")
        assert [(x.get("href"), x.get("title")) for x in related if x.get("rel") == "related"] == [
            (by["link"], "abrogé par l'arrêté n° 13-2026-10-16-00010 du 16 octobre 2026")
        ]
    rows = list(csv.DictReader(io.StringIO(invoke_cli("export", "--format", "csv", env=env).stdout)))
    row = next(r for r in rows if r["number"] == AUTHORISED)
    assert row["changed_by"] == "abrogation 13-2026-10-16-00010 2026-10-16"


def test_a_court_decision_is_recorded_against_a_decree(filled):
    cli_env = filled  # a store filled by a dry-run scan of the fixture site
    decrees = json.loads(invoke_cli("export", "--format", "json", env=cli_env).stdout)
    drone = next(d for d in decrees if d["number"] == AUTHORISED)
    url = "https://marseille.tribunal-administratif.fr/decisions-de-justice/dernieres-decisions/drones"
    out = invoke_cli(
        "annotate", str(drone["id"]), "--court-suspended", "--url", url, "--on", "2026-10-15",
        "--note", "TA Marseille, ordonnance n° 2601234", env=cli_env,
    ).stdout  # fmt: skip
    assert f"decree {drone['id']}: court-suspended recorded" in out
    decrees = json.loads(invoke_cli("export", "--format", "json", env=cli_env).stdout)
    [court] = next(d for d in decrees if d["id"] == drone["id"])["court"]
    assert court == {
        "kind": "court-suspended", "url": url, "decided_on": "2026-10-15",
        "note": "TA Marseille, ordonnance n° 2601234",
    }  # fmt: skip
    with serving(cli_env) as base, httpx.Client(base_url=base, timeout=10) as web:
        assert web.get(f"/decrees/{drone['id']}").json()["court"] == [court]
        page = BeautifulSoup(
            web.get(f"/decret/{drone['id']}", headers={"Accept": "text/html"}).text, "html.parser"
        )
        shown = page.select_one("#vie li.court")
        assert shown is not None and "Suspendu par le juge le 15 octobre 2026" in shown.get_text()
        assert shown.select_one("a")["href"] == url
    # a decree that does not exist, a decision not given, a URL that is not one: refused
    assert (
        "no decree 999999"
        in invoke_cli("annotate", "999999", "--court-annulled", env=cli_env, check=False).stderr
    )
    assert invoke_cli("annotate", str(drone["id"]), env=cli_env, check=False).returncode == 2
    bad = invoke_cli(
        "annotate", str(drone["id"]), "--court-annulled", "--url", "javascript:x", env=cli_env, check=False
    )
    assert bad.returncode == 2 and "--url" in bad.stderr


TITLE_ONLY = (
    "Arrêté n° 2026-00412 autorisant la captation, l'enregistrement et la transmission d'images au moyen de "
    "caméras installées sur des aéronefs"
)
UNRELATED_ARTICLES = (
    "ARRÊTE :\nArticle 1er : La circulation est interdite sur le quai de la Joliette du 3 au 5 novembre 2026, "
    "de 8 heures à 20 heures, pendant les travaux de réfection de la chaussée. Une déviation est mise en place "
    "par la rue de la République. Les riverains sont informés par voie d'affichage. Article 2 : Le présent arrêté "
    "sera publié au recueil des actes administratifs de la préfecture des Bouches-du-Rhône. Article 3 : Le "
    "directeur départemental de la sécurité publique est chargé de son exécution."
)


def test_a_title_the_articles_do_not_bear_out_is_doubtful():
    page = Page(1, f"{TITLE_ONLY}\nLe préfet,\nVu le code de la sécurité intérieure ;\n{UNRELATED_ARTICLES}")
    [cd] = classify_all([Decree(TITLE_ONLY, 1, 1, [page])], load_rules())
    assert cd.categories == ["drone"] and cd.doubts == ["title_only"]
    # the same title with its articles saying it stands
    with_articles = page.text.replace(UNRELATED_ARTICLES, "ARRÊTE :\n" + _AUTHORISING_ARTICLE)
    [sure] = classify_all([Decree(TITLE_ONLY, 1, 1, [Page(1, with_articles)])], load_rules())
    assert sure.categories == ["drone"] and sure.doubts == []


_AUTHORISING_ARTICLE = (
    "Article 1er : La captation, l'enregistrement et la transmission d'images au moyen de caméras installées "
    "sur des aéronefs sont autorisés pour la direction départementale de la sécurité publique, le 4 novembre "
    "2026 de 14 heures à 23 heures, sur le périmètre du stade Vélodrome à Marseille. Article 2 : Le nombre "
    "maximal de caméras pouvant procéder simultanément aux traitements est fixé à deux."
)


def test_a_doubtful_decision_waits_for_review_and_every_decision_is_exported(
    tmp_path, cli_env, fixture_site, mastodon_server
):
    recueil = _oracle()["recueils"][0]["path"]
    doubtful = f"PRÉFET DES BOUCHES-DU-RHÔNE\n{TITLE_ONLY}\nLe préfet,\nVu le code de la sécurité intérieure ;\n{UNRELATED_ARTICLES}\nFait à Marseille, le 20 octobre 2026"
    pdf = make_pdf(tmp_path / "r.pdf", ["RECUEIL DES ACTES ADMINISTRATIFS N°13-2026-245", doubtful])
    fixture_site.replace(recueil, pdf.read_bytes(), "application/pdf")
    env = dict(cli_env, MASTODON_API_BASE_URL=mastodon_server.base_url, MASTODON_ACCESS_TOKEN="test-token")
    invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, env=env)
    assert not [s for s in mastodon_server.statuses if recueil in s["text"]]  # held, not posted
    listing = invoke_cli("review", env=env).stdout
    assert (
        "held, not posted" in listing and "le titre l'annonce, mais les articles ne le disent pas" in listing
    )
    [item] = [
        i for i in json.loads(invoke_cli("review", "list", "--json", env=env).stdout) if recueil in i["link"]
    ]
    assert item["reasons"] == ["title_only"]
    assert "1 doubtful decision(s) held for review" in invoke_cli("status", env=env).stdout

    assert (
        "rejected, 1 post(s) will never be sent"
        in invoke_cli("review", "reject", str(item["decree_id"]), "--note", "voirie", env=env).stdout
    )
    invoke_cli("publish", env=env)
    assert not [s for s in mastodon_server.statuses if recueil in s["text"]]
    assert (
        "nothing to review" in invoke_cli("review", env=env).stdout
        or recueil not in invoke_cli("review", env=env).stdout
    )
    # a second reading of the recueil (new rules) does not bring the rejected post back
    invoke_cli("reclassify", env=env)
    invoke_cli("publish", env=env)
    assert not [s for s in mastodon_server.statuses if recueil in s["text"]]

    out = tmp_path / "labels.jsonl"
    invoke_cli("review", "export", "-o", str(out), env=env)
    [example] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert example["decision"] == "reject" and example["categories"] == [] and example["flagged"] == ["drone"]
    assert (
        example["reasons"] == ["title_only"]
        and example["note"] == "voirie"
        and "quai de la Joliette" in example["text"]
    )
    # the same decision added to a corpus (fixtures/corpus's layout), beside its 88 decrees
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ROOT / "fixtures" / "corpus" / "labels.toml", corpus / "labels.toml")
    before = tomllib.loads((corpus / "labels.toml").read_text(encoding="utf-8"))["decree"]
    added = invoke_cli("review", "export", "--corpus", str(corpus), env=env).stdout
    assert added.startswith("1 example(s) added") and "make_ocr.py" in added
    labels = tomllib.loads((corpus / "labels.toml").read_text(encoding="utf-8"))["decree"]
    assert labels[: len(before)] == before
    [entry] = labels[len(before) :]
    assert entry["id"].startswith("neg-pref13-") and entry["categories"] == []
    assert recueil in entry["source"] and "rejected" in entry["note"] and "voirie" in entry["note"]
    assert "quai de la Joliette" in (corpus / "text" / f"{entry['id']}.txt").read_text(encoding="utf-8")
    # once there, not added again
    assert invoke_cli("review", "export", "--corpus", str(corpus), env=env).stdout.startswith("0 example(s)")
    assert tomllib.loads((corpus / "labels.toml").read_text(encoding="utf-8"))["decree"] == labels


def test_a_category_that_marks_doubtful_decisions_posts_them_at_once_with_the_mark(
    tmp_path, cli_env, fixture_site, mastodon_server
):
    patterns = tmp_path / "patterns"

    shutil.copytree(ROOT / "patterns", patterns)
    cats = patterns / "categories.toml"
    cats.write_text(
        cats.read_text(encoding="utf-8").replace('doubtful = "hold"', 'doubtful = "mark"'), encoding="utf-8"
    )
    recueil = _oracle()["recueils"][0]["path"]
    doubtful = f"PRÉFET DES BOUCHES-DU-RHÔNE\n{TITLE_ONLY}\nLe préfet,\nVu le code de la sécurité intérieure ;\n{UNRELATED_ARTICLES}\nFait à Marseille, le 20 octobre 2026"
    pdf = make_pdf(tmp_path / "r.pdf", ["RECUEIL DES ACTES ADMINISTRATIFS N°13-2026-245", doubtful])
    fixture_site.replace(recueil, pdf.read_bytes(), "application/pdf")
    env = dict(
        cli_env, ATTRAP_PATTERNS_DIR=str(patterns),
        MASTODON_API_BASE_URL=mastodon_server.base_url, MASTODON_ACCESS_TOKEN="test-token",
    )  # fmt: skip
    invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, env=env)
    [post] = [s["text"] for s in mastodon_server.statuses if recueil in s["text"]]
    assert "⚠️ À vérifier : le titre l'annonce, mais les articles ne le disent pas" in post
    # still listed, to be labelled, as posted with a mark
    assert "posted with a mark" in invoke_cli("review", env=env).stdout


LATE = f"""PRÉFET DES BOUCHES-DU-RHÔNE
Arrêté n° 13-2026-10-09-00020 autorisant la captation, l'enregistrement et la transmission d'images au moyen de caméras installées sur des aéronefs
Le préfet de police des Bouches-du-Rhône,
Vu le code de la sécurité intérieure, notamment ses articles L. 242-1 à L. 242-8 ;
ARRÊTE :
{_AUTHORISING_ARTICLE.replace("le 4 novembre 2026", "le 10 octobre 2026")}
Fait à Marseille, le 9 octobre 2026
"""


def test_lateness_in_figures_on_the_decree_the_statistics_the_api_and_the_csv(
    tmp_path, cli_env, fixture_site
):
    """A drone authorisation for 10 October, signed the 9th, in a recueil the site dates the
    14th: published after its period began, said in every place with the same figures."""
    recueil = _oracle()["recueils"][0]["path"]
    pdf = make_pdf(tmp_path / "r.pdf", ["RECUEIL DES ACTES ADMINISTRATIFS N°13-2026-245", LATE])
    fixture_site.replace(recueil, pdf.read_bytes(), "application/pdf")
    invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, "--dry-run", env=cli_env)
    [late] = [
        d
        for d in json.loads(invoke_cli("export", "--format", "json", env=cli_env).stdout)
        if d["number"] == "13-2026-10-09-00020"
    ]
    figures = late["lateness"]
    assert figures["published_after_start"] is True
    assert figures["period_start"] == "2026-10-10T14:00:00+02:00"
    # the site's day (14 October, 00:00 Paris) is before the PDF's creation (14 October 08:00 UTC)
    assert figures["published"] == "2026-10-14T08:00:00+00:00"
    assert figures["hours_signature_to_publication"] == 5 * 24 + 10.0  # from 9 Oct 00:00 Paris (22:00 UTC)
    assert figures["hours_start_to_publication"] == 3 * 24 + 20.0
    [row] = [
        r
        for r in csv.DictReader(io.StringIO(invoke_cli("export", "--format", "csv", env=cli_env).stdout))
        if r["number"] == "13-2026-10-09-00020"
    ]
    assert row["published_after_start"] == "True" and row["hours_start_to_publication"] == "92.0"
    with serving(cli_env) as base, httpx.Client(base_url=base, timeout=10) as web:
        assert web.get(f"/decrees/{late['id']}").json()["lateness"] == figures
        page = BeautifulSoup(
            web.get(f"/decret/{late['id']}", headers={"Accept": "text/html"}).text, "html.parser"
        )
        assert (
            "publié 4 jours (92 h) après le début"
            in page.select_one("#delays").find_parent("section").get_text()
        )
        stats = BeautifulSoup(web.get("/statistiques", headers={"Accept": "text/html"}).text, "html.parser")
        cells = [
            [td.get_text(strip=True) for td in tr.select("td")]
            for tr in stats.select("#retards-table tbody tr")
        ]
        october = next(c for c in cells if c[0] == "2026-10")
        # the other drone decree of October (recueil 2, published before its period) is not late
        others = [
            d
            for d in json.loads(
                invoke_cli("export", "--format", "json", "--category", "drone", env=cli_env).stdout
            )
        ]
        in_october = [
            d
            for d in others
            if (d["details"]["start"] or "").startswith("2026-10")
            or (not d["details"]["start"] and (d["signed_on"] or "").startswith("2026-10"))
        ]
        assert october[1] == "Préfecture des Bouches-du-Rhône" and october[2] == str(len(in_october))
        assert october[3] == str(sum(1 for d in in_october if d["lateness"]["published_after_start"])) == "1"


def test_the_map_colours_each_department_and_says_unhealthy_and_not_watched(cli_env, fixture_site):
    invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, "--dry-run", env=cli_env)
    # the Ille-et-Vilaine's site does not answer: its source is unhealthy
    invoke_cli("scan", "pref35", "--base-url", "http://127.0.0.1:9", "--dry-run", env=cli_env, check=False)
    assert "UNHEALTHY" in invoke_cli("status", env=cli_env).stdout
    flagged = json.loads(invoke_cli("export", "--format", "json", env=cli_env).stdout)
    with serving(cli_env) as base, httpx.Client(base_url=base, timeout=10) as web:
        answer = web.get("/carte", headers={"Accept": "text/html"})
        assert answer.status_code == 200
        soup = BeautifulSoup(answer.text, "html.parser")
        svg = soup.select_one("svg.carte")
        shapes = {a["data-code"]: a for a in svg.select("a[data-code]") if not a.get("aria-hidden")}
        bdr = shapes["13"]
        assert bdr["href"] == "/?department=13"
        assert f"{len(flagged)} arrêtés signalés" in bdr.select_one("title").get_text()
        assert "carte-none" not in bdr.select_one("path")["class"]
        assert "carte-unhealthy" in shapes["35"].select_one("path")["class"]
        assert "carte-none" in shapes["29"].select_one("path")["class"]  # watched, healthy, nothing flagged
        polynesia = svg.select_one('[data-code="987"]') or svg.find(attrs={"data-code": "987"})
        assert polynesia is None or "carte-not-watched" in str(polynesia)
        rows = {tr.select_one("td").get_text(strip=True): tr for tr in soup.select("#carte-table tbody tr")}
        row13 = next(tr for k, tr in rows.items() if k.endswith("(13)"))
        assert row13.select("a")[1]["href"] == "/etat/pref13"
        assert "aucune" in next(tr for k, tr in rows.items() if k.endswith("(987)")).get_text()
        # a period and a category choose what is counted, and the links keep them
        none = BeautifulSoup(
            web.get(
                "/carte", params={"category": "avs", "until": "2020-01-01"}, headers={"Accept": "text/html"}
            ).text,
            "html.parser",
        )
        bdr = none.select_one('svg.carte a[data-code="13"]')
        assert (
            "carte-none" in bdr.select_one("path")["class"]
            and "category=avs" in bdr["href"]
            and "until=2020-01-01" in bdr["href"]
        )
        bad = web.get("/carte", params={"since": "demain"}, headers={"Accept": "text/html"})
        assert bad.status_code == 400 and "since" in bad.text


MODIFYING = f"""PRÉFET DES BOUCHES-DU-RHÔNE
Arrêté n° 13-2026-10-15-00011 modifiant l'arrêté n° {AUTHORISED} du 14 octobre 2026 autorisant la captation, l'enregistrement et la transmission d'images au moyen de caméras installées sur des aéronefs
Le préfet de police des Bouches-du-Rhône,
Vu le code de la sécurité intérieure, notamment ses articles L. 242-1 à L. 242-8 ;
ARRÊTE :
Article 1er : L'arrêté n° {AUTHORISED} du 14 octobre 2026 est modifié comme suit.
{_AUTHORISING_ARTICLE.replace("le 4 novembre 2026", "le 16 octobre 2026")}
Fait à Marseille, le 15 octobre 2026
"""


def test_a_modification_that_authorises_is_posted_once_as_itself_and_says_what_it_modifies(
    tmp_path, cli_env, fixture_site, mastodon_server
):
    recueils = _oracle()["recueils"]
    later = recueils[1]["path"]
    fixture_site.inject(later, 404, times=50)
    env = dict(cli_env, MASTODON_API_BASE_URL=mastodon_server.base_url, MASTODON_ACCESS_TOKEN="test-token")
    invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, env=env, check=False)
    [first] = [
        s for s in mastodon_server.statuses if "#page=5" in s["text"] and recueils[0]["path"] in s["text"]
    ]
    pdf = make_pdf(
        tmp_path / "modification.pdf", ["RECUEIL DES ACTES ADMINISTRATIFS N°13-2026-247", MODIFYING]
    )
    fixture_site._faults.clear()
    fixture_site.replace(later, pdf.read_bytes(), "application/pdf")
    invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, env=env, check=False)
    invoke_cli("publish", env=env)
    [post] = [s["text"] for s in mastodon_server.statuses if later in s["text"]]
    assert post.startswith("🚁 Autorisation de drones")  # its own post, not a second one as a change
    assert f"✏️ Modifie l'arrêté n° {AUTHORISED} du 14 octobre 2026 (publication : {first['url']})" in post
