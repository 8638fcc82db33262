"""The map of départements: the shipped shapes, the SVG renderer, the derivation script."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from markupsafe import Markup

from attrap.crawl.sources import registry
from attrap.serve import carte, departements

ROOT = Path(__file__).resolve().parent.parent
GEO = ROOT / "attrap" / "serve" / "geo"
SVG = "{http://www.w3.org/2000/svg}"
#: the bound the shipped data must stay under (bytes)
MAX_DATA_BYTES = 300_000


def href(code: str) -> str:
    return f"/?departement={code}&periode=12m"


def parse(svg: Markup) -> ET.Element:
    return ET.fromstring(str(svg))


def links(root: ET.Element) -> dict[str, ET.Element]:
    """The departments' links, by code, outside the (aria-hidden) Paris zoom."""
    hidden = {
        id(a) for g in root.iter(f"{SVG}g") if g.get("aria-hidden") == "true" for a in g.iter(f"{SVG}a")
    }
    out: dict[str, ET.Element] = {}
    for a in root.iter(f"{SVG}a"):
        if id(a) in hidden:
            continue
        code = a.get("data-code")
        assert code not in out, f"two links for {code}"
        out[code] = a
    return out


def path_of(root: ET.Element, code: str) -> ET.Element:
    return links(root)[code].find(f"{SVG}path")


def absolute_points(d: str) -> list[list[tuple[float, float]]]:
    """The rings of an M/m/l/z path (what the script writes), in absolute coordinates."""
    assert re.fullmatch(r"M[-.\d lmz]+", d), d[:80]
    rings: list[list[tuple[float, float]]] = []
    x = y = 0.0
    for command, numbers in re.findall(r"([Mmlz])([^Mmlz]*)", d):
        values = [float(v) for v in re.findall(r"-?(?:\d+\.?\d*|\.\d+)", numbers)]
        if command == "z":
            x, y = rings[-1][0]
            continue
        assert len(values) % 2 == 0, (command, numbers)
        pairs = list(zip(values[::2], values[1::2], strict=True))
        if command in "Mm":
            (dx, dy), pairs = pairs[0], pairs[1:]
            x, y = (dx, dy) if command == "M" else (x + dx, y + dy)
            rings.append([(x, y)])
        for dx, dy in pairs:
            x, y = x + dx, y + dy
            rings[-1].append((x, y))
    return rings


# -- the data ---------------------------------------------------------------------------------
def test_every_known_department_has_a_shape():
    drawn = set(carte.shapes()["departments"])
    assert set(departements.NAMES) <= drawn
    assert {"2A", "2B", "971", "972", "973", "974", "976"} <= drawn
    assert {f"{n:02d}" for n in range(1, 96) if n != 20} <= drawn


def test_every_department_a_source_names_has_a_shape():
    named = {s.department for s in registry().values() if s.department}
    assert named
    assert named <= set(carte.shapes()["departments"])


def test_shipped_data_stays_small_and_paths_are_within_the_view_box():
    assert (GEO / "departements.json").stat().st_size < MAX_DATA_BYTES
    data = carte.shapes()
    _, _, width, height = data["viewBox"]
    assert 900 <= width <= 1100
    frames = {c: f["box"] for f in data["frames"] for c in f["codes"]}
    for code, shape in data["departments"].items():
        rings = absolute_points(shape["d"])
        points = [p for r in rings for p in r]
        assert 3 <= len(points) <= 3000, (code, len(points))
        assert all(-0.1 <= x <= width + 0.1 and -0.1 <= y <= height + 0.1 for x, y in points), code
        if code in frames:  # an overseas territory stays in its frame
            fx, fy, fw, fh = frames[code]
            assert all(fx <= x <= fx + fw and fy <= y <= fy + fh for x, y in points), code


def test_insets_do_not_overlap_the_metropole():
    data = carte.shapes()
    boxes = [f["box"] for f in data["frames"]] + [data["zoom"]["box"]]
    metro = [
        p
        for code, shape in data["departments"].items()
        if not any(code in f["codes"] for f in data["frames"])
        for r in absolute_points(shape["d"])
        for p in r
    ]
    for bx, by, bw, bh in boxes:
        assert not any(bx <= x <= bx + bw and by <= y <= by + bh for x, y in metro), (bx, by)


def test_corsica_is_two_departments_in_the_metropole():
    data = carte.shapes()
    xs = {
        c: [x for r in absolute_points(data["departments"][c]["d"]) for x, _ in r] for c in ("2A", "2B", "13")
    }
    assert min(xs["2A"]) > max(xs["13"])  # east of the Bouches-du-Rhône
    assert not any("2A" in f["codes"] for f in data["frames"])


def test_names_of_the_dataset_match_the_site_s():
    for code, shape in carte.shapes()["departments"].items():
        assert shape["name"] == departements.NAMES[code], code


def test_licence_file_names_the_datasets_and_their_licences():
    text = (GEO / "LICENCE.md").read_text(encoding="utf-8")
    assert "Licence Ouverte" in text
    assert "gregoiredavid/france-geojson" in text
    assert "IGN" in text and "ADMIN EXPRESS" in text
    assert "Natural Earth" in text and "public domain" in text
    assert "tools/make_departements_map.py" in text
    assert "Licence Ouverte" in carte.ATTRIBUTION


# -- the renderer -----------------------------------------------------------------------------
def test_svg_parses_and_has_one_link_per_department_where_href_says():
    states = {"13": carte.DepartmentState(count=3)}
    svg = carte.render_map(states, href=href)
    assert isinstance(svg, Markup)
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("aria-labelledby") == "carte-title"
    assert root.find(f"{SVG}title").get("id") == "carte-title"
    assert root.find(f"{SVG}title").text == "Arrêtés signalés par département"
    found = links(root)
    assert set(found) == set(carte.shapes()["departments"])
    for code, a in found.items():
        assert a.get("href") == href(code)  # the & came back from &amp;
        assert a.find(f"{SVG}path") is not None
    assert "&amp;periode" in str(svg)
    assert found["13"].find(f"{SVG}title").text == "Bouches-du-Rhône (13) : 3 arrêtés signalés"


def test_paris_zoom_links_are_hidden_copies():
    root = parse(carte.render_map({}, href=href))
    zoom = [g for g in root.iter(f"{SVG}g") if g.get("aria-hidden") == "true"]
    assert len(zoom) == 1
    copies = {a.get("data-code"): a for a in zoom[0].iter(f"{SVG}a")}
    assert set(copies) == {"75", "92", "93", "94"}
    assert all(a.get("tabindex") == "-1" and a.get("href") == href(c) for c, a in copies.items())


def test_href_none_draws_the_department_without_a_link():
    root = parse(carte.render_map({}, href=lambda c: None if c == "975" else href(c)))
    assert "975" not in links(root)
    assert any(g.get("data-code") == "975" for g in root.iter(f"{SVG}g"))


@pytest.mark.parametrize(
    ("state", "cls", "fill"),
    [
        (None, "carte-not-watched", "url(#carte-dots)"),
        (carte.DepartmentState(count=5, watched=False), "carte-not-watched", "url(#carte-dots)"),
        (carte.DepartmentState(count=0), "carte-none", carte.WHITE),
        (carte.DepartmentState(count=1), "carte-c1", carte.BLUES[4][0]),
        (carte.DepartmentState(count=3), "carte-c2", carte.BLUES[4][1]),
        (carte.DepartmentState(count=9), "carte-c3", carte.BLUES[4][2]),
        (carte.DepartmentState(count=250), "carte-c4", carte.BLUES[4][3]),
        (
            carte.DepartmentState(count=0, healthy=False),
            "carte-none carte-unhealthy",
            "url(#carte-panne-none)",
        ),
        (carte.DepartmentState(count=12, healthy=False), "carte-c4 carte-unhealthy", "url(#carte-panne-c4)"),
    ],
)
def test_a_department_s_state_sets_its_fill(state, cls, fill):
    states = {"69": state} if state else {}
    root = parse(carte.render_map(states, href=href))
    path = path_of(root, "69")
    assert path.get("class") == cls
    assert path.get("fill") == fill
    if fill.startswith("url(#"):  # the pattern it names is defined
        pid = fill[5:-1]
        assert any(p.get("id") == pid for p in root.iter(f"{SVG}pattern"))


def test_states_are_told_apart_in_the_tooltip():
    root = parse(
        carte.render_map(
            {
                "01": carte.DepartmentState(count=1),
                "02": carte.DepartmentState(count=0),
                "03": carte.DepartmentState(count=2, healthy=False),
                "04": carte.DepartmentState(count=1234),
            },
            href=href,
        )
    )
    tips = {c: a.find(f"{SVG}title").text for c, a in links(root).items()}
    assert tips["01"] == "Ain (01) : 1 arrêté signalé"
    assert tips["02"] == "Aisne (02) : aucun arrêté signalé"
    assert tips["03"].startswith("Allier (03) : 2 arrêtés signalés — source en panne")
    assert tips["04"] == "Alpes-de-Haute-Provence (04) : 1\u202f234 arrêtés signalés"
    assert tips["05"] == "Hautes-Alpes (05) : aucune source suivie"


def test_special_states_are_textures_and_the_scale_gets_darker():
    def lightness(colour: str) -> float:
        r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    for n, ramp in carte.BLUES.items():
        assert len(ramp) == n
        values = [lightness(carte.WHITE), *map(lightness, ramp)]
        assert all(a - b > 0.08 for a, b in zip(values, values[1:], strict=False)), n
    entries = {e.key: e for e in carte.legend()}
    assert entries[carte.NOT_WATCHED].pattern == "dots"
    assert entries[carte.UNHEALTHY].pattern == "stripes"
    assert entries[carte.NONE].pattern is None


def test_names_and_texts_are_escaped():
    states = {"13": carte.DepartmentState(count=2, name='<b>&"x"')}
    svg = carte.render_map(states, href=lambda c: f'/d/{c}?"><script>', title="<i>Carte</i> & co")
    text = str(svg)
    assert "<b>" not in text and "<script>" not in text and "<i>" not in text
    assert "&lt;b&gt;&amp;" in text
    root = parse(svg)
    a = links(root)["13"]
    assert a.find(f"{SVG}title").text == '<b>&"x" (13) : 2 arrêtés signalés'
    assert a.get("href") == '/d/13?"><script>'
    assert root.find(f"{SVG}title").text == "<i>Carte</i> & co"


def test_inset_labels_are_escaped_too():
    root = parse(carte.render_map({"974": carte.DepartmentState(name="Réunion <&>")}, href=href))
    labels = [t.text for t in links(root)["974"].iter(f"{SVG}text")]
    assert labels == ["Réunion <&>"]


def test_id_prefix_keeps_ids_apart_and_must_be_plain():
    root = parse(carte.render_map({"13": carte.DepartmentState(healthy=False)}, href=href, id_prefix="m2"))
    assert root.get("aria-labelledby") == "m2-title"
    assert path_of(root, "13").get("fill") == "url(#m2-panne-none)"
    assert path_of(root, "14").get("fill") == "url(#m2-dots)"
    with pytest.raises(ValueError):
        carte.render_map({}, href=href, id_prefix='x" onload="')


def test_legend_in_the_svg_and_as_data():
    root = parse(carte.render_map({}, href=href))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for label in (
        "Aucune source suivie",
        "Source en panne (hachures)",
        "0 arrêté signalé",
        "1",
        "2 à 3",
        "4 à 9",
        "10 ou plus",
    ):
        assert label in texts
    assert carte.ATTRIBUTION in texts
    bare = parse(carte.render_map({}, href=href, show_legend=False))
    assert "10 ou plus" not in [t.text for t in bare.iter(f"{SVG}text")]
    assert float(bare.get("viewBox").split()[3]) < float(root.get("viewBox").split()[3])
    labels = [e.label for e in carte.legend((1, 5, 20))]
    assert labels[3:] == ["1 à 4", "5 à 19", "20 ou plus"]
    swatch = ET.fromstring(str(carte.legend_swatch(carte.legend()[1])))
    assert swatch.get("aria-hidden") == "true"
    assert swatch.find(f"{SVG}rect").get("fill") == "url(#carte-legende-unhealthy)"


def test_bins():
    assert carte.class_of(0) == carte.NONE
    assert [carte.class_of(n) for n in (1, 2, 3, 4, 9, 10, 99)] == ["c1", "c2", "c2", "c3", "c3", "c4", "c4"]
    assert carte.class_of(7, (1, 5, 20)) == "c2"
    assert carte.auto_bins([0, 1, 3, 8]) == carte.DEFAULT_BINS
    bins = carte.auto_bins([1, 2, 5, 8, 15, 30, 60, 120, 200, 400])
    assert bins[0] == 1 and len(bins) >= 3 and list(bins) == sorted(set(bins))
    assert carte.auto_bins([50] * 10) == carte.DEFAULT_BINS
    for bad in ((1, 2), (2, 4, 8), (1, 3, 3), (1, 2, 3, 4, 5, 6)):
        with pytest.raises(ValueError):
            carte.render_map({}, href=href, bins=bad)
    root = parse(carte.render_map({"13": carte.DepartmentState(count=30)}, href=href, bins=(1, 2, 5, 10, 20)))
    assert path_of(root, "13").get("fill") == carte.BLUES[5][4]


def test_table_gives_both_links_and_the_state():
    states = {
        "13": carte.DepartmentState(count=3),
        "75": carte.DepartmentState(count=0, healthy=False),
    }
    rows = {
        r.code: r for r in carte.table(states, href=href, source_href=lambda c: f"/sources/pref{c.lower()}")
    }
    assert list(rows) == carte.codes()
    assert rows["13"].status == "3" and rows["13"].state == "c2"
    assert rows["13"].href == href("13") and rows["13"].source_href == "/sources/pref13"
    assert rows["75"].state == carte.UNHEALTHY and rows["75"].status == "0 (source en panne)"
    assert rows["975"].state == carte.NOT_WATCHED and rows["975"].source_href is None
    assert rows["975"].status == "Aucune source suivie"


# -- the derivation script ------------------------------------------------------------------------
def _script():
    spec = importlib.util.spec_from_file_location(
        "make_departements_map", ROOT / "tools" / "make_departements_map.py"
    )
    module = importlib.util.module_from_spec(spec)
    written, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no tools/__pycache__
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = written
    return module


def _square(x0: float, y0: float, size: float, steps: int = 20) -> list[list[float]]:
    """A closed square ring with many points on each side (so simplification has work)."""
    side = [i / steps * size for i in range(steps)]
    ring = [[x0 + s, y0] for s in side] + [[x0 + size, y0 + s] for s in side]
    ring += [[x0 + size - s, y0 + size] for s in side] + [[x0, y0 + size - s] for s in side]
    return ring + [ring[0]]


def test_script_derives_shapes_with_shared_borders_and_insets(tmp_path):
    features = [
        {"type": "Feature", "properties": {"code": "01", "nom": "Ain"},
         "geometry": {"type": "Polygon", "coordinates": [_square(0, 45, 1)]}},
        {"type": "Feature", "properties": {"code": "02", "nom": "Aisne"},
         "geometry": {"type": "Polygon", "coordinates": [_square(1, 45, 1)]}},
        {"type": "Feature", "properties": {"code": "974", "nom": "La Réunion"},
         "geometry": {"type": "MultiPolygon", "coordinates": [[_square(55, -21, 0.5)]]}},
    ]  # fmt: skip
    source = tmp_path / "deps.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    out = tmp_path / "out.json"
    assert _script().main([str(source), "--out", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data["departments"]) == {"01", "02", "974"}
    assert data["departments"]["974"]["name"] == "La Réunion"
    assert [f["codes"] for f in data["frames"]] == [["974"]]
    ain, aisne = (absolute_points(data["departments"][c]["d"])[0] for c in ("01", "02"))
    assert len(ain) == 4 and len(aisne) == 4  # straight sides simplified to the corners
    right_of_ain = {(round(x, 1), round(y, 1)) for x, y in ain if x > 400}
    left_of_aisne = {(round(x, 1), round(y, 1)) for x, y in aisne if x < 600}
    assert right_of_ain == left_of_aisne  # the shared border is the same in both


def test_douglas_peucker_keeps_ends_and_far_points():
    dp = _script().douglas_peucker
    assert dp([(0, 0), (1, 0.01), (2, 0)], 0.1) == [(0, 0), (2, 0)]
    assert dp([(0, 0), (1, 1), (2, 0)], 0.1) == [(0, 0), (1, 1), (2, 0)]
