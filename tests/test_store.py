"""The store, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

from datetime import date

from attrap.model import ClassifiedDecree, Decree, Match, Page, RecueilLink
from attrap.store.db import MAX_ATTEMPTS, Route, Store

URL = "https://www.bouches-du-rhone.gouv.fr/contenu/telechargement/1/2/file/recueil.pdf"


def _decree(first: int, last: int, title: str, categories: list[str]) -> ClassifiedDecree:
    pages = [Page(n, f"page {n} {title}") for n in range(first, last + 1)]
    d = Decree(title=title, first_page=first, last_page=last, pages=pages, signed_on=date(2026, 10, 14))
    matches = [Match("drone-title", c, first, title) for c in categories]
    return ClassifiedDecree(d, categories, matches)


def _processed(store: Store, routes=(), hold=False) -> tuple[int, list[int]]:
    rec = store.add_recueil(RecueilLink("pref13", URL, "RAA 245", date(2026, 10, 14)))
    saved = store.save_processed(
        rec.id,
        [
            _decree(3, 4, "Arrêté portant autorisation … aéronefs", ["drone"]),
            _decree(5, 5, "Arrêté portant fermeture de route", []),
            _decree(6, 7, "Arrêté portant autorisation d'un système de vidéoprotection", ["videoprotection"]),
        ],
        sha256="ab" * 32,
        size=1234,
        page_count=7,
        pdf_created_at=None,
        routes=routes,
        hold=hold,
    )
    return rec.id, saved.flagged_ids


def test_recueils_are_recorded_once_and_decrees_keep_their_pages(db_url):
    store = Store(db_url)
    rec_id, flagged = _processed(store)
    again = store.add_recueil(RecueilLink("pref13", URL, "RAA 245 (again)"))
    assert again.id == rec_id
    assert store.known_urls("pref13") == {URL}
    assert len(flagged) == 2
    rows = store.flagged_decrees(source_id="pref13")
    assert [r.link for r in rows] == [f"{URL}#page=3", f"{URL}#page=6"]
    assert rows[0].categories == ["drone"] and rows[0].matches[0]["rule"] == "drone-title"
    assert store.pending_recueils("pref13") == []
    store.close()


def test_a_failed_recueil_is_retried_a_bounded_number_of_times(db_url):
    store = Store(db_url)
    rec = store.add_recueil(RecueilLink("pref13", URL, "RAA"))
    for _ in range(MAX_ATTEMPTS):
        assert [r.id for r in store.pending_recueils("pref13")] == [rec.id]
        store.recueil_failed(rec.id, "truncated or corrupt PDF")
    assert store.pending_recueils("pref13") == []
    status = store.source_status(["pref13"])[0]
    assert status.failed == 1 and status.recueils == 1
    store.close()


def test_posts_are_queued_once_per_decree_and_channel(db_url):
    store = Store(db_url)
    routes = [Route("default", ("drone", "avs"))]
    _processed(store, routes)
    assert len(store.posts()) == 1
    _processed(store, [*routes, Route("drones-only", ("drone",))], hold=True)  # read again
    due = store.due_posts("default")
    assert len(due) == 1 and due[0].category == "drone"
    assert store.due_posts("drones-only") == []  # held: recorded, not to be posted
    keys = {p.idempotency_key for p in store.posts()}
    assert len(keys) == 2
    store.close()


def test_status_counts_runs_documents_and_flags(db_url):
    store = Store(db_url)
    run = store.start_run("pref13")
    _processed(store, [Route("default", ("drone",))])
    store.finish_run(run, outcome="ok", pdfs_found=1, pdfs_new=1)
    (s,) = store.source_status(["pref13"])
    assert (s.last_outcome, s.recueils, s.decrees, s.flagged, s.posts_waiting) == ("ok", 1, 3, 2, 1)
    store.close()


def test_the_status_of_every_source_at_once_is_each_sources_own(db_url):
    """``attrap status`` and the status page ask for every source in one call: each source's
    runs (its last ten decide its health), recueils, decrees and waiting posts stay its own."""
    from datetime import timedelta

    store = Store(db_url)
    store.finish_run(store.start_run("pref33"), outcome="error", error="HTTP 503")
    store.start_run("pref33")  # running: not counted
    for n in range(12):  # then pref13: eleven failed runs, then a good one
        run = store.start_run("pref13")
        store.finish_run(run, outcome="ok" if n == 11 else "error", error=None if n == 11 else f"down {n}")
    rec_id, flagged = _processed(store, [Route("default", ("drone", "avs"))])
    [post] = store.due_posts("default")
    store.retry_later(post.id, "the instance answered 502", timedelta(minutes=5))
    store.recueil_failed(
        store.add_recueil(RecueilLink("pref13", URL + "?2", "RAA 246", None)).id, "not a PDF"
    )

    ids = ["pref13", "pref33", "pref06"]
    every = store.source_status(ids)
    assert every == [store.source_status([sid])[0] for sid in ids]
    bdr, gironde, alpes = every
    assert (bdr.last_outcome, bdr.last_error, bdr.recueils, bdr.failed) == ("ok", None, 2, 1)
    assert (bdr.decrees, bdr.flagged, bdr.posts_waiting) == (3, len(flagged), 1)
    assert bdr.posts_waiting_reason == "the instance answered 502"
    assert (gironde.last_outcome, gironde.last_error, gironde.recueils, gironde.posts_waiting) == (
        "error",
        "HTTP 503",
        0,
        0,
    )
    assert (alpes.last_run, alpes.recueils, alpes.decrees, alpes.posts_waiting_reason) == (None, 0, 0, None)
    assert not gironde.healthy and not alpes.healthy


def test_processes_starting_at_once_on_a_new_sqlite_database_all_upgrade_it_once(tmp_path):
    """SQLite runs DDL outside a transaction unless one is open: without the write lock taken
    first, a process saw another's half-made schema ("overlaps with other requested revisions")."""
    import subprocess
    import sys

    from attrap.store.db import SCHEMA_HEAD
    from tests.conftest import ROOT, _env_for

    for attempt in range(3):
        env = _env_for(tmp_path / f"data{attempt}", f"sqlite:///{tmp_path / f'race{attempt}.db'}")
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "attrap.cli", "db", "upgrade"],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )  # fmt: skip
            for _ in range(4)
        ]
        outputs = [p.communicate(timeout=120)[0] for p in procs]
        assert [p.returncode for p in procs] == [0] * 4, outputs
        assert Store(env["ATTRAP_DATABASE_URL"], upgrade=False).schema_version() == SCHEMA_HEAD


def test_an_abrogation_of_a_decree_held_for_review_is_posted_once_the_decree_is_confirmed(db_url):
    """The change post waits for the decree it changes: when the abrogation is read, the
    authorisation's post waits for a person; once confirmed, the publishing pass's sweep queues
    the abrogation's post on its channel, once."""
    from attrap.model import Citation

    store = Store(db_url)
    routes = [Route("default", ("drone", "avs"), review=frozenset({"drone"}))]
    number = "13-2026-10-14-00003"
    authorisation = _decree(3, 4, "Arrêté portant autorisation … aéronefs", ["drone"])
    authorisation.decree.number = number
    authorisation.doubts = ["title_only"]
    abrogation = _decree(2, 2, f"Arrêté portant abrogation de l'arrêté n° {number}", [])
    abrogation.citations = [Citation("abrogation", number, date(2026, 10, 14))]

    def save(url: str, decree: ClassifiedDecree) -> None:
        rec = store.add_recueil(RecueilLink("pref13", url, "RAA", date(2026, 10, 14)))
        store.save_processed(
            rec.id, [decree], sha256=url[-2:] * 32, size=1, page_count=4, pdf_created_at=None, routes=routes
        )

    save(URL, authorisation)
    save(URL + "?247", abrogation)
    assert [p.decree_id for p in store.due_posts("default")] == []  # the authorisation waits for review
    [item] = store.review_queue()
    assert store.queue_missing(routes) == 0  # nothing to say of a decree nobody saw posted
    assert store.decide(item.decree_id, "confirm") == 1
    assert store.queue_missing(routes) == 1  # the abrogation's change post
    assert store.queue_missing(routes) == 0
    due = store.due_posts("default")
    assert [p.kind for p in due] == ["decree", "change"] and due[0].decree_id == item.decree_id
