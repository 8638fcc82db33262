"""The README's promises under failure: no alert lost or posted twice, every failure recorded.

Each test injects a failure the way it happens in production: the process killed with SIGKILL
at a step (``ATTRAP_FAULTS``, see attrap.faults), a scraper that raises, two publishers at once,
a server that accepts a post and drops the connection, a post left behind by a lost queue. Each
runs on SQLite and, when ATTRAP_TEST_POSTGRES_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import html
import json
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy

from attrap.faults import POINTS
from tests.conftest import ROOT, SITES, invoke_cli, run_cli, serving
from tests.mastoserver import MastoServer

_ORACLE = json.loads((SITES / "pref13" / "EXPECTED.json").read_text(encoding="utf-8"))
_DECREES = [d for r in _ORACLE["recueils"] for d in r["decrees"]]
#: the default channel posts the drone and AVS decrees
EXPECTED_POSTS = sum(1 for d in _DECREES if {"drone", "avs"} & set(d["categories"]))


def _links(server: MastoServer, account: str | None = None) -> Counter:
    return Counter(
        w
        for s in server.statuses
        if account is None or s["account"] == account
        for w in s["text"].split()
        if "#page=" in w
    )


def _assert_each_posted_once(server: MastoServer, account: str | None = None, expected: int = EXPECTED_POSTS):
    links = _links(server, account)
    assert len(links) == expected, sorted(links)
    assert set(links.values()) == {1}, [link for link, n in links.items() if n > 1]


def _sql(env: dict[str, str], statement: str, **params):
    """Run one statement on the test's database (times given naive UTC on SQLite, aware on PG)."""
    url = env["ATTRAP_DATABASE_URL"]
    if url.startswith("sqlite"):
        params = {k: v.replace(tzinfo=None) if isinstance(v, datetime) else v for k, v in params.items()}
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sqlalchemy.text(statement), params)
            return result.fetchall() if result.returns_rows else result.rowcount
    finally:
        engine.dispose()


def _ago(**kw) -> datetime:
    return datetime.now(UTC) - timedelta(**kw)


@pytest.fixture
def env(cli_env, mastodon_server):
    return dict(cli_env, MASTODON_API_BASE_URL=mastodon_server.base_url, MASTODON_ACCESS_TOKEN="test-token")


def _scan(env, site, *extra, check=True):
    """A scan of the fixture site: in this process, or in a subprocess that the faults it is
    armed with (ATTRAP_FAULTS) kill."""
    cli = run_cli if "ATTRAP_FAULTS" in env else invoke_cli
    return cli("scan", "pref13", "--base-url", site.base_url, *extra, env=env, check=check)


def _queue_everything(env, site, server):
    """A scan whose posts all wait in the outbox (the server refuses them), then due at once."""
    server.fail_next("500", times=1000)
    _scan(env, site)
    server.fail_next("500", times=0)
    assert server.statuses == []
    _sql(env, "UPDATE posts SET next_attempt_at = NULL")


def _all_due(env) -> None:
    """The posts of the default channel that Mastodon refused due at once (their backoff over)."""
    assert _sql(env, "UPDATE posts SET next_attempt_at = NULL") == EXPECTED_POSTS


# -- 1. transactional outbox: a kill at any step ---------------------------------------------------
@pytest.mark.parametrize(
    "fault", ["read:1", "read:3", "stored:1", "stored:3", "claimed:1", "claimed:2", "sent:1", "sent:3"]
)
def test_a_kill_at_any_step_then_a_restart_posts_every_flagged_decree_once(
    env, fixture_site, mastodon_server, fault
):
    assert fault.split(":")[0] in POINTS
    crashed = _scan(dict(env, ATTRAP_FAULTS=fault), fixture_site, check=False)
    assert crashed.returncode == -9, crashed.stderr[-2000:]  # killed where the fault was injected
    _scan(env, fixture_site)
    _assert_each_posted_once(mastodon_server)


def test_a_kill_between_storing_a_recueil_and_sending_loses_nothing_on_a_later_publish(
    env, fixture_site, mastodon_server
):
    """The crash of the report: the recueil is stored, the process dies before anything is
    sent; no scan follows (nothing new on the site), only the publishing pass."""
    crashed = _scan(dict(env, ATTRAP_FAULTS="stored:5"), fixture_site, check=False)
    assert crashed.returncode == -9
    invoke_cli("publish", env=env)
    posted = len(_links(mastodon_server))
    _scan(env, fixture_site)  # the recueils not stored yet
    assert posted > 0
    _assert_each_posted_once(mastodon_server)


# -- 2. stable identity: a recueil read again ------------------------------------------------------
def test_a_recueil_read_again_keeps_its_posts_and_posts_nothing_twice(env, fixture_site, mastodon_server):
    _scan(env, fixture_site)
    _assert_each_posted_once(mastodon_server)
    posts_before = _sql(env, "SELECT decree_id, channel, status, status_url FROM posts ORDER BY decree_id")
    mastodon_server.remember_keys = False  # a day later: the server would post a resent key again
    assert _sql(env, "UPDATE recueils SET status = 'discovered'") > 0  # a retry, a reset
    _scan(env, fixture_site)
    _assert_each_posted_once(mastodon_server)
    assert (
        _sql(env, "SELECT decree_id, channel, status, status_url FROM posts ORDER BY decree_id")
        == posts_before
    )


def _rules(tmp_path, *, drop: str, add: str):
    """A copy of patterns/ without one rule file and with one more."""
    import shutil

    patterns = tmp_path / "patterns"
    shutil.copytree(ROOT / "patterns", patterns)
    (patterns / drop).unlink()
    (patterns / "extra.toml").write_text(add, encoding="utf-8")
    return patterns


def test_reclassify_posts_what_new_rules_flag_once_and_keeps_what_they_no_longer_flag(
    env, fixture_site, mastodon_server, tmp_path
):
    _scan(env, fixture_site)
    _assert_each_posted_once(mastodon_server)
    avs = [d for d in _DECREES if "avs" in d["categories"]]
    roads = [d for d in _DECREES if "fermeture temporaire de la route" in d["title"]]
    assert avs and roads
    # the AVS rules gone, a (wrong) rule flagging road closures as drone decrees
    patterns = _rules(
        tmp_path,
        drop="avs.toml",
        add='[[rule]]\nid = "road"\ncategory = "drone"\nscope = "title"\n'
        'description = "test"\nany = ["re:fermeture\\\\s+temporaire\\\\s+de\\\\s+la\\\\s+route"]\n',
    )
    new_env = dict(env, ATTRAP_PATTERNS_DIR=str(patterns))
    out = json.loads(invoke_cli("reclassify", "--json", env=new_env).stdout)
    assert len(out["newly_flagged"]) == len(roads) and out["posts_queued"] == len(roads)
    assert [d["posts"] for d in out["no_longer_flagged"]] == ["default: posted"] * len(avs)
    invoke_cli("publish", env=new_env)
    _assert_each_posted_once(mastodon_server, expected=EXPECTED_POSTS + len(roads))
    # again: nothing new, nothing twice
    again = json.loads(invoke_cli("reclassify", "--json", env=new_env).stdout)
    assert again["newly_flagged"] == [] and again["posts_queued"] == 0
    invoke_cli("publish", env=new_env)
    _assert_each_posted_once(mastodon_server, expected=EXPECTED_POSTS + len(roads))
    assert _sql(env, "SELECT COUNT(*) FROM posts WHERE status = 'posted'")[0][0] == EXPECTED_POSTS + len(
        roads
    )
    # what was posted and is no longer flagged stays visible as such, on the web and in the API
    gone = [
        i
        for (i,) in _sql(
            env, "SELECT id FROM decrees WHERE NOT flagged AND id IN (SELECT decree_id FROM posts)"
        )
    ]
    assert len(gone) == len(avs)
    with serving(new_env) as base, httpx.Client(base_url=base, timeout=10) as web:
        record = web.get(f"/decrees/{gone[0]}", headers={"Accept": "application/json"}).json()
        assert record["flagged"] is False and record["posted_categories"] == ["avs"]
        page = web.get(f"/decret/{gone[0]}", headers={"Accept": "text/html"})
        assert page.status_code == 200
        notice = html.unescape(page.text)
        assert "n'est plus signalé par les règles actuelles" in notice
        assert "publié" in notice.split('id="posts"')[1]  # its post, still listed
        listed = web.get("/decrees", params={"limit": 200}, headers={"Accept": "application/json"}).json()
        assert gone[0] not in {d["id"] for d in listed["decrees"]}  # lists hold what is flagged now
        never = _sql(
            env, "SELECT id FROM decrees WHERE NOT flagged AND id NOT IN (SELECT decree_id FROM posts)"
        )
        assert web.get(f"/decrees/{never[0][0]}", headers={"Accept": "application/json"}).status_code == 404


def _alembic(env, action: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from attrap.store.db import Store

    store = Store(env["ATTRAP_DATABASE_URL"], upgrade=False)
    cfg = Config()
    cfg.set_main_option("script_location", "attrap.store:migrations")
    try:
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            getattr(command, action)(cfg, revision)
    finally:
        store.close()


def test_a_database_of_the_previous_schema_with_posts_upgrades_keeping_every_promise(
    env, fixture_site, mastodon_server
):
    _scan(env, fixture_site)
    _assert_each_posted_once(mastodon_server)
    flagged = _sql(env, "SELECT COUNT(*) FROM decrees WHERE flagged")[0][0]
    # back to schema 0004 (attrap before the outbox guarantees), as a deployment of it left it:
    # one post never sent, one sent by a process that died before recording the answer
    _alembic(env, "downgrade", "0004")
    (unsent, never_sent_id), (cut, _) = _sql(env, "SELECT id, status_id FROM posts ORDER BY id LIMIT 2")
    mastodon_server.statuses[:] = [s for s in mastodon_server.statuses if s["id"] != never_sent_id]
    _sql(
        env, "UPDATE posts SET status = 'queued', status_id = NULL, status_url = NULL WHERE id = :i", i=unsent
    )
    _sql(env, "UPDATE posts SET status = 'sending', status_id = NULL, status_url = NULL, updated_at = :t "
         "WHERE id = :i", t=_ago(hours=2), i=cut)  # fmt: skip
    out = invoke_cli("db", "upgrade", env=env).stdout
    assert "from 0004 to" in out
    # what 0006 rests on was filled in from the rows already there
    assert _sql(env, "SELECT COUNT(*) FROM decrees WHERE flagged AND flagged_at IS NOT NULL")[0][0] == flagged
    assert (
        _sql(env, "SELECT COUNT(*) FROM posts WHERE status = 'sending' AND first_sent_at IS NULL")[0][0] == 0
    )
    assert _sql(env, "SELECT name FROM channels") == [("default",)]
    mastodon_server.remember_keys = False  # an answer lost 2 hours ago: past the key's lifetime
    invoke_cli("publish", env=env)
    _assert_each_posted_once(mastodon_server)  # the unsent one sent, the cut one found, not sent again
    # and a later re-read of everything changes nothing
    _sql(env, "UPDATE recueils SET status = 'discovered'")
    _scan(env, fixture_site)
    _assert_each_posted_once(mastodon_server)
    assert _sql(env, "SELECT COUNT(*) FROM posts WHERE status = 'posted'")[0][0] == EXPECTED_POSTS


# -- 3. the sweep ----------------------------------------------------------------------------------
def test_the_sweep_queues_a_post_for_every_flagged_decree_that_lost_it(queued, env, mastodon_server):
    _all_due(env)  # the store of a scan whose posts Mastodon refused (tests/conftest.py)
    assert _sql(env, "DELETE FROM posts") == EXPECTED_POSTS  # whatever lost them
    invoke_cli("publish", env=env)
    _assert_each_posted_once(mastodon_server)


def test_a_channel_added_later_has_its_backlog_held_until_asked(cli_env, fixture_site, tmp_path):
    accounts = {"tok-a": "first", "tok-b": "second"}
    with MastoServer(accounts=accounts) as server:
        one = f'[[channel]]\nname = "first"\napi_base_url = "{server.base_url}"\naccess_token = "tok-a"\n'
        two = (
            one
            + f'[[channel]]\nname = "second"\napi_base_url = "{server.base_url}"\naccess_token = "tok-b"\n'
        )
        path = tmp_path / "channels.toml"
        path.write_text(one, encoding="utf-8")
        path.chmod(0o600)
        env = dict(cli_env, ATTRAP_CHANNELS_FILE=str(path))
        _scan(env, fixture_site)
        _assert_each_posted_once(server, "first")
        path.write_text(two, encoding="utf-8")
        out = invoke_cli("publish", env=env).stdout
        assert "0 posted" in out and _links(server, "second") == Counter()
        assert _sql(env, "SELECT COUNT(*) FROM posts WHERE channel = 'second' AND status = 'held'")[0][0] == (
            EXPECTED_POSTS
        )
        invoke_cli("publish", "--backlog", "second", env=env)
        _assert_each_posted_once(server, "second")
        _assert_each_posted_once(server, "first")


def test_a_recueil_left_queued_by_a_lost_job_is_read_again(env, fixture_site, mastodon_server):
    _scan(env, fixture_site)
    url = _sql(env, "SELECT url FROM recueils ORDER BY id LIMIT 1")[0][0]
    # a worker's job lost with its decrees unread: queued for three days
    _sql(env, "DELETE FROM decrees WHERE recueil_id = (SELECT id FROM recueils WHERE url = :u)", u=url)
    _sql(env, "UPDATE recueils SET status = 'queued', status_at = :t WHERE url = :u", t=_ago(days=3), u=url)
    invoke_cli("publish", env=env)
    assert _sql(env, "SELECT status FROM recueils WHERE url = :u", u=url) == [("discovered",)]
    _scan(env, fixture_site)
    assert _sql(env, "SELECT status FROM recueils WHERE url = :u", u=url) == [("processed",)]
    _assert_each_posted_once(mastodon_server)


# -- 4. claim before send ------------------------------------------------------------------------
def test_two_publishers_at_once_send_each_post_once(queued, env, mastodon_server):
    _all_due(env)
    mastodon_server.remember_keys = False  # the server's idempotency would hide a second send
    mastodon_server.respond_delay = 0.3
    cmd = [sys.executable, "-m", "attrap.cli", "publish"]
    procs = [
        subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in "ab"
    ]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.communicate()[1][-2000:]
    _assert_each_posted_once(mastodon_server)


def test_a_post_accepted_then_dropped_and_retried_past_the_key_lifetime_is_not_posted_twice(
    queued, env, mastodon_server
):
    _all_due(env)
    mastodon_server.fail_next("accept-then-drop", times=1)
    out = invoke_cli("publish", env=env).stdout
    assert "1 to retry" in out  # the client saw a network error; the server has the status
    assert len(mastodon_server.statuses) == EXPECTED_POSTS
    # two hours later: the server forgot the key; the retry is due
    mastodon_server.remember_keys = False
    _sql(
        env,
        "UPDATE posts SET first_sent_at = :t, next_attempt_at = NULL WHERE status = 'queued'",
        t=_ago(hours=2),
    )
    invoke_cli("publish", env=env)
    _assert_each_posted_once(mastodon_server)


def test_two_channels_on_one_account_never_take_each_others_post(
    cli_env, fixture_site, mastodon_server, tmp_path
):
    base = mastodon_server.base_url
    channels = "".join(
        f'[[channel]]\nname = "{n}"\napi_base_url = "{base}"\naccess_token = "test-token"\ncategories = ["drone"]\n'
        for n in ("one", "two")
    )
    path = tmp_path / "channels.toml"
    path.write_text(channels, encoding="utf-8")
    path.chmod(0o600)
    env = dict(cli_env, ATTRAP_CHANNELS_FILE=str(path))
    _queue_everything(env, fixture_site, mastodon_server)
    # "one" sent its first post and died before recording it; "two" died before its own went out
    crashed = run_cli("publish", "--limit", "1", env=dict(env, ATTRAP_FAULTS="sent:1"), check=False)
    assert crashed.returncode == -9 and len(mastodon_server.statuses) == 1
    link = next(iter(_links(mastodon_server)))
    decree = _sql(env, "SELECT decree_id FROM posts WHERE status = 'sending'")[0][0]
    _sql(
        env,
        "UPDATE posts SET status = 'sending', first_sent_at = :t WHERE decree_id = :d",
        t=_ago(hours=2),
        d=decree,
    )
    mastodon_server.remember_keys = False
    invoke_cli("publish", env=env)
    drones = sum(1 for d in _DECREES if "drone" in d["categories"])
    assert _links(mastodon_server)[link] == 2  # one status per channel
    assert len(_links(mastodon_server)) == drones and set(_links(mastodon_server).values()) == {2}
    urls = [u for (u,) in _sql(env, "SELECT status_url FROM posts WHERE decree_id = :d", d=decree)]
    assert len(set(urls)) == 2


# -- 5. every failure recorded, the run goes on ---------------------------------------------------
def test_a_scraper_that_raises_is_recorded_and_the_other_sources_are_scanned(cli_env, fixture_site):
    from attrap.config import Settings
    from attrap.crawl import discover
    from attrap.crawl.sources import parse_source, registry
    from attrap.run.pipeline import Attrap

    class Broken:
        def discover(self, source, fetcher, since=None):
            return {}["listing"]  # a scraper's bug

    discover.ENGINES["broken-for-test"] = Broken
    try:
        broken = parse_source(
            {
                "id": "broken",
                "name": "Broken",
                "urls": ["https://www.example.gouv.fr/raa"],
                "engine": "broken-for-test",
            },
            "test",
        ).rebased(fixture_site.base_url)
        good = registry()["pref13"].rebased(fixture_site.base_url)
        app = Attrap(Settings.load(env=cli_env), sources={"broken": broken, "pref13": good})
        try:
            reports = app.scan_many([broken, good], dry_run=True)
            status = {s.source_id: s for s in app.status()}
        finally:
            app.close()
    finally:
        del discover.ENGINES["broken-for-test"]
    assert [r.outcome for r in reports] == ["error", "ok"]
    assert reports[0].errors == ["KeyError: 'listing'"]
    assert status["broken"].last_outcome == "error" and "KeyError: 'listing'" in status["broken"].last_error
    assert status["pref13"].flagged == sum(1 for d in _DECREES if d["categories"])


def test_a_bug_while_storing_fails_the_run_visibly_and_the_next_run_posts_everything(
    env, fixture_site, mastodon_server
):
    failed = _scan(dict(env, ATTRAP_FAULTS="stored:raise"), fixture_site, check=False)
    assert failed.returncode == 1 and "InjectedFault" in failed.stdout
    status = json.loads(invoke_cli("status", "--json", env=env).stdout)
    pref13 = next(s for s in status if s["source_id"] == "pref13")
    assert pref13["last_outcome"] == "error" and "InjectedFault" in pref13["last_error"]
    _scan(env, fixture_site)
    _assert_each_posted_once(mastodon_server)


def test_status_counts_flagged_decrees(filled):
    status = json.loads(invoke_cli("status", "--json", env=filled).stdout)
    pref13 = next(s for s in status if s["source_id"] == "pref13")
    assert pref13["flagged"] == sum(1 for d in _DECREES if d["categories"])
    assert pref13["decrees"] == len(_DECREES)


def test_racing_scans_of_one_source_store_each_recueil_and_post_once(env, fixture_site, mastodon_server):
    cmd = [sys.executable, "-m", "attrap.cli", "scan", "pref13", "--base-url", fixture_site.base_url]
    procs = [
        subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in "ab"
    ]
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, (out + err)[-3000:]
    time.sleep(0.1)
    _assert_each_posted_once(mastodon_server)
    assert _sql(env, "SELECT COUNT(*) FROM recueils")[0][0] == len(_ORACLE["recueils"])
    assert _sql(env, "SELECT COUNT(*) FROM decrees")[0][0] == len(_DECREES)
