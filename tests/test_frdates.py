"""French dates as prefecture sites and decrees write them."""

from datetime import date

import pytest

from attrap.rules.frdates import find_date, find_dates, find_period, format_date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Publié le 12/07/2024", date(2024, 7, 12)),
        ("RAA n° 13-2024-123 du 12 juillet 2024", date(2024, 7, 12)),
        ("Fait à Marseille, le 1er août 2026", date(2026, 8, 1)),
        ("FAIT A MARSEILLE LE 3 DECEMBRE 2025", date(2025, 12, 3)),
        ("recueil du 12_mars_24", date(2024, 3, 12)),
        ("PDF - 1,2 Mo - 16/07/2025", date(2025, 7, 16)),
        ("le 31 février 2025", None),
        ("aucune date", None),
    ],
)
def test_find_date(text, expected):
    assert find_date(text) == expected


def test_find_dates_in_order():
    assert find_dates("du 15 octobre 2026 à 18h00 au 16/10/2026") == [
        date(2026, 10, 15),
        date(2026, 10, 16),
    ]


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Juillet 2024", (2024, 7)),
        ("RAA 2025", (2025, None)),
        ("Recueils publiés en 2025", (2025, None)),
        ("Janvier", (None, 1)),
        ("Aout2", (None, 8)),
        ("08.-Aout-2026", (2026, 8)),
        ("Maine-et-Loire", (None, None)),
    ],
)
def test_find_period(label, expected):
    assert find_period(label) == expected


@pytest.mark.parametrize(
    ("d", "text"), [(date(2026, 10, 1), "1er octobre 2026"), (date(2025, 8, 14), "14 août 2025")]
)
def test_format_date(d, text):
    assert format_date(d) == text
    assert find_date(text) == d
