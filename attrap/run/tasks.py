"""Several workers on PostgreSQL, through procrastinate (a PostgreSQL task queue).

With PostgreSQL configured, ``attrap run`` stays the one scheduler (APScheduler cannot share its
job store between processes) and *defers* jobs to procrastinate's queue, in the same database;
any number of ``attrap worker`` processes, on this machine or others, execute them:

- ``crawl`` a source: discover its RAA, download the new ones one at a time (politeness stays
  per source), and defer a ``read`` job for each downloaded file. Lock ``source:<id>``: never
  two crawls of one source at once; queueing lock ``crawl:<id>``: a slow source never piles up
  waiting crawls.
- ``read`` one recueil: extract (OCR included), split, classify, store, queue its posts. Lock and
  queueing lock ``recueil:<id>``: no RAA is read or OCR'd twice at once, nor queued twice.
  The file must be where the crawl put it (``data_dir`` shared, as the compose file does);
  otherwise the job downloads it again.
- ``publish`` a channel: send its due posts. Lock ``channel:<name>``: never two senders on one
  account, so the outbox's exactly-once holds across workers.

A worker that dies (SIGKILL, a lost machine) stops sending heartbeats; its jobs are found by
:func:`recover_stalled` (run by every worker and by the scheduler) and put back in the queue.
A job's work is idempotent where it matters: a recueil already processed is not saved again, a
post already sent is not sent again (outbox, Idempotency-Key).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from procrastinate import App, Blueprint, PsycopgConnector, SyncPsycopgConnector, sql
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.manager import JobManager
from procrastinate.schema import SchemaManager
from sqlalchemy.engine import make_url

from attrap.config import Settings
from attrap.crawl.fetch import Download
from attrap.crawl.sources import Source
from attrap.errors import ConfigError
from attrap.logs import event

log = logging.getLogger(__name__)

#: seconds between two heartbeats of a worker, and without one after which it is held dead
HEARTBEAT, STALLED_AFTER = 10.0, 60.0

tasks = Blueprint()


def uses_queue(settings: Settings) -> bool:
    """Whether the work goes through the queue: on PostgreSQL, yes; on SQLite, all in-process."""
    return settings.database_url.startswith("postgresql")


def conninfo(database_url: str) -> str:
    """A libpq connection string from a SQLAlchemy URL (postgresql+psycopg://…)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ConfigError("several workers need PostgreSQL (ATTRAP_DATABASE_URL=postgresql+psycopg://…)")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


_APP: App | None = None
#: the connection string _APP's connector was made for
_APP_CONNINFO: str | None = None


def get_app(settings: Settings) -> App:
    """This process's procrastinate app: one per process (its tasks are bound to it), on the
    settings' database (a process that changes databases, such as a benchmark, moves it)."""
    global _APP, _APP_CONNINFO
    info = conninfo(settings.database_url)
    if _APP is None:
        _APP = App(connector=PsycopgConnector(conninfo=info))
        _APP.add_tasks_from(tasks, namespace="attrap")
        _APP_CONNINFO = info
    elif _APP_CONNINFO != info:
        connector = PsycopgConnector(conninfo=info)  # as App.replace_connector does, for good
        _APP.connector = _APP.job_manager.connector = connector
        _APP_CONNINFO = info
    return _APP


def _manager(settings: Settings) -> JobManager:
    """Synchronous access to the queue's tables, on connections of its own (close it)."""
    connector = SyncPsycopgConnector(conninfo=conninfo(settings.database_url), min_size=1, max_size=1)
    connector.open()
    return JobManager(connector)


def ensure_queue_schema(settings: Settings) -> bool:
    """Create procrastinate's tables and functions if the database lacks them (True if created)."""
    manager = _manager(settings)
    connector = manager.connector
    try:
        connector.execute_query(query="SELECT pg_advisory_lock(1885434994)")  # one creator at a time
        try:
            if connector.execute_query_one(query=sql.queries["check_connection"])["check"]:
                return False
            SchemaManager(connector).apply_schema()
            log.info("task queue schema created")
            return True
        finally:
            connector.execute_query(query="SELECT pg_advisory_unlock(1885434994)")
    finally:
        connector.close()


# -- what the workers run ----------------------------------------------------------------------
@dataclass
class _Worker:
    """The worker process's application, built once by :func:`run_worker`."""

    settings: Settings
    app: Any = None  # attrap.run.pipeline.Attrap


_worker: _Worker | None = None


def _attrap():
    assert _worker is not None and _worker.app is not None, "not in an attrap worker"
    return _worker.app


def _source(source_id: str, base_url: str | None) -> Source:
    source = _attrap().sources[source_id]
    return source.rebased(base_url) if base_url else source


@tasks.task(name="crawl", retry=2, pass_context=False)
def crawl(
    source_id: str, base_url: str | None = None, since: str | None = None, hold_posts: bool = False
) -> dict:
    source = _source(source_id, base_url)

    def defer_read(recueil_id: int, url: str, dl: Download) -> None:
        key = f"recueil:{recueil_id}"
        try:
            read.configure(lock=key, queueing_lock=key).defer(
                source_id=source_id,
                recueil_id=recueil_id,
                url=url,
                path=str(dl.path),
                sha256=dl.sha256,
                size=dl.size,
                base_url=base_url,
                hold_posts=hold_posts,
            )
        except AlreadyEnqueued:  # already waiting for a worker
            pass
        _attrap().store.set_recueil_status(recueil_id, "queued")

    report = _attrap().scan(
        source,
        since=date.fromisoformat(since) if since else None,
        hold_posts=hold_posts,
        defer_reading=defer_read,
    )
    return {"outcome": report.outcome, "pdfs_found": report.pdfs_found, "pdfs_new": report.pdfs_new}


@tasks.task(name="read", retry=2, pass_context=False)
def read(
    source_id: str,
    recueil_id: int,
    url: str,
    path: str,
    sha256: str,
    size: int,
    base_url: str | None = None,
    hold_posts: bool = False,
) -> dict:
    app = _attrap()
    if app.store.recueil_processed(recueil_id):  # a retry after the work was saved
        return {"processed": 0, "already": True}
    app.store.set_recueil_status(recueil_id, "reading")
    source = _source(source_id, base_url)
    dl = Download(url=url, path=Path(path), sha256=sha256, size=size)
    if not dl.path.is_file():  # another machine's crawl: fetch it here
        from attrap.crawl.fetch import Fetcher
        from attrap.crawl.politeness import DatabaseThrottle

        with Fetcher(
            source_id=source.id,
            allowed_hosts=source.hosts,
            delay=app.settings.request_delay,
            throttle=DatabaseThrottle(app.store.engine),
        ) as f:
            dl = f.download_pdf(source.fetch_url(url), app.settings.pdf_dir / source.id)
    report = app.read_recueil(source, recueil_id, url, dl, hold_posts=hold_posts)  # logs "read"
    return {"processed": report.processed, "failed": report.failed, "flagged": len(report.flagged)}


@tasks.task(name="publish", retry=2, pass_context=False)
def publish(channel: str) -> dict:
    report = _attrap().publish(only=channel)
    return {"posted": report.posted, "retrying": report.retrying, "failed": report.failed}


# -- what the scheduler and the command line call -------------------------------------------------
class Queue:
    """The scheduler's side: defer jobs, recover those of dead workers."""

    def __init__(self, settings: Settings):
        ensure_queue_schema(settings)
        self.app = get_app(settings)
        self.app.open()
        self.manager = _manager(settings)

    def close(self) -> None:
        self.manager.connector.close()
        self.app.close()

    def crawl(self, source: Source, *, since: date | None = None, hold_posts: bool = False) -> int | None:
        """Defer a crawl of ``source`` unless one is already waiting (None then)."""
        base_url = source.mirror[0] if source.mirror else None
        task = self.app.tasks["attrap:crawl"]
        try:
            return task.configure(lock=f"source:{source.id}", queueing_lock=f"crawl:{source.id}").defer(
                source_id=source.id,
                base_url=base_url,
                since=since.isoformat() if since else None,
                hold_posts=hold_posts,
            )
        except AlreadyEnqueued:  # the crawl already waiting will do
            return None

    def publish(self, channel: str) -> int | None:
        task = self.app.tasks["attrap:publish"]
        key = f"channel:{channel}"
        try:
            return task.configure(lock=key, queueing_lock=f"publish:{channel}").defer(channel=channel)
        except AlreadyEnqueued:
            return None

    def recover_stalled(self, stalled_after: float = STALLED_AFTER) -> int:
        return recover_stalled(self.manager, stalled_after)


def recover_stalled(manager: JobManager, stalled_after: float = STALLED_AFTER) -> int:
    """Put back in the queue the jobs of workers that sent no heartbeat for ``stalled_after`` s."""
    rows = manager.connector.execute_query_all(
        query=sql.queries["select_stalled_jobs_by_heartbeat"],
        queue=None,
        task_name=None,
        seconds_since_heartbeat=stalled_after,
    )
    for row in rows:
        manager.retry_job_by_id(row["id"], retry_at=datetime.now(UTC))
        event(log, logging.WARNING, row["task_name"], "requeued", job=row["id"], reason="its worker died")
    return len(rows)


def run_worker(
    settings: Settings,
    *,
    concurrency: int,
    heartbeat: float = HEARTBEAT,
    stalled_after: float = STALLED_AFTER,
) -> None:
    """Execute jobs until SIGTERM/SIGINT (the jobs in hand are finished first)."""
    from attrap.run.pipeline import Attrap

    global _worker
    ensure_queue_schema(settings)
    _worker = _Worker(settings, Attrap(settings))
    app = get_app(settings)
    stop = threading.Event()

    def recovery() -> None:
        while not stop.wait(max(1.0, stalled_after / 2)):
            try:
                recover_stalled(recovering, stalled_after)
            except Exception as exc:  # noqa: BLE001 - a lost connection: try again next time
                log.warning("stalled-job recovery failed: %s", exc)

    recovering = _manager(settings)  # connections of its own, for the thread
    try:
        recover_stalled(recovering, stalled_after)
        watcher = threading.Thread(target=recovery, name="recover-stalled", daemon=True)
        watcher.start()
        try:
            app.run_worker(
                concurrency=concurrency,
                update_heartbeat_interval=heartbeat,
                stalled_worker_timeout=stalled_after,
                install_signal_handlers=True,
                delete_jobs="never",
            )
        finally:
            stop.set()
            _worker.app.close()
    finally:
        recovering.connector.close()
