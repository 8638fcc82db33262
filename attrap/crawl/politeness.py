"""Politeness per host across processes and machines, through the database.

:class:`attrap.crawl.fetch.HostThrottle` spaces the requests of one process. Two ``attrap scan``
processes, or the ``attrap worker`` processes of attrap.run.tasks (on several machines maybe), each
have their own, and the twelve regional sources on one host would hit it with no delay between
them. :class:`DatabaseThrottle` keeps, per host, the earliest time the next request may start in
the table ``host_politeness`` (migration 0005). Before a request it *reserves* a slot in one
short transaction: slot = max(now, next_allowed_at), next_allowed_at = slot + delay; it then
sleeps until the slot. After the request it pushes next_allowed_at to at least its end + delay,
so a process asking after a long download waits ``delay`` after its end, as in one process.

Within a process the :class:`HostThrottle` lock is still held around each request (one request
at a time per host, and the threads of a process queue on it rather than on the database).

Clocks: on PostgreSQL, every time is the database's ``clock_timestamp()``, the one clock all the
machines share (theirs differ); only the difference slot - now, computed by the database, is
slept here. On SQLite the database is one file on one machine, so its processes share the local
wall clock (UTC), which is used for both.

With a delay of 0 (tests, the demo) the database is never touched. A database error does not stop
the crawl: the requests are spaced in this process only for a while, and a warning says so.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, DateTime, MetaData, String, Table, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from attrap.crawl.fetch import THROTTLE, HostThrottle

log = logging.getLogger(__name__)

#: per host, when the next request may start (created by migration 0005)
HOST_POLITENESS = Table(
    "host_politeness",
    MetaData(),
    Column("host", String(255), primary_key=True),
    Column("next_allowed_at", DateTime(timezone=True), nullable=False),
)
#: a next_allowed_at further ahead than this is taken for a clock set back, not a queue: ignored
MAX_AHEAD = 600.0
#: after a database error, how long requests are spaced in this process only
FALLBACK_FOR = 60.0

# One statement, atomic: the row lock of ON CONFLICT DO UPDATE serialises the processes, and
# clock_timestamp() is read once that lock is held (now() would be the transaction's start).
_PG_RESERVE = text(
    """
    INSERT INTO host_politeness AS hp (host, next_allowed_at)
    VALUES (:host, clock_timestamp() + :step)
    ON CONFLICT (host) DO UPDATE SET next_allowed_at = CASE
        WHEN hp.next_allowed_at > clock_timestamp() + :ahead THEN clock_timestamp()
        ELSE GREATEST(hp.next_allowed_at, clock_timestamp())
    END + :step
    RETURNING hp.next_allowed_at - :step AS slot, clock_timestamp() AS now
    """
)
_PG_RELEASE = text(
    "UPDATE host_politeness SET next_allowed_at = GREATEST(next_allowed_at, clock_timestamp() + :step)"
    " WHERE host = :host"
)


class DatabaseThrottle:
    """The :class:`attrap.crawl.fetch.Throttle` of a Fetcher, shared with every process on ``engine``'s
    database. ``local`` is the in-process throttle (by default the process-wide one), whose lock
    is held around each request and which alone spaces requests when the database fails.

    Cheap to build (one per crawl is fine): what it keeps of its own is the delay of the request
    in flight per host and, after a database error, until when it leaves the database alone."""

    def __init__(self, engine: Engine, *, local: HostThrottle = THROTTLE):
        self.engine = engine
        self.local = local
        self._sqlite = engine.dialect.name == "sqlite"
        self._delays: dict[str, float] = {}
        self._guard = threading.Lock()
        self._fallback_until = 0.0  # time.monotonic()

    # -- the Throttle interface ---------------------------------------------------------------
    def lock(self, host: str) -> threading.Lock:
        return self.local.lock(host)

    def wait(self, host: str, delay: float) -> None:
        """Call with ``lock(host)`` held: sleeps until this process may send to ``host``."""
        self.local.wait(host, delay)  # this process's own last request to the host
        if delay <= 0 or not self._database_usable():
            return
        try:
            start = self.reserve(host, delay)
        except SQLAlchemyError as exc:
            self._fall_back(host, exc)
            return
        with self._guard:
            self._delays[host] = delay
        pause = start - time.monotonic()
        if pause > 0:
            time.sleep(pause)

    def done(self, host: str) -> None:
        self.local.done(host)
        with self._guard:
            delay = self._delays.pop(host, 0.0)
        if delay <= 0 or not self._database_usable():
            return
        try:
            self.release(host, delay)
        except SQLAlchemyError as exc:
            self._fall_back(host, exc)

    # -- the database -------------------------------------------------------------------------
    def reserve(self, host: str, delay: float) -> float:
        """Take the next slot to send to ``host`` and push next_allowed_at ``delay`` past it, in
        one transaction; returns when the slot starts, on this process's ``time.monotonic()``."""
        step = timedelta(seconds=delay)
        if self._sqlite:
            slot, now = self._sqlite_reserve(host, step)
        else:
            with self.engine.begin() as conn:
                row = conn.execute(
                    _PG_RESERVE, {"host": host, "step": step, "ahead": timedelta(seconds=MAX_AHEAD)}
                ).one()
            slot, now = row.slot, row.now
        return time.monotonic() + max(0.0, (slot - now).total_seconds())

    def release(self, host: str, delay: float) -> None:
        """After a request to ``host``: the next one starts ``delay`` after now at the earliest."""
        step = timedelta(seconds=delay)
        with self.engine.begin() as conn:
            if self._sqlite:
                t, until = HOST_POLITENESS, _utcnow() + step
                conn.execute(
                    update(t)
                    .where(t.c.host == host, t.c.next_allowed_at < until)
                    .values(next_allowed_at=until)
                )
            else:
                conn.execute(_PG_RELEASE, {"host": host, "step": step})

    def _sqlite_reserve(self, host: str, step: timedelta) -> tuple[datetime, datetime]:
        # BEGIN IMMEDIATE takes the write lock before the read: the processes reserve one after
        # the other (waiting up to the Store's busy_timeout), never from the same next_allowed_at.
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                slot = now = _utcnow()
                t = HOST_POLITENESS
                kept = conn.execute(select(t.c.next_allowed_at).where(t.c.host == host)).scalar()
                if kept is None:
                    conn.execute(t.insert().values(host=host, next_allowed_at=slot + step))
                else:
                    kept = kept.replace(tzinfo=UTC)
                    if now < kept <= now + timedelta(seconds=MAX_AHEAD):
                        slot = kept
                    conn.execute(update(t).where(t.c.host == host).values(next_allowed_at=slot + step))
                conn.exec_driver_sql("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
        return slot, now

    def _database_usable(self) -> bool:
        return time.monotonic() >= self._fallback_until

    def _fall_back(self, host: str, exc: SQLAlchemyError) -> None:
        self._fallback_until = time.monotonic() + FALLBACK_FOR
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        log.warning(
            "host politeness through the database failed (%s: %s): for %.0f s, requests to %s "
            "are spaced in this process only",
            type(exc).__name__,
            reason,
            FALLBACK_FOR,
            host,
        )


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _rollback(conn: Connection) -> None:
    try:
        conn.exec_driver_sql("ROLLBACK")
    except SQLAlchemyError:
        pass  # no transaction left to roll back (BEGIN failed), or the connection is gone
