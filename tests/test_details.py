"""Details of flagged decrees (where, when, who, how many, legal basis) and the two flags."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from attrap.errors import ConfigError
from attrap.model import Decree, Details, Page
from attrap.rules.details import Window, assess, extract_details, load_windows
from attrap.rules.frdates import format_period
from tests.conftest import SITES, invoke_cli

PARIS = ZoneInfo("Europe/Paris")


def decree(title: str, *pages: str) -> Decree:
    return Decree(
        title=title,
        first_page=1,
        last_page=len(pages),
        pages=[Page(n, text) for n, text in enumerate(pages, start=1)],
    )


DRONE_PP = decree(
    "Arrêté n° 2024-00512 autorisant la captation, l'enregistrement et la transmission d'images au moyen "
    "de caméras installées sur des aéronefs aux abords du Parc des Princes",
    "Vu le code de la sécurité intérieure, notamment ses articles L. 242-1 à L. 242-8 ;\n"
    "Vu la loi n° 2023-380 du 19 mai 2023 relative aux jeux Olympiques et Paralympiques de 2024 ;\n"
    "Considérant que la rencontre de football du 2 juin 2024 est susceptible de rassembler…\n"
    "ARRÊTE\n"
    "Article 1er – La direction de l'ordre public et de la circulation est autorisée à procéder à la\n"
    "captation, à l'enregistrement et à la transmission d'images au moyen de caméras installées sur\n"
    "des aéronefs, le 2 juin 2024 de 17h00 à 23h30.\n"
    "Article 2 – Le nombre maximal d'aéronefs pouvant procéder simultanément aux traitements est\n"
    "fixé à 3.\n"
    "Article 3 – Le périmètre géographique concerné est le suivant : Paris 16e arrondissement,\n"
    "rue du Commandant Guilbaud, avenue du Parc des Princes.",
)

DRONE_MULTI_DAY = decree(
    "Arrêté portant autorisation de la captation, de l'enregistrement et de la transmission d'images au "
    "moyen de caméras installées sur des aéronefs dans le cadre du festival des Vieilles Charrues",
    "Vu le code de la sécurité intérieure, et notamment ses articles L. 242-1 et suivants ;\n"
    "ARRÊTE :\n"
    "Article 1 : Le groupement de gendarmerie départementale du Finistère est autorisé à procéder à la "
    "captation d'images au moyen de deux drones sur le territoire de la commune de Carhaix-Plouguer, "
    "du 10 juillet 2025 à 12 heures au 14 juillet 2025 à 4 heures.",
)

AVS = decree(
    "Arrêté portant autorisation de l'emploi à titre expérimental d'un traitement algorithmique des images "
    "collectées au moyen de systèmes de vidéoprotection",
    "Vu la loi n° 2023-380 du 19 mai 2023, notamment son article 10 ;\n"
    "Vu le décret n° 2023-828 du 28 août 2023 ;\n"
    "Vu la demande présentée par la Régie autonome des transports parisiens (RATP) ;\n"
    "ARRÊTE\n"
    "Article 1er : L'emploi d'un traitement algorithmique des images collectées au moyen de 118 caméras "
    "de vidéoprotection est autorisé à l'occasion des concerts de Taylor Swift, du 9 au 12 mai 2024.",
)


def test_drone_decree_period_place_service_and_count():
    d = extract_details(DRONE_PP)
    assert d.start == datetime(2024, 6, 2, 17, 0, tzinfo=PARIS)
    assert d.end == datetime(2024, 6, 2, 23, 30, tzinfo=PARIS)
    assert d.service == "La direction de l'ordre public et de la circulation"
    assert d.aircraft == 3
    assert "Parc des Princes" in " ".join(d.places)
    assert any("rue du Commandant Guilbaud" in p for p in d.places)
    assert "articles L. 242-1 à L. 242-8" in d.legal_basis
    assert any(ref.startswith("loi n° 2023-380") for ref in d.legal_basis)


def test_period_over_several_days_with_hours_written_out_and_a_commune():
    d = extract_details(DRONE_MULTI_DAY)
    assert (d.start, d.end) == (
        datetime(2025, 7, 10, 12, 0, tzinfo=PARIS),
        datetime(2025, 7, 14, 4, 0, tzinfo=PARIS),
    )
    assert d.places == ["Carhaix-Plouguer"]
    assert d.event == "festival des Vieilles Charrues"
    assert d.service == "Le groupement de gendarmerie départementale du Finistère"
    assert d.aircraft == 2


def test_avs_decree_days_without_hours_applicant_and_cameras():
    d = extract_details(AVS)
    assert (d.start, d.end) == (
        datetime(2024, 5, 9, 0, 0, tzinfo=PARIS),
        datetime(2024, 5, 12, 23, 59, tzinfo=PARIS),
    )
    assert d.service == "Régie autonome des transports parisiens (RATP)"
    assert d.cameras == 118
    assert d.event == "concerts de Taylor Swift"
    assert format_period(d.start, d.end) == "du 9 mai 2024 au 12 mai 2024"


def test_nothing_is_guessed():
    d = extract_details(decree("Arrêté portant autorisation de la captation", "ARRÊTE\nArticle 1er : Rien."))
    assert d == Details()


def test_a_period_across_midnight_ends_the_next_day():
    d = extract_details(
        decree("Arrêté", "ARRÊTE\nArticle 1er : autorisé le 31 décembre 2025 de 22h00 à 4h00.")
    )
    assert d.end == datetime(2026, 1, 1, 4, 0, tzinfo=PARIS)


def test_details_round_trip_through_json():
    d = extract_details(DRONE_PP)
    assert Details.from_json(json.loads(json.dumps(d.to_json()))) == d


WINDOWS = [
    Window("avs", date(2023, 5, 20), date(2025, 3, 31), "loi n° 2023-380, art. 10"),
    Window("avs", date(2025, 4, 1), date(2027, 12, 31), "projet de loi JOP 2030", status="pending"),
]


def test_published_after_the_period_began():
    d = extract_details(DRONE_PP)  # 2 June 2024, 17h00
    late = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
    flags = assess(d, category="drone", first_seen=late, published=date(2024, 6, 3), windows=WINDOWS)
    assert [f.id for f in flags] == ["published-late"]
    assert flags[0].text == "Publié après la fin de la période autorisée (en ligne le 3 juin 2024)"
    # seen late by attrap (a backfill), but the site dates the recueil before the period: not flagged
    assert assess(d, category="drone", first_seen=late, published=date(2024, 5, 31), windows=WINDOWS) == []
    early = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
    assert assess(d, category="drone", first_seen=early, published=None, windows=WINDOWS) == []


def test_avs_outside_every_legal_window_names_the_pending_bill():
    d = Details(start=datetime(2025, 12, 12, 10, tzinfo=PARIS), end=datetime(2025, 12, 24, 22, tzinfo=PARIS))
    (flag,) = assess(d, category="avs", first_seen=None, windows=WINDOWS)
    assert flag.id == "outside-legal-window"
    assert "projet de loi JOP 2030" in flag.text
    inside = extract_details(AVS)  # May 2024: within the 2023-380 experiment
    assert assess(inside, category="avs", first_seen=None, windows=WINDOWS) == []
    # without a period, the date of signature decides
    assert assess(Details(), category="avs", first_seen=None, signed_on=date(2026, 2, 1), windows=WINDOWS)
    assert not assess(
        Details(), category="drone", first_seen=None, signed_on=date(2026, 2, 1), windows=WINDOWS
    )


def test_windows_are_data(tmp_path):
    windows = load_windows()
    assert any(w.category == "avs" and w.end == date(2025, 3, 31) and w.status == "in_force" for w in windows)
    (tmp_path / "windows.toml").write_text(
        '[[window]]\ncategory = "avs"\nstart = 2023-05-20\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="windows.toml: a window lacks 'end'"):
        load_windows(tmp_path)
    (tmp_path / "windows.toml").write_text(
        '[[window]]\ncategory = "avs"\nstart = 2023-05-20\nend = 2025-03-31\nlaw = "x"\nstatus = "maybe"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="status must be one of"):
        load_windows(tmp_path)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_classify_shows_the_details_of_a_fixture_decree(cli_env):
    pdf = next((SITES / "pref13" / "contenu").rglob("recueil-13-2026-245-*.pdf"))
    out = json.loads(invoke_cli("classify", "--json", str(pdf), env=cli_env).stdout)
    drone = next(d for d in out[0]["decrees"] if d["categories"] == ["drone"])
    details = drone["details"]
    assert details["start"] == "2026-10-15T18:00:00+02:00" and details["end"] == "2026-10-16T02:00:00+02:00"
    assert details["aircraft"] == 2
    assert details["places"] == ["stade Orange Vélodrome et ses abords, Marseille (8e arrondissement)"]
    text = invoke_cli("classify", str(pdf), env=cli_env).stdout
    assert "période: du 15 octobre 2026 à 18h00 au 16 octobre 2026 à 02h00" in text


@pytest.mark.parametrize("visa", ["Vu l'avis", "Vu l’avis", "Vu. l'avis", "VU, l'avis", "  Vu: l'avis"])
def test_a_period_stated_only_in_a_considerant_is_not_taken_from_a_visa(visa):
    """Without a period in the articles, the title and the considérants are read, never a visa:
    the commission's meeting dates are not the authorised period, also where a scan reads the
    visa as "Vu. l'avis" or "VU, l'avis" (the forms classification's title scope ends at)."""
    d = extract_details(
        decree(
            "Arrêté portant autorisation de la captation d'images au moyen de caméras installées sur des aéronefs",
            "Vu le code de la sécurité intérieure ;\n"
            f"{visa} de la commission départementale de vidéoprotection réunie du 3 au 4 mars 2026 ;\n"
            "Considérant que le festival se tient du 10 au 12 juillet 2026 ;\n"
            "ARRÊTE\n"
            "Article 1er : La captation est autorisée pendant la durée du festival.",
        )
    )
    assert (d.start, d.end) == (
        datetime(2026, 7, 10, 0, 0, tzinfo=PARIS),
        datetime(2026, 7, 12, 23, 59, tzinfo=PARIS),
    )
