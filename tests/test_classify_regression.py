"""The classifier's decisions, frozen: categories and matches (rule, category, page, excerpt) on
every corpus text (text layer and OCR), every rule example (as a page and as a title, whole and
damaged the way bad text layers and OCR damage words) and every decree of the fixture recueils,
as the engine this one replaced gave them (tests/golden/classify.json).

A deliberate change of the rules (patterns/) or of the engine changes some of them: look at
what changed (the failure lists the cases), then write the file again from the current engine
and commit it with the change:

    .venv/bin/python -m tests.test_classify_regression --update
"""

from __future__ import annotations

import argparse
import json
import tomllib
from collections.abc import Iterator
from dataclasses import asdict

from attrap.model import Decree, Page
from attrap.read.extract import read_document
from attrap.read.split import split_decrees
from attrap.resources import data_dir
from attrap.rules.classify import Ruleset, load_rules
from tests.conftest import ROOT
from tests.test_corpus import bench

GOLDEN = ROOT / "tests" / "golden" / "classify.json"
CORPUS = ROOT / "fixtures" / "corpus"
RECUEILS = sorted((ROOT / "fixtures" / "sites" / "pref13").rglob("*.pdf"))


def _examples() -> list[str]:
    out = []
    for path in sorted(data_dir("patterns").glob("*.toml")):
        for rule in tomllib.loads(path.read_text(encoding="utf-8")).get("rule", []):
            out += rule.get("must_match", []) + rule.get("must_not_match", [])
    return out


def _damaged(text: str, every: int) -> str:
    """One long word in ``every`` split by a space, one in ``every`` (others) misread."""
    words = text.split(" ")
    for n, w in enumerate(words):
        if len(w) >= 6 and n % every == 0:
            words[n] = w[: len(w) // 2] + " " + w[len(w) // 2 :]
        elif len(w) >= 5 and n % every == 1:
            words[n] = w.replace("i", "l", 1).replace("o", "0", 1) if "i" in w or "o" in w else w[1:]
    return " ".join(words)


def cases() -> Iterator[tuple[str, Decree]]:
    """(a stable name, the decree) for everything the file freezes."""
    for variant in ("text", "ocr"):
        for path in sorted((CORPUS / variant).glob("*.txt")):
            pages = bench.read_pages(path, ocr=variant == "ocr")
            yield f"corpus/{variant}/{path.stem}", Decree(bench._title(pages[0]), 1, len(pages), pages)
    for n, example in enumerate(_examples()):
        for method in ("text", "ocr"):
            page = [Page(1, example, method=method)]
            yield f"example/{n}/{method}/page", Decree("", 1, 1, page)
            yield f"example/{n}/{method}/title", Decree(example, 1, 1, page)
            for every in (2, 3, 5):
                damaged = _damaged(example, every)
                yield (
                    f"example/{n}/{method}/damaged{every}",
                    Decree(damaged[:300], 1, 1, [Page(1, damaged, method=method)]),
                )
    for pdf in RECUEILS:
        for decree in split_decrees(read_document(pdf)):
            yield f"recueil/{pdf.name}/{decree.first_page}", decree


def decide(ruleset: Ruleset) -> dict[str, dict]:
    out = {}
    for name, decree in cases():
        cd = ruleset.classify(decree)
        out[name] = {"categories": cd.categories, "matches": [asdict(m) for m in cd.matches]}
    return out


def test_the_classifier_decides_as_the_frozen_file_says() -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    now = decide(load_rules())
    assert len(now) > 700
    changed = sorted(k for k in golden.keys() | now.keys() if golden.get(k) != now.get(k))
    assert changed == [], f"{len(changed)} decisions changed (see the module's docstring): {changed[:20]}"


def main() -> None:
    parser = argparse.ArgumentParser(description="Write tests/golden/classify.json again.")
    parser.add_argument("--update", action="store_true", required=True)
    parser.parse_args()
    text = json.dumps(decide(load_rules()), ensure_ascii=False, indent=0, sort_keys=True)
    GOLDEN.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
