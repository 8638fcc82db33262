"""The map of départements (/carte): a server-rendered SVG, one link per département.

The shapes are ``geo/departements.json`` (IGN Admin Express via gregoiredavid/france-geojson,
Licence Ouverte; the overseas collectivités from Natural Earth; see ``geo/LICENCE.md``),
already projected into a 1000-wide view box by ``tools/make_departements_map.py``: the
metropole in the middle, the overseas départements framed in a column on the left, a zoom on
Paris and its petite couronne and the collectivités on the right.

:func:`render_map` fills each département by its :class:`DepartmentState`:

* ``not-watched``: no source follows it (grey dots);
* ``unhealthy``: its source is failing, so its count may be short: diagonal hatching over the
  colour of its count;
* ``none``: watched, healthy, no flagged decree in the period (white);
* ``c1`` … ``cN``: 3 to 5 classes of counts (default 1, 2–3, 4–9, 10 or more) on a sequential
  scale of DSFR blues whose lightness alone tells the classes apart.

The two special states are textures, so they are not read as a colour of the scale, nor as
0, whatever the reader's colour vision. :func:`legend` gives the legend as data for a template
(with :func:`legend_swatch`), :func:`table` the rows of a table that gives the same figures,
each département's link to its decrees and to its source page. Everything is written through
``markupsafe``; colours go in presentation attributes (the pages' Content-Security-Policy
refuses inline styles), classes (``carte-…``) let the site's style sheet add hover and focus.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from markupsafe import Markup

from attrap.serve import departements

DATA = Path(__file__).parent / "geo" / "departements.json"
_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,40}")

NOT_WATCHED = "not-watched"
UNHEALTHY = "unhealthy"
NONE = "none"

#: lower bounds of the count classes: 1, 2–3, 4–9, 10 or more
DEFAULT_BINS = (1, 2, 4, 10)
#: sequential DSFR blues (blue France 850 … sun-113) by number of classes, light to dark;
#: CIE L* about 83, 60, 40, 16 for four classes, apart for every kind of colour vision
BLUES = {
    3: ("#cacafb", "#6a6af4", "#000091"),
    4: ("#cacafb", "#8585f6", "#4b4bd6", "#000091"),
    5: ("#cacafb", "#9a9af8", "#6a6af4", "#3333c2", "#000091"),
}
#: fill of the "none" state (and the sea behind hatching)
WHITE = "#ffffff"
#: "not watched": dots on light grey
NOT_WATCHED_BACK, NOT_WATCHED_DOT = "#e5e5e5", "#666666"
#: "unhealthy": stripes, dark on light colours, white on dark ones
STRIPE_DARK, STRIPE_LIGHT = "#3a3a3a", "#ffffff"
STROKE = "#666666"
FRAME = "#929292"
TEXT = "#3a3a3a"

#: the height the legend (and the sources' credit) add under the map, in view box units
LEGEND_HEIGHT = 48
#: the credit the Licence Ouverte asks for (source and date), shown under the legend
ATTRIBUTION = (
    "Contours : IGN – ADMIN EXPRESS COG 2018 et INSEE – COG 2018 via france-geojson (Licence Ouverte) ; "
    "collectivités d'outre-mer : Natural Earth (domaine public)."
)


@dataclass(frozen=True)
class DepartmentState:
    """What the map shows of one département; a département absent from the mapping given to
    :func:`render_map` is not watched."""

    #: flagged decrees in the chosen period and category
    count: int = 0
    #: a source follows this département
    watched: bool = True
    #: that source (all of them) answers and parses
    healthy: bool = True
    #: its label, instead of :data:`attrap.serve.departements.NAMES`
    name: str | None = None


@dataclass(frozen=True)
class LegendEntry:
    #: the state: NOT_WATCHED, UNHEALTHY, NONE or "c1"… (the path's class is "carte-" + key)
    key: str
    label: str
    #: the solid colour, or the background of the pattern
    fill: str
    #: "dots", "stripes" or None
    pattern: str | None = None
    #: the stripes' colour, for "stripes"
    ink: str | None = None


@dataclass(frozen=True)
class Row:
    """A line of the table under the map."""

    code: str
    name: str
    state: str
    #: "Non suivi", "Source en panne", "0"…
    status: str
    count: int
    href: str | None
    source_href: str | None


# -- the shapes ---------------------------------------------------------------------------------
@cache
def shapes() -> dict[str, Any]:
    """The shipped data: ``viewBox``, ``departments`` (code → ``name``, ``d``), ``frames``
    (overseas insets) and ``zoom`` (the Paris inset)."""
    return json.loads(DATA.read_text(encoding="utf-8"))


def codes() -> list[str]:
    """The codes of every département and collectivité drawn, in the usual order."""
    return sorted(shapes()["departments"], key=departements.sort_key)


def name_of(code: str, state: DepartmentState | None = None) -> str:
    if state is not None and state.name:
        return state.name
    return departements.NAMES.get(code) or shapes()["departments"].get(code, {}).get("name") or code


# -- the scale ----------------------------------------------------------------------------------
def _check_bins(bins: Sequence[int]) -> tuple[int, ...]:
    bins = tuple(int(b) for b in bins)
    if not 3 <= len(bins) <= 5 or bins[0] != 1 or any(a >= b for a, b in zip(bins, bins[1:], strict=False)):
        raise ValueError(f"bins must be 3 to 5 increasing lower bounds, the first 1: {bins!r}")
    return bins


def _nice(value: float) -> int:
    """The nearest of 1, 2, 5, 10, 20, 50… at or below ``value`` (at least 1)."""
    if value < 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return max(m * power for m in (1, 2, 5) if m * power <= value)


def auto_bins(counts: Iterable[int], classes: int = 4) -> tuple[int, ...]:
    """Class bounds for these counts: :data:`DEFAULT_BINS` while the largest is small, else
    bounds at the quantiles of the non-zero counts, rounded to 1-2-5 numbers."""
    positive = sorted(c for c in counts if c > 0)
    classes = min(max(classes, 3), 5)
    if not positive or positive[-1] <= 12:
        return DEFAULT_BINS[:classes] if classes <= 4 else (1, 2, 4, 10, 20)
    bounds = [1]
    for i in range(1, classes):
        q = positive[min(len(positive) - 1, round(i * len(positive) / classes))]
        b = _nice(q)
        if b > bounds[-1]:
            bounds.append(b)
    if len(bounds) < 3:  # counts bunched together: fall back to fixed small bins
        return DEFAULT_BINS
    return tuple(bounds)


def class_of(count: int, bins: Sequence[int] = DEFAULT_BINS) -> str:
    """NONE for 0, else "c1"… the class of ``count``."""
    if count <= 0:
        return NONE
    return f"c{max(i for i, b in enumerate(bins) if b <= count) + 1}"


def state_of(state: DepartmentState | None, bins: Sequence[int] = DEFAULT_BINS) -> tuple[str, bool]:
    """(fill class, hatched): NOT_WATCHED, NONE or "c1"…, and whether the source is failing."""
    if state is None or not state.watched:
        return NOT_WATCHED, False
    return class_of(state.count, bins), not state.healthy


def _colour(cls: str, bins: Sequence[int]) -> str:
    if cls == NONE:
        return WHITE
    if cls == NOT_WATCHED:
        return NOT_WATCHED_BACK
    return BLUES[len(bins)][int(cls[1:]) - 1]


def _ink(background: str) -> str:
    """Stripes that show on ``background``: dark on light colours, white on dark ones."""
    r, g, b = (int(background[i : i + 2], 16) for i in (1, 3, 5))
    return STRIPE_DARK if 0.299 * r + 0.587 * g + 0.114 * b > 128 else STRIPE_LIGHT


def _bin_label(bins: Sequence[int], i: int) -> str:
    low = bins[i]
    if i == len(bins) - 1:
        return f"{_n(low)} ou plus"
    high = bins[i + 1] - 1
    return _n(low) if high == low else f"{_n(low)} à {_n(high)}"


def _n(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


def legend(bins: Sequence[int] = DEFAULT_BINS) -> list[LegendEntry]:
    """The legend's entries: not watched, unhealthy, 0, then each class of counts."""
    bins = _check_bins(bins)
    entries = [
        LegendEntry(NOT_WATCHED, "Aucune source suivie", NOT_WATCHED_BACK, "dots"),
        LegendEntry(UNHEALTHY, "Source en panne (hachures)", WHITE, "stripes", _ink(WHITE)),
        LegendEntry(NONE, "0 arrêté signalé", WHITE),
    ]
    for i in range(len(bins)):
        entries.append(LegendEntry(f"c{i + 1}", _bin_label(bins, i), BLUES[len(bins)][i]))
    return entries


# -- SVG ----------------------------------------------------------------------------------------
def _attrs(**attrs: object) -> Markup:
    """` name="value"` pairs, escaped; None values left out; a trailing _ dropped, other _ → -."""
    out = []
    for key, value in attrs.items():
        if value is None:
            continue
        name = key.rstrip("_").replace("_", "-")
        out.append(Markup(' {}="{}"').format(Markup(name), value))
    return Markup("").join(out)


def _pattern_dots(pid: str) -> Markup:
    return Markup(
        '<pattern id="{}" width="5" height="5" patternUnits="userSpaceOnUse">'
        '<rect width="5" height="5" fill="{}"/><circle cx="2.5" cy="2.5" r="1" fill="{}"/></pattern>'
    ).format(pid, NOT_WATCHED_BACK, NOT_WATCHED_DOT)


def _pattern_stripes(pid: str, background: str) -> Markup:
    return Markup(
        '<pattern id="{}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="{}"/><rect width="2" height="6" fill="{}"/></pattern>'
    ).format(pid, background, _ink(background))


def _fill(cls: str, hatched: bool, prefix: str, bins: Sequence[int]) -> str:
    if cls == NOT_WATCHED:
        return f"url(#{prefix}-dots)"
    if hatched:
        return f"url(#{prefix}-panne-{cls})"
    return _colour(cls, bins)


def tooltip(code: str, state: DepartmentState | None) -> str:
    """ "Bouches-du-Rhône (13) : 3 arrêtés signalés" (plain text, escape it)."""
    name = name_of(code, state)
    if state is None or not state.watched:
        return f"{name} ({code}) : aucune source suivie"
    n = state.count
    what = (
        "aucun arrêté signalé"
        if n <= 0
        else f"{_n(n)} arrêté{'s' if n > 1 else ''} signalé{'s' if n > 1 else ''}"
    )
    if not state.healthy:
        what += " — source en panne, le compte peut être incomplet"
    return f"{name} ({code}) : {what}"


def render_map(
    states: Mapping[str, DepartmentState],
    *,
    href: Callable[[str], str | None],
    bins: Sequence[int] = DEFAULT_BINS,
    title: str = "Arrêtés signalés par département",
    description: str | None = None,
    show_legend: bool = True,
    id_prefix: str = "carte",
) -> Markup:
    """The map as an inline ``<svg>``: one ``<a href="href(code)">`` per département drawn
    (a département whose ``href`` is None is drawn without a link), its ``<title>`` the
    :func:`tooltip`, its path filled by :func:`state_of`. ``states`` is keyed by code; a
    missing code is not watched. ``id_prefix`` keeps the ids (title, patterns) unique when a
    page holds more than one map. The SVG's ``role`` is "group", not "img": an image's
    children are hidden from assistive technologies, and these are links."""
    bins = _check_bins(bins)
    if not _ID.fullmatch(id_prefix):
        raise ValueError(f"id_prefix must be a plain identifier: {id_prefix!r}")
    data = shapes()
    vx, vy, vw, vh = data["viewBox"]
    height = vh + (LEGEND_HEIGHT if show_legend else 0)
    p = id_prefix
    desc = description or (
        "Carte des départements de métropole et d'outre-mer. Chaque département est un lien vers "
        "ses arrêtés ; le tableau qui suit donne les mêmes chiffres."
    )
    fills: dict[str, tuple[str, bool]] = {c: state_of(states.get(c), bins) for c in data["departments"]}

    defs = [_pattern_dots(f"{p}-dots")]
    hatched = sorted({cls for cls, h in fills.values() if h} | ({NONE} if show_legend else set()))
    for cls in hatched:
        defs.append(_pattern_stripes(f"{p}-panne-{cls}", _colour(cls, bins)))

    out: list[Markup] = [
        Markup(
            '<svg xmlns="http://www.w3.org/2000/svg" class="carte" viewBox="{} {} {} {}" role="group" '
            'aria-labelledby="{}-title" aria-describedby="{}-desc">'
        ).format(vx, vy, vw, height, p, p),
        Markup('<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>').format(p, title, p, desc),
        Markup("<defs>{}</defs>").format(Markup("").join(defs)),
    ]

    frames = {code: frame["box"] for frame in data["frames"] for code in frame["codes"]}
    zoom = data.get("zoom")
    # the insets' frames first, under the shapes
    for x, y, w, h in frames.values():
        out.append(Markup("<rect{}/>").format(_attrs(x=x, y=y, width=w, height=h, fill="none", stroke=FRAME)))
    if zoom:
        x, y, w, h = zoom["box"]
        out.append(Markup("<rect{}/>").format(_attrs(x=x, y=y, width=w, height=h, fill="none", stroke=FRAME)))
        out.append(_label(x, y, "Paris et petite couronne"))

    out.append(
        Markup('<g class="carte-departements"{}>').format(
            _attrs(stroke=STROKE, stroke_width="0.5", stroke_linejoin="round", fill_rule="evenodd")
        )
    )
    for code in codes():
        state = states.get(code)
        cls, hatch = fills[code]
        link = href(code)
        path = Markup("<path{}/>").format(
            _attrs(
                class_=_classes(cls, hatch),
                d=data["departments"][code]["d"],
                fill=_fill(cls, hatch, p, bins),
            )
        )
        inner = [Markup("<title>{}</title>").format(tooltip(code, state))]
        if code in frames:  # the whole frame is the target: some islands are specks
            x, y, w, h = frames[code]
            inner.append(
                Markup("<rect{}/>").format(
                    _attrs(x=x, y=y, width=w, height=h, fill=WHITE, fill_opacity="0", stroke="none")
                )
            )
            inner.append(path)
            inner.append(_label(x, y, name_of(code, state)))
        else:
            inner.append(path)
        out.append(_link(link, code, Markup("").join(inner)))
    out.append(Markup("</g>"))

    if zoom:
        out.append(_zoom(zoom, states, fills, href, p, bins))
    if show_legend:
        out.append(_legend_svg(bins, p, vx, vh, vw))
    out.append(Markup("</svg>"))
    return Markup("").join(out)


def _classes(cls: str, hatched: bool) -> str:
    return f"carte-{cls}" + (f" carte-{UNHEALTHY}" if hatched else "")


def _link(link: str | None, code: str, inner: Markup, *, hidden: bool = False) -> Markup:
    if link is None:
        return Markup("<g{}>{}</g>").format(_attrs(data_code=code), inner)
    return Markup("<a{}>{}</a>").format(
        _attrs(href=link, data_code=code, tabindex="-1" if hidden else None), inner
    )


def _label(x: float, y: float, text: str) -> Markup:
    return Markup("<text{}>{}</text>").format(
        _attrs(x=round(x + 4, 1), y=round(y + 12, 1), font_size="11", fill=TEXT, stroke="none"), text
    )


def _zoom(
    zoom: Mapping[str, Any],
    states: Mapping[str, DepartmentState],
    fills: Mapping[str, tuple[str, bool]],
    href: Callable[[str], str | None],
    prefix: str,
    bins: Sequence[int],
) -> Markup:
    """Paris and its petite couronne again, enlarged; out of the keyboard's and screen readers'
    way (the same links are on the main map), but clickable."""
    fx, fy, fw, fh = zoom["from"]
    dx, dy, k = zoom["transform"]
    out = [
        # where the zoom comes from, on the main map
        Markup("<rect{}/>").format(
            _attrs(
                x=fx,
                y=fy,
                width=fw,
                height=fh,
                fill="none",
                stroke=TEXT,
                stroke_width="0.75",
                pointer_events="none",
            )
        ),
        Markup('<g aria-hidden="true"{}>').format(
            _attrs(
                transform=f"translate({dx} {dy}) scale({k}) translate({-fx} {-fy})",
                stroke=STROKE,
                stroke_width="0.75",
                stroke_linejoin="round",
                fill_rule="evenodd",
            )
        ),
    ]
    for code in zoom["codes"]:
        cls, hatch = fills[code]
        path = Markup("<path{}/>").format(
            _attrs(
                class_=_classes(cls, hatch),
                d=shapes()["departments"][code]["d"],
                fill=_fill(cls, hatch, prefix, bins),
                vector_effect="non-scaling-stroke",
            )
        )
        title = Markup("<title>{}</title>").format(tooltip(code, states.get(code)))
        out.append(_link(href(code), code, title + path, hidden=True))
    out.append(Markup("</g>"))
    return Markup("").join(out)


def _legend_svg(bins: Sequence[int], prefix: str, x0: float, top: float, width: float) -> Markup:
    entries = legend(bins)
    # widths from the labels' length: about 6.2 units a character at 12
    sizes = [18 + 6 + 6.2 * len(e.label) + 16 for e in entries]
    scale = min(1.0, (width - 20) / sum(sizes))
    x = x0 + 10.0
    y = top + 14
    out = [
        Markup('<g class="carte-legende"{}>').format(_attrs(font_size=str(round(12 * scale, 1)), fill=TEXT))
    ]
    for entry, size in zip(entries, sizes, strict=True):
        if entry.pattern == "dots":
            fill = f"url(#{prefix}-dots)"
        elif entry.pattern == "stripes":
            fill = f"url(#{prefix}-panne-{NONE})"
        else:
            fill = entry.fill
        out.append(
            Markup("<rect{}/>").format(
                _attrs(
                    x=round(x, 1),
                    y=y,
                    width=18,
                    height=14,
                    fill=fill,
                    stroke=STROKE,
                    stroke_width="0.5",
                    class_=f"carte-{entry.key}",
                )  # fmt: skip
            )
        )
        out.append(Markup("<text{}>{}</text>").format(_attrs(x=round(x + 18 + 5, 1), y=y + 11), entry.label))
        x += size * scale
    out.append(Markup("<text{}>{}</text>").format(_attrs(x=x0 + 10, y=top + 42, font_size="9"), ATTRIBUTION))
    out.append(Markup("</g>"))
    return Markup("").join(out)


def legend_swatch(entry: LegendEntry, *, size: int = 14, id_prefix: str = "carte-legende") -> Markup:
    """A small ``<svg>`` of one legend entry's fill, for an HTML legend (decorative: the label
    says it)."""
    pid = f"{id_prefix}-{entry.key}"
    if entry.pattern == "dots":
        defs, fill = _pattern_dots(pid), f"url(#{pid})"
    elif entry.pattern == "stripes":
        defs, fill = _pattern_stripes(pid, entry.fill), f"url(#{pid})"
    else:
        defs, fill = Markup(""), entry.fill
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="{0}" viewBox="0 0 {0} {0}" '
        'aria-hidden="true" focusable="false" class="carte-swatch">{1}'
        '<rect width="{0}" height="{0}" fill="{2}" stroke="{3}" stroke-width="1"/></svg>'
    ).format(size, Markup("<defs>{}</defs>").format(defs) if defs else Markup(""), fill, STROKE)


def table(
    states: Mapping[str, DepartmentState],
    *,
    href: Callable[[str], str | None],
    source_href: Callable[[str], str | None],
    bins: Sequence[int] = DEFAULT_BINS,
) -> list[Row]:
    """One row per département drawn, in the usual order: what the map shows, as a table
    (each with its link to its decrees and to its source's page)."""
    bins = _check_bins(bins)
    rows = []
    for code in codes():
        state = states.get(code)
        cls, hatch = state_of(state, bins)
        if cls == NOT_WATCHED:
            status = "Aucune source suivie"
        else:
            status = _n(state.count if state else 0) + (" (source en panne)" if hatch else "")
        rows.append(
            Row(
                code=code,
                name=name_of(code, state),
                state=UNHEALTHY if hatch else cls,
                status=status,
                count=state.count if state and state.watched else 0,
                href=href(code),
                source_href=source_href(code) if cls != NOT_WATCHED else None,
            )
        )
    return rows
