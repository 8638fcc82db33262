"""Every decree, even when its pages cannot be read: the recueil's sommaire as a second source
of truth (issue: a decree whose own pages are unreadable, garbled or cut off is flagged from its
sommaire entry, marked as such; an entry whose pages are missing is recorded)."""

from __future__ import annotations

import json

import httpx

from attrap.model import Page
from attrap.read.split import split_decrees
from attrap.rules.classify import load_rules
from attrap.run.pipeline import classify_all, undecided
from tests.conftest import invoke_cli, serving

DRONE = (
    "Arrêté préfectoral portant autorisation de la captation, de l□enregistrement et de la transmission "
    "d□images au moyen de caméras installées sur des aéronefs"
)
SOMMAIRE = f"""RECUEIL DES ACTES ADMINISTRATIFS N°13-2026-250
Sommaire
Cabinet / Direction de la sécurité
13-2026-10-20-00001 - {DRONE} (2 pages) Page 3
13-2026-10-20-00002 - Arrêté portant fermeture temporaire de la route départementale 559 (1 pages) Page 5
13-2026-10-21-00003 - Arrêté autorisant la captation d□images au moyen de caméras installées sur des aéronefs (2 pages) Page 6
"""
ROAD = """13-2026-10-20-00002
PRÉFET DES BOUCHES-DU-RHÔNE
Arrêté n° 13-2026-10-20-00002 portant fermeture temporaire de la route départementale 559
Le préfet des Bouches-du-Rhône,
Vu le code de la route ;
Vu le code de la voirie routière ;
Considérant la nécessité d'assurer la sécurité des usagers pendant les travaux de réfection de la chaussée ;
ARRÊTE :
Article 1er : La route départementale 559 est fermée à la circulation du 2 au 6 novembre 2026, de 8 h à 18 h,
entre les points de repère 12 et 14, sur le territoire de la commune de Cassis. Une déviation est mise en place.
Article 2 : Le présent arrêté sera publié au recueil des actes administratifs de la préfecture.
Fait à Marseille, le 20 octobre 2026
"""


def _pages(*texts: str, method: str = "text", confidence: float | None = None) -> list[Page]:
    return [Page(i + 1, t, t, method, confidence) for i, t in enumerate(texts)]


def test_a_decree_whose_pages_read_as_noise_is_flagged_from_its_sommaire_entry():
    garbled = "13-2026-10-20-00001\n~ '. ,, :; ##. ~~ .. l1 |' ..\n ;; ~ ,"
    pages = _pages("RECUEIL DES ACTES ADMINISTRATIFS", SOMMAIRE, garbled, garbled, ROAD)
    decrees = split_decrees(pages)
    drone = next(d for d in decrees if d.number == "13-2026-10-20-00001")
    assert drone.sommaire_title == DRONE and undecided(drone)
    out = {cd.decree.number: cd for cd in classify_all(decrees, load_rules())}
    assert out["13-2026-10-20-00001"].categories == ["drone"] and out["13-2026-10-20-00001"].from_sommaire
    assert out["13-2026-10-20-00002"].categories == [] and not out["13-2026-10-20-00002"].from_sommaire


def test_a_readable_decree_is_decided_by_its_pages_not_by_its_sommaire_entry():
    # the road closure's sommaire entry is made to read like a drone decree: its pages win
    sommaire = SOMMAIRE.replace(
        "fermeture temporaire de la route départementale 559",
        "autorisation de la captation d□images au moyen de caméras installées sur des aéronefs",
    )
    decrees = split_decrees(_pages("RECUEIL DES ACTES ADMINISTRATIFS", sommaire, "", "", ROAD))
    road = next(cd for cd in classify_all(decrees, load_rules()) if cd.decree.number == "13-2026-10-20-00002")
    assert road.categories == [] and not road.from_sommaire


def test_low_confidence_ocr_leaves_the_decision_to_the_sommaire():
    page = "13-2026-10-20-00001\n" + "Lc prcfct dcs Bouchcs du Rhonc vu lc codc " * 20
    scanned = [Page(n, page, page, "ocr", 41.0) for n in (3, 4)]
    decrees = split_decrees(_pages("RECUEIL DES ACTES ADMINISTRATIFS", SOMMAIRE) + scanned)
    drone = next(d for d in decrees if d.number == "13-2026-10-20-00001")
    assert undecided(drone)  # OCR below 60 on every page
    (cd,) = [c for c in classify_all([drone], load_rules())]
    assert cd.categories == ["drone"] and cd.from_sommaire


def test_a_truncated_pdf_keeps_the_entries_it_lost_and_says_so(tmp_path, cli_env):
    garbled = "13-2026-10-20-00001\n~ ,, ;;"
    # the PDF stops after page 5: the sommaire's third entry (page 6) has no pages
    path = tmp_path / "recueil.txt"
    path.write_text(
        "\f".join(["RECUEIL DES ACTES ADMINISTRATIFS", SOMMAIRE, garbled, garbled, ROAD]), encoding="utf-8"
    )
    (result,) = json.loads(invoke_cli("classify", str(path), "--json", env=cli_env).stdout)
    by_number = {d["number"]: d for d in result["decrees"]}
    lost = by_number["13-2026-10-21-00003"]
    assert lost["pages"] == [6, 7] and lost["pages_missing"] and lost["from_sommaire"]
    assert lost["categories"] == ["drone"]
    assert (
        by_number["13-2026-10-20-00001"]["from_sommaire"]
        and not by_number["13-2026-10-20-00001"]["pages_missing"]
    )
    text = invoke_cli("classify", str(path), env=cli_env).stdout
    assert "flagged from the recueil's sommaire: its pages are not in the PDF" in text
    assert "flagged from the recueil's sommaire: its pages could not be read" in text


def test_a_decree_found_only_in_the_sommaire_is_posted_and_shown_as_such(
    cli_env, fixture_site, mastodon_server, tmp_path
):
    from tests.pdfgen import make_pdf

    oracle = json.loads((fixture_site.root / "EXPECTED.json").read_text(encoding="utf-8"))
    served = oracle["recueils"][0]["path"]
    sommaire = SOMMAIRE.replace("□", "’")
    # a recueil whose drone decree is two pages of scan noise tesseract cannot read
    pdf = make_pdf(
        tmp_path / "r.pdf", ["RECUEIL DES ACTES ADMINISTRATIFS N°13-2026-250", sommaire, "", "", ROAD]
    )
    fixture_site.replace(served, pdf.read_bytes(), "application/pdf")
    env = dict(cli_env, MASTODON_API_BASE_URL=mastodon_server.base_url, MASTODON_ACCESS_TOKEN="test-token")
    invoke_cli("scan", "pref13", "--base-url", fixture_site.base_url, env=env)
    # flagged from the sommaire only: doubtful, held for a person (patterns/categories.toml)
    held = [s["text"] for s in mastodon_server.statuses if served in s["text"] and "#page=3" in s["text"]]
    assert held == []
    queue = json.loads(invoke_cli("review", "list", "--json", env=env).stdout)
    from_sommaire = [i for i in queue if i["link"].endswith((f"{served}#page=3", f"{served}#page=6"))]
    assert len(from_sommaire) == 2 and all(i["held"] and i["reasons"][0] == "sommaire" for i in from_sommaire)
    for item in from_sommaire:
        out = invoke_cli("review", "confirm", str(item["decree_id"]), env=env).stdout
        assert "confirmed, 1 post(s) queued" in out
    invoke_cli("publish", env=env)
    texts = [s["text"] for s in mastodon_server.statuses]
    unread = [t for t in texts if f"{served}#page=3" in t]
    assert (
        len(unread) == 1
        and "Repéré dans le sommaire du recueil : ses pages n'ont pas pu être lues" in unread[0]
    )
    lost = [t for t in texts if f"{served}#page=6" in t]  # the entry past the file's end, at its page
    assert (
        len(lost) == 1 and "Repéré dans le sommaire du recueil : ses pages manquent au PDF publié" in lost[0]
    )
    with serving(env) as base, httpx.Client(base_url=base, timeout=10) as web:
        found = web.get("/decrees", params={"q": "13-2026-10-21-00003", "limit": 5}).json()["decrees"]
        assert found and found[0]["from_sommaire"] and found[0]["pages_missing"]
        assert "pages-missing" in {f["id"] for f in found[0]["flags"]}
    status = invoke_cli("status", env=env).stdout
    assert "the sommaire lists 1 decree(s) whose pages are not in the PDF (13-2026-10-21-00003)" in status
