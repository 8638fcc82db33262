"""The output formats of the flagged decrees: JSON, CSV and Atom, in one registry.

``attrap export --format`` and the web's ``/export.<name>`` both serve :data:`FORMATS`; adding a
format here adds it to both. Text in decrees comes from PDFs and is untrusted: the Atom feed is
built with :mod:`xml.etree.ElementTree` (characters XML cannot hold are dropped), and CSV cells
that a spreadsheet would run as a formula are prefixed with a quote.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from xml.etree import ElementTree as ET

import regex

from attrap import __version__
from attrap.config import PROJECT_URL
from attrap.rules.frdates import format_date, format_period
from attrap.store.read import BadParameter, Catalog, Filter

ATOM_NS = "http://www.w3.org/2005/Atom"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
#: characters XML 1.0 cannot hold (control characters a PDF or OCR may leave in a title)
_NOT_XML = regex.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: a spreadsheet runs a cell starting with one of these as a formula (CSV injection)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: the columns of the CSV export, in order
CSV_COLUMNS = (
    "id", "uid", "source_id", "prefecture", "department", "categories", "title", "number", "signed_on",
    "link", "first_page", "last_page", "recueil_url", "recueil_title", "published", "first_seen_at",
    "pdf_created_at", "places", "event", "start", "end", "service", "cameras", "aircraft",
    "legal_basis", "flags",
)  # fmt: skip
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_json(records: Sequence[dict[str, Any]]) -> str:
    return json.dumps(list(records), ensure_ascii=False, indent=2) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = " ; ".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_row(r: dict[str, Any]) -> list[str]:
    """One record as CSV cells, in the order of CSV_COLUMNS."""
    flat = {**r, **r["details"], "flags": [f["text"] for f in r["flags"]]}
    return [_cell(flat[c]) for c in CSV_COLUMNS]


def to_csv(records: Iterable[dict[str, Any]]) -> str:
    """One row per decree after a header row; lists joined with " ; "."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in records:
        writer.writerow(csv_row(r))
    return out.getvalue()


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: _xml_text(v) for k, v in attrs.items()})
    if text is not None:
        el.text = _xml_text(text)
    return el


def _atom_time(value: str | None) -> str:
    when = datetime.fromisoformat(value) if value else _EPOCH
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def summary(r: dict[str, Any], labels: dict[str, str] | None = None) -> str:
    """Where, when, who, in French, one fact a line."""
    labels = labels or {}
    d = r["details"]
    start = datetime.fromisoformat(d["start"]) if d["start"] else None
    end = datetime.fromisoformat(d["end"]) if d["end"] else None
    where = " ; ".join(d["places"])
    if d["event"]:
        where = f"{where} — {d['event']}" if where else d["event"]
    who = d["service"] or ""
    counts = []
    if d["aircraft"]:
        counts.append(f"{d['aircraft']} aéronef{'s' if d['aircraft'] > 1 else ''}")
    if d["cameras"]:
        counts.append(f"{d['cameras']} caméra{'s' if d['cameras'] > 1 else ''}")
    who = ", ".join(p for p in [who, *counts] if p)
    prefecture = r["prefecture"] + (f" ({r['department']})" if r["department"] else "")
    cats = ", ".join(labels.get(c, c) for c in r["categories"])
    signed = f"signé le {format_date(date.fromisoformat(r['signed_on']))}" if r["signed_on"] else ""
    lines = [
        f"{prefecture} — {cats}",
        f"Où : {where}" if where else "Où : non précisé dans l'arrêté",
        f"Quand : {format_period(start, end)}" if start else "Quand : non précisé dans l'arrêté",
        f"Qui : {who}" if who else "Qui : non précisé dans l'arrêté",
        " ".join(p for p in [f"Arrêté n° {r['number']}" if r["number"] else "Arrêté", signed] if p),
    ]
    if d["legal_basis"]:
        lines.append("Base légale : " + " ; ".join(d["legal_basis"]))
    lines += [f"⚠️ {f['text']}" for f in r["flags"]]
    if r["published"]:
        lines.append(f"Recueil publié le {format_date(date.fromisoformat(r['published']))}")
    return "\n".join(lines)


def to_atom(
    records: Sequence[dict[str, Any]],
    *,
    title: str = "attrap — arrêtés signalés",
    feed_id: str | None = None,
    self_url: str | None = None,
    labels: dict[str, str] | None = None,
) -> bytes:
    """An Atom 1.0 feed (RFC 4287), one entry per decree, as UTF-8 bytes."""
    # unqualified tags under an xmlns attribute: Atom elements, with no ns0: prefixes
    feed = ET.Element("feed", {"xmlns": ATOM_NS, _XML_LANG: "fr"})
    _sub(feed, "id", feed_id or f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, PROJECT_URL + '#' + title)}")
    _sub(feed, "title", title, type="text")
    times = [r["first_seen_at"] for r in records if r["first_seen_at"]]
    _sub(feed, "updated", _atom_time(max(times, key=datetime.fromisoformat) if times else None))
    author = _sub(feed, "author")
    _sub(author, "name", "attrap")
    _sub(author, "uri", PROJECT_URL)
    _sub(feed, "generator", "attrap", uri=PROJECT_URL, version=__version__)
    if self_url:
        _sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    for r in records:
        entry = _sub(feed, "entry")
        _sub(entry, "id", r["uid"])
        _sub(entry, "title", r["title"] or f"Arrêté {r['number'] or ''}".strip(), type="text")
        _sub(entry, "link", rel="alternate", type="application/pdf", href=r["link"])
        _sub(entry, "updated", _atom_time(r["first_seen_at"]))
        entry_author = _sub(entry, "author")
        _sub(entry_author, "name", r["prefecture"])
        for c in r["categories"]:
            _sub(entry, "category", term=c, label=(labels or {}).get(c, c))
        _sub(entry, "summary", summary(r, labels), type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _atom(catalog: Catalog, records: list[dict[str, Any]], f: Filter) -> bytes:
    parts = [catalog.categories.get(f.category, f.category) if f.category else "arrêtés signalés"]
    if f.department:
        parts.append(f"département {f.department}")
    if f.source_id:
        parts.append(catalog.sources[f.source_id].name)
    return to_atom(records, title="attrap — " + ", ".join(parts), labels=catalog.categories)


@dataclass(frozen=True)
class Format:
    """One output format of the flagged decrees: what ``attrap export --format`` and the web's
    ``/export.<name>`` both serve."""

    name: str
    media_type: str
    description: str
    render: Callable[[Catalog, list[dict[str, Any]], Filter], bytes]

    @property
    def filename(self) -> str:
        return f"attrap-arretes.{self.name}"


#: the formats, in one place: adding one here adds it to the CLI and to the web
FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("json", "application/json; charset=utf-8", "a JSON list of records",
               lambda _c, records, _f: to_json(records).encode("utf-8")),
        Format("csv", "text/csv; charset=utf-8", "a CSV table, one row per decree (CSV_COLUMNS)",
               lambda _c, records, _f: to_csv(records).encode("utf-8")),
        Format("atom", "application/atom+xml; charset=utf-8", "an Atom 1.0 feed", _atom),
    )
}  # fmt: skip


def export(catalog: Catalog, fmt: str, f: Filter | None = None) -> bytes:
    """Every flagged decree ``f`` selects, in ``fmt`` (one of :data:`FORMATS`), as UTF-8 bytes."""
    if fmt not in FORMATS:
        raise BadParameter("format", f"expected one of {', '.join(FORMATS)}")
    f = f or Filter()
    return FORMATS[fmt].render(catalog, catalog.find(f).records, f)
