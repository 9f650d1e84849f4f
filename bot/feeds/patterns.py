"""User-supplied regular expressions, run where no pattern can take exponential time.

A subscription's regex filter is typed by whoever manages a channel and then runs against every
new entry, so Python's backtracking ``re`` is out: ``(a+)+$`` on a long title would hold a worker
for hours. RE2 (google-re2) compiles a pattern to an automaton and matches in time linear in the
text, whatever the pattern; what it cannot promise (backreferences, lookaround) it refuses at
compile time with its own message, which the command shows. Patterns are also capped in length
(``MAX_PATTERN_CHARS``) and in the memory RE2 may use for one (``MAX_PATTERN_MEMORY``), so a
pattern such as ``[a-z]{1000}`` nested a few times is refused instead of being built.

Matching is case-insensitive, like the filters' "contains" and "words".
"""

from __future__ import annotations

from functools import lru_cache

import re2

MAX_PATTERN_CHARS = 200
"""Longest pattern accepted (Discord's option is capped at the same length)."""
MAX_PATTERN_MEMORY = 1 << 20
"""RE2's memory budget for one compiled pattern (1 MiB); a pattern needing more is refused."""


class PatternError(ValueError):
    """The pattern cannot be used; the message is RE2's (or says it is too long)."""


def _options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # RE2 would otherwise print each refused pattern on stderr
    options.max_mem = MAX_PATTERN_MEMORY
    return options


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re2._Regexp:
    """The compiled pattern (cached: every entry is matched against the same few patterns).

    Raises :class:`PatternError` with RE2's reason ("missing ): (a", "invalid perl operator:
    (?<=") or the length limit."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(f"the pattern is {len(pattern)} characters; at most {MAX_PATTERN_CHARS}")
    if not pattern:
        raise PatternError("the pattern is empty")
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid pattern"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(str(reason)) from None


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is refused (RE2's message), or None when it compiles."""
    try:
        compile_pattern(pattern)
    except PatternError as exc:
        return str(exc)
    return None


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` occurs in ``text``; a pattern that does not compile matches nothing
    (patterns are checked when stored, so this only guards rows written by hand)."""
    try:
        compiled = compile_pattern(pattern)
    except PatternError:
        return False
    return compiled.search(text) is not None
