"""Words for counts, shared by the front ends: "1 document", "2 documents", never "1 document(s)"."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun in the number it takes ("1 file", "12,000 files", "2 matches")."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def counted_matches(total: int, at_least: bool) -> str:
    """ "1 document matches", "3 documents match", "500+ documents match": a search's heading in
    both front ends (a lower bound is plural whatever its number)."""
    if total == 1 and not at_least:
        return "1 document matches"
    return f"{total}{'+' if at_least else ''} documents match"
