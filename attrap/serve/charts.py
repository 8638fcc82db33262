"""Server-rendered SVG charts: the geometry is computed here, the SVG written by a template.

:func:`monthly` lays out flagged decrees per month as stacked columns (one colour per
category), :func:`by_department` per département as stacked horizontal bars. Both return plain
data (rectangles, ticks, labels) that ``templates/_charts.html`` turns into inline SVG, so that
nothing runs in the reader's browser and every label goes through Jinja's escaping.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

#: colours by category (DSFR: bleu France, rouge Marianne, a light blue), then a fallback palette
PALETTE = ("#009081", "#b34000", "#6e445a", "#695240", "#3a3a3a")
MONTHS_SHORT = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
                "nov.", "déc.")  # fmt: skip
MONTHS_LONG = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
               "octobre", "novembre", "décembre")  # fmt: skip
#: the most months the monthly chart shows (the newest)
MAX_MONTHS = 36


@dataclass(frozen=True)
class Series:
    id: str
    label: str
    colour: str


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    colour: str
    #: the tooltip (an SVG <title>): "octobre 2026 — Drones : 2"
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass
class Chart:
    width: int
    height: int
    title: str
    series: list[Series]
    rects: list[Rect] = field(default_factory=list)
    #: horizontal (monthly) or vertical (by département) grid lines: (position, label)
    grid: list[Label] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    #: the data as a table, for screen readers and for people who prefer numbers
    header: list[str] = field(default_factory=list)
    rows: list[list[str | int]] = field(default_factory=list)
    #: plot area: left, top, right, bottom
    box: tuple[float, float, float, float] = (0, 0, 0, 0)

    @property
    def empty(self) -> bool:
        return not self.rects


def series_for(categories: dict[str, str], colours: dict[str, str | None] | None = None) -> list[Series]:
    """One series per category (id → label), in the categories' order, each with its colour
    (``colours``: patterns/categories.toml; a category without one takes the palette's next)."""
    out, spare = [], iter(PALETTE * 4)
    for cid, label in categories.items():
        out.append(Series(cid, label, (colours or {}).get(cid) or next(spare)))
    return out


def nice_step(top: int, ticks: int = 4) -> int:
    """A round step (1, 2, 5 × 10ⁿ) dividing 0…top into about ``ticks`` intervals."""
    if top <= ticks:
        return 1
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return int(m * power)
    return int(10 * power)


def month_range(first: tuple[int, int], last: tuple[int, int]) -> list[tuple[int, int]]:
    """Every (year, month) from ``first`` to ``last`` inclusive, at most MAX_MONTHS (the newest)."""
    months = []
    y, m = first
    while (y, m) <= last:
        months.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months[-MAX_MONTHS:]


def monthly(
    counts: dict[tuple[int, int], dict[str, int]],
    months: Sequence[tuple[int, int]],
    series: list[Series],
    *,
    title: str,
    width: int = 760,
    height: int = 280,
) -> Chart:
    """Stacked columns, one per month of ``months``; ``counts[(year, month)][category]``."""
    left, top, right, bottom = 36.0, 12.0, width - 8.0, height - 40.0
    chart = Chart(width, height, title, series, box=(left, top, right, bottom))
    chart.header = ["Mois", *(s.label for s in series), "Total"]
    totals = [sum(counts.get(m, {}).values()) for m in months]
    if not months:
        return chart
    peak = max(totals, default=0)
    step = nice_step(max(peak, 1))
    ceiling = max(step, math.ceil(max(peak, 1) / step) * step)
    scale = (bottom - top) / ceiling
    for value in range(0, ceiling + 1, step):
        chart.grid.append(Label(left - 6, bottom - value * scale, str(value), "end"))
    band = (right - left) / len(months)
    bar = max(2.0, band * 0.72)
    every = max(1, math.ceil(len(months) / 12))
    labelled_year = None
    for i, (year, month) in enumerate(months):
        x = left + i * band + (band - bar) / 2
        y = bottom
        name = f"{MONTHS_LONG[month - 1]} {year}"
        for s in series:
            n = counts.get((year, month), {}).get(s.id, 0)
            if n:
                h = n * scale
                y -= h
                tip = f"{name} — {s.label} : {n}"
                chart.rects.append(Rect(round(x, 1), round(y, 1), round(bar, 1), round(h, 1), s.colour, tip))
        centre = round(left + (i + 0.5) * band, 1)
        if (len(months) - 1 - i) % every == 0:  # the newest month always has its label
            chart.labels.append(Label(centre, bottom + 16, MONTHS_SHORT[month - 1]))
            if year != labelled_year:  # the year under its first labelled month
                chart.labels.append(Label(centre, bottom + 30, str(year)))
                labelled_year = year
        row = [counts.get((year, month), {}).get(s.id, 0) for s in series]
        chart.rows.append([name, *row, totals[i]])
    return chart


def by_department(
    counts: dict[str, dict[str, int]],
    names: dict[str, str],
    series: list[Series],
    *,
    title: str,
    width: int = 760,
    row_height: int = 22,
) -> Chart:
    """Stacked horizontal bars, one per département of ``counts``, the most decrees first;
    ``names`` labels each département code."""
    order = sorted(counts, key=lambda d: (-sum(counts[d].values()), d))
    height = 24 + row_height * len(order) + 8
    left, top, right, bottom = 200.0, 20.0, width - 44.0, height - 8.0
    chart = Chart(width, height, title, series, box=(left, top, right, bottom))
    chart.header = ["Département", *(s.label for s in series), "Total"]
    if not order:
        return chart
    peak = max(sum(c.values()) for c in counts.values())
    step = nice_step(max(peak, 1))
    ceiling = max(step, math.ceil(max(peak, 1) / step) * step)
    scale = (right - left) / ceiling
    for value in range(0, ceiling + 1, step):
        chart.grid.append(Label(round(left + value * scale, 1), top - 6, str(value)))
    bar = row_height * 0.7
    for i, dep in enumerate(order):
        y = top + i * row_height + (row_height - bar) / 2
        x = left
        name = names.get(dep, dep)
        for s in series:
            n = counts[dep].get(s.id, 0)
            if n:
                w = n * scale
                tip = f"{name} — {s.label} : {n}"
                chart.rects.append(Rect(round(x, 1), round(y, 1), round(w, 1), round(bar, 1), s.colour, tip))
                x += w
        total = sum(counts[dep].values())
        mid = round(y + bar / 2 + 4, 1)
        chart.labels.append(Label(left - 6, mid, name if len(name) <= 30 else name[:29] + "…", "end"))
        chart.labels.append(Label(round(x + 4, 1), mid, str(total), "start"))
        chart.rows.append([name, *(counts[dep].get(s.id, 0) for s in series), total])
    return chart
