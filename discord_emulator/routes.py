"""Path patterns like "/channels/{channel_id}/messages", as used by fault injection and rate
limits. A `{name}` segment matches any one path segment; `*` matches anything."""

from __future__ import annotations

import re

API_PREFIX = "/api/v10"

_PLACEHOLDER = re.compile(r"\{(\w+)\}|\*")


def strip_prefix(path: str) -> str:
    """The path without the API prefix and query, as the emulator logs it."""
    path = path.split("?", 1)[0]
    for prefix in (API_PREFIX, "/api/v9", "/api"):
        if path.startswith(prefix + "/"):
            return path[len(prefix) :]
    return path


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A regex for a path pattern; `{name}` segments become named groups."""
    pattern = strip_prefix(pattern)
    parts: list[str] = []
    last = 0
    for match in _PLACEHOLDER.finditer(pattern):
        parts.append(re.escape(pattern[last : match.start()]))
        name = match.group(1)
        parts.append(f"(?P<{name}>[^/]+)" if name else ".*")
        last = match.end()
    parts.append(re.escape(pattern[last:]))
    return re.compile("^" + "".join(parts) + "/?$")


def method_matches(wanted: str, method: str) -> bool:
    return wanted == "*" or wanted.upper() == method.upper()
