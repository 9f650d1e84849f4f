"""Summaries of corpus documents: the summarizer applied with the corpus's own rules.

The summarizer (summarizer.py) picks sentences of any text. Corpus documents add one rule: an
excerpt (the opening of a longer post) ends with a sentence cut off by "…", which states only
half a thought, so it is never offered as a summary sentence.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.corpus.sentences import split_sentences
from bot.corpus.summarizer import summarize

SUMMARY_VERSION = 2
"""Part of the cache key: bump it when the summarizer's output for the same text changes."""

TRUNCATION_MARKS = ("…", "...")


@dataclass(frozen=True, slots=True)
class DocumentSummary:
    sentences: list[str]


def summarizable_text(body: str, *, excerpt: bool) -> str:
    """The body without a final sentence cut off mid-way (only for excerpts)."""
    stripped = body.rstrip()
    if not excerpt or not stripped.endswith(TRUNCATION_MARKS):
        return body
    sentences = split_sentences(stripped)
    if len(sentences) <= 1:
        return body
    return stripped[: sentences[-1].start].rstrip()


def summarize_document(
    body: str, *, title: str | None, sentences: int, max_chars: int, excerpt: bool
) -> DocumentSummary:
    """Pure and synchronous: callers run it in a worker thread."""
    text = summarizable_text(body, excerpt=excerpt)
    picked = summarize(text, title=title, max_sentences=sentences, max_chars=max_chars)
    return DocumentSummary(sentences=list(picked))
