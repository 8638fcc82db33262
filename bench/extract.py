"""Extraction benchmark: attrap against OCR-every-page and against plain pdfminer, in one run.

Generates a set of recueils (dense text pages; the same recueils with 25 % of their pages
scanned; a few fully scanned ones), then reads them with the same number of worker processes:

- attrap: text layer by pdfminer, OCR only where a page has none, decrees split out
  (``attrap.read.sandbox.ReaderPool`` running ``attrap.read.document.read_decrees``); and the same with
  the optional PDFium text-layer reader (``ATTRAP_TEXT_BACKEND=pdfium``);
- OCR every page (the best-known peer's approach): render each page and run tesseract;
- OCR of the scanned pages only: the floor for the mixed set;
- plain ``pdfminer.high_level.extract_text`` on each whole file.

It prints pages per second, the ratios the targets speak of, the decrees found on the mixed set
against those found on its all-text twin, and the peak resident memory of reading one long
recueil.

Then one document at a time, as a backfill or a prefecture's long special recueil is read
(``--single-only`` runs only this part): a 60-page recueil with 25 % of its pages scanned, a
fully scanned one and an all-text one of 200 pages, each read by attrap alone (one reading
process, its OCR spread over ``--workers`` tesseract processes), against the OCR floor (OCR of
the same scanned pages alone, spread over the same number of processes) and against OCR of
every page; and the peak memory of the whole bot (this process, the reading process and every
tesseract it runs, summed as they run) reading a 1,000-page recueil. Each figure is a ratio to
its baseline measured in the same run, with the machine's core count. Usage:
``.venv/bin/python bench/extract.py [--workers N] [--docs N] [--pages N] [--big-pages N]
[--single-only] [--mixed-pages N] [--scanned-pages N]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from attrap.read import extract  # noqa: E402
from attrap.read.document import read_decrees  # noqa: E402
from attrap.read.sandbox import ReaderPool  # noqa: E402
from tests.pdfgen import make_pdf, make_scanned_pdf  # noqa: E402

VISAS = (
    "Vu le code de la sécurité intérieure, notamment ses articles L. 242-1 à L. 242-8 et R. 242-8 à "
    "R. 242-14 ; Vu le code général des collectivités territoriales ; Vu le décret n° 2004-374 du "
    "29 avril 2004 modifié relatif aux pouvoirs des préfets, à l'organisation et à l'action des "
    "services de l'État dans les régions et départements ; Vu la demande présentée par le "
    "directeur interdépartemental de la police nationale ; Considérant que la manifestation "
    "déclarée est susceptible de rassembler un nombre important de personnes et que des "
    "troubles graves à l'ordre public sont à craindre ; Considérant que l'emploi de caméras "
    "installées sur des aéronefs est proportionné au regard de la finalité poursuivie ; "
)
ARTICLE = (
    "Article {n} : Le présent arrêté est publié au recueil des actes administratifs de la "
    "préfecture et peut faire l'objet d'un recours contentieux devant le tribunal administratif "
    "dans un délai de deux mois à compter de sa publication. Le directeur de cabinet, le "
    "directeur interdépartemental de la police nationale et le maire de la commune sont chargés, "
    "chacun en ce qui le concerne, de l'exécution du présent arrêté. "
)
TITLES = [
    "autorisant la captation, l'enregistrement et la transmission d'images au moyen de caméras "
    "installées sur des aéronefs",
    "portant fermeture temporaire de la route départementale 559",
    "portant renouvellement de l'agrément d'un organisme de formation",
    "portant interdiction temporaire de vol d'aéronefs circulant sans personne à bord",
]


def recueil(number: int, pages: int) -> list[str]:
    """Cover, sommaire, then three-page decrees of dense text; every fourth a drone authorisation."""
    decrees = (pages - 2) // 3
    ids = [f"13-2026-10-{(number % 28) + 1:02d}-{number * 100 + d:05d}" for d in range(decrees)]
    sommaire = "Sommaire\n" + "\n".join(
        f"{i} - Arrêté {TITLES[d % len(TITLES)]} (3 pages) Page {3 + 3 * d}" for d, i in enumerate(ids)
    )
    out = [f"RECUEIL DES ACTES ADMINISTRATIFS\nN°13-2026-{number}\nBOUCHES-DU-RHÔNE", sommaire]
    for d, i in enumerate(ids):
        title = f"Arrêté n° {i} {TITLES[d % len(TITLES)]}"
        out.append(f"{i}\nPRÉFET DES BOUCHES-DU-RHÔNE\nCabinet\n{title}\n{VISAS * 2}\nARRÊTE")
        out.append("".join(ARTICLE.format(n=n) for n in range(1, 8)))
        end = "\nFait à Marseille, le 14 octobre 2026"
        out.append("".join(ARTICLE.format(n=n) for n in range(8, 13)) + end)
    while len(out) < pages:
        out.append(VISAS)
    return out


# -- baselines, run in a fork pool of the same size as attrap's --------------------------------
def _ocr_page(job: tuple[str, int]) -> int:
    path, number = job
    os.environ["OMP_THREAD_LIMIT"] = "1"
    return len(extract.ocr_page(Path(path), number).text)


def _pdfminer_whole(path: str) -> int:
    from pdfminer.high_level import extract_text

    return len(extract_text(path))


def _timed_pool(func, jobs, workers: int) -> float:
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pool.map(func, jobs, chunksize=1)
    return time.perf_counter() - started


def _timed_attrap(paths: list[Path], workers: int) -> tuple[float, list]:
    started = time.perf_counter()
    with ReaderPool(workers) as pool:
        futures = [pool.submit(read_decrees, p, label=p.name) for p in paths]
        docs = [f.result() for f in futures]
    return time.perf_counter() - started, docs


def _with_backend(backend: str, paths: list[Path], workers: int) -> tuple[float, list]:
    os.environ["ATTRAP_TEXT_BACKEND"] = backend  # the reading processes take it at each call
    try:
        return _timed_attrap(paths, workers)
    finally:
        os.environ.pop("ATTRAP_TEXT_BACKEND", None)


def _decrees(docs) -> list[tuple[str | None, int, int]]:
    return [(d.number, d.first_page, d.last_page) for doc in docs for d in doc.decrees]


def _pss_mb(pid: int) -> float:
    """A process's proportional set size in MB: its private memory plus its share of the pages
    it shares with others (a forked reader shares its code with the forkserver), so that the
    memory of processes can be summed without counting a shared page twice."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _tree_pss_mb(root: int) -> tuple[float, float]:
    """(PSS of ``root`` itself, PSS of all its descendants) in MB (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, ppid in parents.items() if ppid in tree} - tree
        tree |= more
        grew = bool(more)
    return _pss_mb(root), sum(_pss_mb(pid) for pid in tree - {root})


def _read_one(path: Path, *, sample: bool = False) -> tuple[float, object, tuple[float, float]]:
    """attrap reading one document alone (one reading process, OCR over the workers): seconds,
    the document read, and (``sample``) the peak memory (PSS, MB) of this process and of the
    processes under it (forkserver, reader, tesseracts), each the peak of the sum as they run."""
    import threading

    peak, done = [0.0, 0.0], threading.Event()

    def sampler() -> None:
        while not done.wait(0.05):
            own, children = _tree_pss_mb(os.getpid())
            peak[0], peak[1] = max(peak[0], own), max(peak[1], children)

    thread = threading.Thread(target=sampler, daemon=True)
    if sample:
        thread.start()
    started = time.perf_counter()
    with ReaderPool(1) as pool:
        doc = pool.submit(read_decrees, path, label=path.name).result()
    elapsed = time.perf_counter() - started
    done.set()
    return elapsed, doc, (peak[0], peak[1])


def single(args: argparse.Namespace, tmp: Path) -> None:
    """One document at a time, against the OCR floor (see the module's docstring)."""
    w = args.workers
    os.environ["ATTRAP_WORKERS"] = str(w)  # the reading process's tesseract slots
    print(f"\none document at a time: {w} tesseract workers on {os.cpu_count()} cores", flush=True)
    pages = recueil(400, args.mixed_pages)
    quarter = {p for p in range(1, len(pages) + 1) if p % 4 == 0}
    mixed = make_scanned_pdf(tmp / "one-mixed.pdf", pages, quarter)
    scanned_pages = recueil(500, args.scanned_pages)
    every = set(range(1, len(scanned_pages) + 1))
    scanned = make_scanned_pdf(tmp / "one-scanned.pdf", scanned_pages, every)
    text = make_pdf(tmp / "one-text.pdf", recueil(600, args.scanned_pages))
    _read_one(mixed)  # the reading processes' server started, as a running bot has it
    t_mixed, _, _ = _read_one(mixed)
    floor_mixed = _timed_pool(_ocr_page, [(str(mixed), n) for n in sorted(quarter)], w)
    t_scanned, _, _ = _read_one(scanned)
    floor_scanned = _timed_pool(_ocr_page, [(str(scanned), n) for n in sorted(every)], w)
    t_text, _, _ = _read_one(text)
    ocr_all_text = _timed_pool(_ocr_page, [(str(text), n) for n in range(1, args.scanned_pages + 1)], w)
    n_mixed, n_scanned = len(pages), len(scanned_pages)
    print(
        f"{n_mixed}-page recueil, {len(quarter)} scanned: attrap {t_mixed:.1f} s, floor {floor_mixed:.1f} s"
    )
    print(f"  attrap / OCR floor          = {t_mixed / floor_mixed:5.2f}  (target <= 1.3)")
    print(f"{n_scanned}-page recueil, all scanned: attrap {t_scanned:.1f} s, floor {floor_scanned:.1f} s")
    print(f"  attrap / OCR floor          = {t_scanned / floor_scanned:5.2f}  (target <= 1.2)")
    print(
        f"{args.scanned_pages}-page recueil, all text: attrap {t_text:.2f} s, OCR of all {ocr_all_text:.1f} s"
    )
    print(f"  OCR every page / attrap     = {ocr_all_text / t_text:5.1f}x faster  (target >= 30x)")
    # made in a child process: the memory measured is the bot's, not the PDF generator's
    big = tmp / "one-big.pdf"
    maker = multiprocessing.get_context("fork").Process(
        target=make_pdf, args=(big, recueil(999, args.big_pages))
    )
    maker.start()
    maker.join()
    t_big, doc, (own, children) = _read_one(big, sample=True)
    print(
        f"{args.big_pages}-page recueil: {t_big:.1f} s, {len(doc.decrees)} decrees; peak memory (PSS) of the "
        f"reading processes (forkserver, reader, tesseracts) {children:.0f} MB, with this process "
        f"{own + children:.0f} MB  (target < 300 MB)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--docs", type=int, default=4, help="recueils per set")
    ap.add_argument("--pages", type=int, default=20, help="pages per recueil")
    ap.add_argument("--big-pages", type=int, default=1000, help="pages of the long recueil (memory)")
    ap.add_argument("--single-only", action="store_true", help="only the one-document figures")
    ap.add_argument("--mixed-pages", type=int, default=60, help="pages of the 25 %% scanned recueil")
    ap.add_argument("--scanned-pages", type=int, default=200, help="pages of the scanned and text ones")
    args = ap.parse_args()
    if args.single_only:
        single(args, Path(tempfile.mkdtemp(prefix="attrap-bench-")))
        return
    w = args.workers
    tmp = Path(tempfile.mkdtemp(prefix="attrap-bench-"))
    print(f"generating {args.docs} recueils x {args.pages} pages in {tmp} ...", flush=True)
    text, mixed, scanned = [], [], []
    for n in range(args.docs):
        pages = recueil(200 + n, args.pages)
        text.append(make_pdf(tmp / f"text-{n}.pdf", pages))
        every4 = {p for p in range(1, len(pages) + 1) if p % 4 == 0}
        mixed.append(make_scanned_pdf(tmp / f"mixed-{n}.pdf", pages, every4))
    for n in range(2):
        pages = recueil(300 + n, 5)
        scanned.append(make_scanned_pdf(tmp / f"scanned-{n}.pdf", pages, set(range(1, 6))))
    text_pages = args.docs * args.pages
    mixed_scanned_jobs = [(str(p), n) for p in mixed for n in range(1, args.pages + 1) if n % 4 == 0]
    scanned_pages = 10

    print(f"workers: {w} (attrap reader processes; the baselines use a pool of the same size)\n")
    _timed_attrap(scanned[:1] * w, w)  # start the reader processes' server, as a running bot has
    t_text, text_docs = _timed_attrap(text, w)
    every = range(1, args.pages + 1)
    t_text_ocr_all = _timed_pool(_ocr_page, [(str(p), n) for p in text for n in every], w)
    t_text_pdfminer = _timed_pool(_pdfminer_whole, [str(p) for p in text], w)
    t_scan, _ = _timed_attrap(scanned, w)
    t_mixed, mixed_docs = _timed_attrap(mixed, w)
    t_mixed_floor = _timed_pool(_ocr_page, mixed_scanned_jobs, w)
    t_mixed_ocr_all = _timed_pool(_ocr_page, [(str(p), n) for p in mixed for n in every], w)
    t_text_pdfium, text_docs_pdfium = _with_backend("pdfium", text, w)
    t_mixed_pdfium, mixed_docs_pdfium = _with_backend("pdfium", mixed, w)

    rows = [
        ("all-text set", f"{text_pages} pages"),
        ("  attrap", f"{t_text:8.2f} s  {text_pages / t_text:8.1f} pages/s"),
        ("  OCR every page (peer)", f"{t_text_ocr_all:8.2f} s  {text_pages / t_text_ocr_all:8.1f} pages/s"),
        ("  pdfminer extract_text", f"{t_text_pdfminer:8.2f} s  {text_pages / t_text_pdfminer:8.1f} pages/s"),
        ("  attrap, PDFium text layer", f"{t_text_pdfium:8.2f} s  {text_pages / t_text_pdfium:8.1f} pages/s"),
        ("scanned set", f"{scanned_pages} pages"),
        ("  attrap", f"{t_scan:8.2f} s  {scanned_pages / t_scan:8.2f} pages/s"),
        ("mixed set (25 % scanned)", f"{text_pages} pages, {len(mixed_scanned_jobs)} scanned"),
        ("  attrap", f"{t_mixed:8.2f} s  {text_pages / t_mixed:8.2f} pages/s"),
        ("  OCR of the scanned pages only", f"{t_mixed_floor:8.2f} s"),
        ("  OCR every page (peer)", f"{t_mixed_ocr_all:8.2f} s"),
        ("  attrap, PDFium text layer", f"{t_mixed_pdfium:8.2f} s  {text_pages / t_mixed_pdfium:8.2f} p/s"),
    ]
    for label, value in rows:
        print(f"{label:34} {value}")
    same = _decrees(mixed_docs) == _decrees(text_docs)
    ocr_in_text = sum(n for doc in text_docs for d in doc.decrees for n in [len(d.ocr_pages)])
    print()
    print(f"all-text: OCR-every-page / attrap   = {t_text_ocr_all / t_text:6.1f}x faster  (target >= 30x)")
    print(f"all-text: pdfminer extract_text / attrap = {t_text_pdfminer / t_text:6.2f}")
    print(f"all-text: pages OCR'd by attrap       = {ocr_in_text}")
    print(f"mixed:    attrap / OCR-scanned-only  = {t_mixed / t_mixed_floor:6.2f}   (target <= 1.3)")
    print(f"mixed:    OCR-every-page / attrap    = {t_mixed_ocr_all / t_mixed:6.1f}x faster")
    print(f"mixed:    same decrees as the all-text twin: {same} ({len(_decrees(mixed_docs))} decrees)")
    same_pdfium = _decrees(text_docs_pdfium) == _decrees(text_docs) == _decrees(mixed_docs_pdfium)
    print(f"PDFium:   OCR-every-page / attrap    = {t_text_ocr_all / t_text_pdfium:6.1f}x faster on all-text")
    print(f"PDFium:   attrap / OCR-scanned-only  = {t_mixed_pdfium / t_mixed_floor:6.2f}   on mixed")
    print(f"PDFium:   pdfminer attrap / PDFium attrap = {t_text / t_text_pdfium:6.1f}x on all-text")
    print(f"PDFium:   same decrees as with pdfminer: {same_pdfium}")

    print(f"\ngenerating a {args.big_pages}-page recueil ...", flush=True)
    big = make_pdf(tmp / "big.pdf", recueil(999, args.big_pages))
    started = time.perf_counter()
    with ReaderPool(1) as pool:
        doc = pool.submit(read_decrees, big, label=big.name).result()
    elapsed = time.perf_counter() - started
    print(
        f"{args.big_pages}-page recueil: {elapsed:.1f} s, {doc.page_count / elapsed:.1f} pages/s, "
        f"{len(doc.decrees)} decrees, peak resident memory of the reader {doc.peak_memory_mb:.0f} MB "
        "(target < 300 MB)"
    )
    single(args, tmp)


if __name__ == "__main__":
    main()
