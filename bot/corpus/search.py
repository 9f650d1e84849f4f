"""Turning what a person typed into a safe FTS5 query.

FTS5 has its own syntax (quotes, `NEAR`, `*`, `^`, column filters `col:`, AND/OR/NOT). Users must
never be able to reach it: a stray quote would be a syntax error, a column filter a way to probe
the schema. So user text is reduced to words (letters and digits, accents folded) and each word
becomes a quoted FTS5 string. The result is always valid FTS5, whatever the input.
"""

from __future__ import annotations

from bot.corpus.names import fold

MAX_QUERY_CHARS = 10_000
MAX_TERMS = 16
MAX_TERM_CHARS = 64


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
