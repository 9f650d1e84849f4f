"""Which corpus documents a piece of text links to: its http(s) links, each compared with the
documents' `url`s in a normalised form, and its words that are document ids.

A message someone wrote is bounded before it is looked at (`MAX_LINK_TEXT` characters, the first
`MAX_LINKS` links), so a hostile message costs at most a handful of indexed lookups.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MAX_LINK_TEXT = 8_000
"""Characters of a message looked at: Discord's 4,000 of content plus embeds' URLs."""

MAX_LINKS = 10
"""Links (and id-like words) of one message tried, in order."""

_LINK = re.compile(r"https?://[^\s<>()\[\]\"'`|]+", re.IGNORECASE)
_ID_WORD = re.compile(r"(?<![\w/-])[a-z0-9]+(?:-[a-z0-9]+)+(?![\w/-])")
_TRAILING = ".,;:!?*_~>"


def links_in(text: str) -> list[str]:
    """The http(s) links of `text` in order, without trailing punctuation (Markdown's `<…>` and
    `[…](…)` included), at most `MAX_LINKS`."""
    found: list[str] = []
    for match in _LINK.finditer(text[:MAX_LINK_TEXT]):
        link = match.group(0).rstrip(_TRAILING)
        if link not in found:
            found.append(link)
        if len(found) == MAX_LINKS:
            break
    return found


def id_words_in(text: str) -> list[str]:
    """Words of `text` shaped like a document id ("lessons-from-meltdown-and-spectre"), as a
    /post id would be typed, at most `MAX_LINKS`; links are left out (their paths are not ids)."""
    bare = _LINK.sub(" ", text[:MAX_LINK_TEXT]).lower()
    found: list[str] = []
    for word in _ID_WORD.findall(bare):
        if word not in found:
            found.append(word)
        if len(found) == MAX_LINKS:
            break
    return found


def normalise_url(url: str) -> str | None:
    """The form two links to the same page share: https, host lowercased without "www." or a
    default port, no fragment, no trailing slash on the path; the query is kept (it can name
    the page). None for what is not an http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower().removeprefix("www.")
    if port is not None and port not in (80, 443):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    return urlunsplit(("https", host, path, parts.query, ""))


def url_forms(url: str) -> list[str]:
    """The ways a corpus file may spell the URL a link normalises to (http or https, with or
    without "www.", with or without a trailing slash), so an exact lookup in the index finds
    it whichever its front matter used. Empty when `url` is not an http(s) URL."""
    normal = normalise_url(url)
    if normal is None:
        return []
    parts = urlsplit(normal)
    forms: list[str] = []
    for scheme in ("https", "http"):
        for host in (parts.netloc, f"www.{parts.netloc}"):
            for path in (parts.path, f"{parts.path}/"):
                forms.append(urlunsplit((scheme, host, path, parts.query, "")))
    return forms
