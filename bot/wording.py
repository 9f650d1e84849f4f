"""Words for counts, shared by the front ends: "1 document", "2 documents", never "1 document(s)"."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun in the number it takes ("1 file", "12,000 files", "2 matches")."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
