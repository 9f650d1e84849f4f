"""Text and links that leave the bot, made inert: shared by the Discord layer and the CLI.

Corpus files, feed items and user input are untrusted. Before any of it is shown, in Discord or
on a terminal, `strip_controls` removes what is not text but an instruction to whatever displays
it: ANSI escape sequences (a terminal would recolour, retitle or clear itself), the other C0 and
C1 control characters (a lone carriage return overwrites the line it is on), and the Unicode bidi
embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), which reorder what a reader
sees without changing the text ("Trojan Source"). Tabs and line breaks stay; CRLF becomes LF.

`web_url` is the one gate for URLs: only an absolute http(s) URL with a host gets out, with the
characters that could end it inside Markdown (`<`, `>`, spaces, quotes, backslashes…)
percent-encoded, and only if it fits Discord's 2,048 characters; anything else is dropped rather
than clipped, since a cut URL points somewhere else.

No discord import: the CLI uses this too, and the core never needs it.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import quote, urlsplit

URL_LIMIT = 2048
"""Discord's limit for every URL of an embed (url, author url, footer and image icons)."""

_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI: colours, cursor moves, erase (ECMA-48)
    r"|\x1b\][ -~]*(?:\x07|\x1b\\)?"  # OSC: window titles, hyperlinks; ended by BEL or ST
    r"|\x1b[ -/]*[0-~]?"  # other escape sequences (charset switches, resets)
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # the 8-bit CSI
)
"""Whole sequences go, so no stray "[31m" is left behind; the lone controls are caught below.
Each alternative consumes only printable ASCII after its introducer, so the scan is linear."""

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""C0 but tab and LF, DEL, C1, and the bidi embeddings, overrides and isolates."""

_URL_SAFE = "!#$%&'()*+,/:;=?@[]~-._"
"""Kept as they are in a URL (RFC 3986's reserved and unreserved characters, and `%`); everything
else, notably `<`, `>`, `"`, `\\`, backtick, `{`, `}`, `|`, `^`, spaces and non-ASCII, is percent-encoded."""

_HOST = re.compile(r"[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\]")


def strip_controls(text: str) -> str:
    """`text` without escape sequences, control characters or bidi overrides (see the module)."""
    # The common cases, checked in C: nothing to remove. isprintable() is the quickest but is
    # False for any line break, so text with lines (descriptions, quotes) takes one search of the
    # character class (ESC, CR and the 8-bit CSI are in it): two substitutions per string cost a
    # burst of commands ~0.2 ms of the event loop per command (bench_commands --profile).
    if text.isprintable() or _CONTROLS.search(text) is None:
        return text
    text = text.replace("\r\n", "\n")
    return _CONTROLS.sub("", _ANSI.sub("", text))


def web_url(url: str | None, limit: int = URL_LIMIT) -> str | None:
    """`url` fit to send, or None: http(s), a plain host, nothing that can end a link early,
    at most `limit` characters once percent-encoded."""
    if not url or len(url) > 4 * limit:  # bounded work; percent-encoding only lengthens a URL
        return None
    return _web_url(url, limit)


@functools.lru_cache(maxsize=1024)
def _web_url(url: str, limit: int) -> str | None:
    """Cached: answers repeat the same documents' URLs, and each check (split, IDNA, three
    percent-encodings) cost ~20 µs of the event loop, several times per answer. Pure, and its
    arguments are bounded (at most 4 x `limit` characters), so the cache is at most ~8 MB."""
    try:
        parts = urlsplit(strip_controls(url).strip())
        host = parts.hostname
        port = parts.port  # raises on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    if not _HOST.fullmatch(host if ":" not in host else f"[{host}]"):
        try:  # an internationalised host: its ASCII (punycode) form
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
        if not _HOST.fullmatch(host):
            return None
    netloc = (f"[{host}]" if ":" in host else host) + (f":{port}" if port is not None else "")
    # user:password@ is dropped: never shown, never a way to disguise the host.
    cleaned = f"{parts.scheme.lower()}://{netloc}{quote(parts.path, safe=_URL_SAFE)}"
    if parts.query:
        cleaned += "?" + quote(parts.query, safe=_URL_SAFE)
    if parts.fragment:
        cleaned += "#" + quote(parts.fragment, safe=_URL_SAFE)
    return cleaned if len(cleaned) <= limit else None
