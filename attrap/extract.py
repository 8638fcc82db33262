"""Extraction: the text of each page of a recueil, page by page.

pdfminer.six reads one page at a time (only that page's layout is in memory), and the text is
normalised for matching: Unicode NFC, ligatures undone, line-end hyphenation joined, broken
accents mended, whitespace collapsed. The raw text is kept beside it.

A bad file never raises anything but :class:`ExtractError`, with a reason a person understands.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import regex
from pdfminer.high_level import extract_pages as _pdfminer_pages
from pdfminer.layout import LAParams, LTTextContainer
from pdfminer.pdfdocument import PDFDocument, PDFPasswordIncorrect
from pdfminer.pdfparser import PDFParser

from attrap.errors import ExtractError
from attrap.model import Page

log = logging.getLogger(__name__)

MAX_PDF_BYTES = 200 * 1024 * 1024
#: resolution pages are rendered at for OCR
OCR_DPI = 200
OCR_LANG = "fra"
LAPARAMS = LAParams(line_margin=0.5, char_margin=2.0, word_margin=0.1)

_LIGATURES = dict.fromkeys(map(ord, "ﬀﬁﬂﬃﬄﬅﬆ"))
_SPACES = regex.compile(r"[^\S\n]+")
_CID = regex.compile(r"\(cid:\d+\)")
_CONTROL = regex.compile(r"[\p{Cc}\p{Cf}--[\n]]", regex.V1)
_HYPHEN_LOWER = regex.compile(r"(\p{L})-[ \t]*\n[ \t]*(\p{Ll})")
_HYPHEN_UPPER = regex.compile(r"(\p{L})-[ \t]*\n[ \t]*(\p{Lu})")
_BLANK_LINES = regex.compile(r"\n\s*\n(\s*\n)+")
# spacing accents pdfminer sometimes emits beside their letter: "e´" or "´e" for "é"
_SPACING = {"´": "\u0301", "`": "\u0300", "^": "\u0302", "¨": "\u0308", "¸": "\u0327"}
_LOOSE_ACCENT = regex.compile(r"([aeiouAEIOUcC])([´`¨¸])|([´`^¨])\s?([aeiouAEIOU])")


def normalize_text(raw: str) -> str:
    """Text for matching: one form for every way a PDF may encode the same words."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\u00ad", "")
    text = _CID.sub("", text)
    text = text.translate({k: unicodedata.normalize("NFKC", chr(k)) for k in _LIGATURES})

    def mend(m: regex.Match[str]) -> str:
        if m.group(1):
            return unicodedata.normalize("NFC", m.group(1) + _SPACING[m.group(2)])
        return unicodedata.normalize("NFC", m.group(4) + _SPACING[m.group(3)])

    text = _LOOSE_ACCENT.sub(mend, text)
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\f", "\n")
    text = _SPACES.sub(" ", text)
    text = _CONTROL.sub("", text)
    text = _HYPHEN_LOWER.sub(r"\1\2", text)  # "capta-\ntion" → "captation"
    text = _HYPHEN_UPPER.sub(r"\1-\2", text)  # "Bouches-du-\nRhône" keeps its hyphen
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def needs_ocr(page: Page) -> bool:
    """True when a page's text layer is missing or unusable (a scan, a garbage font)."""
    letters = sum(c.isalpha() for c in page.text)
    return letters < 20 or "(cid:" in page.raw and page.raw.count("(cid:") * 6 > len(page.raw) / 2


def _check_file(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ExtractError(f"cannot read file: {exc.strerror}", url=str(path)) from exc
    if size == 0:
        raise ExtractError("empty file", url=str(path))
    if size > MAX_PDF_BYTES:
        raise ExtractError(f"file over size cap ({size} > {MAX_PDF_BYTES} bytes)", url=str(path))
    with path.open("rb") as f:
        head = f.read(1024)
    if b"%PDF-" not in head:
        looks = "looks like HTML" if b"<html" in head.lower() or b"<!doctype" in head.lower() else "unknown"
        raise ExtractError(f"not a PDF ({looks})", url=str(path))


def ocr_available() -> bool:
    """True when Debian's tesseract is installed (with the French model, checked on first use)."""
    return shutil.which("tesseract") is not None


class _Ocr:
    """Renders pages with pypdfium2 and reads them with tesseract, one page at a time."""

    def __init__(self, path: Path):
        self.path = path
        self._doc = None

    def page(self, number: int) -> Page:
        import pypdfium2
        import pytesseract

        if self._doc is None:
            self._doc = pypdfium2.PdfDocument(str(self.path))
        # One single-threaded tesseract per worker: its OpenMP threads make it ten times slower
        # on a small machine, and attrap spreads documents over processes instead.
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        image = self._doc[number - 1].render(scale=OCR_DPI / 72).to_pil()
        data = pytesseract.image_to_data(
            image, lang=OCR_LANG, config="--psm 3", output_type=pytesseract.Output.DICT
        )
        raw = _ocr_text(data)
        words = zip(data["conf"], data["text"], strict=False)
        confidences = [float(c) for c, w in words if w.strip() and float(c) >= 0]
        confidence = sum(confidences) / len(confidences) if confidences else 0.0
        return Page(number, normalize_text(raw), raw, method="ocr", confidence=round(confidence, 1))

    def close(self) -> None:
        if self._doc is not None:
            self._doc.close()


def _ocr_text(data: dict) -> str:
    """Lines of words from tesseract's word table, in reading order."""
    lines: dict[tuple[int, int, int], list[str]] = {}
    for word, block, par, line in zip(
        data["text"], data["block_num"], data["par_num"], data["line_num"], strict=False
    ):
        if word.strip():
            lines.setdefault((block, par, line), []).append(word)
    return "\n".join(" ".join(words) for words in lines.values())


def extract_pages(
    path: Path, *, timeout: float = 300.0, max_pages: int = 5000, ocr: bool = True
) -> Iterator[Page]:
    """Yield each page's text, one page in memory at a time.

    Pages without a usable text layer (scans) are read by OCR when ``ocr`` is true and
    tesseract is installed; every other page is never rendered.
    """
    path = Path(path)
    _check_file(path)
    started = time.monotonic()
    number = 0
    reader = _Ocr(path) if ocr and ocr_available() else None
    if ocr and reader is None:
        log.warning("tesseract is not installed: scanned pages cannot be read (%s)", path)
    try:
        for layout in _pdfminer_pages(path, laparams=LAPARAMS):
            number += 1
            if number > max_pages:
                raise ExtractError(f"too many pages (over {max_pages})", url=str(path))
            raw = "".join(element.get_text() for element in layout if isinstance(element, LTTextContainer))
            page = Page(number=number, text=normalize_text(raw), raw=raw, method="text")
            if reader is not None and needs_ocr(page):
                try:
                    page = reader.page(number)
                except Exception as exc:  # tesseract or rendering failed: retried later
                    raise ExtractError(
                        f"OCR failed on page {number}: {type(exc).__name__}: {exc}"[:300], url=str(path)
                    ) from exc
            yield page
            if time.monotonic() - started > timeout:
                raise ExtractError(f"extraction timed out after {timeout:g} s", url=str(path))
    except ExtractError:
        raise
    except PDFPasswordIncorrect as exc:
        raise ExtractError("encrypted PDF (password required)", url=str(path)) from exc
    except Exception as exc:  # pdfminer raises many unrelated types on bad input
        raise ExtractError(
            f"truncated or corrupt PDF: {type(exc).__name__}: {exc}"[:300], url=str(path)
        ) from exc
    finally:
        if reader is not None:
            reader.close()
    if number == 0:
        raise ExtractError("truncated or corrupt PDF: no page", url=str(path))


def read_text_file(path: Path) -> list[Page]:
    """A .txt input: pages separated by form feeds."""
    raw_pages = Path(path).read_text(encoding="utf-8", errors="replace").split("\f")
    if len(raw_pages) > 1 and not raw_pages[-1].strip():
        raw_pages.pop()
    return [Page(n, normalize_text(raw), raw) for n, raw in enumerate(raw_pages, start=1)]


def read_document(path: Path, **kw: float | int) -> list[Page]:
    """All pages of a PDF (by content, whatever its name) or of a text file."""
    path = Path(path)
    if path.suffix.lower() == ".txt":
        return read_text_file(path)
    return list(extract_pages(path, **kw))  # type: ignore[arg-type]


_PDF_DATE = regex.compile(r"D?:?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?([Z+-])?(\d{2})?'?(\d{2})?")


def pdf_creation_date(path: Path) -> datetime | None:
    """The PDF's own CreationDate metadata, when it has a readable one."""
    try:
        with Path(path).open("rb") as f:
            doc = PDFDocument(PDFParser(f))
            info = doc.info[0] if doc.info else {}
            value = info.get("CreationDate")
    except Exception:  # a missing date is not an error worth reporting
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1", "replace")
    if not isinstance(value, str) or not (m := _PDF_DATE.match(value)):
        return None
    y, mo, d, h, mi, s, sign, th, tm = m.groups()
    tz = UTC
    if sign in ("+", "-") and th:
        offset = timedelta(hours=int(th), minutes=int(tm or 0))
        tz = timezone(offset if sign == "+" else -offset)
    try:
        return datetime(int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0), int(s or 0), tzinfo=tz)
    except ValueError:
        return None
