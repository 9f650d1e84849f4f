"""Which title a document is shown under, when its own is unknown.

The seeds' facts say never to guess a missing field: a document without a title is shown under
an inferred title (when someone recorded one, marked "inferred") or under its opening words
(marked "untitled"), never under an invented one.
"""

from __future__ import annotations

from bot.corpus.models import Document, TitleSource

DERIVED_TITLE_WORDS = 8


def display_title(document: Document) -> tuple[str, TitleSource]:
    if document.title:
        return document.title, "given"
    inferred = document.annotations.get("title_inferred")
    if isinstance(inferred, str) and inferred.strip():
        return " ".join(inferred.split()), "inferred"
    return opening_words(document.body), "derived"


def opening_words(body: str, count: int = DERIVED_TITLE_WORDS) -> str:
    """The first words of the body, with an ellipsis when cut."""
    first_paragraph = body.strip().split("\n\n", 1)[0]
    words = first_paragraph.split()
    if len(words) <= count:
        return " ".join(words)
    return " ".join(words[:count]).rstrip(",;:—–-") + "…"
