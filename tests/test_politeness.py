"""Politeness per host across processes (attrap.crawl.politeness): the delay between two requests to a
host holds when they come from two processes on one database, SQLite or PostgreSQL."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

import sqlalchemy

from attrap.crawl.fetch import Fetcher, HostThrottle
from attrap.fixtureserver import serve_in_thread, stop_server
from attrap.store.db import Store
from tests.conftest import ROOT

DELAY = 0.4
# twelve regional sources share www.prefectures-regions.gouv.fr: one process scans three, the other
# three more, at the same time
SCAN_A = ("reg-ara", "reg-bfc", "reg-bretagne")
SCAN_B = ("reg-grand-est", "reg-hdf", "reg-idf")


class _Recorder:
    """A server that records when each request arrived (time.monotonic()) and answers ``status``
    (robots.txt: 404, so everything is allowed). With ``gate``, the first request is held until
    a second one arrives: the two crawls are made to meet at their first request."""

    def __init__(self, *, status: int, gate: bool = False):
        self.times: list[float] = []
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self._met = threading.Event()
        if not gate:
            self._met.set()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with recorder._lock:
                    recorder.times.append(time.monotonic())
                    recorder.paths.append(self.path)
                    if len(recorder.times) >= 2:
                        recorder._met.set()
                recorder._met.wait(10)
                code = 404 if self.path == "/robots.txt" else status
                body = b"ok" if code == 200 else b"not here"
                self.send_response(code)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.handler = Handler

    def gaps(self) -> list[float]:
        times = sorted(self.times)
        return [round(b - a, 3) for a, b in zip(times, times[1:], strict=False)]


@contextmanager
def _serving(recorder: _Recorder) -> Iterator[str]:
    httpd, base = serve_in_thread(recorder.handler)
    try:
        yield base
    finally:
        stop_server(httpd)


def test_two_scans_on_one_host_keep_the_delay_between_their_requests(cli_env, db_url):
    # the failure to inject: two `attrap scan` processes crawling sources of one host at once
    Store(db_url).close()  # migrated once, before the race
    env = dict(cli_env, ATTRAP_REQUEST_DELAY=str(DELAY))
    recorder = _Recorder(status=404, gate=True)
    with _serving(recorder) as base:
        scans = [
            subprocess.Popen(
                [sys.executable, "-m", "attrap.cli", "scan", *ids, "--base-url", base],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for ids in (SCAN_A, SCAN_B)
        ]
        outputs = [p.communicate(timeout=60) for p in scans]
    for p, (_out, err) in zip(scans, outputs, strict=True):
        # every listing answers 404: each scan fails, but it ran (robots.txt, the RAA page, then
        # the Publications and home pages where a moved RAA page is looked for, for each source)
        assert p.returncode == 1 and "Traceback" not in err, err
        assert "politeness" not in err, err  # no fallback: the database spaced them
    assert len(recorder.times) == 4 * (len(SCAN_A) + len(SCAN_B)), recorder.paths
    assert min(recorder.gaps()) >= 0.9 * DELAY, recorder.gaps()


def test_reservations_are_atomic_and_spaced_by_the_delay(db_url):
    # eight "processes" (each its own in-process throttle) reserve a slot on one host at once
    store = Store(db_url)
    with store.engine.connect() as conn:
        columns = {c["name"] for c in sqlalchemy.inspect(conn).get_columns("host_politeness")}
    assert columns == {"host", "next_allowed_at"}
    from attrap.crawl.politeness import DatabaseThrottle

    throttles = [DatabaseThrottle(store.engine, local=HostThrottle()) for _ in range(8)]
    slots: list[float] = []
    start = threading.Barrier(len(throttles))

    def take(throttle: DatabaseThrottle) -> None:
        start.wait()
        slots.append(throttle.reserve("www.prefectures-regions.gouv.fr", 10.0))

    threads = [threading.Thread(target=take, args=(t,)) for t in throttles]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    slots.sort()
    assert len(slots) == 8
    assert slots[0] <= time.monotonic() + 1  # the first may go at once
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    assert all(9.9 <= g <= 10.5 for g in gaps), gaps  # one slot each, 10 s apart
    # another host is not held up by this one
    assert throttles[0].reserve("www.corse-du-sud.gouv.fr", 10.0) <= time.monotonic() + 1
    store.close()


def test_without_a_delay_the_database_is_not_touched(db_url, caplog):
    from attrap.crawl.politeness import DatabaseThrottle

    store = Store(db_url)
    statements: list[str] = []
    sqlalchemy.event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    recorder = _Recorder(status=200)
    with _serving(recorder) as base, caplog.at_level(logging.WARNING):
        host = base.removeprefix("http://")
        throttle = DatabaseThrottle(store.engine, local=HostThrottle())
        with Fetcher(source_id="pref13", allowed_hosts={host}, delay=0, throttle=throttle) as f:
            for i in range(3):
                f.get_page(f"{base}/page{i}")
    assert len(recorder.times) == 4  # robots.txt and three pages
    assert statements == [] and not caplog.records
    store.close()


def test_a_database_error_falls_back_to_the_process_throttle_and_warns(db_url, caplog):
    from attrap.crawl.politeness import DatabaseThrottle

    engine = sqlalchemy.create_engine(db_url)  # a database without the table: every query fails
    recorder = _Recorder(status=200)
    with _serving(recorder) as base, caplog.at_level(logging.WARNING, logger="attrap.crawl.politeness"):
        host = base.removeprefix("http://")
        throttle = DatabaseThrottle(engine, local=HostThrottle())
        with Fetcher(source_id="pref13", allowed_hosts={host}, delay=0.2, throttle=throttle) as f:
            pages = [f.get_page(f"{base}/page{i}").text for i in range(2)]
    engine.dispose()
    assert pages == ["ok", "ok"]  # the crawl went on
    assert min(recorder.gaps()) >= 0.18, recorder.gaps()  # spaced in this process
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings  # once, then the database is left alone for a while
    assert "host politeness through the database failed" in warnings[0] and host in warnings[0]
