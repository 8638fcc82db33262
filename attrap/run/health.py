"""Self-monitoring: is a source's scraper still working? Said in one line, from its recent runs.

A site redesign rarely raises an error: the selectors simply match nothing and no RAA comes
back. So health never says "ok" about nothing. A source is

- ``unhealthy`` when its last sweep failed (its RAA page answered an error, the crawl raised),
  when it found no RAA at all (first sweep included: the listing matched nothing, or its pages
  parsed but held no download link), or when its newest RAA is much older than its usual
  publishing rhythm;
- ``degraded`` when it works but not wholly: its RAA page moved (found elsewhere on the site for
  this sweep, the source file to update), part of the crawl failed, or a file could not be read;
- ``ok`` otherwise, and ``never`` before its first sweep.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from statistics import median
from typing import Protocol

#: consecutive failed runs said as such ("failed 3 times in a row")
FAILURES = 3
#: the newest RAA is late when older than this many usual intervals between two RAA...
LATE_INTERVALS = 4
#: ...and than this many days (a prefecture may publish twice a day, then pause a week)
LATE_MIN_DAYS = 21
#: dated RAA needed to know a source's rhythm, and how many of the newest it is read from
RHYTHM_MIN, RHYTHM_OF = 4, 12
#: the order sources are shown in: what needs a look first
STATES = ("unhealthy", "degraded", "ok", "never")


class RunLike(Protocol):
    outcome: str
    pages_fetched: int
    pdfs_found: int
    listing_links: int
    error: str | None
    moved: str | None
    older: int


@dataclass(frozen=True)
class Health:
    #: one of STATES
    state: str
    reason: str | None = None

    @property
    def healthy(self) -> bool:
        return self.state == "ok"


def assess(
    runs: Sequence[RunLike],
    *,
    published: Sequence[date] = (),
    today: date | None = None,
    source_id: str | None = None,
) -> Health:
    """``runs``: the source's finished runs, newest first; ``published``: the dates of its
    newest RAA (any order), for its rhythm."""
    if not runs:
        return Health("never", "never scanned")
    last = runs[0]
    failed = 0
    for run in runs:
        if run.outcome != "error":
            break
        failed += 1
    if failed >= FAILURES:
        return Health("unhealthy", f"failed {failed} times in a row; last: {last.error or 'unknown error'}")
    if last.outcome == "error":
        return Health("unhealthy", f"last sweep failed: {last.error or 'unknown error'}")
    if last.pdfs_found + (last.older or 0) == 0:
        if last.listing_links == 0:
            return Health("unhealthy", "selectors matched nothing on the RAA page: the site may have changed")
        usual = [r.pdfs_found for r in runs[1:] if r.outcome != "error" and r.pdfs_found]
        if usual:
            return Health("unhealthy", f"found no RAA where it usually finds {median(usual):g}")
        return Health(
            "unhealthy",
            f"listing pages parsed ({last.pages_fetched} requests, {last.listing_links} listing links) "
            "but no RAA download link found",
        )
    late = lateness(published, today or date.today())
    if late is not None:
        return Health("unhealthy", late)
    if last.moved:
        where = f"scrapers/{source_id}.toml" if source_id else "the source file"
        return Health("degraded", f"RAA page moved: {last.moved}; update {where}")
    if last.outcome == "degraded":
        return Health("degraded", last.error or "part of the last sweep failed")
    return Health("ok")


def lateness(published: Sequence[date], today: date) -> str | None:
    """Why the newest RAA is late for the source's rhythm, or None (or too few to tell)."""
    days = sorted(set(published), reverse=True)[:RHYTHM_OF]
    if len(days) < RHYTHM_MIN:
        return None
    gaps = [(a - b).days for a, b in zip(days, days[1:], strict=False)]
    usual = max(1.0, median(gaps))
    age = (today - days[0]).days
    if age <= max(LATE_MIN_DAYS, LATE_INTERVALS * usual):
        return None
    return (
        f"newest RAA is from {days[0].isoformat()}, {age} days ago, where it usually publishes "
        f"every {usual:g} day{'s' if usual != 1 else ''}"
    )
