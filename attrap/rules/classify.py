"""Classification: which decrees authorise what, decided by rules kept as data in ``patterns/``.

Rules are TOML (schema in ``patterns/README.md``): expressions (keyword phrases and ``regex``
patterns), where they apply (``title`` or ``text``), exclusions, and examples that must and must
not match, which loading checks. A rule fires when none of its ``exclude`` expressions matches,
one of its ``any`` does, and every one of its ``all`` does.

Per decree, :meth:`Ruleset.classify`:

1. joins the pages and folds the text once (:func:`normalize_for_matching`: the project's one
   accent folding, :func:`attrap.rules.frdates.fold`, one character for one, so that a position in
   the folded text is a position in the original);
2. reads damaged words back into the rules' own words (:class:`Vocabulary`): words split by a
   stray space are joined ("tra nsmission"), and on OCR'd text a misread word is read as the
   vocabulary word it stands for ("captat1on"); it keeps, for each character, where it stood;
3. searches each rule's expressions in the repaired text, or in the "title" scope (the
   decree's title, then its first page up to the visas);
4. records each rule that fired with the page and an excerpt of the original text where it
   matched.

Every search has a time limit (:data:`PATTERN_TIMEOUT`). Classification costs a small fraction
of reading the PDF (``bench/classify_eval.py`` states the budget): there are no fast paths.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import regex
from pydantic import AfterValidator, BeforeValidator, Field

from attrap.contracts import Contract, listed, one_of, validate
from attrap.errors import ClassifyError, ConfigError
from attrap.model import ClassifiedDecree, Decree, Match
from attrap.resources import data_dir
from attrap.rules.frdates import fold_in_place

#: seconds any one pattern may run on one decree
PATTERN_TIMEOUT = 2.0
#: at most this many characters of a decree's first page count as its "title" scope
TITLE_SCOPE_CHARS = 1500
SCOPES = ("title", "text")
#: what a category does with a doubtful decision (attrap.rules.review): hold it for review, or post it marked
DOUBTFUL = ("hold", "mark")
#: data files in patterns/ that hold no rules (legal windows: attrap.rules.details)
NOT_RULES = {"windows.toml"}
#: words shorter than this are never repaired: too many real words lie one edit apart
MIN_REPAIR = 5


def normalize_for_matching(text: str) -> str:
    """Case and accents folded, every whitespace a space; the same length as ``text``."""
    return fold_in_place(text)


#: a visa's line begins with the word "vu": "Vu la loi…", "VU le décret…", OCR's "Vu. le code"
_VISA_START = regex.compile(r"[ ]*vu(?!\w)")
#: a visa run into another line (the title's): "vu le code" anywhere
_VU_LE_CODE = regex.compile(r"vu\s+le\s+code\b")
_VU = regex.compile(r"(?<!\w)vu")


def is_visa(folded_line: str) -> bool:
    """Whether a line of folded text (:func:`normalize_for_matching`) is a visa's, by its first word."""
    return _VISA_START.match(folded_line) is not None


def _visas_start(page: str, folded: str, end: int, limit: int) -> int:
    """Where the visas begin in ``page`` (which ends the "title" scope): the start of the first
    line that :func:`is_visa`, or a "vu le code" within a line, whichever comes first, its "vu"
    ending by ``end`` and its "code" by ``limit``; -1 when there is neither. ``folded``: the
    folded text of a decree that begins with ``page`` (the lines are the original's)."""
    for m in _VU.finditer(folded, 0, end):
        line = page.rfind("\n", 0, m.start()) + 1
        if _VISA_START.match(folded, line):
            return line
        if _VU_LE_CODE.match(folded, m.start(), limit):
            return m.start()
    return -1


_APOSTROPHES = "'’ʼ`´"
_ESCAPE = regex.compile(r"\\.", regex.DOTALL)


def compile_expression(expr: str) -> regex.Pattern[str]:
    """A phrase ("portant autorisation de l'emploi", ``*`` ends a word freely) or ``re:PATTERN``."""
    if expr.startswith("re:"):
        # text is folded to lower case: a pattern with no capital letter (escapes such as \W
        # aside) needs no case-insensitive matching, which makes regex several times slower
        flags = regex.V1
        if any(c.isupper() for c in _ESCAPE.sub("", expr[3:])):
            flags |= regex.IGNORECASE
        return regex.compile(expr[3:], flags)
    words = normalize_for_matching(expr).split()
    if not words:
        raise ValueError("empty expression")
    parts = []
    for w in words:
        piece = ""
        for ch in w:
            if ch in _APOSTROPHES:
                piece += r".?\s*"  # real text layers hold "l□enregistrement", "l' enregistrement"
            elif ch == "*":
                piece += r"\w*"
            elif ch == "-":
                piece += r"[\s-]?"
            else:
                piece += regex.escape(ch)
        parts.append(piece)
    return regex.compile(r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)", regex.V1)


@dataclass(frozen=True)
class Category:
    id: str
    label: str
    publish: bool
    description: str = ""
    #: how its posts open and close, and its colour in charts (categories.toml)
    heading: str = ""
    hashtags: str = "#Technopolice"
    colour: str | None = None
    #: a doubtful decision (attrap.rules.review) is held for ``attrap review``, or posted marked
    doubtful: str = "hold"


@dataclass
class Rule:
    id: str
    category: str
    description: str
    scope: str
    any: list[regex.Pattern[str]]
    all: list[regex.Pattern[str]] = field(default_factory=list)
    exclude: list[regex.Pattern[str]] = field(default_factory=list)
    origin: str = ""

    def _search(self, pattern: regex.Pattern[str], text: str) -> regex.Match[str] | None:
        try:
            return pattern.search(text, timeout=PATTERN_TIMEOUT)
        except TimeoutError as exc:
            raise ClassifyError(f"rule {self.id!r} ({self.origin}) timed out") from exc

    def find(self, text: str) -> regex.Match[str] | None:
        """The first ``any`` match when the rule fires on (folded) ``text``, else None.
        Exclusions are tried first: the result is the same, and they are cheap."""
        if any(self._search(p, text) for p in self.exclude):
            return None
        first = next((m for p in self.any if (m := self._search(p, text)) is not None), None)
        if first is None or not all(self._search(p, text) for p in self.all):
            return None
        return first


# -- reading through split words and OCR errors ---------------------------------------------

_WORD = regex.compile(r"[a-z]+")
#: a run of letters of a pattern's source, escapes taken out
_RUN = regex.compile(r"[a-z]{4,}")
_TOKEN = regex.compile(r"\w+")


def _edits(length: int) -> int:
    """The edits a word of ``length`` letters may be misread with: one, two from nine letters."""
    return 2 if length >= 9 else 1


@functools.cache
def french_words() -> frozenset[str]:
    """French words, folded (about 134,000: pyspellchecker's French word list). OCR'd text holds
    them by the thousand, and some lie within an edit or two of a word the rules look for
    ("autorité" of "autorisé", "dérogation" of "abrogation", "reçus" of "refus"): such a word
    is a word, not a misreading. Loaded at the first OCR'd decree."""
    from spellchecker import SpellChecker  # a third of a second: only for OCR'd text

    words = "\n".join(SpellChecker(language="fr", distance=1).word_frequency.keys())
    return frozenset(_TOKEN.findall(normalize_for_matching(words)))


class Vocabulary:
    """The words the rules are written with (every word of five letters or more of every phrase
    and example, ``must_not_match`` included, so exclusions survive damage too), to read damaged
    text back into them.

    A word is only ever rewritten into a :attr:`relevant` word: one that shares four letters or
    more with an expression (``autorisation`` with ``autoris\\w*``); a word no expression looks
    for ("boulangerie", from an example) would change no match.
    """

    def __init__(self, words: set[str], expressions: list[str] | None = None):
        """``words``: the rules' words; ``expressions``: the sources of the rules' patterns,
        when known (else every word is relevant)."""
        self.words = {w for w in words if len(w) >= MIN_REPAIR}
        if expressions is None:
            self.relevant = set(self.words)
        else:
            runs = {r for e in expressions for r in _RUN.findall(_ESCAPE.sub(" ", e))}
            self.relevant = {w for w in self.words if any(r in w or w in r for r in runs)}
        self._by_length: dict[int, list[str]] = {}
        for w in sorted(self.words):  # by length, then alphabet: the order ties are broken in
            self._by_length.setdefault(len(w), []).append(w)
        self._fuzzy = {w: regex.compile(f"(?:{w}){{e<={_edits(len(w))}}}") for w in self.words}
        #: what the first piece of a split relevant word is: one of its beginnings
        self._beginnings = {w[:k] for w in self.relevant for k in range(1, len(w))}

    @classmethod
    def from_texts(cls, texts: list[str], expressions: list[str] | None = None) -> Vocabulary:
        words: set[str] = set()
        for text in texts:
            words.update(_WORD.findall(normalize_for_matching(text)))
        return cls(words, expressions)

    def reading(self, token: str) -> str | None:
        """The vocabulary word an OCR'd word stands for: the nearest vocabulary word within one
        edit (two from nine letters; the first by length, then alphabet, of the nearest; its
        first or its last letter the word's), when it is :attr:`relevant`. None for short
        words, numbers, vocabulary and French words, and words near no relevant word."""
        if len(token) < MIN_REPAIR or token.isdigit() or token in self.words or token in french_words():
            return None
        k = _edits(len(token))
        best, best_cost = None, k + 1
        for n in range(len(token) - k, len(token) + k + 1):
            for word in self._by_length.get(n, ()):
                if word[0] != token[0] and word[-1] != token[-1]:
                    continue
                m = self._fuzzy[word].fullmatch(token)
                if m is not None and (cost := sum(m.fuzzy_counts)) < best_cost:
                    best, best_cost = word, cost
        return best if best in self.relevant else None

    def _joined(self, text: str, tokens: list[regex.Match[str]], i: int) -> tuple[int, str | None]:
        """When tokens ``i``… (three, else two, one space apart) make a relevant word that
        not all of them are already: (the index of the last, the word); else (``i``, None)."""
        for last in (i + 2, i + 1):
            if last >= len(tokens):
                continue
            pieces = tokens[i : last + 1]
            if any(b.start() != a.end() + 1 or text[a.end()] != " " for a, b in itertools.pairwise(pieces)):
                continue
            words = [t.group() for t in pieces]
            joined = "".join(words)
            if joined in self.relevant and not all(w in self.words for w in words):
                return last, joined
        return i, None

    def repair(self, text: str, *, fuzzy: bool) -> tuple[str, Sequence[int]]:
        """A folded text (:func:`normalize_for_matching`) with its split words joined and, when
        ``fuzzy`` (OCR'd text), its misread words read back (:meth:`reading`), and for each of
        its characters and its end, the position in ``text`` (a rewritten word's characters
        spread over the original's, so that an excerpt covers it)."""
        tokens = list(_TOKEN.finditer(text))
        words = _TOKEN.findall(text)
        readings: dict[str, str] = {}
        if fuzzy:
            for token in set(words):
                if (word := self.reading(token)) is not None:
                    readings[token] = word
        out: list[str] = []
        where: list[int] = []
        pos = resume = 0
        for i, token in enumerate(words):
            if i < resume or (token not in self._beginnings and token not in readings):
                continue  # most words: neither the start of a split word nor a misreading
            last, word = self._joined(text, tokens, i)
            if word is None:
                word = readings.get(token)
            if word is None:
                continue
            start, end = tokens[i].start(), tokens[last].end()
            out += [text[pos:start], word]
            where += range(pos, start)
            where += [start + k * (end - start) // len(word) for k in range(len(word))]
            pos, resume = end, last + 1
        if not out:
            return text, range(len(text) + 1)  # nothing to repair: most text layers
        out.append(text[pos:])
        where += range(pos, len(text) + 1)
        return "".join(out), where


# -- the rule set ------------------------------------------------------------------------------


class Ruleset:
    def __init__(
        self, categories: dict[str, Category], rules: list[Rule], vocabulary: Vocabulary | None = None
    ):
        self.categories = categories
        self.rules = rules
        self.vocabulary = vocabulary or Vocabulary(set())

    def classify(self, decree: Decree) -> ClassifiedDecree:
        """The categories whose rules fire on this decree, with where and what they matched."""
        pages = decree.pages
        original = "\n".join(p.text for p in pages)
        starts = list(itertools.accumulate((len(p.text) + 1 for p in pages[:-1]), initial=0))
        fuzzy = any(p.method == "ocr" for p in pages)
        folded = normalize_for_matching(original)
        text, where = self.vocabulary.repair(folded, fuzzy=fuzzy)
        head_end = TITLE_SCOPE_CHARS
        if pages:
            first = pages[0].text
            limit = min(len(first), TITLE_SCOPE_CHARS + 200)
            if (visas := _visas_start(first, folded, TITLE_SCOPE_CHARS, limit)) >= 0:
                head_end = min(head_end, bisect.bisect_left(where, visas))
        title = self.vocabulary.repair(normalize_for_matching(decree.title), fuzzy=fuzzy)[0]
        head = title + "\n" + text[:head_end]
        numbers = [p.number for p in pages] or [decree.first_page]
        matches: list[Match] = []
        for rule in self.rules:
            in_title = rule.scope == "title"
            m = rule.find(head if in_title else text)
            if m is None:
                continue
            offset = m.start() - (len(title) + 1) if in_title else m.start()
            if offset < 0:  # matched in the title line itself: the decree's first page
                page, excerpt = numbers[0], decree.title
            else:
                start, end = where[offset], where[min(offset + len(m.group()), len(where) - 1)]
                page = numbers[min(max(0, bisect.bisect_right(starts, start) - 1), len(numbers) - 1)]
                excerpt = _excerpt(original, start, end)
            matches.append(Match(rule.id, rule.category, page, excerpt[:300]))
        categories = sorted({m.category for m in matches})
        return ClassifiedDecree(decree, categories, matches)

    def _prepare(self, example: str) -> str:
        return self.vocabulary.repair(normalize_for_matching(example), fuzzy=False)[0]

    def check_examples(self, rule: Rule, data: dict[str, Any]) -> None:
        """Each example read as a text layer would be (split words joined), against ``rule``."""
        for example in data.get("must_match", []):
            if rule.find(self._prepare(example)) is None:
                raise ConfigError(f"{rule.origin}: rule {rule.id!r}: must_match example fails: {example!r}")
        for example in data.get("must_not_match", []):
            if rule.find(self._prepare(example)) is not None:
                raise ConfigError(
                    f"{rule.origin}: rule {rule.id!r}: must_not_match example matches: {example!r}"
                )


def _excerpt(text: str, start: int, end: int, around: int = 80) -> str:
    left = max(0, start - around)
    right = min(len(text), end + around)
    snippet = " ".join(text[left:right].split())
    return ("…" if left else "") + snippet + ("…" if right < len(text) else "")


# -- loading -----------------------------------------------------------------------------------

#: a non-empty string
_Name = Annotated[str, Field(min_length=1)]
#: expressions: a list of strings, or one string alone
_Expressions = Annotated[list[str], BeforeValidator(listed)]


def _colour(value: str) -> str:
    if not regex.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise ValueError(f"must be #rrggbb, not {value!r}")
    return value


class CategoryEntry(Contract):
    """One ``[[category]]`` of ``categories.toml`` (schema: patterns/README.md)."""

    id: _Name
    label: _Name
    publish: bool = False
    description: str = ""
    heading: str = ""
    hashtags: str = "#Technopolice"
    colour: Annotated[str, AfterValidator(_colour)] | None = None
    doubtful: Annotated[str, one_of(DOUBTFUL)] = "hold"


class CategoriesFile(Contract):
    """``categories.toml``: its ``[[category]]`` tables, each a :class:`CategoryEntry`."""

    category: list[dict[str, Any]] = []


class RuleEntry(Contract):
    """One ``[[rule]]`` of a rule file (schema: patterns/README.md)."""

    id: _Name
    category: _Name
    description: str = ""
    scope: Annotated[str, one_of(SCOPES)] = "text"
    any: Annotated[_Expressions, Field(min_length=1)]
    all: _Expressions = []
    exclude: _Expressions = []
    must_match: list[str] = []
    must_not_match: list[str] = []


class RulesFile(Contract):
    """A rule file (``patterns/*.toml`` but categories.toml and NOT_RULES): its ``[[rule]]``
    tables, each a :class:`RuleEntry`."""

    rule: list[dict[str, Any]] = []


_RULE_KEYS = set(RuleEntry.model_fields)
_CATEGORY_KEYS = set(CategoryEntry.model_fields)


def _load_toml(path: Path, label: str) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{label}: not valid TOML: {exc}") from None


def _compile_all(exprs: list[str], origin: str, rule_id: str, key: str) -> list[regex.Pattern[str]]:
    out = []
    for expr in exprs:
        try:
            out.append(compile_expression(expr))
        except (regex.error, ValueError) as exc:
            raise ConfigError(f"{origin}: rule {rule_id!r}: bad expression {expr!r} in {key}: {exc}") from exc
    return out


def load_categories(directory: Path, label: str | None = None) -> dict[str, Category]:
    """The categories of ``directory``'s categories.toml, checked against :class:`CategoryEntry`;
    errors name the file (``label``, default ``<directory's name>/categories.toml``), the
    category and the key."""
    cat_file = directory / "categories.toml"
    if not cat_file.is_file():
        raise ConfigError(f"{cat_file}: missing (the categories file)")
    label = label or f"{directory.name}/categories.toml"
    categories: dict[str, Category] = {}
    for i, item in enumerate(validate(CategoriesFile, _load_toml(cat_file, label), label).category, 1):
        given = item.get("id")
        where = f"{label}: category {given if isinstance(given, str) and given else f'#{i}'!r}"
        entry = validate(CategoryEntry, item, where)
        if entry.id in categories:
            raise ConfigError(f"{where}: duplicate id")
        categories[entry.id] = Category(
            entry.id,
            entry.label,
            entry.publish,
            entry.description,
            heading=entry.heading or f"Autorisation ({entry.label})",
            hashtags=entry.hashtags,
            colour=entry.colour,
            doubtful=entry.doubtful,
        )
    return categories


def load_rules(directory: Path | None = None) -> Ruleset:
    """Categories and rules from ``directory`` (default: ``patterns/``, env ATTRAP_PATTERNS_DIR),
    each file checked against its model (:class:`CategoriesFile`, :class:`RulesFile`); errors
    name the file as ``<directory's name>/<file>`` ("patterns/avs.toml"), the rule and the key."""
    directory = Path(directory) if directory else data_dir("patterns", "ATTRAP_PATTERNS_DIR")
    cat_file = directory / "categories.toml"
    categories = load_categories(directory)
    rules: list[Rule] = []
    texts: list[str] = []
    examples: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.toml")):
        if path == cat_file or path.name in NOT_RULES:
            continue
        origin = f"{directory.name}/{path.name}"
        for data in validate(RulesFile, _load_toml(path, origin), origin).rule:
            if data.get("id") in (None, ""):
                raise ConfigError(f"{origin}: a rule has no id")
            entry = validate(RuleEntry, data, f"{origin}: rule {data['id']!r}")
            rule_id = entry.id
            if rule_id in examples:
                raise ConfigError(f"{origin}: rule {rule_id!r}: duplicate id")
            if entry.category not in categories:
                raise ConfigError(
                    f"{origin}: rule {rule_id!r}: unknown category {entry.category!r} "
                    f"(known: {', '.join(categories)})"
                )
            rules.append(
                Rule(
                    id=rule_id,
                    category=entry.category,
                    description=entry.description,
                    scope=entry.scope,
                    any=_compile_all(entry.any, origin, rule_id, "any"),
                    all=_compile_all(entry.all, origin, rule_id, "all"),
                    exclude=_compile_all(entry.exclude, origin, rule_id, "exclude"),
                    origin=origin,
                )
            )
            for key in ("any", "all", "exclude", "must_match", "must_not_match"):
                texts.extend(getattr(entry, key))
            examples[rule_id] = entry.model_dump()
    expressions = [p.pattern for r in rules for p in (*r.any, *r.all, *r.exclude)]
    vocabulary = Vocabulary.from_texts([t for t in texts if not t.startswith("re:")], expressions)
    ruleset = Ruleset(categories, rules, vocabulary)
    for rule in ruleset.rules:  # examples are checked as text would be: through the vocabulary
        ruleset.check_examples(rule, examples[rule.id])
    return ruleset
