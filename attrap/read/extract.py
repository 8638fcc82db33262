"""Extraction: the text of each page of a recueil, page by page.

pdfminer.six reads one page at a time: only the current page's layout is in memory, so a
5,000-page recueil costs no more memory than a 5-page one. The text is normalised for matching
(:func:`normalize_text`: Unicode NFC, ligatures undone, line-end hyphenation joined, broken
accents mended, whitespace collapsed); pdfminer's own text is kept beside it in ``Page.raw``.

A bad file never raises anything but :class:`ExtractError`, with a reason a person understands:
"empty file", "not a PDF (looks like HTML)", "truncated or corrupt PDF: …", "encrypted PDF
(password required)", "file over size cap", "reading timed out after N s (ATTRAP_READ_TIMEOUT)
at page K of M", "too many pages".
A PDF encrypted with an empty user password (common: it only restricts printing or copying)
is read normally.

Time limit: one limit for the whole document, OCR included. In a reading process
(:mod:`attrap.read.sandbox`, which the pipeline reads every document in) it is that process's limit,
``ATTRAP_READ_TIMEOUT``; a caller may give its own (``timeout``). Elapsed time is checked
between pages, inside a page between the drawing operations pdfminer reports (text strings,
paths, images) and between the page's layout objects, and tesseract reading a page is stopped
when the document's time runs out. pdfminer's layout analysis of one page (grouping characters
into lines and boxes) is a single call that cannot be interrupted from inside the process: the
reading process is therefore killed if it has not stopped by itself shortly after its limit.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import math
import os
import shutil
import time
import unicodedata
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import regex
from pdfminer.converter import PDFPageAggregator
from pdfminer.layout import LAParams, LTFigure, LTPage, LTTextContainer
from pdfminer.pdfdocument import (
    PDFDocument,
    PDFEncryptionError,
    PDFPasswordIncorrect,
    PDFTextExtractionNotAllowed,
)
from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFParser, PDFSyntaxError
from pdfminer.psexceptions import PSEOF, PSException

from attrap.errors import ExtractError
from attrap.model import Page
from attrap.read import sandbox

log = logging.getLogger(__name__)

MAX_PDF_BYTES = 200 * 1024 * 1024
#: resolution pages are rendered at for OCR
OCR_DPI = 200
OCR_LANG = "fra"
#: default of ATTRAP_OCR_PAGE_TIMEOUT: seconds tesseract may spend on one page
OCR_PAGE_TIMEOUT = 120.0
#: seconds between two progress lines of a long read (ATTRAP_PROGRESS_EVERY)
PROGRESS_EVERY = 10.0
#: pdfminer's defaults for reading order (boxes_flow=0.5 orders text boxes by column, then top
#: to bottom); all_texts also groups the text drawn inside form XObjects (LTFigure), which some
#: PDF producers put every page's content in.
LAPARAMS = LAParams(line_margin=0.5, char_margin=2.0, word_margin=0.1, boxes_flow=0.5, all_texts=True)

# ---------------------------------------------------------------------------------------------
# normalisation

_LIGATURES = {ord(c): unicodedata.normalize("NFKC", c) for c in "ﬀﬁﬂﬃﬄﬅﬆ"}  # œ is a letter
_HYPHENS = {ord("\u2010"): "-", ord("\u2011"): "-"}
_SPACES = regex.compile(r"[^\S\n]+")
_CID = regex.compile(r"\(cid:\d+\)")
_CONTROL = regex.compile(r"[\p{Cc}\p{Cf}\p{Co}\p{Cs}--[\n]]", regex.V1)
_SOFT_HYPHEN_EOL = regex.compile(r"\u00ad[ \t]*\n[ \t]*")
_HYPHEN_LOWER = regex.compile(r"(\p{L})-[ \t]*\n[ \t]*(\p{Ll})")
_HYPHEN_UPPER = regex.compile(r"(\p{L})-[ \t]*\n[ \t]*(\p{Lu})")
_HYPHEN_DIGIT = regex.compile(r"([\p{L}\d])-[ \t]*\n[ \t]*(\d)")
_BLANK_LINES = regex.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
# Spacing accents pdfminer emits beside their letter for some fonts: "e´" (after) or "´e"
# (before) for "é". Only pairs that make a French letter are mended, so "a´" stays as it is.
_SPACING = {"´": "\u0301", "`": "\u0300", "^": "\u0302", "¨": "\u0308", "¸": "\u0327", "˜": "\u0303"}
_ACCENTABLE = {"´": "eE", "`": "aeuAEU", "^": "aeiouAEIOUı", "¨": "eiuyEIUYı", "¸": "cC"}
_LOOSE_AFTER = regex.compile(
    "|".join(f"([{letters}])({regex.escape(acc)})" for acc, letters in _ACCENTABLE.items())
)
_LOOSE_BEFORE = regex.compile(
    "|".join(f"({regex.escape(acc)}) ?([{letters}])" for acc, letters in _ACCENTABLE.items() if acc != "¸")
)


def _mend_after(m: regex.Match[str]) -> str:
    letter, accent = [g for g in m.groups() if g is not None]
    return unicodedata.normalize("NFC", letter.replace("ı", "i") + _SPACING[accent])


def _mend_before(m: regex.Match[str]) -> str:
    accent, letter = [g for g in m.groups() if g is not None]
    return unicodedata.normalize("NFC", letter.replace("ı", "i") + _SPACING[accent])


def normalize_text(raw: str) -> str:
    """Text for matching: one form for every way a PDF may encode the same words.

    NFC; ligatures ﬁ ﬂ ﬀ ﬃ ﬄ ﬅ ﬆ expanded (œ kept); soft hyphens removed (one at a line end
    joins the lines); "capta-\\ntion" → "captation" but "Bouches-du-\\nRhône" →
    "Bouches-du-Rhône" and "L. 242-\\n1" → "L. 242-1"; decomposed and spacing accents mended
    ("e\\u0301", "e´", "´e" → "é"); unicode spaces → " ", runs collapsed, lines stripped;
    more than one blank line → one; control characters and "(cid:NN)" removed.
    """
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n").replace("\x0b", "\n")
    text = _SOFT_HYPHEN_EOL.sub("", text).replace("\u00ad", "")
    text = _CID.sub("", text)
    text = text.translate(_LIGATURES).translate(_HYPHENS)
    text = unicodedata.normalize("NFC", text)
    text = _LOOSE_AFTER.sub(_mend_after, text)
    text = _LOOSE_BEFORE.sub(_mend_before, text)
    text = _SPACES.sub(" ", text)
    text = _CONTROL.sub("", text)
    text = _HYPHEN_LOWER.sub(r"\1\2", text)  # "capta-\ntion" → "captation"
    text = _HYPHEN_UPPER.sub(r"\1-\2", text)  # "Bouches-du-\nRhône" keeps its hyphen
    text = _HYPHEN_DIGIT.sub(r"\1-\2", text)  # "L. 242-\n1", an id cut at a line end
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def needs_ocr(page: Page) -> bool:
    """True when a page's text layer is missing or unusable (a scan, a font without a map).

    That is: fewer than 20 letters; or mostly "(cid:NN)" codes in the raw text; or letters
    under a third of the visible characters (symbol soup from a broken font encoding).
    """
    letters = sum(c.isalpha() for c in page.text)
    if letters < 20:
        return True
    raw = page.raw or ""
    cid_chars = sum(len(m) for m in _CID.findall(raw))
    if cid_chars and cid_chars * 2 > len(raw.replace(" ", "").replace("\n", "")):
        return True
    visible = sum(not c.isspace() for c in page.text)
    return letters * 3 < visible


# ---------------------------------------------------------------------------------------------
# reading files


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as exc:
        raise ExtractError(f"cannot read file: {exc.strerror or exc}", url=str(path)) from exc


def _head(path: Path, n: int = 1024) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(n)
    except OSError as exc:
        raise ExtractError(f"cannot read file: {exc.strerror or exc}", url=str(path)) from exc


def _not_a_pdf(head: bytes) -> str:
    low = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if low.startswith((b"<!doctype", b"<html", b"<?xml")) or b"<html" in low or b"<body" in low:
        return "not a PDF (looks like HTML)"
    if low.startswith(b"pk\x03\x04"):
        return "not a PDF (looks like a ZIP archive or office document)"
    return "not a PDF (unknown content)"


def _check_pdf_file(path: Path) -> None:
    size = _file_size(path)
    if size == 0:
        raise ExtractError("empty file", url=str(path))
    if size > MAX_PDF_BYTES:
        raise ExtractError(f"file over size cap ({size} > {MAX_PDF_BYTES} bytes)", url=str(path))
    head = _head(path)
    if b"%PDF-" not in head:
        raise ExtractError(_not_a_pdf(head), url=str(path))
    # A download cut short loses the end marker; pdfminer may otherwise recover some pages of
    # it silently, and a recueil read in part would never be fetched again.
    with path.open("rb") as f:
        f.seek(max(0, size - _TAIL))
        if b"%%EOF" not in f.read():
            raise ExtractError(
                "truncated or corrupt PDF: no %%EOF end marker (download cut short?)", url=str(path)
            )


_TAIL = 64 * 1024


class _Timeout(Exception):
    pass


@dataclass(frozen=True)
class _Limit:
    """The time a document may take to read: ``seconds`` until ``deadline`` (time.monotonic)."""

    seconds: float
    deadline: float
    #: the setting it comes from (None: a caller's own timeout)
    setting: str | None = None


def _limit(timeout: float | None) -> _Limit:
    """``timeout`` seconds from now; without one, the limit of the reading process this runs in
    (ATTRAP_READ_TIMEOUT, see :func:`attrap.read.sandbox.time_limit`), or none outside one."""
    if timeout is not None:
        return _Limit(timeout, time.monotonic() + timeout)
    process = sandbox.time_limit()
    if process is not None:
        return _Limit(process.seconds, process.deadline, process.setting)
    return _Limit(math.inf, math.inf)


def _page_count(path: Path) -> int | None:
    """The number of pages of a PDF, when PDFium can tell (for messages only)."""
    try:
        import pypdfium2

        doc = pypdfium2.PdfDocument(str(path), password="")
        try:
            return len(doc)
        finally:
            doc.close()
    except Exception:  # a count is only a detail of the message
        return None


def _timed_out(limit: _Limit, page: int, path: Path) -> str:
    """Why reading stopped: the limit, where it comes from, the page being read when it ran out."""
    if limit.setting is None:
        return f"extraction timed out after {limit.seconds:g} s (at page {page})"
    total = _page_count(path)
    where = f"at page {page} of {total}" if total else f"at page {page}"
    return f"reading timed out after {limit.seconds:g} s ({limit.setting}) {where}"


class _DeadlineAggregator(PDFPageAggregator):
    """pdfminer's page aggregator, checking the clock at every string, path and image drawn."""

    def __init__(self, rsrcmgr: PDFResourceManager, laparams: LAParams, deadline: float):
        super().__init__(rsrcmgr, laparams=laparams)
        self.deadline = deadline

    def _check(self) -> None:
        if time.monotonic() > self.deadline:
            raise _Timeout

    def render_string(self, *args: Any, **kwargs: Any) -> None:
        self._check()
        super().render_string(*args, **kwargs)

    def paint_path(self, *args: Any, **kwargs: Any) -> None:
        self._check()
        super().paint_path(*args, **kwargs)

    def render_image(self, *args: Any, **kwargs: Any) -> None:
        self._check()
        super().render_image(*args, **kwargs)


def _layout_text(container: LTPage | LTFigure, deadline: float) -> str:
    """The text of a page's layout in reading order, figures' text included."""
    parts: list[str] = []
    for element in container:
        if time.monotonic() > deadline:
            raise _Timeout
        if isinstance(element, LTTextContainer):
            parts.append(element.get_text())
        elif isinstance(element, LTFigure):
            parts.append(_layout_text(element, deadline))
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# OCR and metadata


def ocr_available() -> bool:
    """True when Debian's tesseract is installed (with the French model, checked on first use)."""
    return shutil.which("tesseract") is not None


def ocr_workers() -> int:
    """How many tesseract processes may run at once on this machine: ATTRAP_WORKERS (the
    machine's cores by default), shared by every document being read (:class:`OcrSlots`)."""
    try:
        return max(1, int(os.environ.get("ATTRAP_WORKERS") or 0) or os.cpu_count() or 1)
    except ValueError:
        return os.cpu_count() or 1


def ocr_page_timeout() -> float:
    """Seconds tesseract may spend on one page (ATTRAP_OCR_PAGE_TIMEOUT) before that page is
    given up, recorded as unreadable, and the document read on."""
    try:
        return float(os.environ.get("ATTRAP_OCR_PAGE_TIMEOUT") or OCR_PAGE_TIMEOUT)
    except ValueError:
        return OCR_PAGE_TIMEOUT


class OcrSlots:
    """At most ``n`` tesseract processes at once on this machine, whichever process (reader,
    worker, scan) asks: ``n`` lock files, each held (``flock``) while a page is read."""

    def __init__(self, n: int, directory: Path | None = None):
        self.n = n
        self.directory = directory or _machine_dir("ocr")

    @contextlib.contextmanager
    def slot(self, deadline: float = math.inf) -> Iterator[int]:
        """Hold one slot (its number); :class:`_Timeout` if ``deadline`` passes while waiting."""
        while True:
            for i in range(self.n):
                fd = os.open(self.directory / f"slot-{i}.lock", os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                try:
                    yield i
                    return
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                    os.close(fd)
            if time.monotonic() >= deadline:
                raise _Timeout
            time.sleep(0.02)


class _Ocr:
    """Renders pages with pypdfium2 (in the reading thread: PDFium is not thread-safe) and reads
    them with tesseract (in threads, each under an :class:`OcrSlots` slot)."""

    def __init__(self, path: Path, slots: OcrSlots | None = None):
        self.path = path
        self.slots = slots or OcrSlots(ocr_workers())
        self._doc: Any = None  # a pypdfium2.PdfDocument (untyped), opened by the first render

    def render(self, number: int, deadline: float = math.inf) -> Any:
        import pypdfium2

        if self._doc is None:
            self._doc = pypdfium2.PdfDocument(str(self.path))
        if time.monotonic() >= deadline:
            raise _Timeout
        return self._doc[number - 1].render(scale=OCR_DPI / 72).to_pil()

    def read(self, image: Any, number: int, deadline: float = math.inf) -> Page:
        """Page ``number``'s image read by tesseract. :class:`_Timeout` when the document's
        ``deadline`` passes first; a page tesseract fails on, or spends more than
        :func:`ocr_page_timeout` on, comes back empty with confidence 0 (recorded, not fatal)."""
        import pytesseract

        # One single-threaded tesseract per slot: its OpenMP threads make it ten times slower
        # on a small machine, and attrap spreads pages and documents over processes instead.
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        with self.slots.slot(deadline):
            remaining = min(deadline - time.monotonic(), ocr_page_timeout())
            if remaining <= 0:
                raise _Timeout
            try:
                data = pytesseract.image_to_data(
                    image,
                    lang=OCR_LANG,
                    config="--psm 3",
                    output_type=pytesseract.Output.DICT,
                    timeout=0 if math.isinf(remaining) else remaining,  # 0: none
                )
            except Exception as exc:  # killed at its timeout, out of memory, crashed
                if time.monotonic() >= deadline:
                    raise _Timeout from None
                why = f"gave up after {remaining:g} s" if "timeout" in str(exc) else f"{exc}"[:200]
                log.warning("%s: OCR of page %d failed (%s): recorded as unreadable", self.path, number, why)
                return Page(number, "", "", method="ocr", confidence=0.0)
            finally:
                image.close()
        raw = _ocr_text(data)
        words = zip(data["conf"], data["text"], strict=False)
        confidences = [float(c) for c, w in words if w.strip() and float(c) >= 0]
        confidence = sum(confidences) / len(confidences) if confidences else 0.0
        return Page(number, normalize_text(raw), raw, method="ocr", confidence=round(confidence, 1))

    def page(self, number: int, deadline: float = math.inf) -> Page:
        """Page ``number`` rendered and read by OCR, in this thread."""
        return self.read(self.render(number, deadline), number, deadline)

    def close(self) -> None:
        if self._doc is not None:
            self._doc.close()


class _Progress:
    """Pages done of a long read, said in the log every :data:`PROGRESS_EVERY` seconds and kept
    in a small file that ``attrap status`` lists (:func:`reading_now`) while the read lasts."""

    def __init__(self, path: Path):
        self.path, self.label = path, os.environ.get(sandbox.LABEL_ENV) or str(path)
        self.started = self.said = time.monotonic()
        self.done = self.ocr = 0
        self.total: int | None = None
        self.file: Path | None = None

    def page(self, page: Page) -> None:
        self.done += 1
        self.ocr += page.method == "ocr"
        now = time.monotonic()
        if now - self.said < float(os.environ.get("ATTRAP_PROGRESS_EVERY") or PROGRESS_EVERY):
            return
        self.said = now
        if self.total is None:
            self.total = _page_count(self.path) or 0
        of = f" of {self.total}" if self.total else ""
        log.info(
            "reading %s: page %d%s (%d by OCR), %.0f s",
            self.label,
            self.done,
            of,
            self.ocr,
            now - self.started,
        )
        self.file = self.file or reading_dir() / f"{os.getpid()}.json"
        state = {
            "label": self.label,
            "pid": os.getpid(),
            "page": self.done,
            "pages": self.total,
            "ocr": self.ocr,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        tmp = self.file.with_suffix(".part")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        tmp.replace(self.file)

    def close(self) -> None:
        if self.file is not None:
            self.file.unlink(missing_ok=True)


def _machine_dir(name: str) -> Path:
    """A directory every attrap process of this user on this machine shares (in the temp dir)."""
    import tempfile

    directory = Path(tempfile.gettempdir()) / f"attrap-{name}-{os.getuid()}"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def reading_dir() -> Path:
    """Where long reads keep their progress (:func:`reading_now`)."""
    return _machine_dir("reading")


def reading_now() -> list[dict[str, Any]]:
    """The long reads under way on this machine: label, pages done, pages, OCR'd pages, since."""
    out = []
    for file in sorted(reading_dir().glob("*.json")):
        try:
            state = json.loads(file.read_text(encoding="utf-8"))
            os.kill(int(state["pid"]), 0)  # still alive
        except (OSError, ValueError, KeyError):
            file.unlink(missing_ok=True)  # a reader that died
            continue
        out.append(state)
    return out


def ocr_page(path: Path, number: int, *, timeout: float | None = None) -> Page:
    """Render one page and read it by OCR, whatever its text layer holds.

    ``timeout`` as for :func:`extract_pages` (by default, the reading process's limit)."""
    limit = _limit(timeout)
    reader = _Ocr(Path(path))
    try:
        return reader.page(number, limit.deadline)
    except _Timeout:
        raise ExtractError(_timed_out(limit, number, Path(path)), url=str(path)) from None
    finally:
        reader.close()


def _ocr_text(data: dict) -> str:
    """Lines of words from tesseract's word table, in reading order."""
    lines: dict[tuple[int, int, int], list[str]] = {}
    for word, block, par, line in zip(
        data["text"], data["block_num"], data["par_num"], data["line_num"], strict=False
    ):
        if word.strip():
            lines.setdefault((block, par, line), []).append(word)
    return "\n".join(" ".join(words) for words in lines.values())


#: text-layer readers: pdfminer.six (the default) or PDFium through pypdfium2 (much faster)
TEXT_BACKENDS = ("pdfminer", "pdfium")


def text_backend() -> str:
    """The text-layer reader chosen by ``ATTRAP_TEXT_BACKEND`` (default ``pdfminer``)."""
    name = os.environ.get("ATTRAP_TEXT_BACKEND") or "pdfminer"
    if name not in TEXT_BACKENDS:
        raise ExtractError(f"ATTRAP_TEXT_BACKEND must be one of {', '.join(TEXT_BACKENDS)}, not {name!r}")
    return name


def _pdfminer_layers(path: Path, deadline: float, max_pages: int, url: str) -> Iterator[str]:
    """pdfminer.six: each page's text layer in reading order (layout analysis), one at a time."""
    with path.open("rb") as fp:
        rsrcmgr = PDFResourceManager(caching=True)
        device = _DeadlineAggregator(rsrcmgr, LAPARAMS, deadline)
        interpreter = PDFPageInterpreter(rsrcmgr, device)
        # an empty user password opens PDFs that are encrypted only to restrict copying
        for number, pdf_page in enumerate(PDFPage.get_pages(fp, password="", caching=True), start=1):
            if number > max_pages:
                raise ExtractError(f"too many pages (over {max_pages})", url=url)
            if time.monotonic() > deadline:
                raise _Timeout
            interpreter.process_page(pdf_page)
            layout = device.get_result()
            raw = _layout_text(layout, deadline)
            del layout
            device.result = None  # drop the page's layout before the next one is built
            yield raw


def _pdfium_layers(path: Path, deadline: float, max_pages: int, url: str) -> Iterator[str]:
    """PDFium: each page's text layer in content order; no layout analysis, hence its speed."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path), password="")
    try:
        if len(doc) > max_pages:
            raise ExtractError(f"too many pages (over {max_pages})", url=url)
        for index in range(len(doc)):
            if time.monotonic() > deadline:
                raise _Timeout
            page = doc[index]
            textpage = page.get_textpage()
            try:
                raw = textpage.get_text_bounded()
            finally:
                textpage.close()
                page.close()
            yield raw.replace("\r\n", "\n").replace("\r", "\n")
    finally:
        doc.close()


def extract_pages(
    path: Path,
    *,
    timeout: float | None = None,
    max_pages: int = 5000,
    ocr: bool = True,
    backend: str | None = None,
) -> Iterator[Page]:
    """Yield each page's text (1-based numbers), one page in memory at a time.

    Pages without a usable text layer come back with ``text=""`` (or little text), unless
    ``ocr`` is true and tesseract is installed: then such pages (:func:`needs_ocr`) are
    rendered and read by OCR, and every other page is never rendered. ``backend`` reads the
    text layers (:data:`TEXT_BACKENDS`; default: :func:`text_backend`).

    ``timeout`` is the time the whole document may take, OCR included; by default, the limit of
    the reading process this runs in (ATTRAP_READ_TIMEOUT: :func:`attrap.read.sandbox.time_limit`),
    none outside one. Past it, reading stops with the page it reached.
    Raises :class:`ExtractError` only.
    """
    path = Path(path)
    _check_pdf_file(path)
    layers = _pdfium_layers if (backend or text_backend()) == "pdfium" else _pdfminer_layers
    limit = _limit(timeout)
    deadline = limit.deadline
    url = str(path)
    reader = _Ocr(path) if ocr and ocr_available() else None
    if ocr and reader is None:
        log.warning("tesseract is not installed: scanned pages cannot be read (%s)", path)
    number = 0
    at = 1  # the page being read
    workers = ocr_workers() if reader is not None else 1
    # pages in order: read ones, and those whose OCR runs in a thread (at most ``workers``)
    pending: deque[tuple[int, Page | Future[Page]]] = deque()
    progress = _Progress(path)
    pool = ThreadPoolExecutor(workers, thread_name_prefix="ocr") if reader is not None else None

    def ready(block: bool) -> Iterator[Page]:
        while pending and (block or not isinstance(pending[0][1], Future) or pending[0][1].done()):
            item = pending[0][1]
            done = item.result() if isinstance(item, Future) else item  # a _Timeout leaves it first
            pending.popleft()
            progress.page(done)
            yield done

    try:
        for raw in layers(path, deadline, max_pages, url):
            number = at
            page = Page(number=number, text=normalize_text(raw), raw=raw, method="text")
            if reader is not None and pool is not None and needs_ocr(page):
                while sum(isinstance(item, Future) for _, item in pending) >= workers:
                    oldest = next(item for _, item in pending if isinstance(item, Future))
                    wait([oldest])  # bounded: at most ``workers`` rendered pages in memory
                    yield from ready(block=False)
                try:
                    image = reader.render(number, deadline)
                except _Timeout:
                    raise
                except Exception as exc:  # rendering failed: retried later
                    raise ExtractError(
                        f"OCR failed on page {number}: {type(exc).__name__}: {exc}"[:300], url=url
                    ) from exc
                pending.append((number, pool.submit(reader.read, image, number, deadline)))
            else:
                pending.append((number, page))
            yield from ready(block=False)
            at = number + 1
        yield from ready(block=True)
    except ExtractError:
        raise
    except _Timeout:  # at the oldest page not read yet
        raise ExtractError(_timed_out(limit, pending[0][0] if pending else at, path), url=url) from None
    except PDFPasswordIncorrect as exc:
        raise ExtractError("encrypted PDF (password required)", url=url) from exc
    except PDFTextExtractionNotAllowed as exc:
        raise ExtractError("encrypted PDF (text extraction not allowed)", url=url) from exc
    except PDFEncryptionError as exc:
        raise ExtractError(f"encrypted PDF (unsupported encryption: {exc})"[:300], url=url) from exc
    except (PDFSyntaxError, PSEOF, PSException) as exc:
        raise ExtractError(f"truncated or corrupt PDF: {type(exc).__name__}: {exc}"[:300], url=url) from exc
    except MemoryError as exc:
        raise ExtractError("out of memory while reading the PDF (a decompression bomb?)", url=url) from exc
    except RecursionError as exc:
        raise ExtractError("truncated or corrupt PDF: object nesting too deep", url=url) from exc
    except Exception as exc:  # pdfminer and PDFium raise many unrelated types on bad input
        if "password" in str(exc).lower():  # pypdfium2.PdfiumError: "… Incorrect password error"
            raise ExtractError("encrypted PDF (password required)", url=url) from exc
        raise ExtractError(f"truncated or corrupt PDF: {type(exc).__name__}: {exc}"[:300], url=url) from exc
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if reader is not None:
            reader.close()
        progress.close()
    if number == 0:
        raise ExtractError("truncated or corrupt PDF: no page found", url=url)


def read_text_file(path: Path) -> list[Page]:
    """A .txt input: pages separated by form feeds (one page when there is none)."""
    path = Path(path)
    size = _file_size(path)
    if size == 0:
        raise ExtractError("empty file", url=str(path))
    if size > MAX_PDF_BYTES:
        raise ExtractError(f"file over size cap ({size} > {MAX_PDF_BYTES} bytes)", url=str(path))
    data = path.read_bytes()
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        content = data.decode("cp1252", errors="replace")
    raw_pages = content.split("\f")
    if len(raw_pages) > 1 and not raw_pages[-1].strip():
        raw_pages.pop()  # a trailing form feed ends the last page, it does not start one
    return [Page(n, normalize_text(raw), raw, method="text") for n, raw in enumerate(raw_pages, start=1)]


def read_document(path: Path, **kw: Any) -> list[Page]:
    """All pages of a PDF (recognised by content, whatever its name) or of a ``.txt`` file.

    Anything else (HTML served as a PDF, an empty file, an unknown format) raises
    :class:`ExtractError`. Keyword arguments go to :func:`extract_pages`.
    """
    path = Path(path)
    size = _file_size(path)
    if size == 0:
        raise ExtractError("empty file", url=str(path))
    head = _head(path)
    if b"%PDF-" in head:
        return list(extract_pages(path, **kw))
    if path.suffix.lower() == ".txt":
        return read_text_file(path)
    raise ExtractError(_not_a_pdf(head), url=str(path))


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
