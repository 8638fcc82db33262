"""Classification: which decrees authorise what, decided by rules kept as data in ``patterns/``.

Rules are TOML (schema in ``patterns/README.md``): keyword phrases and ``regex`` patterns, where
they apply (the title, or the whole text), exclusions, and examples that must and must not
match, which loading checks. Text and phrases are folded the same way (case and accents
ignored, any whitespace between words, one character or none where an apostrophe stands); the
folding keeps every character's position, so a match points back at its page and excerpt.

Per decree: the text is folded (:func:`fold`, a byte table), one pass in Rust
(:class:`TextScan`) lists the rules' required literals it holds and tells whether a word may
stand split by a space, damaged words are read back (:class:`Vocabulary`), and only the
expressions whose literals are all present are searched.
"""

from __future__ import annotations

import bisect
import codecs
import functools
import tomllib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from encodings import cp1252
from pathlib import Path
from typing import Any, NamedTuple

import ahocorasick_rs
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


#: apostrophes that fold to "'": typographic ones, and OCR's reading of them as "‘" (replaced
#: one by one in :func:`_one_byte`)
_FOLDED_APOSTROPHES = "\u2018\u2019\u02bc"


def _fold_char(c: str) -> str:
    if c.isspace():
        return " "
    if c in _FOLDED_APOSTROPHES:
        return "'"
    base = "".join(x for x in unicodedata.normalize("NFKD", c.casefold()) if not unicodedata.combining(x))
    return base if len(base) == 1 else c.lower() if len(c.lower()) == 1 else c


# One character in, one character out: positions in folded text are positions in the original.
_FOLD = {i: _fold_char(chr(i)) for i in range(0x3000) if _fold_char(chr(i)) != chr(i)}


def _byte_table(encoding: str) -> tuple[bytes, list[bytes]]:
    """The same folding for text that fits in a one-byte ``encoding``, as a table for
    ``bytes.translate`` (ten times faster than ``str.translate``), and the bytes whose folding
    leaves the encoding ("µ" → Greek "μ"), for which ``str.translate`` is used instead."""
    table, unsafe = bytearray(range(256)), []
    for b in range(256):
        try:
            c = bytes([b]).decode(encoding)
        except UnicodeDecodeError:
            continue  # never produced by encoding to it
        try:
            folded = c.translate(_FOLD).encode(encoding)
        except UnicodeEncodeError:
            folded = b""
        if len(folded) != 1:
            unsafe.append(bytes([b]))
            continue
        table[b] = folded[0]
    return bytes(table), unsafe


# Latin-1 first: a text without "’", "œ" or "€" is stored one byte a character, and encoding
# it to Latin-1 and back is a copy; cp1252 (a third of French text layers) costs a lookup a
# character, still far less than str.translate.
_LATIN1_FOLD, _LATIN1_UNSAFE = _byte_table("latin-1")
_CP1252_FOLD, _CP1252_UNSAFE = _byte_table("cp1252")


def _word_tables(encoding: str) -> tuple[bytes, bytes]:
    """For folded text in a one-byte ``encoding``: a table that keeps the word characters
    (``\\w``) and makes every other byte a space (to list a text's words in C), and one that
    marks word characters (non-zero) for boundary tests."""
    words, is_word = bytearray(b" " * 256), bytearray(256)
    for b in range(1, 256):
        if regex.match(r"\w", bytes([b]).decode(encoding, "replace")):
            words[b] = is_word[b] = b
    return bytes(words), bytes(is_word)


_WORD_TABLES = {"latin-1": _word_tables("latin-1"), "cp1252": _word_tables("cp1252")}
#: word bytes of UTF-8 text: ASCII ones only, every byte of a multi-byte character counting as
#: a boundary (the safe side for the tests that use it: a split word is looked at, not missed)
_UTF8_IS_WORD = bytes(b if b < 0x80 and _WORD_TABLES["cp1252"][1][b] else 0 for b in range(256))


class Folded(NamedTuple):
    """A text folded for matching (case and accents folded, every whitespace a space, the same
    length as the original) and the same text as bytes for the scans in C: Latin-1 or cp1252,
    one byte a character, when it fits (``single``), else UTF-8."""

    text: str
    data: bytes
    encoding: str

    @property
    def single(self) -> bool:
        """Whether :attr:`data` holds one byte a character (offsets are positions)."""
        return self.encoding != "utf-8"

    def whole_word(self, start: int, end: int) -> bool:
        """Whether ``data[start:end]`` stands between word boundaries."""
        data = self.data
        table = _UTF8_IS_WORD if self.encoding == "utf-8" else _WORD_TABLES[self.encoding][1]
        return not (start and table[data[start - 1]]) and not (end < len(data) and table[data[end]])


_CP1252_ENCODING = codecs.charmap_build(cp1252.decoding_table)


def _one_byte(text: str) -> tuple[bytes, str] | None:
    """``text`` in Latin-1 or cp1252, with the encoding's name, when its table folds it exactly
    (called on every decree and title: the codecs are called directly, without the codec
    machinery around them). Its apostrophes (:data:`_FOLDED_APOSTROPHES`) come as "'", which they
    fold to: then Latin-1 holds most French text, OCR's included ("l‘arrêté")."""
    # _FOLDED_APOSTROPHES, replaced in turn (replacing a character wider than all of a text's
    # is free: the text is returned)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'")
    try:
        return _checked(text.encode("latin-1"), "latin-1")
    except UnicodeEncodeError:  # "œ", "€"…
        pass
    try:
        return _checked(codecs.charmap_encode(text, "strict", _CP1252_ENCODING)[0], "cp1252")
    except UnicodeEncodeError:
        return None


def _checked(data: bytes, encoding: str) -> tuple[bytes, str] | None:
    """``data`` and ``encoding``, unless a byte of it folds outside the encoding ("µ")."""
    for b in _CP1252_UNSAFE if encoding == "cp1252" else _LATIN1_UNSAFE:
        if b in data:
            return None
    return data, encoding


def _decode(data: bytes, encoding: str) -> str:
    if encoding == "latin-1":
        return data.decode("latin-1")  # a copy
    return codecs.charmap_decode(data, "strict", cp1252.decoding_table)[0]


def fold(text: str) -> Folded:
    """``text`` folded for matching, as text and as bytes (see :class:`Folded`)."""
    found = _one_byte(text)
    if found is None:
        return _utf8(text.translate(_FOLD))
    data, encoding = found
    data = data.translate(_LATIN1_FOLD if encoding == "latin-1" else _CP1252_FOLD)
    return Folded(_decode(data, encoding), data, encoding)


def as_folded(folded_text: str) -> Folded:
    """An already folded text with its bytes (folding is idempotent: only the bytes are new)."""
    found = _one_byte(folded_text)
    return _utf8(folded_text) if found is None else Folded(folded_text, *found)


def _utf8(folded_text: str) -> Folded:
    """A folded text that no one-byte encoding holds, with its UTF-8 bytes."""
    return Folded(folded_text, folded_text.encode("utf-8", "surrogatepass"), "utf-8")


def normalize_for_matching(text: str) -> str:
    """Case and accents folded, every whitespace a space; the same length as ``text``."""
    return fold(text).text


#: a visa's line begins with the word "vu": "Vu la loi…", "VU le décret…", OCR's "Vu. le code"
_VISA_START = regex.compile(r"[ ]*vu(?!\w)")
#: a visa run into another line (the title's): "vu le code" anywhere
_VU_LE_CODE = regex.compile(r"vu\s+le\s+code\b")


def is_visa(folded_line: str) -> bool:
    """Whether a line of folded text (:func:`fold`) is a visa's, by its first word."""
    return _VISA_START.match(folded_line) is not None


def _visas_start(page: str, folded: str, end: int, limit: int) -> int:
    """Where the visas begin in ``page``, which ends the "title" scope: the first line that
    :func:`is_visa`, or a "vu le code" within a line, whichever comes first, its "vu" ending by
    ``end`` and its "code" by ``limit``; -1 when there is neither. ``folded``: the folding of a
    text that begins with ``page``, at the same positions (folded text has no line breaks: the
    lines are the original's), where each "vu" is found in C."""
    at = folded.find("vu", 0, end)
    while at >= 0:
        # "vu" begins a word (a character's test first: most "vu" stand in "prévu", "vue")
        if not at or folded[at - 1] == " " or not _WORD_CHAR.match(folded, at - 1):
            line = page.rfind("\n", 0, at) + 1
            if _VISA_START.match(folded, line):
                return line
            if _VU_LE_CODE.match(folded, at, limit):
                return at
        at = folded.find("vu", at + 2, end)
    return -1


_APOSTROPHES = "'’ʼ`´"
_ESCAPE = regex.compile(r"\\.", regex.DOTALL)


def compile_expression(expr: str) -> regex.Pattern[str]:
    """A phrase ("portant autorisation de l'emploi", ``*`` ends a word freely) or ``re:PATTERN``."""
    if expr.startswith("re:"):
        # text is folded to lower case: a pattern without upper-case letters (escapes such as
        # \W or \S aside) needs no case-insensitive matching, which makes regex several times slower
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


#: a run of letters shorter than this is not worth a test of its own
MIN_LITERAL = 3
#: an alternative's literal shorter than this makes no choice (``est|sont``: too common to help)
MIN_CHOICE = 5
_QUANTIFIERS = "?*+{"
#: escapes followed by letters or digits that are theirs, not the pattern's
_ESCAPES_WITH_ARGUMENTS = set("xuUNpPgLX")


def required_literals(pattern: regex.Pattern[str]) -> tuple[str, ...]:
    """Runs of letters that every match of ``pattern`` contains, read off its source: the
    letters of its top-level sequence and of the groups it cannot skip (look-arounds that must
    hold included), outside classes and escapes, without a letter a quantifier makes optional.
    Empty when unsure (case-insensitive or verbose matching). ``Rule.find`` skips a search
    whose literals are not all in the text: a test in C, much faster than the search."""
    # the longest first: the rarest, most often absent, so that a failing test stops soonest
    runs = dict.fromkeys(r for r in _requirements(pattern) if isinstance(r, str))
    return tuple(sorted(runs, key=len, reverse=True))


def required_choices(pattern: regex.Pattern[str]) -> tuple[frozenset[str], ...]:
    """The alternations every match of ``pattern`` goes through, each as the literals one of
    which it holds: ``{"renouvele", "modifie", "prorog"}`` for ``(?:renouvele|modifie|prorog)``
    (an alternative's longest literal, when every alternative has one of :data:`MIN_CHOICE`
    letters or more). ``Rule.find`` skips a search when the text holds none of a choice's."""
    return tuple(dict.fromkeys(r for r in _requirements(pattern) if not isinstance(r, str)))


def _requirements(pattern: regex.Pattern[str]) -> list[str | frozenset[str]]:
    if pattern.flags & (regex.IGNORECASE | regex.VERBOSE):
        return []
    return _literals_of(pattern.pattern)


#: how the groups whose body must match begin: capturing, non-capturing, atomic, look-arounds
_REQUIRED_GROUPS = ("(?:", "(?>", "(?=", "(?<=")


def _literals_of(src: str) -> list[str | frozenset[str]]:
    """What every match of ``src`` holds: literals (str), and choices (one of a frozenset)."""
    alternatives = _alternatives(src)
    if len(alternatives) > 1:
        longest = []
        for alternative in alternatives:
            runs = [r for r in _literals_of(alternative) if isinstance(r, str)]
            if not runs or len(best := max(runs, key=len)) < MIN_CHOICE:
                return []  # an alternative needs no literal worth a test: no choice to make
            longest.append(best)
        return [frozenset(longest)]
    i, n = 0, len(src)
    runs: list[str | frozenset[str]] = []
    run = ""

    def end_run() -> None:
        nonlocal run
        if len(run) >= MIN_LITERAL:
            runs.append(run)
        run = ""

    while i < n:
        c = src[i]
        if c.isascii() and (c.islower() or c.isdigit()):
            if i + 1 < n and src[i + 1] in _QUANTIFIERS:  # this letter may be absent or repeated
                end_run()
            else:
                run += c
            i += 1
            continue
        end_run()
        if c == "\\":
            kind = src[i + 1 : i + 2]
            i += 2
            if kind in _ESCAPES_WITH_ARGUMENTS or kind.isdigit():  # \x41, \p{L}, \1, \L<list>
                while i < n and (src[i].isalnum() or src[i] in "{}<>_:=^"):
                    i += 1
        elif c == "(":
            end = _skip(src, i)
            group = src[i:end]
            head = next(
                (h for h in _REQUIRED_GROUPS if group.startswith(h)), "(" if group[1:2] != "?" else ""
            )
            if head and group.endswith(")") and not (end < n and src[end] in "?*{"):
                runs.extend(_literals_of(group[len(head) : -1]))  # a group that must match
            i = end
        elif c == "[":
            i = _skip(src, i)
        elif c == "{":
            i = src.find("}", i) + 1 or n
        else:
            i += 1
    end_run()
    return runs


def _alternatives(src: str) -> list[str]:
    """``src`` cut at its top-level ``|`` (those outside groups, classes and escapes)."""
    cuts, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if c == "\\":
            i += 2
        elif c in "([":
            i = _skip(src, i)
        else:
            if c == "|":
                cuts.append(i)
            i += 1
    bounds = [-1, *cuts, n]
    return [src[a + 1 : b] for a, b in zip(bounds, bounds[1:], strict=False)]


_ALTERNATIVES = regex.compile(r"[a-z0-9 ]+(?:\|[a-z0-9 ]+)*")


def plain_alternatives(pattern: regex.Pattern[str]) -> tuple[str, ...] | None:
    """The words of a pattern that is only words between ``|`` ("aeronef|drone"), else None:
    whether it matches is then a few tests in C."""
    if pattern.flags & (regex.IGNORECASE | regex.VERBOSE) or not _ALTERNATIVES.fullmatch(pattern.pattern):
        return None
    return tuple(pattern.pattern.split("|"))


def _skip(src: str, i: int) -> int:
    """The index after the group or character class opened at ``src[i]``, nested ones included
    (a "]" first in a class is one of its characters)."""
    opening = src[i]
    closing = ")" if opening == "(" else "]"
    depth, start = 0, i
    while i < len(src):
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if c == "[" and opening == "(":
            i = _skip(src, i)
            continue
        if c == opening:
            depth += 1
        elif c == closing and not (opening == "[" and (i == start + 1 or src[start + 1 : i] == "^")):
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


# -- reading through OCR errors and split words ---------------------------------------------

_WORD = regex.compile(r"[a-z]+")
#: a run of letters of a pattern's source, escapes taken out
_RUN = regex.compile(r"[a-z]{4,}")
_TOKEN = regex.compile(r"\w+")
_NOT_WORD = regex.compile(r"[^\w ]")
_WORD_CHAR = regex.compile(r"\w")
#: words shorter than this are never corrected: too many real words lie one edit apart
MIN_REPAIR = 5
#: distinct OCR'd words whose reading is remembered; past this many, all are forgotten
READINGS_KEPT = 100_000


def _words(folded: Folded) -> set[bytes]:
    """The distinct words of a folded text, as bytes (in C: a translate, a split, a set)."""
    if folded.single:
        return set(folded.data.translate(_WORD_TABLES[folded.encoding][0]).split())
    return set(_NOT_WORD.sub(" ", folded.text).encode("utf-8", "surrogatepass").split())


def _edits(length: int) -> int:
    """The edits an OCR'd word of ``length`` letters may hold, or a vocabulary word may lie
    from it: one, two from nine letters."""
    return 2 if length >= 9 else 1


def _letters(word: str) -> int:
    """The characters of ``word`` as bits of an int (a character's code modulo 64: two that
    share a bit only make :meth:`Vocabulary._near` let more words through, never fewer)."""
    bits = 0
    for c in word:
        bits |= 1 << (ord(c) & 63)
    return bits


class Positions:
    """Where each character of a repaired text stood in the original, and where its end stands:
    ``positions[i]`` as a list would give it, computed from the few edits instead of stored."""

    def __init__(self, length: int, edits: list[tuple[int, int, int, int]] | None = None):
        self._len = length + 1
        # (start, end) in the repaired text, (start, end) in the original; sorted, disjoint
        self._edits = edits or []
        self._new_starts = [e[0] for e in self._edits]
        self._old_starts = [e[2] for e in self._edits]

    def __len__(self) -> int:
        return self._len

    def span(self, start: int, end: int) -> tuple[int, int] | None:
        """Where the original ``start:end`` stands in the repaired text, or None when an edit
        straddles one of its ends (part of a word joined or replaced lies outside)."""
        if not self._edits:
            return start, end
        for bound in (start, end):
            k = bisect.bisect_right(self._old_starts, bound) - 1
            if k >= 0 and self._edits[k][2] < bound < self._edits[k][3]:
                return None
        return self.index(start), self.index(end)

    def written(self, text: str) -> list[str]:
        """The words the repair wrote into ``text`` (the repaired text)."""
        return [text[e[0] : e[1]] for e in self._edits]

    def __getitem__(self, i: int) -> int:
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError(i)
        k = bisect.bisect_right(self._new_starts, i) - 1
        if k < 0:
            return i
        new_start, new_end, old_start, old_end = self._edits[k]
        if i < new_end:  # a replacement is spread over the original span, so excerpts cover it
            return old_start + ((i - new_start) * (old_end - old_start)) // (new_end - new_start)
        return old_end + (i - new_end)

    def index(self, original: int) -> int:
        """The first position in the repaired text that stands at or after ``original``: what
        ``bisect.bisect_left(positions, original)`` gives, without a search."""
        k = bisect.bisect_right(self._old_starts, original) - 1
        if k < 0:
            return min(original, self._len)
        new_start, new_end, old_start, old_end = self._edits[k]
        if original >= old_end:
            return min(new_end + (original - old_end), self._len)
        n, span = new_end - new_start, old_end - old_start
        j = -(-(original - old_start) * n // span)
        return new_start + j if j < n else new_end


@functools.cache
def french_words() -> frozenset[str]:
    """French words, folded (about 134,000: pyspellchecker's French word list, the forms of
    OpenSubtitles' vocabulary). OCR'd text holds them by the thousand, and some lie within an
    edit or two of a word the rules look for ("autorité" of "autorisé", "dérogation" of
    "abrogation", "reçus" of "refus"): such a word is a word, not a misreading."""
    from spellchecker import SpellChecker  # a third of a second: only for OCR'd text

    words = "\n".join(SpellChecker(language="fr", distance=1).word_frequency.keys())
    return frozenset(_TOKEN.findall(normalize_for_matching(words)))


@functools.cache
def _french_ascii_bytes() -> frozenset[bytes]:
    """The ASCII ones of :func:`french_words`, as bytes (the same in every encoding of folded
    text), for the set differences of :meth:`Vocabulary.repair`."""
    return frozenset(w.encode("ascii") for w in french_words() if w.isascii())


class Vocabulary:
    """The words the rules are written with, to read damaged text back into them.

    Built at load from every phrase and every example of every rule (those of
    ``must_not_match`` included, so exclusions survive damage too). :meth:`repair`
    rewrites a folded text: words split by stray spaces ("tra nsmission") are joined when
    together they make a vocabulary word; on OCR'd text, a word within one edit (two from nine
    letters on) of a vocabulary word is read as it ("captat1on", "aeronels"), by the ``regex``
    module's fuzzy matching, unless it is a French word itself (:func:`french_words`). Only words an
    expression may look for (:attr:`relevant`) are written. It returns the new text and, for
    each of its characters, the position in the original (:class:`Positions`), so matches still
    point at the right page and excerpt.

    Most texts need little of this, and :meth:`repair` finds it out with set operations in C on
    the text's distinct words: a split word needs its pieces among them, and an OCR'd word is
    read once, then remembered (the same words and misreadings come back page after page).
    """

    def __init__(self, words: set[str], expressions: list[str] | None = None):
        """``words``: the rules' words; ``expressions``: the sources of the rules' patterns, when
        known. A word is then repaired (joined, or read back) only into a word that shares
        letters with them: a word that no expression looks for ("boulangerie", from an example)
        changes no match."""
        self.words = {w for w in words if len(w) >= MIN_REPAIR}
        by_length: dict[int, list[str]] = {}
        for w in sorted(self.words):
            by_length.setdefault(len(w), []).append(w)
        self._fuzzy: dict[str, regex.Pattern[str]] = {}
        self._readings: dict[str, str] = {}  # OCR'd word → the vocabulary word it stands for
        self._read: set[bytes] = set()  # words, as bytes, read already and found to need none
        # the ways a vocabulary word can be split by spaces in 2 or 3 pieces that the repair
        # would join ("tra nsmission"), all found in one pass over a text by an Aho-Corasick
        # automaton (Rust, a DFA): the token-by-token repair runs only where one stands as
        # whole words
        runs = {r for e in expressions for r in _RUN.findall(_ESCAPE.sub(" ", e))} if expressions else None
        #: the vocabulary words an expression may look for, the only ones a repair writes
        self.relevant = (
            {w for w in self.words if any(r in w or w in r for r in runs)} if runs is not None else self.words
        )
        # the words of each length that an expression may look for, and the others, each with
        # its place among all those of that length and its characters (:func:`_letters`)
        self._relevant_by_length: dict[int, list[tuple[int, str, int]]] = {}
        self._others_by_length: dict[int, list[tuple[int, str, int]]] = {}
        for n, ws in by_length.items():
            for i, w in enumerate(ws):
                lists = self._relevant_by_length if w in self.relevant else self._others_by_length
                lists.setdefault(n, []).append((i, w, _letters(w)))
        forms: list[bytes] = []
        for w in sorted(self.relevant):
            n = len(w)
            cuts = [(i,) for i in range(1, n)] + [(i, j) for i in range(1, n) for j in range(i + 1, n)]
            for cut in cuts:
                bounds = (0, *cut, n)
                pieces = [w[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
                if all(p in self.words for p in pieces):
                    continue  # the repair keeps words that are vocabulary words already
                forms.append(" ".join(pieces).encode("ascii"))
        #: the split forms, as bytes (a :class:`TextScan` looks for them with the literals)
        self.split_forms = forms
        #: the scan that finds them: the ruleset's (which also finds its literals), or one of
        #: the forms alone, built when first needed
        self.split_scan: TextScan | None = None

    @classmethod
    def from_texts(cls, texts: list[str], expressions: list[str] | None = None) -> Vocabulary:
        words: set[str] = set()
        for text in texts:
            words.update(_WORD.findall(normalize_for_matching(text)))
        return cls(words, expressions)

    @staticmethod
    def _near(
        entries: list[tuple[int, str, int]], token: str, letters: int, edits: int
    ) -> Iterator[tuple[int, str]]:
        """Of ``entries`` (place, vocabulary word, its characters), words of one length that
        may lie within ``edits`` of ``token`` (of characters ``letters``) by tests on
        characters and ints, before any fuzzy match: their first or their last letters agree,
        and no more of their characters are absent from ``token`` than ``edits`` (an edit
        takes one character away at most)."""
        first, last = token[0], token[-1]
        for i, word, chars in entries:
            if (word[0] == first or word[-1] == last) and (chars & ~letters).bit_count() <= edits:
                yield i, word

    def _cost(self, word: str, token: str) -> int | None:
        """The edits that make vocabulary ``word`` into ``token`` (one at most, two from nine
        letters), or None when it takes more."""
        pattern = self._fuzzy.get(word)
        if pattern is None:
            pattern = self._fuzzy[word] = regex.compile(f"(?:{word}){{e<={_edits(len(word))}}}")
        m = pattern.fullmatch(token)
        return None if m is None else sum(m.fuzzy_counts)

    def _closest(self, token: str) -> str | None:
        """The vocabulary word nearest ``token``, within one edit (two from nine letters; the
        first by length, then alphabet, of the nearest), when it is one an expression may look
        for (:attr:`relevant`), else None. The relevant words are tried first: most words are
        near none of them, and the others then need no fuzzy match at all."""
        k = _edits(len(token))
        lengths = range(len(token) - k, len(token) + k + 1)
        best, best_cost, best_at = None, k + 1, (0, 0)
        letters = _letters(token)
        for n in lengths:
            for i, word in self._near(self._relevant_by_length.get(n, []), token, letters, _edits(n)):
                cost = self._cost(word, token)
                if cost is not None and cost < best_cost:
                    best, best_cost, best_at = word, cost, (n, i)
        if best is None:
            return None
        for n in lengths:  # a word no expression looks for, as near and before it, or nearer
            for i, word in self._near(self._others_by_length.get(n, []), token, letters, _edits(n)):
                if (cost := self._cost(word, token)) is not None:
                    if cost < best_cost or (cost == best_cost and (n, i) < best_at):
                        return None
        return best

    def _unread(self, words: set[bytes]) -> set[bytes]:
        """Of a text's distinct words, those that may need a reading: neither read already nor
        French words (set differences in C). The French words among them are remembered as
        read: the next text looks its words up in the words seen, not in all French words."""
        # "-" rather than "-=": set difference looks each word of the text up in the other
        # set, where an update would first build their intersection (twice the time)
        new = words - self._read  # few: the same words come back text after text
        if not new:
            return new
        if len(self._read) + len(new) > READINGS_KEPT:
            self._read.clear()
        unread = new - _french_ascii_bytes()
        self._read |= new - unread if unread else new
        return unread

    def _reading(self, token: str) -> str | None:
        """The vocabulary word an OCR'd word stands for, if any: None for vocabulary and
        French words, and for those nearest to a word no expression looks for."""
        if token in self._readings:
            return self._readings[token]
        if len(token) < MIN_REPAIR or token in self.words or token.isdigit() or token in french_words():
            return None
        word = self._closest(token)
        if word is None:
            return None  # none, or nearest to a word no expression looks for: no match would change
        if len(self._readings) >= READINGS_KEPT:
            self._readings.clear()
        self._readings[token] = word
        return word

    def repair(self, text: str | Folded, *, fuzzy: bool, split: bool | None = None) -> tuple[str, Positions]:
        """(repaired text, original position of each of its characters plus its end), for a
        folded text (:func:`fold`; a plain string is taken as folded already). ``split``:
        whether a split form stands in it as whole words, when a :class:`TextScan` with
        :attr:`split_forms` found it out already."""
        folded = text if isinstance(text, Folded) else as_folded(text)
        text = folded.text
        if split is None:
            if self.split_scan is None:
                self.split_scan = TextScan((), self.split_forms)
            split = self.split_scan(folded)[1]
        if split:
            return self._repair_tokens(text, fuzzy=fuzzy)  # rare: the token-by-token repair
        if fuzzy:
            readings: dict[bytes, str] = {}
            encoding = folded.encoding
            for raw in self._unread(_words(folded)):  # in C: the words never read, and misreadings
                if (word := self._reading(raw.decode(encoding, "surrogatepass"))) is not None:
                    readings[raw] = word
                    continue
                self._read.add(raw)
            if readings:
                return self._replace(folded, readings)
        return text, Positions(len(text))  # nothing to repair: most text layers

    def _replace(self, folded: Folded, readings: dict[bytes, str]) -> tuple[str, Positions]:
        """``folded`` with each whole-word occurrence of a key of ``readings`` (a word of its
        bytes) read as its value."""
        text, found = folded.text, []
        if folded.single:  # one byte a character: found in the bytes, at the same positions
            data = folded.data
            for raw, word in readings.items():
                start = data.find(raw)
                while start >= 0:
                    end = start + len(raw)
                    if folded.whole_word(start, end):
                        found.append((start, end, word))
                    start = data.find(raw, end)
        else:
            for raw, word in readings.items():
                token = raw.decode("utf-8", "surrogatepass")
                start = text.find(token)
                while start >= 0:
                    end = start + len(token)
                    if _stands_alone(text, start, end):
                        found.append((start, end, word))
                    start = text.find(token, end)
        found.sort()
        out: list[str] = []
        edits = []
        pos = shift = 0
        for start, end, word in found:
            out.append(text[pos:start])
            out.append(word)
            edits.append((start + shift, start + shift + len(word), start, end))
            shift += len(word) - (end - start)
            pos = end
        out.append(text[pos:])
        new = "".join(out)
        return new, Positions(len(new), edits)

    def _repair_tokens(self, text: str, *, fuzzy: bool) -> tuple[str, Positions]:
        """The token-by-token repair: split words joined, and (``fuzzy``) OCR misreads read back."""
        tokens = list(_TOKEN.finditer(text))
        out: list[str] = []
        edits = []
        pos = shift = 0
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
            if replacement is None and fuzzy:
                replacement = self._reading(tok.group())
            if replacement is None:
                i += 1
                continue
            start, end = tok.start(), tokens[last].end()
            out.append(text[pos:start])
            out.append(replacement)
            edits.append((start + shift, start + shift + len(replacement), start, end))
            shift += len(replacement) - (end - start)
            pos = end
            i = last + 1
        out.append(text[pos:])
        new = "".join(out)
        return new, Positions(len(new), edits)


@dataclass(frozen=True)
class Category:
    id: str
    label: str
    publish: bool
    description: str = ""


_UNSEEN: Any = object()


class _Needs(NamedTuple):
    """What a text must hold for an expression to match in it: all of ``literals``
    (:func:`required_literals`) and one of each of ``choices`` (:func:`required_choices`).
    Tested where it is used, ``literals <= present and (not choices or _chosen(choices,
    present))``: most expressions make no choice, and a call costs more than the test."""

    literals: frozenset[str]
    choices: tuple[frozenset[str], ...]


def _chosen(choices: tuple[frozenset[str], ...], present: frozenset[str]) -> bool:
    """Whether ``present``, the literals a text holds, holds one of each choice's."""
    return all(not c.isdisjoint(present) for c in choices)


def _gate(needs: list[_Needs]) -> frozenset[str] | None:
    """Of each expression, its longest literal, or the literals of its first choice when it
    needs no literal; None when an expression needs neither: of expressions that need these,
    none can match a text that holds none of the gate's literals."""
    gate: set[str] = set()
    for need in needs:
        if need.literals:
            gate.add(max(sorted(need.literals), key=len))
        elif need.choices:
            gate |= need.choices[0]
        else:
            return None
    return frozenset(gate)


class _Conditions(NamedTuple):
    """``all`` or ``exclude`` expressions, as tested: those that are only words between "|"
    (a few substring tests), and the others with the literals they need."""

    words: list[tuple[str, ...]]
    patterns: list[tuple[regex.Pattern[str], frozenset[str], tuple[frozenset[str], ...]]]


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

    def __post_init__(self) -> None:
        self._needs = {
            p: _Needs(frozenset(required_literals(p)), required_choices(p))
            for p in (*self.any, *self.all, *self.exclude)
        }
        self._any = [(p, *self._needs[p]) for p in self.any]
        #: one literal of each ``any`` expression (its longest): a text that holds none of them
        #: cannot fire the rule, which one set test tells; None when an expression needs none
        self.gate = _gate([self._needs[p] for p in self.any])
        # each ``all`` expression must match, and no ``exclude`` one
        self._all = [self._conditions([p]) for p in self.all]
        self._exclude = self._conditions(self.exclude)
        # the same for the exclusions: a text that holds none of their gate matches none
        self._exclude_gate = _gate([self._needs[p] for p in self.exclude])
        #: every literal the rule's expressions need or may choose, for :class:`TextScan` (the
        #: gates are made of them, those of words between "|" included)
        self.literals = frozenset().union(*(n.literals.union(*n.choices) for n in self._needs.values()))

    def _conditions(self, patterns: list[regex.Pattern[str]]) -> _Conditions:
        words = [(p, plain_alternatives(p)) for p in patterns]
        return _Conditions(
            [w for _, w in words if w is not None],
            [(p, *self._needs[p]) for p, w in words if w is None],
        )

    def _search(
        self, pattern: regex.Pattern[str], text: str, seen: dict[Any, Any]
    ) -> regex.Match[str] | None:
        found = seen.get(pattern, _UNSEEN)  # the same expression in another rule, on the same text
        if found is not _UNSEEN:
            return found
        try:
            # (text, pos, endpos, concurrent, partial, timeout): positional, which regex parses faster
            found = seen[pattern] = pattern.search(text, None, None, None, False, PATTERN_TIMEOUT)
        except TimeoutError as exc:
            raise ClassifyError(f"rule {self.id!r} ({self.origin}) timed out") from exc
        return found

    def _holds(
        self, conditions: _Conditions, text: str, seen: dict[Any, Any], present: frozenset[str]
    ) -> bool:
        """Whether one of ``conditions`` (``all`` or ``exclude`` expressions) matches in ``text``."""
        for words in conditions.words:
            for w in words:
                if w in text:
                    return True
        search = self._search
        for pattern, literals, choices in conditions.patterns:
            # without its literals it cannot match: no need to search
            if (
                literals <= present
                and (not choices or _chosen(choices, present))
                and search(pattern, text, seen) is not None
            ):
                return True
        return False

    def find(
        self, text: str, seen: dict[Any, Any] | None = None, present: frozenset[str] | None = None
    ) -> regex.Match[str] | None:
        """The first ``any`` match when the rule fires on (folded) ``text``, else None.

        An expression is searched only when ``text`` holds all its :func:`required_literals`
        and one of each of its :func:`required_choices`:
        ``present``, the literals ``text`` holds (at least: a literal said present that is not
        only costs a search), as :class:`TextScan` finds them in one pass; without it, each
        literal is looked for in ``text``. ``seen``: what searches on this same text found
        already (the rules share expressions)."""
        seen = {} if seen is None else seen
        if present is None:
            present = frozenset(lit for lit in self.literals if lit in text)
        # exclusions first: most cannot match (their literals are absent: a set test), and one
        # that does ("traitement algorithmique" in an AVS decree) spares the costlier searches
        if (self._exclude_gate is None or not self._exclude_gate.isdisjoint(present)) and self._holds(
            self._exclude, text, seen, present
        ):
            return None
        for pattern, literals, choices in self._any:
            if (
                literals <= present
                and (not choices or _chosen(choices, present))
                and (first := self._search(pattern, text, seen)) is not None
            ):
                break
        else:
            return None
        for condition in self._all:
            if not self._holds(condition, text, seen, present):
                return None
        return first


class TextScan:
    """Which of the rules' required literals a folded text holds, and where each first ends,
    and whether one of the vocabulary's split forms ("tra nsmission") stands in it as whole
    words: all found in one pass (an Aho-Corasick DFA, in Rust) rather than a substring test
    per literal and form."""

    def __init__(self, literals: set[str] | frozenset[str] | tuple[()], forms: list[bytes]):
        self._literals = sorted(literals)
        self._in_word: dict[str, frozenset[str]] = {}
        n = len(self._literals)
        patterns = [lit.encode("ascii") for lit in self._literals] + forms
        self._automaton = (
            ahocorasick_rs.BytesAhoCorasick(patterns, implementation=ahocorasick_rs.Implementation.DFA)
            if patterns
            else None
        )
        self._n = n
        # the name of each pattern's match: its literal, or None for every split form
        self._keys: list[str | None] = [*self._literals, *([None] * len(forms))]

    def __call__(self, folded: Folded) -> tuple[dict[str, int], bool]:
        """Each literal in ``folded`` with where its first occurrence ends (an offset in its
        bytes: literals and forms are ASCII, so Latin-1, cp1252 and UTF-8 bytes hold them
        alike), and whether a split form stands there as whole words."""
        if self._automaton is None:
            return {}, False
        keys, n = self._keys, self._n
        matches = self._automaton.find_matches_as_indexes(folded.data, overlapping=True)
        # matches come in the order they end: the last one written for a literal is its first
        first = {keys[i]: end for i, _, end in reversed(matches)}
        if first.pop(None, None) is None:  # no split form at all: most texts
            return first, False
        return first, any(folded.whole_word(start, end) for i, start, end in matches if i >= n)

    def literals(self, data: bytes) -> frozenset[str]:
        """The literals in ``data``."""
        if self._automaton is None:
            return frozenset()
        names, n = self._literals, self._n
        return frozenset(
            [names[i] for i, _, _ in self._automaton.find_matches_as_indexes(data, overlapping=True) if i < n]
        )

    def literals_in(self, word: str) -> frozenset[str]:
        """The literals ``word`` holds (for the words a repair writes: the vocabulary's)."""
        found = self._in_word.get(word)
        if found is None:
            found = self._in_word[word] = frozenset(lit for lit in self._literals if lit in word)
        return found


class Ruleset:
    def __init__(
        self, categories: dict[str, Category], rules: list[Rule], vocabulary: Vocabulary | None = None
    ):
        self.categories = categories
        self.rules = rules
        self.vocabulary = vocabulary or Vocabulary(set())
        self._scan = TextScan(frozenset().union(*(r.literals for r in rules)), self.vocabulary.split_forms)
        self.vocabulary.split_scan = self._scan  # one automaton of the split forms, not two

    def classify(self, decree: Decree) -> ClassifiedDecree:
        """The categories whose rules fire on this decree, with where and what they matched."""
        texts, starts = [], []
        pos = 0
        fuzzy = False
        for page in decree.pages:
            starts.append(pos)
            texts.append(page.text)
            pos += len(page.text) + 1
            fuzzy = fuzzy or page.method == "ocr"
        original = "\n".join(texts)
        normalized = fold(original)
        first, split = self._scan(normalized)
        folded, where = self.vocabulary.repair(normalized, fuzzy=fuzzy, split=split)
        repaired = folded is not normalized.text
        # a literal stands in a word: in the repaired text, in a word kept or in a word written
        written = (
            frozenset().union(*map(self._scan.literals_in, where.written(folded)))
            if repaired
            else frozenset()
        )
        present = frozenset(first) | written
        numbers = [p.number for p in decree.pages] or [decree.first_page]
        head_end = TITLE_SCOPE_CHARS
        if texts:
            limit = min(len(texts[0]), TITLE_SCOPE_CHARS + 200)
            if (visas := _visas_start(texts[0], normalized.text, TITLE_SCOPE_CHARS, limit)) >= 0:
                head_end = min(head_end, where.index(visas))
        title = fold(decree.title)
        at = _word_position(title, normalized)
        if at >= 0 and (span := where.span(at, at + len(title.text))) is not None:
            # the title stands in the text word for word: repaired as the text was
            if repaired:
                title = as_folded(folded[span[0] : span[1]])
        else:
            at = -1
            title = as_folded(self.vocabulary.repair(title, fuzzy=fuzzy)[0])
        head = title.text + "\n" + folded[:head_end]
        if normalized.single:  # one byte a character: offsets in the bytes are positions
            limit = where[min(head_end, len(folded))]  # where the head ends in the text scanned
            in_head = frozenset([lit for lit, end in first.items() if end <= limit]) | written
            if not 0 <= at <= at + len(title.text) <= limit:  # the title is not within the head
                in_head |= self._scan.literals(title.data)
        else:
            in_head = self._scan.literals(as_folded(head).data)
        title = title.text
        matches: list[Match] = []
        categories: set[str] = set()
        seen: dict[bool, dict[Any, Any]] = {True: {}, False: {}}
        for rule in self.rules:
            in_title = rule.scope == "title"
            if rule.gate is not None and rule.gate.isdisjoint(in_head if in_title else present):
                continue
            m = rule.find(head, seen[True], in_head) if in_title else rule.find(folded, seen[False], present)
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


def _word_position(part: Folded, text: Folded) -> int:
    """Where ``part`` first stands in ``text`` between word boundaries (so that each of its
    words is a word of ``text``), or -1."""
    if text.single and (part.encoding == text.encoding or part.text.isascii()):
        start = text.data.find(part.data)  # the same bytes for the same characters
        return start if start >= 0 and text.whole_word(start, start + len(part.data)) else -1
    start = text.text.find(part.text)
    return start if start >= 0 and _stands_alone(text.text, start, start + len(part.text)) else -1


def _stands_alone(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` stands between word boundaries (the test of
    :meth:`Folded.whole_word` on characters, for text that is not one byte a character)."""
    return not (start and _WORD_CHAR.match(text, start - 1)) and not _WORD_CHAR.match(text, end)


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
    rules: list[Rule] = []
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
            rules.append(rule)
            for key in ("any", "all", "exclude", "must_match", "must_not_match"):
                value = data.get(key, [])
                texts.extend([value] if isinstance(value, str) else value)
            examples[rule.id] = data
    expressions = [p.pattern for r in rules for p in (*r.any, *r.all, *r.exclude)]
    vocabulary = Vocabulary.from_texts([t for t in texts if not t.startswith("re:")], expressions)
    ruleset = Ruleset(categories, rules, vocabulary)
    for rule in ruleset.rules:  # examples are checked as text would be: through the vocabulary
        ruleset.check_examples(rule, examples[rule.id])
    return ruleset
