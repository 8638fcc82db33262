"""Matched words wrapped in ``<mark>``, the rest of the (untrusted) text escaped.

Two sources of spans: the classification rule that fired on an excerpt (its patterns run again
on the excerpt, folded the way classification folds text, which keeps every character's
position), and the words of a search. Text between spans is escaped with MarkupSafe; only the
``<mark>`` tags are markup.
"""

from __future__ import annotations

from collections.abc import Iterable

import regex
from markupsafe import Markup, escape

from attrap.rules.classify import Rule, Vocabulary, normalize_for_matching
from attrap.store.db import parse_query

Span = tuple[int, int]
#: seconds a rule's pattern may run on one excerpt before the excerpt is shown unmarked
TIMEOUT = 0.5


def mark(text: str, spans: Iterable[Span]) -> Markup:
    """``text`` escaped, with each span (merged when they overlap) in <mark>."""
    merged: list[list[int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = Markup(""), 0
    for start, end in merged:
        start, end = max(start, pos), min(end, len(text))
        out += escape(text[pos:start]) + Markup("<mark>") + escape(text[start:end]) + Markup("</mark>")
        pos = end
    return out + escape(text[pos:])


def rule_spans(rule: Rule | None, vocabulary: Vocabulary, excerpt: str) -> list[Span]:
    """Where ``rule`` matches in ``excerpt``: its first ``any`` pattern that matches, and each of
    its ``all`` patterns. Empty when the rule is unknown (patterns changed) or matches no more
    (the excerpt was cut)."""
    if rule is None or not excerpt:
        return []
    folded, where = vocabulary.repair(normalize_for_matching(excerpt), fuzzy=False)
    spans: list[Span] = []
    try:
        for pattern in rule.any:
            if m := pattern.search(folded, timeout=TIMEOUT):
                spans.append(_words(excerpt, where[m.start()], where[m.end()]))
                break
        for pattern in rule.all:
            if m := pattern.search(folded, timeout=TIMEOUT):
                spans.append(_words(excerpt, where[m.start()], where[m.end()]))
    except TimeoutError:
        return []
    return spans


def _words(text: str, start: int, end: int) -> Span:
    """The span grown to whole words ("aéronef" of "aéronefs" marks the word)."""
    while start > 0 and text[start - 1].isalnum() and start < len(text) and text[start].isalnum():
        start -= 1
    while 0 < end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    return start, end


def query_terms(query: str | None) -> list[str]:
    """The words and phrases of a search (``attrap search`` syntax) to show, excluded ones left out."""
    if not query:
        return []
    terms, negate = [], False
    for kind, value in parse_query(query):
        if kind == "op":
            negate = value == "NOT"
            continue
        if not negate:
            terms.append(value)
        negate = False
    return terms


def query_spans(terms: Iterable[str], text: str) -> list[Span]:
    """Where the search terms occur in ``text``, case and accents ignored, a word's end free."""
    folded = normalize_for_matching(text)
    spans: list[Span] = []
    for term in terms:
        words = normalize_for_matching(term).split()
        if not words:
            continue
        pattern = regex.compile(r"(?<!\w)" + r"\W+".join(regex.escape(w) for w in words) + r"\w*")
        spans += [m.span() for m in pattern.finditer(folded)]
    return spans
