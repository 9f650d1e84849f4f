"""Passages: the units `ask` retrieves, and the quotes it shows from them.

A passage is a paragraph of a document's body, or, for a long paragraph, a window of a few
adjacent sentences of it (windows overlap by one sentence, so an answer that straddles two
windows is still whole in one). Passages are stored as spans (start, length) of the body, never
as copies of its text: a quote is always a slice of the body, verbatim, and the index does not
hold the corpus's text twice (at 100,000 documents that would be another 520 MB).

Why these sizes: a bm25 score over a whole document rewards long documents that mention every
word somewhere; over a paragraph it rewards the place that says it. Paragraphs of up to
`MAX_PARAGRAPH_SENTENCES` sentences and `MAX_PARAGRAPH_WORDS` words are kept whole (most of the
bundled corpus's paragraphs are); longer ones are cut into windows of `WINDOW_SENTENCES`.

Paragraph numbers are the loader's (`loader.paragraphs`, blank-line separated, counting only
paragraphs that hold text), so a passage's paragraph is the one /reasons names for the same text.
Sentences come from `sentences.split_sentences`, which gives exact slices: a passage never starts
or ends mid-sentence.

The full-text rowid of a passage is `documents.pk * PASSAGES_PER_DOCUMENT + ordinal`: a
document's passages are one contiguous rowid range, deleted with it by a trigger (migration 7),
and the newest documents' passages have the highest rowids, as documents do.
"""

from __future__ import annotations

import functools
import math
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from bot.corpus.loader import paragraphs
from bot.corpus.names import fold
from bot.corpus.sentences import Sentence, split_sentences

PASSAGES_PER_DOCUMENT = 1 << 20  # 1048576, as written in the SQL below and in migration 7
"""Rowids per document; a document's passages beyond this many are not indexed (a body within
the loader's size cap has far fewer: a window holds at least a few characters)."""
MAX_PARAGRAPH_SENTENCES = 5
MAX_PARAGRAPH_WORDS = 150
WINDOW_SENTENCES = 3
WINDOW_STEP = 2
MAX_QUOTE_SENTENCES = 3
BACKFILL_PAGE = 200
"""Documents read at once when an existing index gets its passages (bounded memory)."""

_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class PassageSpan:
    """Where a passage sits in its document's body (`body[start:end]` is its text)."""

    ordinal: int
    paragraph: int
    """1-based paragraph number, as `loader.paragraphs` counts."""
    start: int
    end: int


def paragraph_spans(body: str) -> list[tuple[int, int, int]]:
    """(paragraph number, start, end) of each paragraph `loader.paragraphs` finds, located in the
    body: the paragraphs are its pieces in order, so each is found after the previous one."""
    spans: list[tuple[int, int, int]] = []
    cursor = 0
    for number, text in enumerate(paragraphs(body), start=1):
        start = body.find(text, cursor)
        if start < 0:  # cannot happen for split pieces; never guess a span
            break
        cursor = start + len(text)
        spans.append((number, start, cursor))
    return spans


def split_passages(body: str) -> list[PassageSpan]:
    """The passages of a body, in text order (see the module docstring)."""
    sentences = split_sentences(body)
    spans = paragraph_spans(body)
    out: list[PassageSpan] = []
    index = 0
    for number, _start, end in spans:
        members: list[Sentence] = []
        while index < len(sentences) and sentences[index].start < end:
            members.append(sentences[index])
            index += 1
        if not members:
            continue
        words = sum(len(s.text.split()) for s in members)
        if len(members) <= MAX_PARAGRAPH_SENTENCES and words <= MAX_PARAGRAPH_WORDS:
            groups = [members]
        else:
            groups = [
                members[i : i + WINDOW_SENTENCES]
                for i in range(
                    0, max(1, len(members) - WINDOW_SENTENCES + WINDOW_STEP), WINDOW_STEP
                )
            ]
        for group in groups:
            if len(out) >= PASSAGES_PER_DOCUMENT:
                return out
            out.append(PassageSpan(len(out), number, group[0].start, group[-1].end))
    return out


PassageRow = tuple[str, int, int, int, int, str, str]
"""(doc id, ordinal, paragraph, start, length, shown title, text): what the writer inserts."""


def passage_rows(doc_id: str, shown_title: str, body: str) -> list[PassageRow]:
    """A document's passages as rows for `insert_passages` (pure: runs in a worker thread)."""
    return [
        (
            doc_id,
            p.ordinal,
            p.paragraph,
            p.start,
            p.end - p.start,
            shown_title,
            body[p.start : p.end],
        )
        for p in split_passages(body)
    ]


INSERT_PASSAGES = (
    "INSERT INTO passages (id, paragraph, start, length) "
    "VALUES ((SELECT pk FROM documents WHERE id = ?) * 1048576 + ?, ?, ?, ?)"
)
INSERT_PASSAGES_FTS = (
    "INSERT INTO passages_fts (rowid, title, text) "
    "VALUES ((SELECT pk FROM documents WHERE id = ?) * 1048576 + ?, ?, ?)"
)


def passage_params(
    rows: Sequence[PassageRow],
) -> tuple[list[tuple[str, int, int, int, int]], list[tuple[str, int, str, str]]]:
    """The parameters of `INSERT_PASSAGES` and `INSERT_PASSAGES_FTS` for rows of documents
    already inserted (their pk is looked up by id). The text given to FTS5 is exactly
    `substr(body, start + 1, length)`, what the delete trigger gives back: a contentless index
    must be told the same text to forget it."""
    spans = [
        (doc_id, ordinal, paragraph, start, length)
        for doc_id, ordinal, paragraph, start, length, _, _ in rows
    ]
    texts = [(doc_id, ordinal, title, text) for doc_id, ordinal, _, _, _, title, text in rows]
    return spans, texts


def insert_passages(conn: sqlite3.Connection, rows: Sequence[PassageRow]) -> None:
    """Write passages (see `passage_params`) on a plain sqlite3 connection."""
    spans, texts = passage_params(rows)
    conn.executemany(INSERT_PASSAGES, spans)
    conn.executemany(INSERT_PASSAGES_FTS, texts)


def backfill_passages(conn: sqlite3.Connection) -> None:
    """Migration 7's second half, inside its transaction: passages for every document an older
    version indexed (corpus files and feed entries alike), a page of documents at a time. Runs
    once, when an index is first opened by this version; a new index has no documents yet."""
    after = 0
    while True:
        page = conn.execute(
            "SELECT pk, id, display_title, body FROM documents WHERE pk > ? ORDER BY pk LIMIT ?",
            (after, BACKFILL_PAGE),
        ).fetchall()
        if not page:
            return
        rows: list[PassageRow] = []
        for _pk, doc_id, title, body in page:
            rows.extend(passage_rows(doc_id, title, body))
        insert_passages(conn, rows)
        after = page[-1][0]


# --- quotes ------------------------------------------------------------------------------------


_SUFFIXES = (
    "ational",
    "ization",
    "fulness",
    "iveness",
    "ations",
    "ation",
    "ments",
    "ment",
    "ness",
    "ings",
    "ing",
    "ies",
    "ied",
    "ers",
    "er",
    "ed",
    "ly",
    "es",
    "s",
    "al",
    "ions",
    "ion",
    "ive",
    "ity",
)
_DOUBLED = re.compile(r"([b-df-hj-np-tv-z])\1$")


@functools.lru_cache(maxsize=65_536)
def light_stem(word: str) -> str:
    """A folded word less one common English suffix, a doubled final consonant undoubled
    ("banned" -> "ban", "regulations" -> "regul", "ethics" -> "ethic"). Only for placing quotes and
    counting which question words a passage holds, in Python; retrieval uses FTS5's own Porter
    stemmer. Words of four letters or fewer are left whole."""
    if len(word) <= 4:
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return _DOUBLED.sub(r"\1", word)


def word_matches(word: str, term: str) -> bool:
    """Whether a word of the text counts as the folded query term: equal, or the same once
    `light_stem` has taken a suffix off each ("banned" and "ban", "regulation" and "regulations")."""
    return word == term or light_stem(word) == light_stem(term)


def matched_terms(text: str, terms: Sequence[str]) -> set[str]:
    """The terms that occur in `text` (see `word_matches`)."""
    words = {fold(w) if not w.isascii() else w.lower() for w in _WORD.findall(text)}
    return {t for t in terms if any(word_matches(w, t) for w in words)}


def best_quote(
    body: str, start: int, end: int, terms: Sequence[str], weights: dict[str, float]
) -> tuple[int, int, set[str]]:
    """The span of 1 to `MAX_QUOTE_SENTENCES` adjacent whole sentences of `body[start:end]` that
    holds the most weight of query terms (ties: the shorter, then the earlier), and the terms it
    holds. Offsets are the body's: the quote is `body[qs:qe]`, verbatim."""
    sentences = [s for s in split_sentences(body[start:end])]
    if not sentences:
        return start, end, set()
    found = [matched_terms(s.text, terms) for s in sentences]
    best: tuple[float, int, int] | None = None
    best_span = (0, 0)
    for first in range(len(sentences)):
        held: set[str] = set()
        for last in range(first, min(len(sentences), first + MAX_QUOTE_SENTENCES)):
            held |= found[last]
            weight = math.fsum(weights.get(t, 0.0) for t in held)  # exact: see rank_passages
            key = (weight, -(last - first), -first)
            if best is None or key > best:
                best = key
                best_span = (first, last)
    first, last = best_span
    held = set().union(*found[first : last + 1])
    return start + sentences[first].start, start + sentences[last].end, held
