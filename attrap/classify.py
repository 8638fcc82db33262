"""Classification: which decrees authorise what, decided by rules kept as data in ``patterns/``.

Rules are TOML (schema in ``patterns/README.md``): keyword phrases and ``regex`` patterns, where
they apply (the title, or the whole text), exclusions, and examples that must and must not
match, which loading checks. Text and phrases are folded the same way (case and accents
ignored, any whitespace between words, one character or none where an apostrophe stands); the
folding keeps every character's position, so a match points back at its page and excerpt.
"""

from __future__ import annotations

import bisect
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import regex

from attrap.errors import ClassifyError, ConfigError
from attrap.model import ClassifiedDecree, Decree, Match
from attrap.resources import data_dir

#: seconds any one pattern may run on one decree
PATTERN_TIMEOUT = 2.0
#: at most this many characters of a decree's first page count as its "title" scope
TITLE_SCOPE_CHARS = 1500
SCOPES = ("title", "text")
_RULE_KEYS = {
    "id", "category", "description", "scope", "any", "all", "exclude", "must_match", "must_not_match",
}  # fmt: skip
_CATEGORY_KEYS = {"id", "label", "publish", "description"}
#: data files in patterns/ that hold no rules (legal windows: attrap.details)
NOT_RULES = {"windows.toml"}


def _fold_char(c: str) -> str:
    if c.isspace():
        return " "
    base = "".join(x for x in unicodedata.normalize("NFKD", c.casefold()) if not unicodedata.combining(x))
    return base if len(base) == 1 else c.lower() if len(c.lower()) == 1 else c


# One character in, one character out: positions in folded text are positions in the original.
_FOLD = {i: _fold_char(chr(i)) for i in range(0x3000) if _fold_char(chr(i)) != chr(i)}


def normalize_for_matching(text: str) -> str:
    """Case and accents folded, every whitespace a space; the same length as ``text``."""
    return text.translate(_FOLD)


# the "title" scope ends where the visas begin
_VISAS = regex.compile(r"(?m)^\s*vu\b|\bvu\s+le\s+code\b")
_APOSTROPHES = "'’ʼ`´"


def compile_expression(expr: str) -> regex.Pattern[str]:
    """A phrase ("portant autorisation de l'emploi", ``*`` ends a word freely) or ``re:PATTERN``."""
    if expr.startswith("re:"):
        return regex.compile(expr[3:], regex.IGNORECASE | regex.V1)
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


# -- reading through OCR errors and split words ---------------------------------------------

_WORD = regex.compile(r"[a-z]+")
_TOKEN = regex.compile(r"\w+")
#: words shorter than this are never corrected: too many real words lie one edit apart
MIN_REPAIR = 5


class Vocabulary:
    """The words the rules are written with, to read damaged text back into them.

    Built at load from every phrase and every example of every rule (those of
    ``must_not_match`` included, so exclusions survive damage too). :meth:`repair`
    rewrites a folded text: words split by stray spaces ("tra nsmission") are joined when
    together they make a vocabulary word; on OCR'd text, a word within one edit (two from nine
    letters on) of a vocabulary word is read as it ("captat1on", "aeronels"), by the ``regex``
    module's fuzzy matching. It returns the new text and, for each of its characters, the
    position in the original, so matches still point at the right page and excerpt.
    """

    def __init__(self, words: set[str]):
        self.words = {w for w in words if len(w) >= MIN_REPAIR}
        self._by_length: dict[int, list[str]] = {}
        for w in sorted(self.words):
            self._by_length.setdefault(len(w), []).append(w)
        self._fuzzy: dict[str, regex.Pattern[str]] = {}

    @classmethod
    def from_texts(cls, texts: list[str]) -> Vocabulary:
        words: set[str] = set()
        for text in texts:
            words.update(_WORD.findall(normalize_for_matching(text)))
        return cls(words)

    def _closest(self, token: str) -> str | None:
        k = 1 if len(token) < 9 else 2
        best, best_cost = None, k + 1
        for n in range(len(token) - k, len(token) + k + 1):
            for word in self._by_length.get(n, ()):
                if word[0] != token[0] and word[-1] != token[-1]:
                    continue
                pattern = self._fuzzy.get(word)
                if pattern is None:
                    pattern = self._fuzzy[word] = regex.compile(f"(?:{word}){{e<={2 if n >= 9 else 1}}}")
                m = pattern.fullmatch(token)
                if m is not None and (cost := sum(m.fuzzy_counts)) < best_cost:
                    best, best_cost = word, cost
        return best if best_cost <= k else None

    def repair(self, text: str, *, fuzzy: bool) -> tuple[str, list[int]]:
        """(repaired text, original position of each of its characters plus its end)."""
        if fuzzy or self._maybe_split(text):
            return self._repair_tokens(text, fuzzy=fuzzy)
        return text, list(range(len(text) + 1))  # nothing to repair: most text layers

    def _maybe_split(self, text: str) -> bool:
        """Whether some vocabulary word may stand split by a space: it then occurs more often
        in the text with its spaces removed. A test in C over the whole text, so that the
        token-by-token repair runs only on the texts that need it."""
        squeezed = text.replace(" ", "")
        return any(squeezed.count(w) != text.count(w) for w in self.words)

    def _repair_tokens(self, text: str, *, fuzzy: bool) -> tuple[str, list[int]]:
        """The token-by-token repair: split words joined, and (``fuzzy``) OCR misreads read back."""
        tokens = list(_TOKEN.finditer(text))
        out: list[str] = []
        where: list[int] = []
        pos = 0
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            replacement, last = None, i
            # two or three pieces separated by single spaces that make one vocabulary word
            for span in (3, 2):
                j = i + span - 1
                if j >= len(tokens) or any(tokens[x + 1].start() - tokens[x].end() != 1 for x in range(i, j)):
                    continue
                if any(text[tokens[x].end()] != " " for x in range(i, j)):
                    continue
                pieces = [t.group() for t in tokens[i : j + 1]]
                joined = "".join(pieces)
                if joined in self.words and not all(p in self.words for p in pieces):
                    replacement, last = joined, j
                    break
            word = tok.group()
            if replacement is None and fuzzy and len(word) >= MIN_REPAIR and word not in self.words:
                if not word.isdigit():
                    replacement = self._closest(word)
            if replacement is None:
                i += 1
                continue
            end = tokens[last].end()
            out.append(text[pos : tok.start()])
            where.extend(range(pos, tok.start()))
            out.append(replacement)
            # spread the replacement over the original span, so an excerpt covers it all
            span_len = end - tok.start()
            where.extend(tok.start() + (k * span_len) // len(replacement) for k in range(len(replacement)))
            pos = end
            i = last + 1
        out.append(text[pos:])
        where.extend(range(pos, len(text)))
        where.append(len(text))
        return "".join(out), where


@dataclass(frozen=True)
class Category:
    id: str
    label: str
    publish: bool
    description: str = ""


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
        """The first ``any`` match when the rule fires on (folded) ``text``, else None."""
        first = None
        for pattern in self.any:
            if (first := self._search(pattern, text)) is not None:
                break
        if first is None:
            return None
        if not all(self._search(p, text) for p in self.all):
            return None
        if any(self._search(p, text) for p in self.exclude):
            return None
        return first


class Ruleset:
    def __init__(
        self, categories: dict[str, Category], rules: list[Rule], vocabulary: Vocabulary | None = None
    ):
        self.categories = categories
        self.rules = rules
        self.vocabulary = vocabulary or Vocabulary(set())

    def classify(self, decree: Decree) -> ClassifiedDecree:
        """The categories whose rules fire on this decree, with where and what they matched."""
        texts, starts = [], []
        pos = 0
        for page in decree.pages:
            starts.append(pos)
            texts.append(page.text)
            pos += len(page.text) + 1
        original = "\n".join(texts)
        fuzzy = any(p.method == "ocr" for p in decree.pages)
        folded, where = self.vocabulary.repair(normalize_for_matching(original), fuzzy=fuzzy)
        numbers = [p.number for p in decree.pages] or [decree.first_page]
        first_end = bisect.bisect_left(where, len(texts[0])) if texts else 0
        visas = _VISAS.search(folded[:first_end])
        head_end = min(visas.start() if visas else TITLE_SCOPE_CHARS, TITLE_SCOPE_CHARS)
        title, _ = self.vocabulary.repair(normalize_for_matching(decree.title), fuzzy=fuzzy)
        head = title + "\n" + folded[:head_end]
        matches: list[Match] = []
        categories: set[str] = set()
        for rule in self.rules:
            in_title = rule.scope == "title"
            m = rule.find(head if in_title else folded)
            if m is None:
                continue
            categories.add(rule.category)
            offset = m.start() - (len(title) + 1) if in_title else m.start()
            if offset < 0:  # matched in the title line itself: the decree's first page
                page, excerpt = numbers[0], decree.title
            else:
                start, end = where[offset], where[min(offset + (m.end() - m.start()), len(where) - 1)]
                idx = max(0, bisect.bisect_right(starts, start) - 1)
                page = numbers[min(idx, len(numbers) - 1)]
                excerpt = _excerpt(original, start, end)
            matches.append(Match(rule.id, rule.category, page, excerpt[:300]))
        return ClassifiedDecree(decree, sorted(categories), matches)

    def _prepare(self, example: str) -> str:
        return self.vocabulary.repair(normalize_for_matching(example), fuzzy=False)[0]

    def check_examples(self, rule: Rule, data: dict[str, Any]) -> None:
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


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name}: not valid TOML: {exc}") from exc


def _compile_all(exprs: Any, origin: str, rule_id: str, key: str) -> list[regex.Pattern[str]]:
    if isinstance(exprs, str):
        exprs = [exprs]
    if not isinstance(exprs, list) or not all(isinstance(e, str) for e in exprs):
        raise ConfigError(f"{origin}: rule {rule_id!r}: {key!r} must be a list of strings")
    out = []
    for expr in exprs:
        try:
            out.append(compile_expression(expr))
        except (regex.error, ValueError) as exc:
            raise ConfigError(f"{origin}: rule {rule_id!r}: bad expression {expr!r} in {key}: {exc}") from exc
    return out


def load_rules(directory: Path | None = None) -> Ruleset:
    """Categories and rules from ``directory`` (default: ``patterns/``, env ATTRAP_PATTERNS_DIR)."""
    directory = Path(directory) if directory else data_dir("patterns", "ATTRAP_PATTERNS_DIR")
    cat_file = directory / "categories.toml"
    if not cat_file.is_file():
        raise ConfigError(f"{cat_file}: missing (the categories file)")
    categories: dict[str, Category] = {}
    for item in _load_toml(cat_file).get("category", []):
        unknown = set(item) - _CATEGORY_KEYS
        if unknown or "id" not in item or "label" not in item:
            raise ConfigError(
                f"categories.toml: category {item.get('id')!r}: needs id and label, got {sorted(item)}"
            )
        categories[item["id"]] = Category(
            item["id"], item["label"], bool(item.get("publish", False)), item.get("description", "")
        )
    ruleset = Ruleset(categories, [])
    seen: set[str] = set()
    texts: list[str] = []
    examples: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.toml")):
        if path == cat_file or path.name in NOT_RULES:
            continue
        origin = path.name
        for data in _load_toml(path).get("rule", []):
            rule_id = data.get("id")
            if not rule_id:
                raise ConfigError(f"{origin}: a rule has no id")
            if unknown := set(data) - _RULE_KEYS:
                raise ConfigError(f"{origin}: rule {rule_id!r}: unknown key(s) {sorted(unknown)}")
            if rule_id in seen:
                raise ConfigError(f"{origin}: rule {rule_id!r}: duplicate id")
            seen.add(rule_id)
            if data.get("category") not in categories:
                raise ConfigError(f"{origin}: rule {rule_id!r}: unknown category {data.get('category')!r}")
            scope = data.get("scope", "text")
            if scope not in SCOPES:
                raise ConfigError(f"{origin}: rule {rule_id!r}: scope must be one of {SCOPES}")
            if not data.get("any"):
                raise ConfigError(f"{origin}: rule {rule_id!r}: 'any' is required")
            rule = Rule(
                id=rule_id,
                category=data["category"],
                description=data.get("description", ""),
                scope=scope,
                any=_compile_all(data["any"], origin, rule_id, "any"),
                all=_compile_all(data.get("all", []), origin, rule_id, "all"),
                exclude=_compile_all(data.get("exclude", []), origin, rule_id, "exclude"),
                origin=origin,
            )
            ruleset.rules.append(rule)
            for key in ("any", "all", "exclude", "must_match", "must_not_match"):
                value = data.get(key, [])
                texts.extend([value] if isinstance(value, str) else value)
            examples[rule.id] = data
    ruleset.vocabulary = Vocabulary.from_texts([t for t in texts if not t.startswith("re:")])
    for rule in ruleset.rules:  # examples are checked as text would be: through the vocabulary
        ruleset.check_examples(rule, examples[rule.id])
    return ruleset
