"""Access Now's reasons for resigning, as verbatim quotes.

The quotes themselves are checked at load time (loader.py): each must occur verbatim in the
letter's body, and carries its paragraph number. Here they are only selected, never edited.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.corpus.models import Reason
from bot.corpus.names import fold

MIN_STEM = 4


def _stem(term: str) -> str:
    """A crude prefix stem, so "recognise", "ban" or "companies" find their reasons."""
    if len(term) <= MIN_STEM + 1:
        return term
    return term[: max(MIN_STEM, len(term) - 2)]


def filter_reasons(reasons: Iterable[Reason], topic: str) -> list[Reason]:
    """Reasons whose label or quote holds every word of the topic (prefix-stemmed, accent-folded)."""
    stems = [_stem(term) for term in fold(topic).split()]
    chosen: list[Reason] = []
    for reason in reasons:
        words = fold(f"{reason.label} {reason.quote}").split()
        if stems and all(any(word.startswith(stem) for word in words) for stem in stems):
            chosen.append(reason)
    return chosen
