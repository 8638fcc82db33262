"""Reading one untrusted file into decrees: what a reading process runs (:mod:`attrap.read.sandbox`).

This module and what it imports are all a reading process needs (the forkserver preloads it):
the PDF and OCR readers and the splitter, not the store, the crawler or the publisher.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from attrap.model import Decree
from attrap.read import extract, split


@dataclass
class ReadDocument:
    """What reading one file gives: its decrees, its page count, the PDF's own creation date."""

    decrees: list[Decree]
    page_count: int
    created: datetime | None
    #: the reading process's peak resident memory
    peak_memory_mb: float = 0.0


def read_decrees(path: Path) -> ReadDocument:
    """Extract and split one PDF or text file (runs in a reader process: see attrap.read.sandbox).

    Reading keeps to that process's time limit, the sandbox's timeout (ATTRAP_READ_TIMEOUT):
    past it, it stops with the page it reached (:func:`attrap.read.extract.extract_pages`)."""
    pages = extract.read_document(path)
    created = extract.pdf_creation_date(path) if path.suffix.lower() != ".txt" else None
    decrees = split.split_decrees(pages)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return ReadDocument(decrees, len(pages), created, round(peak, 1))
