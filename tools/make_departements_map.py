#!/usr/bin/env python3
"""Derive ``attrap/serve/geo/departements.json`` (the shapes of the /carte map) from open data.

Usage::

    python tools/make_departements_map.py departements-avec-outre-mer.geojson \\
        --com countries-10m.json --out attrap/serve/geo/departements.json

* the GeoJSON is ``departements-avec-outre-mer.geojson`` of gregoiredavid/france-geojson
  (IGN Admin Express COG 2018, Licence Ouverte / Open Licence): the 96 départements of the
  metropole and the 5 overseas ones (971–974, 976) at their true coordinates, features with
  ``properties.code`` and ``properties.nom``;
* ``--com`` (optional) is ``countries-10m.json`` of the npm package world-atlas (Natural Earth
  1:10m, public domain), a TopoJSON file whose countries give the overseas collectivités that
  the IGN file lacks (975, 977, 978, 986, 987, 988).

What it does: the metropole (Corsica included) is projected equirectangularly, longitudes
scaled by cos(46.5°), into a box about 680 wide of a 1000-wide view box; each overseas
territory is drawn in a framed inset of its own scale (overseas départements in a column on the
left, the collectivités on the right under a zoom on Paris and its petite couronne). The lines
are simplified with Douglas–Peucker in the final pixel space, border by border: a border that
two départements share is split at the points where three meet or where the coast starts and
simplified once, so neighbours keep exactly the same edge (no slivers, no gaps). Islands
smaller than a fraction of a pixel are dropped (never a territory's largest piece). Coordinates
are rounded to 0.1 and written as relative SVG path commands.

The output lists, per code, the name the dataset gives and the path (``d``), with the view box,
the inset frames and the Paris zoom; see attrap/serve/carte.py, which draws it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

Point = tuple[float, float]
Ring = list[Point]

WIDTH = 1000.0
#: the metropole's box (x, y, width, height); its height is what the projection needs
METRO_BOX = (160.0, 6.0, 680.0, 700.0)
#: overseas départements, left column, top to bottom
DROM = ("971", "972", "973", "974", "976")
#: overseas collectivités (from --com), right column under the Paris zoom
COM = ("975", "977", "978", "986", "987", "988")
#: Natural Earth / world-atlas ids (ISO 3166-1 numeric) of the collectivités
COM_IDS = {"666": "975", "652": "977", "663": "978", "876": "986", "258": "987", "540": "988"}
COM_NAMES = {
    "975": "Saint-Pierre-et-Miquelon",
    "977": "Saint-Barthélemy",
    "978": "Saint-Martin",
    "986": "Wallis-et-Futuna",
    "987": "Polynésie française",
    "988": "Nouvelle-Calédonie",
}
PETITE_COURONNE = ("75", "92", "93", "94")
COLUMN_WIDTH = 140.0
GAP = 8.0
#: room left at the top of an inset frame for its label
LABEL_ROOM = 16.0
PAD = 4.0
#: an islet of a collectivité smaller than this (px²) is drawn as a dot of this half-diagonal
DOT_AREA, DOT = 3.0, 1.3


# -- reading ------------------------------------------------------------------------------------
def polygons_of(geometry: dict) -> list[list[Ring]]:
    """A GeoJSON Polygon or MultiPolygon as a list of polygons (lists of rings)."""
    if geometry["type"] == "Polygon":
        polys = [geometry["coordinates"]]
    elif geometry["type"] == "MultiPolygon":
        polys = geometry["coordinates"]
    else:
        raise ValueError(f"unexpected geometry {geometry['type']}")
    return [[[(float(x), float(y)) for x, y in ring] for ring in poly] for poly in polys]


def read_geojson(path: Path) -> dict[str, tuple[str, list[Ring]]]:
    """code → (name, rings) of each feature."""
    data = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, tuple[str, list[Ring]]] = {}
    for feature in data["features"]:
        props = feature["properties"]
        rings = [ring for poly in polygons_of(feature["geometry"]) for ring in poly]
        out[str(props["code"])] = (str(props["nom"]), rings)
    return out


def read_topojson_countries(path: Path) -> dict[str, tuple[str, list[Ring]]]:
    """code → (name, rings) of the collectivités found in a world-atlas TopoJSON file."""
    topo = json.loads(path.read_text(encoding="utf-8"))
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs: list[Ring] = []
    for arc in topo["arcs"]:  # quantised and delta-encoded
        x = y = 0
        points: Ring = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)

    def ring(indexes: Sequence[int]) -> Ring:
        out: Ring = []
        for i in indexes:
            points = arcs[i] if i >= 0 else arcs[~i][::-1]
            out.extend(points if not out else points[1:])
        return out

    found: dict[str, tuple[str, list[Ring]]] = {}
    for geometry in topo["objects"]["countries"]["geometries"]:
        code = COM_IDS.get(str(geometry.get("id")))
        if code is None:
            continue
        polys = [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry["arcs"]
        found[code] = (COM_NAMES[code], [ring(r) for poly in polys for r in poly])
    return found


# -- topology: split rings into borders shared between départements ------------------------------
def chains_of(rings: dict[str, list[Ring]]) -> dict[str, list[list[Ring]]]:
    """code → for each ring, its chains: runs of points between junctions (points where the
    set of rings along the edges changes, or where three rings meet). Two neighbours get the
    same chain (possibly reversed) for their common border."""
    owners: dict[Point, set[tuple[str, int]]] = defaultdict(set)
    for code, rs in rings.items():
        for i, r in enumerate(rs):
            for p in r:
                owners[p].add((code, i))
    result: dict[str, list[list[Ring]]] = {}
    for code, rs in rings.items():
        out = []
        for r in rs:
            pts = r[:-1] if r[0] == r[-1] else r[:]
            n = len(pts)
            # the rings along each edge (those through both its ends) change at a junction
            edge = [owners[pts[k]] & owners[pts[(k + 1) % n]] for k in range(n)]
            junction = [len(owners[pts[k]]) > 2 or edge[k - 1] != edge[k] for k in range(n)]
            starts = [k for k in range(n) if junction[k]]
            if not starts:  # an island, or a border shared along its whole length
                out.append([pts + [pts[0]]])
                continue
            chains = []
            for a, b in zip(starts, starts[1:] + [starts[0] + n], strict=True):
                chains.append([pts[k % n] for k in range(a, b + 1)])
            out.append(chains)
        result[code] = out
    return result


# -- geometry ----------------------------------------------------------------------------------
def douglas_peucker(points: Sequence[Point], tolerance: float) -> list[Point]:
    """The points of ``points`` Douglas–Peucker keeps within ``tolerance`` (ends kept)."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (ax, ay), (bx, by) = points[first], points[last]
        dx, dy = bx - ax, by - ay
        norm = math.hypot(dx, dy)
        best, index = -1.0, -1
        for k in range(first + 1, last):
            px, py = points[k]
            if norm == 0:
                dist = math.hypot(px - ax, py - ay)
            else:
                dist = abs(dy * (px - ax) - dx * (py - ay)) / norm
            if dist > best:
                best, index = dist, k
        if best > tolerance:
            keep[index] = True
            stack.append((first, index))
            stack.append((index, last))
    return [p for p, k in zip(points, keep, strict=True) if k]


def simplify_closed(ring: Sequence[Point], tolerance: float) -> list[Point]:
    """A closed ring simplified: split at its first point and the point farthest from it."""
    pts = list(ring[:-1]) if ring[0] == ring[-1] else list(ring)
    if len(pts) < 4:
        return pts + [pts[0]]
    far = max(range(len(pts)), key=lambda k: math.dist(pts[0], pts[k]))
    one = douglas_peucker(pts[: far + 1], tolerance)
    two = douglas_peucker(pts[far:] + [pts[0]], tolerance)
    return one + two[1:]


def area(ring: Sequence[Point]) -> float:
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False))) / 2


def bounds(rings: Iterable[Sequence[Point]]) -> tuple[float, float, float, float]:
    rings = list(rings)
    xs = [x for r in rings for x, _ in r]
    ys = [y for r in rings for _, y in r]
    return min(xs), min(ys), max(xs), max(ys)


class Projection:
    """Equirectangular, longitudes scaled by cos(``lat0``), fitted into ``box``."""

    def __init__(
        self, rings: list[Ring], box: tuple[float, float, float, float], lat0: float, *, top: bool = False
    ):
        self.k = math.cos(math.radians(lat0))
        x0, y0, x1, y1 = bounds(rings)
        self.lon0, self.lat1 = x0, y1
        w, h = (x1 - x0) * self.k, y1 - y0
        bx, by, bw, bh = box
        self.scale = min(bw / w, bh / h)
        # centred in the box (or at its top)
        self.ox = bx + (bw - w * self.scale) / 2
        self.oy = by if top else by + (bh - h * self.scale) / 2
        self.width, self.height = w * self.scale, h * self.scale

    def __call__(self, p: Point) -> Point:
        lon, lat = p
        return (self.ox + (lon - self.lon0) * self.k * self.scale, self.oy + (self.lat1 - lat) * self.scale)


# -- writing -----------------------------------------------------------------------------------
def number(tenths: int) -> str:
    """An integer count of tenths as short SVG text: 12 → "1.2", -5 → "-.5", 30 → "3"."""
    sign = "-" if tenths < 0 else ""
    whole, frac = divmod(abs(tenths), 10)
    if frac == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole if whole else ''}.{frac}"


def path_data(rings: Iterable[Sequence[Point]]) -> str:
    """Relative SVG path commands of closed rings, coordinates rounded to 0.1."""
    parts: list[str] = []
    cx = cy = 0
    for ring in rings:
        pts = [(round(x * 10), round(y * 10)) for x, y in ring]
        clean = [pts[0]]
        for p in pts[1:]:
            if p != clean[-1]:
                clean.append(p)
        if clean[-1] == clean[0]:
            clean.pop()
        if len(clean) < 3:
            continue
        out: list[str] = []
        (x, y), rest = clean[0], clean[1:]
        out.append(("m" if parts else "M") + join((x - cx, y - cy)))
        out.append("l" + join(v for (px, py), (qx, qy) in zip([clean[0], *rest], rest, strict=False)
                              for v in (qx - px, qy - py)))  # fmt: skip
        parts.append("".join(out) + "z")
        cx, cy = x, y  # after "z" the current point is the ring's start
    return "".join(parts)


def join(values: Iterable[int]) -> str:
    out = ""
    for v in values:
        text = number(v)
        out += text if not out or text.startswith("-") else " " + text
    return out


def derive(
    deps: dict[str, tuple[str, list[Ring]]], tolerance: float, min_island: float
) -> tuple[dict, list[str]]:
    notes: list[str] = []
    metro = {c: rings for c, (_, rings) in deps.items() if c not in DROM and c not in COM}
    overseas = [c for c in DROM + COM if c in deps]
    for c in DROM + COM:
        if c not in deps:
            notes.append(f"{c}: not in the input, no shape")

    chains = chains_of(metro)
    metro_proj = Projection([r for rs in metro.values() for r in rs], METRO_BOX, 46.5, top=True)
    height = round(METRO_BOX[1] + metro_proj.height + 6)
    cache: dict[tuple[Point, ...], list[Point]] = {}

    def simplify_chain(chain: Ring) -> list[Point]:
        key = tuple(chain)
        flipped = key[::-1]
        canon = min(key, flipped)
        if canon not in cache:
            projected = [metro_proj(p) for p in canon]
            if canon[0] == canon[-1]:
                cache[canon] = simplify_closed(projected, tolerance)
            else:
                cache[canon] = douglas_peucker(projected, tolerance)
        simple = cache[canon]
        return simple if canon == key else simple[::-1]

    shapes: dict[str, list[list[Point]]] = {}
    for code, ring_chains in chains.items():
        rings = []
        for cs in ring_chains:
            ring: list[Point] = []
            for chain in cs:
                part = simplify_chain(chain)
                ring.extend(part if not ring else part[1:])
            rings.append(ring)
        shapes[code] = rings

    # the insets: a column of frames on each side of the metropole
    frames: list[dict] = []
    column_height = height - 2 * METRO_BOX[1]
    left = [c for c in DROM if c in deps]
    right = [c for c in COM if c in deps]
    zoom_height = 150.0
    boxes: dict[str, tuple[float, float, float, float]] = {}
    if left:
        h = (column_height - GAP * (len(left) - 1)) / len(left)
        for i, code in enumerate(left):
            boxes[code] = (6.0, METRO_BOX[1] + i * (h + GAP), COLUMN_WIDTH, h)
    right_x = WIDTH - 6 - COLUMN_WIDTH
    top = METRO_BOX[1] + zoom_height + GAP
    if right:
        h = (column_height - zoom_height - GAP - GAP * (len(right) - 1)) / len(right)
        for i, code in enumerate(right):
            boxes[code] = (right_x, top + i * (h + GAP), COLUMN_WIDTH, h)
    for code in overseas:
        bx, by, bw, bh = boxes[code]
        rings = deps[code][1]
        inner = (bx + PAD, by + LABEL_ROOM, bw - 2 * PAD, bh - LABEL_ROOM - PAD)
        lat0 = (bounds(rings)[1] + bounds(rings)[3]) / 2
        proj = Projection(rings, inner, lat0)
        shapes[code] = [simplify_closed([proj(p) for p in r], tolerance) for r in rings]
        frames.append({"codes": [code], "box": [round(v, 1) for v in (bx, by, bw, bh)]})

    # the collectivités' islands are specks at their insets' scale (Polynesia spans 2,000 km):
    # small ones become dots, one per 3 px, so the archipelagos show
    for code in (c for c in COM if c in shapes):
        rings, dots, seen = [], [], set()
        for r in shapes[code]:
            if area(r) >= DOT_AREA:
                rings.append(r)
                continue
            cx = sum(x for x, _ in r) / len(r)
            cy = sum(y for _, y in r) / len(r)
            cell = (round(cx / 3), round(cy / 3))
            if cell not in seen:
                seen.add(cell)
                dots.append([(cx, cy - DOT), (cx + DOT, cy), (cx, cy + DOT), (cx - DOT, cy), (cx, cy - DOT)])
        if dots:
            notes.append(f"{code}: {len(shapes[code]) - len(rings)} islet(s) drawn as {len(dots)} dot(s)")
        shapes[code] = rings + dots

    # drop specks, never a territory's largest piece
    for code, rings in shapes.items():
        largest = max(rings, key=area)
        # in the insets, islands are much of the territory (Polynesia): keep all but dust
        floor = min_island if code in metro else min_island / 10
        kept = [r for r in rings if r is largest or area(r) >= floor]
        if len(kept) < len(rings):
            notes.append(f"{code}: {len(rings) - len(kept)} islet(s) or hole(s) under {floor} px² dropped")
        shapes[code] = kept

    # Paris and its petite couronne, enlarged in the right column's top frame
    zoom = None
    if all(c in shapes for c in PETITE_COURONNE):
        x0, y0, x1, y1 = bounds(r for c in PETITE_COURONNE for r in shapes[c])
        margin = 2.0
        source = (x0 - margin, y0 - margin, x1 - x0 + 2 * margin, y1 - y0 + 2 * margin)
        target = (right_x, METRO_BOX[1], COLUMN_WIDTH, zoom_height)
        inner = (target[0] + PAD, target[1] + LABEL_ROOM, target[2] - 2 * PAD, target[3] - LABEL_ROOM - PAD)
        k = min(inner[2] / source[2], inner[3] / source[3])
        dx = inner[0] + (inner[2] - source[2] * k) / 2
        dy = inner[1] + (inner[3] - source[3] * k) / 2
        zoom = {
            "codes": list(PETITE_COURONNE),
            "from": [round(v, 1) for v in source],
            "box": [round(v, 1) for v in target],
            "transform": [round(dx, 2), round(dy, 2), round(k, 4)],
        }

    out = {
        "viewBox": [0, 0, round(WIDTH), height],
        "departments": {
            code: {"name": deps[code][0], "d": path_data(shapes[code])}
            for code in sorted(shapes, key=sort_key)
        },
        "frames": frames,
        "zoom": zoom,
    }
    return out, notes


def sort_key(code: str) -> tuple[int, str]:
    if code in ("2A", "2B"):
        return (20, code)
    return (int(code) if code.isdigit() else 10_000, code)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("geojson", type=Path, help="departements-avec-outre-mer.geojson (france-geojson)")
    parser.add_argument("--com", type=Path, help="countries-10m.json (npm world-atlas) for 975…988")
    parser.add_argument("--out", type=Path, default=Path("attrap/serve/geo/departements.json"))
    parser.add_argument("--tolerance", type=float, default=0.3, help="Douglas–Peucker, in pixels")
    parser.add_argument("--min-island", type=float, default=0.5, help="smallest islet kept, in px²")
    args = parser.parse_args(argv)

    deps = read_geojson(args.geojson)
    sources = [{"file": args.geojson.name, "sha256": sha256(args.geojson)}]
    if args.com:
        for code, value in read_topojson_countries(args.com).items():
            deps.setdefault(code, value)
        sources.append({"file": args.com.name, "sha256": sha256(args.com)})
    data, notes = derive(deps, args.tolerance, args.min_island)
    data = {
        "attribution": (
            "Contours : IGN Admin Express COG 2018 via gregoiredavid/france-geojson (Licence Ouverte / "
            "Open Licence) ; collectivités d'outre-mer : Natural Earth (domaine public) via world-atlas. "
            "Voir LICENCE.md."
        ),
        "derived_from": sources,
        "tolerance": args.tolerance,
        **data,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    args.out.write_text(text + "\n", encoding="utf-8")
    points = {c: v["d"].count(" ") + v["d"].count("-") for c, v in data["departments"].items()}
    for note in notes:
        print(note, file=sys.stderr)
    print(
        f"{args.out}: {len(data['departments'])} shapes, {len(text.encode()) // 1024} KiB, "
        f"about {max(points.values())} numbers at most in one shape",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
