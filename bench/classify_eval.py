"""Classification benchmark: attrap's rules against a plain keyword baseline, on real decree texts.

The labelled corpus is ``fixtures/corpus`` (``labels.toml``, ``text/<id>.txt``, and the same texts
scanned and OCR'd in ``ocr/<id>.txt``; see its README). For each variant (``text``, ``ocr``) every
decree is built as the pipeline builds it (pages normalised by ``attrap.read.extract.normalize_text``,
OCR'd pages marked ``method="ocr"`` so the rules' fuzzy repair applies) and classified by

- **rules**: ``attrap.rules.classify.load_rules().classify(decree)``;
- **baseline**: keywords in the folded text (case and accents removed): "drone" or "aeronef" →
  drone, "videoprotection" → videoprotection, "algorithmique" → avs.

It prints precision, recall and TP/FP/FN per category for both, on both variants, then every
misclassified decree with expected and obtained categories, then the matching speed of both on
one core: the best of many passes over the corpus, rules and baseline taking turns, with the
median pass beside it. Last, what that speed is to be set against: how fast the stage before
it gets the same texts out of PDFs on one core (each text-layer reader on a PDF of the texts,
one decree a page; tesseract on a few of them scanned, with the OCR variant, when it is
installed), and how many times faster classification is. Then the speed budget, as a ratio
measured in the same run: the time to classify every corpus decree (text and OCR variants)
against the time to read the same decrees' texts out of text layers with pdfminer.six
(attrap.read.extract's pdfminer path, on PDFs of both variants' texts rendered by
``tests/pdfgen.py``), which must stay under :data:`BUDGET`. Exit status 0 whatever the scores.

Usage: ``.venv/bin/python bench/classify_eval.py [--corpus fixtures/corpus] [--variant text|ocr]
[--no-reading]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from attrap.model import Decree, Page  # noqa: E402
from attrap.read import extract, split  # noqa: E402
from attrap.read.extract import normalize_text  # noqa: E402
from attrap.rules.classify import Ruleset, load_rules, normalize_for_matching  # noqa: E402

CATEGORIES = ("avs", "drone", "videoprotection")
VARIANTS = ("text", "ocr")
DEFAULT_CORPUS = ROOT / "fixtures" / "corpus"
#: the speed budget: classifying a decree takes under this fraction of the time pdfminer.six takes
#: to read its text layer (no speed work on classification unless this is missed)
BUDGET = 0.10
BASELINE_KEYWORDS = {
    "drone": ("drone", "aeronef"),
    "videoprotection": ("videoprotection",),
    "avs": ("algorithmique",),
}


@dataclass(frozen=True)
class Entry:
    """One labelled decree of the corpus."""

    id: str
    categories: frozenset[str]
    source: str
    note: str


def load_labels(corpus: Path) -> list[Entry]:
    """The ``[[decree]]`` entries of ``corpus/labels.toml``, in file order."""
    data = tomllib.loads((corpus / "labels.toml").read_text(encoding="utf-8"))
    return [
        Entry(d["id"], frozenset(d.get("categories", [])), d.get("source", ""), d.get("note", ""))
        for d in data.get("decree", [])
    ]


def read_pages(path: Path, *, ocr: bool) -> list[Page]:
    """A corpus file as pipeline pages: form-feed separated, normalised, marked OCR or text."""
    raw_pages = path.read_text(encoding="utf-8").split("\f")
    if len(raw_pages) > 1 and not raw_pages[-1].strip():
        raw_pages.pop()
    method = "ocr" if ocr else "text"
    return [Page(n, normalize_text(raw), raw, method=method) for n, raw in enumerate(raw_pages, start=1)]


def _title(first: Page) -> str:
    title_of = getattr(split, "_title", None)  # the splitter's own title reader, when it has one
    if title_of is not None:
        return title_of(first, "")
    return next((line for line in first.text.splitlines() if line.strip()), "")[:300]


def build_decree(corpus: Path, decree_id: str, variant: str) -> Decree:
    """The decree ``decree_id`` of ``variant`` ("text" or "ocr") as the splitter would hand it on."""
    pages = read_pages(corpus / variant / f"{decree_id}.txt", ocr=variant == "ocr")
    return Decree(title=_title(pages[0]), first_page=1, last_page=len(pages), pages=pages)


def baseline_categories(decree: Decree) -> set[str]:
    """The keyword baseline: a category when one of its keywords is in the folded text."""
    folded = normalize_for_matching(decree.text)
    return {cat for cat, words in BASELINE_KEYWORDS.items() if any(w in folded for w in words)}


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def score(expected: dict[str, set[str]], got: dict[str, set[str]]) -> dict[str, Any]:
    """Per-category TP/FP/FN, precision and recall, and the misclassified decrees.

    Precision is 1.0 when nothing was flagged, recall 1.0 when nothing was expected.
    """
    per_category = {}
    for cat in CATEGORIES:
        tp = sum(cat in got[i] and cat in expected[i] for i in expected)
        fp = sum(cat in got[i] and cat not in expected[i] for i in expected)
        fn = sum(cat not in got[i] and cat in expected[i] for i in expected)
        per_category[cat] = {
            "tp": tp, "fp": fp, "fn": fn,
            "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn),
        }  # fmt: skip
    errors = [
        {"id": i, "expected": sorted(expected[i]), "got": sorted(got[i] & set(CATEGORIES))}
        for i in expected
        if (got[i] & set(CATEGORIES)) != expected[i]
    ]
    return {"per_category": per_category, "errors": errors}


def evaluate(
    corpus: Path = DEFAULT_CORPUS, variant: str = "text", ruleset: Ruleset | None = None
) -> dict[str, Any]:
    """Rules and baseline scored on one variant of the corpus: ``{"rules": …, "baseline": …}``."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    ruleset = ruleset or load_rules()
    entries = load_labels(corpus)
    expected = {e.id: set(e.categories) for e in entries}
    by_rules, by_baseline = {}, {}
    for entry in entries:
        decree = build_decree(corpus, entry.id, variant)
        by_rules[entry.id] = set(ruleset.classify(decree).categories)
        by_baseline[entry.id] = baseline_categories(decree)
    return {
        "variant": variant,
        "decrees": len(entries),
        "rules": score(expected, by_rules),
        "baseline": score(expected, by_baseline),
    }


def format_table(results: list[dict[str, Any]]) -> str:
    """One row per (variant, system, category): precision, recall, TP, FP, FN."""
    head = f"{'variant':7s} {'system':8s} {'category':15s} {'precision':>9s} {'recall':>7s}"
    head += f" {'TP':>4s} {'FP':>4s} {'FN':>4s}"
    rows = [head, "-" * len(head)]
    for result in results:
        for system in ("rules", "baseline"):
            for cat in CATEGORIES:
                m = result[system]["per_category"][cat]
                rows.append(
                    f"{result['variant']:7s} {system:8s} {cat:15s} {m['precision']:9.3f} {m['recall']:7.3f} "
                    f"{m['tp']:4d} {m['fp']:4d} {m['fn']:4d}"
                )
        rows.append("")
    return "\n".join(rows).rstrip()


def format_errors(results: list[dict[str, Any]]) -> str:
    """Each misclassified decree, per variant and system, with expected and obtained categories."""
    lines = []
    for result in results:
        for system in ("rules", "baseline"):
            errors = result[system]["errors"]
            lines.append(f"{result['variant']} / {system}: {len(errors)} misclassified")
            for err in errors:
                exp = ",".join(err["expected"]) or "-"
                got = ",".join(err["got"]) or "-"
                lines.append(f"  {err['id']:50s} expected {exp:18s} got {got}")
    return "\n".join(lines)


def _megabytes(texts: Iterable[str]) -> float:
    """The size of ``texts`` in MB of UTF-8, the unit of every speed figure here."""
    return sum(len(t.encode("utf-8")) for t in texts) / 1e6


def speed(
    corpus: Path, variant: str, ruleset: Ruleset, megabytes: float = 10.0
) -> tuple[float, float, float, float, float]:
    """MB of decree text classified per second on one core (the whole rule set) and the same
    for the keyword baseline, each as (best pass, median pass): the corpus is classified pass
    after pass until ``megabytes``, rules and baseline taking turns so that both see the same
    machine. The best pass is the figure of the code (a shared machine only ever slows a pass
    down); the median says how much the machine disturbed the run. Last, the first pass of a
    fresh rule set, which remembers no OCR'd word yet (as on a new recueil's unseen words)."""
    decrees = [build_decree(corpus, e.id, variant) for e in load_labels(corpus)]
    size = _megabytes(d.text for d in decrees)
    passes = max(3, round(megabytes / size))
    fresh = load_rules()
    started = time.process_time()
    for d in decrees:
        fresh.classify(d)
    first_pass = size / (time.process_time() - started)
    for d in decrees:  # what is built once for all texts (fuzzy patterns) is not measured
        ruleset.classify(d)
    rules_times, baseline_times = [], []
    for _ in range(passes):
        started = time.process_time()  # CPU time of this one thread: one core
        for d in decrees:
            ruleset.classify(d)
        rules_times.append(time.process_time() - started)
        started = time.process_time()
        for d in decrees:
            baseline_categories(d)
        baseline_times.append(time.process_time() - started)
    rules_times.sort()
    baseline_times.sort()
    mbps = [size / t for t in (rules_times[0], rules_times[passes // 2])]
    mbps += [size / t for t in (baseline_times[0], baseline_times[passes // 2])]
    return mbps[0], mbps[1], mbps[2], mbps[3], first_pass


def reading_speed(corpus: Path, scans: int = 3) -> dict[str, float]:
    """MB of decree text per second that extraction gets out of PDFs on one core, for the
    corpus texts: ``{backend: MB/s}`` for each text-layer reader (:data:`attrap.read.extract.TEXT_BACKENDS`)
    on a PDF of the texts, one decree a page (CPU time of this process), and ``"tesseract"``
    for the first ``scans`` texts as scanned pages (wall time: tesseract runs as a child
    process, on one thread), when it is installed."""
    from tests.pdfgen import make_pdf, make_scanned_pdf

    texts = [(corpus / "text" / f"{e.id}.txt").read_text(encoding="utf-8") for e in load_labels(corpus)]
    speeds = {}
    with tempfile.TemporaryDirectory() as tmp:
        pdf = make_pdf(Path(tmp) / "corpus.pdf", texts)
        for backend in extract.TEXT_BACKENDS:
            started = time.process_time()
            pages = list(extract.extract_pages(pdf, ocr=False, backend=backend))
            elapsed = time.process_time() - started
            speeds[backend] = _megabytes(p.text for p in pages) / elapsed
        if extract.ocr_available() and scans:
            os.environ.setdefault("OMP_THREAD_LIMIT", "1")
            scanned = make_scanned_pdf(Path(tmp) / "scans.pdf", texts[:scans], set(range(1, scans + 1)))
            started = time.perf_counter()
            pages = list(extract.extract_pages(scanned, ocr=True))
            elapsed = time.perf_counter() - started
            speeds["tesseract"] = _megabytes(p.text for p in pages) / elapsed
    return speeds


def budget_ratio(corpus: Path, ruleset: Ruleset, passes: int = 5) -> tuple[float, float]:
    """(seconds to classify, seconds to read) the corpus on one core (CPU time of this process):
    every labelled decree of both variants classified by ``ruleset`` (the best of ``passes``,
    after a first pass that loads what is loaded once, the French word list), and the same
    texts read by pdfminer.six (:func:`attrap.read.extract.extract_pages`, backend "pdfminer") from
    a PDF of each variant, one corpus page a PDF page (rendered by ``tests/pdfgen.py``)."""
    from tests.pdfgen import make_pdf

    entries = load_labels(corpus)
    decrees = [build_decree(corpus, e.id, v) for v in VARIANTS for e in entries]
    for d in decrees:
        ruleset.classify(d)
    classify_times = []
    for _ in range(passes):
        started = time.process_time()
        for d in decrees:
            ruleset.classify(d)
        classify_times.append(time.process_time() - started)
    reading = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for variant in VARIANTS:
            pages = [p.raw for e in entries for p in read_pages(corpus / variant / f"{e.id}.txt", ocr=False)]
            pdf = make_pdf(Path(tmp) / f"{variant}.pdf", pages)
            started = time.process_time()
            for _ in extract.extract_pages(pdf, ocr=False, backend="pdfminer"):
                pass
            reading += time.process_time() - started
    return min(classify_times), reading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Precision and recall of attrap's rules on the corpus.")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--variant", choices=VARIANTS, action="append", help="default: both")
    parser.add_argument("--megabytes", type=float, default=10.0, help="text classified for the speed figure")
    parser.add_argument("--no-reading", action="store_true", help="skip the PDF reading speeds")
    args = parser.parse_args(argv)
    ruleset = load_rules()
    entries = load_labels(args.corpus)
    counts = {cat: sum(cat in e.categories for e in entries) for cat in CATEGORIES}
    negatives = sum(not e.categories for e in entries)
    print(f"corpus {args.corpus}: {len(entries)} decrees, " + ", ".join(f"{c} {n}" for c, n in counts.items())
          + f", negatives {negatives}\n")  # fmt: skip
    results = [evaluate(args.corpus, v, ruleset) for v in args.variant or VARIANTS]
    print(format_table(results))
    print()
    print(format_errors(results))
    print()
    rules_speed = {}
    for variant in args.variant or VARIANTS:
        rules, median, baseline, baseline_median, first = speed(args.corpus, variant, ruleset, args.megabytes)
        rules_speed[variant] = rules
        print(
            f"speed on {variant:4}: rules {rules:6.1f} MB/s on one core (median pass "
            f"{median:.1f}; first pass of a fresh rule set {first:.1f}), keyword baseline "
            f"{baseline:6.1f} MB/s (median {baseline_median:.1f}), ratio {rules / baseline:.3f}"
        )
    if not args.no_reading:
        reading = reading_speed(args.corpus, scans=3 if "ocr" in rules_speed else 0)
        for reader, mbps in reading.items():
            variant = "ocr" if reader == "tesseract" else "text"
            against = (
                f": classification is {rules_speed[variant] / mbps:,.0f}x faster"
                if variant in rules_speed
                else ""
            )
            source = "from scanned pages" if reader == "tesseract" else "from the text layer"
            print(f"reading the same texts {source} ({reader}): {mbps:.3g} MB/s on one core{against}")
        if "tesseract" not in reading and "ocr" in rules_speed:
            print("reading scanned pages: tesseract is not installed (make test installs it)")
        classifying, pdfminer = budget_ratio(args.corpus, ruleset)
        ratio = classifying / pdfminer
        print(
            f"speed budget: classifying the corpus (text and ocr) {classifying:.3f} s, reading its text "
            f"layers with pdfminer.six {pdfminer:.3f} s, on one core of {os.cpu_count()}"
        )
        print(
            f"classification / pdfminer reading = {ratio:.3f} (budget {BUDGET:.2f})"
            + ("" if ratio < BUDGET else ": MISSED")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
