"""Self-monitoring: is a source's scraper still working? Said in one line, from its recent runs.

A site redesign rarely raises an error: the selectors simply match nothing and no RAA comes
back. So a source is unhealthy when its last crawl's selectors matched nothing, when it found
no RAA where it usually finds some, or after repeated failures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median
from typing import Protocol

#: consecutive failed runs that make a source unhealthy
FAILURES = 3


class RunLike(Protocol):
    outcome: str
    pages_fetched: int
    pdfs_found: int
    listing_links: int
    error: str | None


@dataclass(frozen=True)
class Health:
    healthy: bool
    reason: str | None = None


def assess(runs: Sequence[RunLike]) -> Health:
    """``runs``: the source's finished runs, newest first."""
    if not runs:
        return Health(True, "never scanned")
    last = runs[0]
    failed = 0
    for run in runs:
        if run.outcome != "error":
            break
        failed += 1
    if failed >= FAILURES:
        return Health(False, f"failed {failed} times in a row; last: {last.error or 'unknown error'}")
    if last.outcome == "ok" and last.pdfs_found == 0:
        if last.listing_links == 0:
            return Health(False, "selectors matched nothing on the RAA page: the site may have changed")
        usual = [r.pdfs_found for r in runs[1:] if r.outcome == "ok" and r.pdfs_found]
        if usual:
            return Health(False, f"found no RAA where it usually finds {median(usual):g}")
    if last.outcome == "error":
        return Health(True, f"last run failed ({failed} in a row): {last.error or 'unknown error'}")
    return Health(True)
