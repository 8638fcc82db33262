"""Doubtful decisions: a flagged decree attrap is not sure of, to be looked at by a person.

A decision is doubtful when what decided it is weak:

- ``sommaire``: flagged from the recueil's sommaire entry, its own pages unreadable or missing;
- ``ocr``: the page that decided it was read by OCR with a low mean confidence;
- ``title_only``: the title says it, the articles (readable) do not;
- ``text_only``: the articles say it, the title (a title with a subject) does not.

What happens to a doubtful decision is each category's choice (``doubtful`` in
``patterns/categories.toml``): ``hold`` keeps its posts for ``attrap review`` (confirmed: posted;
rejected: never), ``mark`` posts them with a warning line.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import regex

from attrap.model import ClassifiedDecree

#: a page OCR'd below this mean word confidence (0-100) decides nothing alone
MIN_CONFIDENCE = 70
#: a decree whose articles hold fewer letters than this has no readable articles to disagree
MIN_ARTICLE_LETTERS = 300
#: a title with fewer words than this names no subject ("Arrêté n° 2025-12")
MIN_TITLE_WORDS = 6

_ARTICLES = regex.compile(r"(?i)\barr[eê]t[eé]?\s*:|\barticle\s*(?:1|1er|premier|ler)\b")

#: what each reason means, as the review queue, the web pages and marked posts say it
REASONS = {
    "sommaire": "signalé d'après le sommaire du recueil : ses propres pages ne se lisent pas",
    "ocr": "la page décisive a été lue par reconnaissance de caractères, avec une confiance faible",
    "title_only": "le titre l'annonce, mais les articles ne le disent pas",
    "text_only": "les articles le disent, mais le titre non",
}


def doubts(
    cd: ClassifiedDecree, scopes: Mapping[str, str], categories: Iterable[str] | None = None
) -> list[str]:
    """The reasons to doubt ``cd``'s flags in ``categories`` (default: all its flags), in the
    order of :data:`REASONS`; empty when the decision stands. ``scopes`` gives each rule's
    scope ("title" or "text")."""
    wanted = set(cd.categories if categories is None else categories) & set(cd.categories)
    if not wanted:
        return []
    reasons: list[str] = []
    if cd.from_sommaire:
        reasons.append("sommaire")
    decree = cd.decree
    pages = {p.number: p for p in decree.pages}
    matches = [m for m in cd.matches if m.category in wanted]
    deciding = [pages[m.page] for m in matches if m.page in pages]
    if deciding and all(
        p.method == "ocr" and p.confidence is not None and p.confidence < MIN_CONFIDENCE for p in deciding
    ):
        reasons.append("ocr")
    if not cd.from_sommaire:
        for category in sorted(wanted):
            found = {scopes.get(m.rule, "text") for m in matches if m.category == category}
            if found == {"title"} and _readable_articles(decree.text):
                reasons.append("title_only")
            elif found == {"text"} and len(regex.findall(r"\w+", decree.title)) >= MIN_TITLE_WORDS:
                reasons.append("text_only")
    return [r for r in REASONS if r in reasons]


def _readable_articles(text: str) -> bool:
    m = _ARTICLES.search(text)
    return m is not None and sum(c.isalpha() for c in text[m.end() :]) >= MIN_ARTICLE_LETTERS


# -- labelled examples for the corpus ------------------------------------------------------------
_UNSAFE = regex.compile(r"[^a-z0-9]+")


def corpus_id(example: Mapping[str, Any]) -> str:
    """The example's id in a corpus (fixtures/corpus's style): its label, source and number
    ("drone-pref13-13-2026-10-14-00003", "neg-pref13-decree-42"), safe as a file name."""
    label = "-".join(example["categories"]) or "neg"
    ref = example["number"] or f"decree-{example['decree_id']}"
    return _UNSAFE.sub("-", f"{label}-{example['source_id']}-{ref}".lower()).strip("-")


def add_to_corpus(
    directory: Path, examples: Sequence[Mapping[str, Any]], names: Mapping[str, str]
) -> list[str]:
    """Add each decided decree to the corpus at ``directory`` (the layout of fixtures/corpus:
    ``labels.toml`` and ``text/<id>.txt``), labelled by the person's last decision on it: the
    ids added. A decree already there (same id), or with no text, is left out; the existing
    entries and comments of labels.toml stay as they are. ``names``: the sources' names."""
    import tomli_w

    labels = directory / "labels.toml"
    before = labels.read_text(encoding="utf-8") if labels.exists() else ""
    known = {d.get("id") for d in tomllib.loads(before).get("decree", [])}
    last = {e["decree_id"]: e for e in examples}  # in decision order: the latest decision wins
    entries: list[dict[str, Any]] = []
    for example in last.values():
        cid = corpus_id(example)
        if cid in known or not (example["text"] or "").strip():
            continue
        known.add(cid)
        (directory / "text").mkdir(parents=True, exist_ok=True)
        (directory / "text" / f"{cid}.txt").write_text(example["text"].rstrip() + "\n", encoding="utf-8")
        act = f"arrêté n° {example['number']}" if example["number"] else f"« {example['title'][:120]} »"
        signed = f" du {example['signed_on']}" if example["signed_on"] else ""
        source = names.get(example["source_id"], example["source_id"])
        flagged = ", ".join(example["flagged"]) or "nothing"
        decided = f"{example['decision']}ed in attrap review on {example['decided_at'][:10]}"
        note = (
            f"Text as attrap read it; flagged {flagged}, doubtful ({', '.join(example['reasons']) or 'none'})"
        )
        entries.append(
            {
                "id": cid,
                "categories": list(example["categories"]),
                "source": f"{source}, {act}{signed} ({example['link']})",
                "note": f"{note}; {decided}" + (f": {example['note']}" if example["note"] else "."),
            }
        )
    if entries:
        head = before.rstrip("\n") + "\n\n" if before.strip() else ""  # one blank line between entries
        labels.write_text(head + tomli_w.dumps({"decree": entries}), encoding="utf-8")
    return [e["id"] for e in entries]
