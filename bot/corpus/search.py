"""Turning what a person typed into a safe FTS5 query.

FTS5 has its own syntax (quotes, `NEAR`, `*`, `^`, column filters `col:`, AND/OR/NOT). Users must
never be able to reach it: a stray quote would be a syntax error, a column filter a way to probe
the schema. So user text is reduced to words (letters and digits, accents folded) and each word
becomes a quoted FTS5 string. The result is always valid FTS5, whatever the input.
"""

from __future__ import annotations

import collections
import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import Indel

from bot.corpus.models import HIGHLIGHT_CLOSE, HIGHLIGHT_OPEN
from bot.corpus.names import fold

MAX_QUERY_CHARS = 10_000
MAX_TERMS = 16
MAX_TERM_CHARS = 64
_WORD = re.compile(r"\w+")


def query_terms(text: str) -> list[str]:
    """The distinct words of the input, folded like the index folds them, in order, capped."""
    terms: list[str] = []
    for word in fold(text[:MAX_QUERY_CHARS]).split():
        word = word[:MAX_TERM_CHARS]
        if word not in terms:
            terms.append(word)
        if len(terms) == MAX_TERMS:
            break
    return terms


def _quoted(term: str, *, prefix: bool) -> str:
    # `term` holds only letters and digits (fold() removed everything else): no quote can occur.
    return f'"{term}"*' if prefix else f'"{term}"'


def all_of(terms: list[str], *, prefix: bool = False) -> str:
    """Every term must occur (FTS5's implicit AND)."""
    return " ".join(_quoted(t, prefix=prefix) for t in terms)


def any_of(terms: list[str], *, prefix: bool = False) -> str:
    """At least one term must occur; bm25 still ranks documents with more of them first."""
    return " OR ".join(_quoted(t, prefix=prefix) for t in terms)


@dataclass(frozen=True, slots=True)
class SearchTuning:
    """How much work one search may do on a large corpus (see `CorpusStore.search_page`).

    Full-text ranking costs a few microseconds per matching document, and FTS5's bm25 also reads
    the whole posting list of every phrase once per query to count its documents. At 100,000
    documents a common word matches most of them, so both costs grow with the corpus; these
    bounds keep one search to a few milliseconds whatever its size.
    """

    rank_window: int = 500
    """Rank at most this many matches: the most recently indexed ones (highest rowids)."""
    common_share: float = 0.25
    """A word in more than this share of documents is "common": it is left out of ranking and
    highlighting (it still filters). bm25 weighs a word by its idf, ln((N - n + 0.5) / (n + 0.5)):
    below ln 3 = 1.1 for a word in a quarter of the documents (rare words: 4 and more), and FTS5
    clamps it to 1e-6 above half. Computing it reads the word's whole posting list, once per query:
    3 ms for a word in 44,000 documents, 16 ms for "the" in all 100,000."""
    common_min_documents: int = 20_000
    """Below this many documents nothing is treated as common: the costs above stay small."""
    sample_documents: int = 2000
    """A word's share is measured on this many of the most recently indexed documents."""
    title_window: int = 200
    """Title lookups rank at most this many matching titles."""
    snippet_tokens: int = 24


def highlight_window(text: str, terms: Sequence[str], *, tokens: int = 24) -> str:
    """A snippet of `text` around the first occurrence of one of `terms` (folded words).

    For searches whose every word is common, where FTS5's snippet() would cost milliseconds a
    document (it scores every occurrence against every other). Without the index's stemmer, a
    word counts as an occurrence when it folds to a term, or, for terms of five letters and more,
    starts with the term less its last two letters and is at most four letters longer ("ethics"
    finds "ethical"). With no occurrence the snippet is the opening words.
    """
    matcher = _occurrences(tuple(terms))
    first = matcher.first(text)
    before: list[re.Match[str]] = []
    if first is not None:
        lead = max(0, first - 40 * tokens)  # enough text for the few words shown before it
        before = list(_WORD.finditer(text, lead, first))
        if lead > 0:
            before = before[1:]  # the first may be a word cut in half
        before = before[-(tokens // 4) :] if tokens >= 4 else []
    after = itertools.islice(_WORD.finditer(text, first or 0), tokens - len(before) + 1)
    words = [*before, *after]
    if not words:
        return ""
    shown = words[:tokens]
    parts: list[str] = ["…"] if _WORD.search(text, 0, shown[0].start()) else []
    cursor = shown[0].start()
    for word in shown:
        parts.append(text[cursor : word.start()])
        parts.append(
            HIGHLIGHT_OPEN + word.group() + HIGHLIGHT_CLOSE
            if matcher.matches(word.group())
            else word.group()
        )
        cursor = word.end()
    if len(words) > tokens:
        parts.append("…")
    return " ".join("".join(parts).split())


class _Occurrences:
    """Finds words of a text that count as occurrences of folded search terms (see above)."""

    def __init__(self, terms: Sequence[str]) -> None:
        self.exact = set(terms)
        self.stems = {t[:-2] for t in terms if len(t) >= 5}
        heads = sorted(self.exact | self.stems, key=len, reverse=True)
        self.candidates = re.compile(
            r"\b(?:" + "|".join(_loose(h) for h in heads) + r")\w*", re.IGNORECASE
        )

    def matches(self, word: str) -> bool:
        folded = word.lower() if word.isascii() else fold(word)
        if folded in self.exact:
            return True
        return any(folded.startswith(stem) and len(folded) - len(stem) <= 4 for stem in self.stems)

    def first(self, text: str) -> int | None:
        """Offset of the first occurrence, found by a regex (at C speed), then checked."""
        for found in self.candidates.finditer(text):
            if self.matches(found.group()):
                return found.start()
        return None


def _accented_letters() -> dict[str, str]:
    """ASCII letter -> itself and the Latin letters that fold to it ("e" -> "eèéêë…")."""
    letters = {chr(c): chr(c) for c in range(ord("a"), ord("z") + 1)}
    for code in range(0xC0, 0x250):
        folded = fold(chr(code))
        if folded in letters:
            letters[folded] += chr(code)
    return letters


_ACCENTED = _accented_letters()


def _loose(term: str) -> str:
    """A regex for `term` that also matches its letters with accents ("zoe" finds "Zoë")."""
    return "".join(f"[{_ACCENTED[ch]}]" if ch in _ACCENTED else re.escape(ch) for ch in term)


@functools.lru_cache(maxsize=128)
def _occurrences(terms: tuple[str, ...]) -> _Occurrences:
    """One matcher per search, reused for each of its hits."""
    return _Occurrences(terms)


# --- names typed with a typo -------------------------------------------------------------------


class NameIndex:
    """Close matches among a few thousand names (author keys) without comparing each one.

    difflib compared two strings in tens of microseconds, so scanning 2,000 authors, and every
    word of each for the word-by-word fallback, took 185 ms. Trigrams shared with the input pick
    at most `PRESELECT` candidates first; rapidfuzz then scores those alone (Indel similarity,
    difflib's ratio on the longest common subsequence: 5 µs for 50 candidates, difflib 384 µs).
    """

    PRESELECT = 50

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = list(keys)
        """In the caller's order (most posts first): the word fallback keeps that order."""
        self._key_grams = _gram_index(self.keys)
        self.words = sorted({word for key in self.keys for word in key.split()})
        self._word_grams = _gram_index(self.words)
        self._keys_with_word: dict[str, list[int]] = {}
        for position, key in enumerate(self.keys):
            for word in set(key.split()):
                self._keys_with_word.setdefault(word, []).append(position)

    def close(self, key: str, *, n: int = 5, cutoff: float = 0.6) -> list[str]:
        """Keys like `key` as a whole, best first (equal scores in preselection order)."""
        candidates = [self.keys[i] for i in _preselect(self._key_grams, key, self.PRESELECT)]
        return _close_matches(key, candidates, n=n, cutoff=cutoff)

    def with_close_word(
        self, terms: Sequence[str], *, n: int = 5, cutoff: float = 0.75
    ) -> list[str]:
        """Keys holding a word like one of `terms` ("wardel" -> "claire wardle"), in index order."""
        positions: set[int] = set()
        for term in terms:
            candidates = [self.words[i] for i in _preselect(self._word_grams, term, self.PRESELECT)]
            for word in _close_matches(term, candidates, n=max(1, len(candidates)), cutoff=cutoff):
                positions.update(self._keys_with_word[word])
        return [self.keys[i] for i in sorted(positions)[:n]]


def _close_matches(key: str, candidates: Sequence[str], *, n: int, cutoff: float) -> list[str]:
    """The `n` candidates most like `key` with a similarity of at least `cutoff`, best first:
    what difflib.get_close_matches answered, scored by rapidfuzz's Indel similarity (its ratio
    on the longest common subsequence, in C)."""
    found = process.extract(
        key, candidates, scorer=Indel.normalized_similarity, limit=n, score_cutoff=cutoff
    )
    return [candidate for candidate, _score, _index in found]


def _trigrams(text: str) -> set[str]:
    padded = f"  {text} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _gram_index(texts: Sequence[str]) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for position, text in enumerate(texts):
        for gram in _trigrams(text):
            index.setdefault(gram, []).append(position)
    return index


def _preselect(index: dict[str, list[int]], text: str, limit: int) -> list[int]:
    """Positions of the texts sharing the most trigrams with `text`."""
    shared: collections.Counter[int] = collections.Counter()
    for gram in _trigrams(text):
        shared.update(index.get(gram, ()))
    return [position for position, _ in shared.most_common(limit)]
