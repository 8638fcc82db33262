"""Logging: one line per event, saying which source, which URL and what came of it.

``event(log, logging.INFO, "pref13", "downloaded", url, bytes=123)`` logs
``pref13 downloaded https://… bytes=123``: the source first, then the outcome, the URL and
``key=value`` fields, so ``grep pref13`` or ``grep 'failed'`` over a journal finds every line that
matters. Text from outside (titles, error messages from servers) is quoted with control
characters escaped, so a PDF cannot forge log lines.

On a terminal, lines go through rich (colours, aligned times) and long jobs show progress bars;
under systemd, Docker or a pipe they are plain lines with a timestamp.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_console: Any = None  # rich's console on stderr, once setup() found a terminal


def _value(v: Any) -> str:
    s = str(v)
    if s and all(c.isprintable() and not c.isspace() for c in s) and '"' not in s:
        return s
    return '"' + s.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'


def format_event(source: str, outcome: str, url: str | None = None, **fields: Any) -> str:
    """``<source> <outcome> [<url>] key=value…``, one line whatever the values hold."""
    parts = [_value(source), outcome]
    if url:
        parts.append(_value(url))
    parts += [f"{k}={_value(v)}" for k, v in fields.items() if v is not None]
    return " ".join(parts)


def event(
    logger: logging.Logger, level: int, source: str, outcome: str, url: str | None = None, **fields: Any
) -> None:
    """Log one event (see the module's docstring)."""
    if logger.isEnabledFor(level):
        logger.log(level, "%s", format_event(source, outcome, url, **fields))


def interactive() -> bool:
    """Whether a person is watching: stderr is a terminal."""
    return sys.stderr.isatty()


def setup(verbose: bool = False, *, default: int = logging.WARNING) -> None:
    """Configure the ``attrap`` loggers: ``default`` level, DEBUG with ``verbose``."""
    root = logging.getLogger()
    if interactive():
        from rich.console import Console
        from rich.logging import RichHandler

        global _console
        console = _console = Console(stderr=True)  # stdout is for the command's output (--json)
        handler: logging.Handler = RichHandler(console=console, show_path=False, markup=False)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(PLAIN_FORMAT))
    root.handlers = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("attrap").setLevel(logging.DEBUG if verbose else default)


@contextmanager
def progress(
    description: str, total: int | None, detail: Callable[[], str] | None = None
) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal (rich), nothing elsewhere; yields ``advance(n)``.
    ``detail()``, asked at each refresh, says more after the bar (the pages of the documents
    being read)."""
    if not interactive() or not total:

        def ignore(n: int = 1) -> None:
            pass

        yield ignore
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Detail(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(detail() if detail else "", style="dim")

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    # the log handler's console: log lines print above the bar instead of through it
    with Progress(*columns, Detail(), console=_console or Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            bar.advance(task, n)

        yield advance
