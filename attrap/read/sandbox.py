"""Untrusted files are read in a child process with a hard time limit and a memory cap.

A PDF can hang pdfminer inside one call (a pathological page's layout analysis) or expand a
few kilobytes into gigabytes (a decompression bomb). Checks inside the process cannot stop
either, so each document is read in its own child process, started with an address-space limit
(``RLIMIT_AS``, inherited by the tesseract it runs) so a bomb ends in a MemoryError there, not in
the bot's memory. Whatever happens in the child, the caller gets the result or an
:class:`ExtractError` with a reason.

One time limit (``ATTRAP_READ_TIMEOUT``, the ``timeout`` of :func:`run`) bounds the reading of
a document, OCR included. The child knows it (:func:`time_limit`): the reader checks it between
pages and inside them, and stops itself with the page it reached (:mod:`attrap.read.extract`). Only
a child that has not answered :data:`KILL_GRACE` seconds past that limit (stuck inside a single
pdfminer call) is killed.

Children come from a ``forkserver`` that has already imported the readers
(:mod:`attrap.read.document`, and only what reading needs: no store, crawler or publisher), so
starting one costs milliseconds, and forking never copies the parent's threads (scheduler, HTTP
clients).
:class:`ReaderPool` runs up to ``workers`` such children at once, one document each.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import resource
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from attrap.config import Settings
from attrap.errors import AttrapError, ExtractError

T = TypeVar("T")

#: the setting the time limit of a reading process comes from (named in error messages)
TIMEOUT_SETTING = "ATTRAP_READ_TIMEOUT"
#: default wall-clock limit for reading one document (OCR of a long scanned recueil included):
#: the default of ATTRAP_READ_TIMEOUT
DEFAULT_TIMEOUT = Settings.read_timeout
#: seconds a reading process is left past its time limit to stop by itself, with the page it
#: reached, before it is killed (it is then stuck inside one call that cannot be interrupted)
KILL_GRACE = 5.0
#: default address-space cap of a reading process, in MiB
DEFAULT_MEMORY_MB = 2048

#: settings a reading process takes from its parent at each call (the forkserver's environment
#: is a copy of the parent's from when it started, which may be older)
PASSED_ENV = (
    "ATTRAP_TEXT_BACKEND", "ATTRAP_PATTERNS_DIR", "ATTRAP_WORKERS", "ATTRAP_OCR_PAGE_TIMEOUT",
    "ATTRAP_PROGRESS_EVERY",
)  # fmt: skip
#: what a reading process is reading (a recueil's URL), for its progress lines
LABEL_ENV = "ATTRAP_READING_LABEL"

_Context = multiprocessing.context.ForkServerContext | multiprocessing.context.SpawnContext
_CONTEXT: _Context | None = None
_CONTEXT_LOCK = threading.Lock()


@dataclass(frozen=True)
class TimeLimit:
    """The time limit of the reading process code runs in: ``seconds`` from its start."""

    seconds: float
    #: when it ends, on the :func:`time.monotonic` clock
    deadline: float
    #: the setting it comes from
    setting: str = TIMEOUT_SETTING


_TIME_LIMIT: TimeLimit | None = None


def time_limit() -> TimeLimit | None:
    """The time limit of the reading process this code runs in (the ``timeout`` :func:`run` was
    given, i.e. ATTRAP_READ_TIMEOUT), counted from the process's start; None outside one."""
    return _TIME_LIMIT


def _context() -> _Context:
    global _CONTEXT
    with _CONTEXT_LOCK:
        if _CONTEXT is None:
            ctx: _Context
            if "forkserver" in multiprocessing.get_all_start_methods():
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(["attrap.read.document"])
            else:
                ctx = multiprocessing.get_context("spawn")
            _CONTEXT = ctx
        return _CONTEXT


def _child(
    conn: multiprocessing.connection.Connection,
    memory_mb: int,
    timeout: float,
    func: Callable,
    args: tuple,
    env: dict[str, str | None],
) -> None:
    global _TIME_LIMIT
    _TIME_LIMIT = TimeLimit(timeout, time.monotonic() + timeout)
    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        result: tuple[str, Any] = ("ok", func(*args))
    except MemoryError:
        result = ("memory", None)
    except AttrapError as exc:
        oom = isinstance(exc.__cause__, MemoryError)
        result = ("memory", None) if oom else ("error", (type(exc).__name__, exc.message))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which decides
        result = ("error", ("ExtractError", f"{type(exc).__name__}: {exc}"[:300]))
    try:
        conn.send(result)
    except MemoryError:
        conn.send(("memory", None))
    finally:
        conn.close()


def run(
    func: Callable[..., T],
    *args: Any,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    label: str | None = None,
) -> T:
    """``func(*args)`` in a child process; ExtractError if it fails, hangs, or runs out of memory.

    ``func`` must be a module-level function (it is pickled by name); its result is pickled
    back. ``label`` (a file name or URL) goes into error messages. ``timeout`` is the child's
    :func:`time_limit`, which the reader keeps to; the child is killed :data:`KILL_GRACE`
    seconds after it if it has not answered by then.
    """
    ctx = _context()
    parent, child = ctx.Pipe(duplex=False)
    env = {name: os.environ.get(name) for name in PASSED_ENV} | {LABEL_ENV: label}
    proc = ctx.Process(target=_child, args=(child, memory_mb, timeout, func, args, env), daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout + KILL_GRACE):
            raise ExtractError(
                f"reading timed out after {timeout:g} s: the process was stopped ({TIMEOUT_SETTING};"
                f" it was stuck, still running {KILL_GRACE:g} s past the limit)",
                url=label,
            )
        try:
            status, payload = parent.recv()
        except (EOFError, OSError):
            proc.join(5)
            code = proc.exitcode
            if code is not None and code < 0:
                name = signal.Signals(-code).name
                reason = f"the reading process died ({name})"
            else:
                reason = f"the reading process exited without an answer (status {code})"
            raise ExtractError(reason, url=label) from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        parent.close()
    if status == "memory":
        raise ExtractError(
            f"out of memory: reading needed more than {memory_mb} MiB (a decompression bomb?)", url=label
        )
    if status == "error":
        _kind, message = payload
        raise ExtractError(message, url=label)
    return payload


class ReaderPool:
    """Up to ``workers`` documents read at once, each in its own bounded child process."""

    def __init__(
        self,
        workers: int | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        memory_mb: int = DEFAULT_MEMORY_MB,
    ):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.timeout = timeout
        self.memory_mb = memory_mb
        self._threads = ThreadPoolExecutor(self.workers, thread_name_prefix="attrap-reader")

    def submit(self, func: Callable[..., T], *args: Any, label: str | None = None) -> Future[T]:
        return self._threads.submit(
            run, func, *args, timeout=self.timeout, memory_mb=self.memory_mb, label=label
        )

    def close(self) -> None:
        self._threads.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ReaderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
