"""Errors the core raises on purpose. Each is an answer, not a crash: front ends map them to a
clear message (CLI: exit 1 and one line; Discord: a friendly ephemeral reply)."""

from __future__ import annotations

from typing import Literal

from bot.corpus.models import Candidate, Problem

AnswerErrorKind = Literal["not_found", "ambiguous", "bad_input"]


class AnswerError(Exception):
    """The question has no single answer: unknown or ambiguous input, or input that is invalid.

    `candidates` holds the closest matches, best first, for a "did you mean".
    """

    def __init__(
        self, kind: AnswerErrorKind, message: str, candidates: list[Candidate] | None = None
    ) -> None:
        super().__init__(message)
        self.kind: AnswerErrorKind = kind
        self.message = message
        self.candidates: list[Candidate] = list(candidates or [])

    def to_json(self) -> dict[str, object]:
        return {
            "error": {
                "kind": self.kind,
                "message": self.message,
                "candidates": [{"value": c.value, "label": c.label} for c in self.candidates],
            }
        }


class CorpusInvalid(Exception):
    """The corpus folder has problems; nothing was changed. `problems` lists every one."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        head = f"{len(problems)} problem(s) in the corpus"
        super().__init__(head + "".join(f"\n  {p}" for p in problems))
