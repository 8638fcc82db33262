"""The records that flow between stages.

scrapers → fetch → extract → split → classify → store → publish. Each stage takes and returns
these plain dataclasses, so a stage can be tested, replaced or run in another process alone.

Glossary (the domain is French):
- *RAA*, *recueil des actes administratifs*: a prefecture's compilation of decrees, one PDF.
- *Recueil*: one such PDF file.
- *Arrêté*: a decree, here one prefectoral decision inside a recueil.
- *Préfecture*: the State's office in a département (or région), which publishes recueils.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class RecueilLink:
    """A PDF a scraper found on a prefecture's website, before anything is downloaded."""

    source_id: str
    url: str
    title: str
    published: date | None = None
    #: the listing page it was found on, for error reports
    found_on: str | None = None


@dataclass
class Page:
    """The text of one PDF page (1-based ``number``)."""

    number: int
    #: text normalised for matching (NFC, ligatures undone, line-end hyphenation joined,
    #: whitespace collapsed to single spaces or newlines)
    text: str
    #: text as the extractor returned it
    raw: str = ""
    #: how the text was obtained: "text" (the PDF's text layer) or "ocr"
    method: str = "text"
    #: mean OCR word confidence in 0..100, for OCR'd pages
    confidence: float | None = None


@dataclass
class Decree:
    """One decree (arrêté) found inside a recueil: a contiguous page range."""

    title: str
    first_page: int
    last_page: int
    pages: list[Page] = field(default_factory=list, repr=False)
    number: str | None = None
    signed_on: date | None = None
    signatory: str | None = None
    #: the title the recueil's sommaire gives it (clean where the page reads badly)
    sommaire_title: str | None = None
    #: listed by the sommaire, its pages are not in the PDF (a truncated file): ``pages`` empty
    missing: bool = False

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.pages)

    @property
    def ocr_pages(self) -> list[dict[str, float | int | None]]:
        """The pages read by OCR, with tesseract's mean confidence (0-100)."""
        return [{"page": p.number, "confidence": p.confidence} for p in self.pages if p.method == "ocr"]


@dataclass(frozen=True)
class Match:
    """One rule that fired on a decree, with where and what it matched."""

    rule: str
    category: str
    page: int
    excerpt: str


@dataclass
class Details:
    """What a flagged decree authorises, where, when, by whom. Empty fields were not found."""

    places: list[str] = field(default_factory=list)
    event: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    service: str | None = None
    cameras: int | None = None
    aircraft: int | None = None
    legal_basis: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("start", "end"):
            data[key] = data[key].isoformat() if data[key] else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Details:
        data = dict(data or {})
        for key in ("start", "end"):
            data[key] = datetime.fromisoformat(data[key]) if data.get(key) else None
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class ClassifiedDecree:
    """A decree with the categories its rules gave it (empty when nothing fired)."""

    decree: Decree
    categories: list[str] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    #: what a flagged decree authorises, where and when (attrap.rules.details)
    details: Details | None = None
    #: flagged from its sommaire entry's title: its own pages gave no decision (missing,
    #: unreadable, OCR'd with low confidence)
    from_sommaire: bool = False
    #: why its flags are doubtful (attrap.rules.review.REASONS): held for review or marked
    doubts: list[str] = field(default_factory=list)
    #: the earlier decrees it abrogates, withdraws, suspends or modifies, as it cites them
    citations: list[Citation] = field(default_factory=list)


@dataclass(frozen=True)
class Citation:
    """An earlier decree a decree changes (attrap.rules.changes), as it cites it."""

    #: abrogation, retrait, suspension or modification
    kind: str
    #: the cited number, normalised (attrap.rules.changes.normalize_number), or None
    number: str | None
    signed_on: date | None


@dataclass(frozen=True)
class Change:
    """What a post about a change says of the decree changed (a post this channel made)."""

    kind: str
    title: str
    number: str | None
    signed_on: date | None
    #: the changed decree's link (its PDF page) and its post on this channel, when there is one
    url: str
    status_url: str | None = None


@dataclass
class Alert:
    """What a post is made from: one flagged decree, with where it was found."""

    decree_id: int
    category: str
    source_id: str
    source_name: str
    department: str | None
    title: str
    #: link to the decree's first page in the source PDF (``…pdf#page=N``)
    url: str
    signed_on: date | None = None
    number: str | None = None
    #: short extracts of what matched, for the reader's context
    excerpt: str | None = None
    details: Details | None = None
    #: when attrap first saw the PDF, and the date the site gives for it
    first_seen: datetime | None = None
    published: date | None = None
    #: facts campaigners act on: "published after the period began", "outside any legal window"
    flags: list[str] = field(default_factory=list)
    #: flagged from the recueil's sommaire, its pages unreadable or missing (said in the post)
    from_sommaire: bool = False
    pages_missing: bool = False
    #: why the decision is doubtful, when its category posts doubtful decisions with a mark
    doubts: list[str] = field(default_factory=list)
    #: set on a post about a change: the earlier decree this one abrogates or modifies
    change: Change | None = None
    #: on a decree's own post: the earlier decrees it changes (a modification that authorises)
    changes: list[Change] = field(default_factory=list)


@dataclass(frozen=True)
class Validator:
    """What a conditional GET needs of a page fetched before: its validators and its body
    (attrap.crawl.fetch sends them, attrap.store.db keeps them)."""

    etag: str | None
    last_modified: str | None
    #: where the request ended after redirects: relative links resolve against it
    final_url: str
    body: str
