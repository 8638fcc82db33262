"""The real Mastodon.py client, through attrap.publish.mastodon, against the test server."""

from __future__ import annotations

import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from attrap.errors import PublishError
from attrap.model import Alert, Details
from attrap.publish.mastodon import MastodonChannel, RetryablePublishError
from attrap.publish.render import post_length, render_post
from tests.mastoserver import MastoServer

TOKEN = "test-token"


@pytest.fixture
def server():
    with MastoServer() as s:
        yield s


def test_post_returns_the_status_and_is_stored_with_its_visibility(server):
    ch = MastodonChannel(server.base_url, TOKEN, visibility="unlisted")
    sent = ch.post("Bonjour https://example.org/a.pdf#page=3", idempotency_key="k1")
    (status,) = server.statuses
    assert sent.status_id == status["id"] and sent.url == status["url"]
    assert status["visibility"] == "unlisted" and status["idempotency_key"] == "k1"


def test_same_idempotency_key_creates_one_status(server):
    ch = MastodonChannel(server.base_url, TOKEN)
    a = ch.post("un", idempotency_key="same")
    b = ch.post("un", idempotency_key="same")
    assert a == b and len(server.statuses) == 1


def test_rate_limit_is_retryable_with_the_reset_delay(server):
    server.fail_next("429", reset_in=0.8)
    with pytest.raises(RetryablePublishError, match="rate limited") as err:
        MastodonChannel(server.base_url, TOKEN).post("x", idempotency_key="k")
    assert err.value.retry_after is not None and 0 <= err.value.retry_after <= 2


@pytest.mark.parametrize("kind", ["500", "503", "drop"])
def test_server_errors_and_dropped_connections_are_retryable(server, kind):
    server.fail_next(kind)
    with pytest.raises(RetryablePublishError):
        MastodonChannel(server.base_url, TOKEN, timeout=5).post("x", idempotency_key="k")
    assert server.statuses == []


def test_accepted_then_dropped_then_retried_posts_once(server):
    ch = MastodonChannel(server.base_url, TOKEN, timeout=5)
    server.fail_next("accept-then-drop")
    with pytest.raises(RetryablePublishError):
        ch.post("once", idempotency_key="crash")
    ch.post("once", idempotency_key="crash")
    assert len(server.statuses) == 1


def test_a_wrong_token_is_permanent_and_never_shown(server, caplog):
    secret = "s3cr3t-t0ken-value"
    ch = MastodonChannel(server.base_url, secret)
    with caplog.at_level(logging.DEBUG), pytest.raises(PublishError) as err:
        ch.post("x", idempotency_key="k")
    assert not isinstance(err.value, RetryablePublishError)
    assert "401" in str(err.value)
    for text in (str(err.value), repr(err.value), repr(ch), caplog.text):
        assert secret not in text


def test_max_characters_comes_from_the_instance():
    with MastoServer(max_characters=300) as s:
        assert MastodonChannel(s.base_url, TOKEN).max_characters() == 300


@pytest.mark.parametrize("limit", [500, 300])
def test_every_rendered_post_is_accepted(limit):
    alert = Alert(
        1,
        "avs",
        "pref13",
        "Préfecture des Bouches-du-Rhône",
        "13",
        "Arrêté portant autorisation de l’emploi d’un traitement algorithmique " * 12 + " @tout_le_monde",
        "https://www.bouches-du-rhone.gouv.fr/contenu/telechargement/55010/381200/file/"
        "recueil-13-2025-300%20du%205%20d%C3%A9cembre%202025.pdf#page=3",
        date(2025, 12, 4),
        details=Details(
            places=["Gare de Lyon, hall 1, parvis, quais et accès depuis la rue de Bercy " * 4],
            event="concerts au stade de France",
            start=datetime(2025, 12, 12, 10, tzinfo=ZoneInfo("Europe/Paris")),
            end=datetime(2025, 12, 24, 22, tzinfo=ZoneInfo("Europe/Paris")),
            service="La Régie autonome des transports parisiens",
            cameras=118,
        ),
        flags=["Hors de toute période d'expérimentation légale (prolongation non adoptée : projet de loi)"],
    )
    text = render_post(alert, max_characters=limit)
    assert post_length(text) <= limit
    assert alert.url in text and "#VSA #Technopolice #dep13" in text
    assert ("Signé le 4 décembre 2025" in text) == (limit == 500)  # the signature date gives way first
    assert "🗓 du 12 décembre 2025 à 10h00 au 24 décembre 2025 à 22h00" in text
    assert "⚠️ Hors de toute période d'expérimentation légale" in text
    assert ("118 caméras" in text) == (limit == 500)
    assert "…" in text and "@tout" not in text.replace("@\u200b", "")
    with MastoServer(max_characters=limit) as s:
        MastodonChannel(s.base_url, TOKEN).post(text, idempotency_key="r")
        assert len(s.statuses) == 1


def test_template_can_be_changed_without_code(tmp_path, monkeypatch):
    tpl = tmp_path / "post.txt"
    tpl.write_text("[$heading] $title -> $url $hashtags\n", encoding="utf-8")
    monkeypatch.setenv("ATTRAP_POST_TEMPLATE", str(tpl))
    alert = Alert(1, "drone", "pref13", "P", None, "Arrêté\nautorisant", "https://x.gouv.fr/a.pdf#page=2")
    assert (
        render_post(alert)
        == "[🚁 Autorisation de drones] Arrêté autorisant -> https://x.gouv.fr/a.pdf#page=2 #drones #Technopolice"
    )
