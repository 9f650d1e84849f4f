"""Field errors in Discord's error-body shape, shared by schema validation and limit checks.

Discord answers an invalid body with 400 `{"code": 50035, "message": "Invalid Form Body",
"errors": {...}}` where `errors` mirrors the body's structure and each bad field holds
`{"_errors": [{"code": ..., "message": ...}]}`. Tests read the same shape the bot would log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PathPart = str | int


@dataclass(frozen=True)
class FieldError:
    """One problem at one place of a request body."""

    path: tuple[PathPart, ...]
    code: str
    message: str
    detail: str = ""

    def dotted_path(self) -> str:
        return ".".join(str(p) for p in self.path) or "<body>"

    def describe(self) -> str:
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.dotted_path()}: {self.message} [{self.code}]{extra}"


def errors_tree(field_errors: list[FieldError]) -> dict[str, Any]:
    """Discord's nested `errors` object for a list of field errors."""
    tree: dict[str, Any] = {}
    for fe in field_errors:
        node = tree
        for part in fe.path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": fe.code, "message": fe.message})
    return tree


def unique(field_errors: list[FieldError]) -> list[FieldError]:
    """Drop repeats of the same code at the same place (schema and limit checks overlap)."""
    seen: set[tuple[tuple[PathPart, ...], str]] = set()
    out = []
    for fe in field_errors:
        key = (fe.path, fe.code)
        if key not in seen:
            seen.add(key)
            out.append(fe)
    return out


def short_repr(value: Any, limit: int = 60) -> str:
    """A value for a human-readable problem line, cut so a 5,000-char string stays readable."""
    if isinstance(value, str):
        text = repr(value if len(value) <= limit else value[:limit] + "…")
        return f"{text}, {len(value)} chars" if len(value) > limit else text
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
