"""Lateness in figures: how long a decree took from its signature to the public, and whether it
was published after the period it authorises had begun (when no court can be asked in time).

Four moments: the signature (a day), the start of the authorised period (a time, from the
decree's text), the prefecture's publication and attrap's first sight of the PDF. The
publication's hour is not published: its earliest possible moment is taken, the later of the
day the site gives (00:00, Paris time) and the PDF's own creation time. "Published after the
period began" is then certain, never a guess: the PDF did not exist, or the day had not come,
when the period began.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class Lateness:
    signed_on: date | None
    period_start: datetime | None
    #: the earliest moment the decree can have been public (see the module's docstring)
    published: datetime | None
    first_seen: datetime | None
    hours_signature_to_publication: float | None
    hours_publication_to_first_seen: float | None
    #: publication minus the period's start: positive when published after it began
    hours_start_to_publication: float | None
    hours_start_to_first_seen: float | None
    #: True when certainly published after the period began; None when either is unknown
    published_after_start: bool | None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), PARIS)


def _aware(t: datetime | None) -> datetime | None:
    if t is None:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _hours(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else round((b - a).total_seconds() / 3600, 1)


def lateness(
    *,
    signed_on: date | None,
    period_start: datetime | None,
    published: date | None,
    pdf_created_at: datetime | None,
    first_seen: datetime | None,
) -> Lateness:
    # periods are read as Paris times (attrap.rules.details); a naive one is taken as such
    start = period_start.replace(tzinfo=PARIS) if period_start and not period_start.tzinfo else period_start
    seen = _aware(first_seen)
    bounds = [t for t in (_day_start(published) if published else None, _aware(pdf_created_at)) if t]
    public = max(bounds) if bounds else None
    if public is not None and seen is not None and public > seen:
        public = seen  # a PDF dated later than it was seen has a wrong clock: it was public when seen
    signed = _day_start(signed_on) if signed_on else None
    return Lateness(
        signed_on=signed_on,
        period_start=start,
        published=public,
        first_seen=seen,
        hours_signature_to_publication=_hours(signed, public),
        hours_publication_to_first_seen=_hours(public, seen),
        hours_start_to_publication=_hours(start, public),
        hours_start_to_first_seen=_hours(start, seen),
        published_after_start=None if start is None or public is None else public > start,
    )


@dataclass(frozen=True)
class LatenessSummary:
    """One row of the figures: a prefecture in a month (of the period's start, else of signing)."""

    source_id: str
    month: str
    authorisations: int
    published_after_start: int
    #: median hours from signature to publication, over those where both are known
    median_hours_to_publication: float | None


def summarise(rows: Iterable[tuple[str, Lateness]]) -> list[LatenessSummary]:
    """Per source and month, newest month first then by source."""
    groups: dict[tuple[str, str], list[Lateness]] = {}
    for source_id, late in rows:
        when = late.period_start.astimezone(PARIS).date() if late.period_start else late.signed_on
        if when is None and late.published is not None:
            when = late.published.astimezone(PARIS).date()
        month = f"{when:%Y-%m}" if when else "inconnu"
        groups.setdefault((source_id, month), []).append(late)
    out = []
    for (source_id, month), items in groups.items():
        delays = [h for x in items if (h := x.hours_signature_to_publication) is not None]
        out.append(
            LatenessSummary(
                source_id,
                month,
                len(items),
                sum(1 for x in items if x.published_after_start),
                round(statistics.median(delays), 1) if delays else None,
            )
        )
    out.sort(key=lambda r: r.source_id)
    return sorted(out, key=lambda r: (r.month != "inconnu", r.month), reverse=True)
