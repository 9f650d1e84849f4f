"""Turning what a person typed into a safe FTS5 query.

FTS5 has its own syntax (quotes, `NEAR`, `*`, `^`, column filters `col:`, AND/OR/NOT). Users must
never be able to reach it: a stray quote would be a syntax error, a column filter a way to probe
the schema. So user text is reduced to words (letters and digits, accents folded) and each word
becomes a quoted FTS5 string. The result is always valid FTS5, whatever the input.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

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
    """A snippet of `text` around the first word equal (folded) to one of `terms`.

    For searches whose every word is common, where FTS5's snippet() would cost milliseconds a
    document (it scores every occurrence against every other). Words are compared whole and
    folded, without stemming; with no occurrence in `text` the snippet is its opening words.
    """
    wanted = set(terms)

    def matches(word: str) -> bool:
        lowered = word.lower()
        return lowered in wanted if lowered.isascii() else fold(word) in wanted

    words: list[re.Match[str]] = []
    first: int | None = None
    for word in _WORD.finditer(text):  # lazily: a common word occurs early, stop soon after it
        words.append(word)
        if first is None and matches(word.group()):
            first = len(words) - 1
        if first is not None and len(words) > first + tokens:
            break
    if not words:
        return ""
    start = 0 if first is None else max(0, min(first - tokens // 4, len(words) - tokens))
    shown = words[start : start + tokens]
    parts: list[str] = ["…"] if start > 0 else []
    cursor = shown[0].start()
    for word in shown:
        parts.append(text[cursor : word.start()])
        parts.append(HIGHLIGHT_OPEN + word.group() + HIGHLIGHT_CLOSE if matches(word.group()) else word.group())
        cursor = word.end()
    if start + tokens < len(words):
        parts.append("…")
    return " ".join("".join(parts).split())
