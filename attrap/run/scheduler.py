"""``attrap run``: scan every source on a schedule and publish, until SIGTERM or SIGINT.

APScheduler 3 in this one process: one job per source (coalesced, never two runs of the same
source at once, a late run still made after a sleep) and one publishing job. The publishing job
has an executor (a thread) of its own, so that scans, however long or stuck, never delay it; it
always publishes here, in this process, on PostgreSQL too (where the scans are deferred to
``attrap worker`` processes, which may all be busy reading for hours).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from attrap.config import Settings
from attrap.crawl.sources import Source
from attrap.run.pipeline import Attrap
from attrap.run.tasks import Queue, uses_queue

log = logging.getLogger(__name__)


def build_scheduler(
    app: Attrap,
    sources: Sequence[Source],
    *,
    interval: float,
    publish_every: float = 300.0,
    queue: Queue | None = None,
) -> BackgroundScheduler:
    """One job per source and a publishing job; with ``queue`` (PostgreSQL), the scan jobs defer
    the work to ``attrap worker`` processes instead of doing it, and dead workers' jobs are
    requeued every half minute. Publishing runs here in either case, on the ``publish``
    executor, never behind scans on the ``default`` one."""
    scheduler = BackgroundScheduler(
        executors={
            "default": ThreadPoolExecutor(max_workers=2),
            "publish": ThreadPoolExecutor(max_workers=1),
        },
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": int(interval)},
        timezone="UTC",
    )
    now = datetime.now().astimezone()
    # Spread the first runs over the interval so a start does not hit every site at once.
    spread = interval / max(1, len(sources))
    for i, source in enumerate(sources):
        scheduler.add_job(
            app.scan if queue is None else queue.crawl,
            IntervalTrigger(seconds=interval, jitter=min(300, interval / 10)),
            args=[source],
            id=f"scan:{source.id}",
            name=f"scan {source.id}",
            next_run_time=now + timedelta(seconds=min(i * spread, 60 * i)),
        )
    scheduler.add_job(
        app.publish,
        IntervalTrigger(seconds=publish_every),
        id="publish",
        name="publish",
        executor="publish",
        next_run_time=now + timedelta(seconds=min(5.0, publish_every)),
    )
    if queue is not None:
        scheduler.add_job(queue.recover_stalled, IntervalTrigger(seconds=30), id="recover", name="recover")
    return scheduler


def run_forever(
    settings: Settings, sources: Sequence[Source], *, interval: float, publish_every: float = 300.0
) -> None:
    """Run until SIGTERM/SIGINT; the work in hand is finished before returning."""
    app = Attrap(settings)
    queue = Queue(settings) if uses_queue(settings) else None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    scheduler = build_scheduler(app, sources, interval=interval, publish_every=publish_every, queue=queue)
    scheduler.start()
    log.warning("attrap run: %d source(s), every %.0f s; stop with SIGTERM", len(sources), interval)
    try:
        stop.wait()
    finally:
        log.warning("attrap run: stopping, finishing the work in hand")
        scheduler.shutdown(wait=True)
        if queue is not None:
            queue.close()
        app.close()
