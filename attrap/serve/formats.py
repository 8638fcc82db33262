"""The output formats of the flagged decrees: JSON, CSV and Atom, in one registry.

``attrap export --format`` and the web's ``/export.<name>`` both serve :data:`FORMATS`; adding a
format here adds it to both. Each writes the decrees' one model,
:class:`attrap.store.read.DecreeRecord`: the JSON is its ``model_dump(mode="json")`` (what the
API answers), the CSV flattens that, the Atom feed reads its typed fields. Text in decrees comes
from PDFs and is untrusted: the Atom feed is
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
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

import regex

from attrap import __version__
from attrap.config import PROJECT_URL
from attrap.rules.changes import PARTICIPLES
from attrap.rules.frdates import format_date, format_period

if TYPE_CHECKING:  # the store (SQLAlchemy) is loaded by what exports, not by what lists the formats
    from attrap.store.read import Catalog, DecreeChange, DecreeRecord, Filter

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
    "legal_basis", "flags", "hours_signature_to_publication", "hours_start_to_publication",
    "hours_publication_to_first_seen", "hours_start_to_first_seen", "published_after_start",
    "changes", "changed_by", "court", "doubts",
)  # fmt: skip
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_json(records: Sequence[DecreeRecord]) -> str:
    return json.dumps([r.model_dump(mode="json") for r in records], ensure_ascii=False, indent=2) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = " ; ".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _change(c: DecreeChange) -> str:
    """ "abrogation 13-2026-10-16-00010 2026-10-16": the kind, the other decree's number and date."""
    return " ".join(x for x in (c.kind, c.number or "", str(c.signed_on or "")) if x)


def _cited(c: DecreeChange) -> str:
    name = "l'arrêté" + (f" n° {c.number}" if c.number else "")
    return name + (f" du {format_date(c.signed_on)}" if c.signed_on else "")


#: how the feeds and pages say a court's decision
COURT = {
    "court-suspended": "Suspendu par le juge",
    "court-annulled": "Annulé par le juge",
    "court-rejected": "Recours rejeté par le juge",
}


def life_lines(r: DecreeRecord) -> list[str]:
    """ "Abrogé par l'arrêté n° … du …", "Modifie l'arrêté n° …", court decisions: one a line."""
    lines = [f"{PARTICIPLES.get(c.kind, c.kind).capitalize()} par {_cited(c)}" for c in r.changed_by]
    lines += [f"{c.kind.capitalize()} de {_cited(c)}" for c in r.changes]
    for c in r.court:
        when = f" le {format_date(c.decided_on)}" if c.decided_on else ""
        lines.append(f"{COURT.get(c.kind, c.kind)}{when}" + (f" ({c.note})" if c.note else ""))
    return lines


def csv_row(r: DecreeRecord) -> list[str]:
    """One record as CSV cells, in the order of CSV_COLUMNS (the JSON's values, flattened)."""
    data = r.model_dump(mode="json")
    # the lateness's figures only: its "published" (a moment) is not the recueil's day
    figures = {k: v for k, v in data["lateness"].items() if k.startswith(("hours_", "published_after"))}
    flat = {**data, **data["details"], **figures, "flags": [f["text"] for f in data["flags"]]}
    flat["changes"] = [_change(c) for c in r.changes]
    flat["changed_by"] = [_change(c) for c in r.changed_by]
    flat["court"] = [" ".join(filter(None, (c.kind, str(c.decided_on or ""), c.url))) for c in r.court]
    return [_cell(flat[c]) for c in CSV_COLUMNS]


def to_csv(records: Iterable[DecreeRecord]) -> str:
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


def _atom_time(value: datetime | None) -> str:
    when = value or _EPOCH
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def summary(r: DecreeRecord, labels: dict[str, str] | None = None) -> str:
    """Where, when, who, in French, one fact a line."""
    labels = labels or {}
    d = r.details
    where = " ; ".join(d.places)
    if d.event:
        where = f"{where} — {d.event}" if where else d.event
    who = d.service or ""
    counts = []
    if d.aircraft:
        counts.append(f"{d.aircraft} aéronef{'s' if d.aircraft > 1 else ''}")
    if d.cameras:
        counts.append(f"{d.cameras} caméra{'s' if d.cameras > 1 else ''}")
    who = ", ".join(p for p in [who, *counts] if p)
    prefecture = r.prefecture + (f" ({r.department})" if r.department else "")
    cats = ", ".join(labels.get(c, c) for c in r.categories)
    signed = f"signé le {format_date(r.signed_on)}" if r.signed_on else ""
    lines = [
        f"{prefecture} — {cats}",
        f"Où : {where}" if where else "Où : non précisé dans l'arrêté",
        f"Quand : {format_period(d.start, d.end)}" if d.start else "Quand : non précisé dans l'arrêté",
        f"Qui : {who}" if who else "Qui : non précisé dans l'arrêté",
        " ".join(p for p in [f"Arrêté n° {r.number}" if r.number else "Arrêté", signed] if p),
    ]
    if d.legal_basis:
        lines.append("Base légale : " + " ; ".join(d.legal_basis))
    lines += [f"⚠️ {f.text}" for f in r.flags]
    lines += life_lines(r)
    if r.published:
        lines.append(f"Recueil publié le {format_date(r.published)}")
    return "\n".join(lines)


def to_atom(
    records: Sequence[DecreeRecord],
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
    _sub(feed, "updated", _atom_time(max((r.first_seen_at for r in records), default=None)))
    author = _sub(feed, "author")
    _sub(author, "name", "attrap")
    _sub(author, "uri", PROJECT_URL)
    _sub(feed, "generator", "attrap", uri=PROJECT_URL, version=__version__)
    if self_url:
        _sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    for r in records:
        entry = _sub(feed, "entry")
        _sub(entry, "id", r.uid)
        _sub(entry, "title", r.title or f"Arrêté {r.number or ''}".strip(), type="text")
        _sub(entry, "link", rel="alternate", type="application/pdf", href=r.link)
        related = [(ch, PARTICIPLES.get(ch.kind, ch.kind) + " par") for ch in r.changed_by]
        for other, said in related + [(ch, ch.kind) for ch in r.changes]:
            if other.link:  # the other decree's page of its PDF
                title = f"{said} {_cited(other)}"
                _sub(entry, "link", rel="related", type="application/pdf", href=other.link, title=title)
        _sub(entry, "updated", _atom_time(r.first_seen_at))
        entry_author = _sub(entry, "author")
        _sub(entry_author, "name", r.prefecture)
        for c in r.categories:
            _sub(entry, "category", term=c, label=(labels or {}).get(c, c))
        _sub(entry, "summary", summary(r, labels), type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _atom(catalog: Catalog, records: list[DecreeRecord], f: Filter) -> bytes:
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
    render: Callable[[Catalog, list[DecreeRecord], Filter], bytes]

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
    from attrap.store.read import BadParameter, Filter

    if fmt not in FORMATS:
        raise BadParameter("format", f"expected one of {', '.join(FORMATS)}")
    f = f or Filter()
    return FORMATS[fmt].render(catalog, catalog.find(f).records, f)
