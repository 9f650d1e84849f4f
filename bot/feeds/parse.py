"""Parse RSS/Atom bytes into plain, hashable items.

feedparser does the dialect work (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, broken markup). This module
turns its loose dictionaries into frozen :class:`FeedItem` values with a *stable key* for the
seen-set and a *content hash* that tells when an already announced item was edited.

Parsing is CPU work: callers run :func:`parse_feed` in a worker thread
(``await asyncio.to_thread(parse_feed, data, source_url=url, content_type=...)``). It never touches the network
or the file system: feedparser is handed an in-memory stream, never a URL or ``bytes`` (which it
would first try to open as a *file name*).
"""

from __future__ import annotations

import calendar
import hashlib
import io
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import SplitResult, unquote_plus, urljoin, urlsplit, urlunsplit

import feedparser
from feedparser.exceptions import CharacterEncodingOverride, NonXMLContentType

from bot.feeds.html_text import collapse_whitespace, html_to_text

__all__ = [
    "FeedItem",
    "FeedParseError",
    "ParsedFeed",
    "link_key",
    "normalize_link",
    "parse_feed",
    "split_authors",
]


@dataclass(frozen=True)
class FeedItem:
    """One entry of a feed, reduced to what the bot announces and indexes.

    ``key`` identifies the entry across fetches: the Atom ``id`` / RSS ``guid`` when present,
    else the link exactly as published (made absolute; see :func:`link_key`), else
    ``"sha256:" + hex`` of title and date. It never depends on dates when an id or link exists,
    so a feed that rewrites every date on each build does not re-announce old entries, and it
    never merges two items: links that differ only in a fragment or a tracking parameter
    (``/page#one``, ``/page#two``) are two items. ``content_hash`` covers title, authors, link
    and text (not dates) so the caller can tell "edited after it was announced" from "unchanged".

    ``legacy_key``: the key corpus-bot 0.1 gave this item (its link with fragments and
    tracking parameters stripped) when it differs from ``key``, so a seen-set written by them
    still recognises it (see ``FeedStore.seen``); None otherwise.
    """

    key: str
    title: str | None
    authors: tuple[str, ...]
    published: datetime | None
    updated: datetime | None
    link: str | None
    text: str
    content_hash: str
    legacy_key: str | None = None
    categories: tuple[str, ...] = ()
    """The item's categories (RSS ``<category>``, Atom ``<category term|label>``: feedparser's
    ``tags``), whitespace collapsed, duplicates dropped, at most ``MAX_CATEGORIES``."""


MAX_CATEGORIES = 30
CATEGORY_CHARS = 100


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed: its own title and link, its items in feed order, and what looked wrong."""

    title: str | None
    link: str | None
    items: tuple[FeedItem, ...]
    warnings: tuple[str, ...]


class FeedParseError(Exception):
    """The document holds nothing usable as a feed; the message says why (and where, if known)."""


# Query parameters that only track the click and never change the page.
_TRACKING_PARAMS = frozenset({"fbclid", "gclid", "mc_cid", "mc_eid", "_hsenc", "_hsmi"})
_SAFE_LINK_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})
# feedparser complains about these even for perfectly readable documents (no Content-Type when
# parsing from memory, a declared charset that differs from the real one).
_BENIGN_BOZO = (NonXMLContentType, CharacterEncodingOverride)
_HTML_SNIFF = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<!doctype\s+html|<html[\s>]",
    re.IGNORECASE | re.DOTALL,
)


def parse_feed(
    data: bytes, *, source_url: str, content_type: str | None = None, max_items: int = 200
) -> ParsedFeed:
    """Parse feed ``data`` fetched from ``source_url``.

    ``source_url`` (best: the fetch's ``final_url``) only resolves relative item links; keys
    never depend on it, so a feed that moves to a new URL keeps its keys.

    ``content_type`` is the HTTP ``Content-Type`` the feed came with. Its charset is how a feed
    without an XML encoding declaration (common in windows-1251, koi8-r, shift_jis,
    iso-8859-x) says what it is written in; feedparser weighs it against the declaration and
    the byte order mark as RFC 3023 says. Without it the bytes were taken for UTF-8 and such
    feeds arrived garbled.

    Returns at most ``max_items`` items, in the feed's order (usually newest first). A document
    that feedparser had to salvage still yields its items, with a warning saying what was
    wrong. Raises :class:`FeedParseError` when nothing usable is there: empty input, an HTML
    page, garbage, or a broken document with no entries.
    """
    if not data or not data.strip():
        raise FeedParseError("not a feed: the document is empty")
    warnings: list[str] = []
    data, dropped_entities = _defuse_entity_declarations(data)
    if dropped_entities:
        warnings.append(
            f"ignored {dropped_entities} entity declaration(s) that could expand without bound"
        )
    # No Content-Location on purpose: feedparser would resolve relative guids/ids against it,
    # making keys depend on which URL the feed was fetched from. Links are resolved below.
    result = feedparser.parse(
        io.BytesIO(data),
        response_headers={"content-type": content_type or "application/xml"},
        resolve_relative_uris=True,
        sanitize_html=True,
    )
    entries: list[Any] = list(result.get("entries") or [])
    problem = result.get("bozo_exception") if result.get("bozo") else None
    if problem is not None and not isinstance(problem, _BENIGN_BOZO):
        if not entries:
            raise FeedParseError(_describe_unusable(data, problem))
        warnings.append(
            f"malformed feed, salvaged {len(entries)} item(s): {_describe_exception(problem)}"
        )
    elif isinstance(problem, CharacterEncodingOverride) and not _assumed_ascii(content_type):
        warnings.append(f"character encoding: {problem}")
    if not result.get("version") and not entries:
        if _HTML_SNIFF.search(data[:4096]):
            raise FeedParseError("not a feed: got an HTML page")
        raise FeedParseError("not a feed: no RSS, Atom or RDF root element")

    if len(entries) > max_items:
        warnings.append(f"feed has {len(entries)} items; kept the first {max_items}")
        entries = entries[:max_items]

    items: list[FeedItem] = []
    seen_keys: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        item = _item_from_entry(entry, source_url)
        if item is None:
            warnings.append(f"item {position} has no id, link, title or text; skipped")
            continue
        if item.key in seen_keys:
            warnings.append(f"item {position} repeats key {item.key!r}; skipped")
            continue
        seen_keys.add(item.key)
        items.append(item)

    feed_info: Mapping[str, Any] = result.get("feed") or {}
    return ParsedFeed(
        title=_clean_title(feed_info.get("title"), feed_info.get("title_detail")),
        link=_absolute_link(feed_info.get("link"), source_url),
        items=tuple(items),
        warnings=tuple(warnings),
    )


def _assumed_ascii(content_type: str | None) -> bool:
    """text/* without a charset: RFC 3023 says us-ascii, so feedparser reports every non-ASCII
    feed served that way (very common for UTF-8 feeds) as "declared us-ascii": not news."""
    declared = (content_type or "").lower()
    return declared.strip().startswith("text/") and "charset=" not in declared


_PROLOG_END = re.compile(rb"<[A-Za-z_]")
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY[^>]*>")
# Kept: a short literal or one character reference, e.g. <!ENTITY nbsp "&#160;">.
_SAFE_ENTITY_DECLARATION = re.compile(
    rb'<!ENTITY\s+[A-Za-z_][\w.-]*\s+"(?:&#\w+;|[^&%"<]{0,32})"\s*>'
)
_WIDE_ENCODINGS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)


def _defuse_entity_declarations(data: bytes) -> tuple[bytes, int]:
    """Drop DTD entity declarations that nest or are long, before any XML parser sees them.

    Nested entities ("billion laughs") and long ones referenced many times make expat expand a
    small document into gigabytes, and feedparser's own filter misses declarations that do not
    start a line. Real feeds at most declare a few named characters, which are kept. Returns the
    cleaned bytes and how many declarations were dropped.
    """
    for marker, encoding in _WIDE_ENCODINGS:
        if data.startswith(marker):
            head_text = data[:65_536].decode(encoding, errors="ignore")
            if "<!ENTITY" in head_text:
                raise FeedParseError(
                    f"not a feed: refusing entity declarations in a {encoding.upper()} document"
                )
            return data, 0
    root = _PROLOG_END.search(data)
    end = root.start() if root else len(data)
    head = data[:end]
    if b"<!ENTITY" not in head:
        return data, 0
    dropped = 0

    def keep_if_safe(match: re.Match[bytes]) -> bytes:
        nonlocal dropped
        if _SAFE_ENTITY_DECLARATION.fullmatch(match.group(0)):
            return b"\n" + match.group(0)  # own line, as feedparser's filter expects
        dropped += 1
        return b""

    head = _ENTITY_DECLARATION.sub(keep_if_safe, head)
    # feedparser only recognises a DOCTYPE and entities that start a line; make sure they do.
    head = head.replace(b"<!DOCTYPE", b"\n<!DOCTYPE", 1)
    return head + data[end:], dropped


def _item_from_entry(entry: dict[str, Any], source_url: str) -> FeedItem | None:
    """One of feedparser's entries as an item, or None when it has nothing to key it by. The
    entry is a FeedParserDict, a dict subclass: typed dict, since some fields are read with
    dict's own lookup (below), which a Mapping would not have."""
    title = _clean_title(entry.get("title"), entry.get("title_detail"))
    authors = _entry_authors(entry)
    # Plain dict access: FeedParserDict maps a missing "updated" to "published" (with a
    # DeprecationWarning); an item that was never updated must say so.
    published = _to_datetime(dict.get(entry, "published_parsed"))
    updated = _to_datetime(dict.get(entry, "updated_parsed"))
    raw_link = entry.get("link")
    if (
        dict.get(entry, "guidislink")
        and raw_link == entry.get("id")
        and not _is_absolute_http(raw_link)
    ):
        raw_link = None  # feedparser copied a bare guid such as "12345" into the link
    link = _absolute_link(raw_link, source_url)
    text = _entry_text(entry)
    entry_id = collapse_whitespace(str(entry.get("id") or ""))

    legacy_key = None
    if entry_id:
        key = entry_id
    elif link:
        key = _absolute_link(raw_link, source_url, link_key) or link
        legacy_key = link if link != key else None
    elif title or text:
        date = published or updated
        basis = json.dumps([title or text, date.isoformat() if date else None])
        key = "sha256:" + hashlib.sha256(basis.encode("utf-8")).hexdigest()
    else:
        return None

    return FeedItem(
        key=key,
        title=title,
        authors=authors,
        published=published,
        updated=updated,
        link=link,
        text=text,
        content_hash=content_hash(title, authors, link, text),
        legacy_key=legacy_key,
        categories=_entry_categories(entry),
    )


def _entry_categories(entry: Mapping[str, Any]) -> tuple[str, ...]:
    """Each tag's label when it has one (Atom's human-readable name), else its term."""
    out: list[str] = []
    for tag in entry.get("tags") or []:
        if not isinstance(tag, Mapping):
            continue
        name = collapse_whitespace(str(tag.get("label") or tag.get("term") or ""))[:CATEGORY_CHARS]
        if name and name not in out:
            out.append(name)
        if len(out) == MAX_CATEGORIES:
            break
    return tuple(out)


def content_hash(title: str | None, authors: Iterable[str], link: str | None, text: str) -> str:
    """Hex sha256 over what a reader sees of an item, in an unambiguous JSON encoding."""
    payload = json.dumps([title, list(authors), link, text], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _is_absolute_http(value: Any) -> bool:
    return bool(re.match(r"\s*https?://", str(value or ""), re.IGNORECASE))


def _absolute_link(
    link: Any, source_url: str, form: Callable[[Any], str | None] | None = None
) -> str | None:
    """Resolve a (possibly relative) link against the feed's own URL, then put it in ``form``
    (the shown link by default, :func:`link_key` for an identity)."""
    if not link:
        return None
    try:
        return (form or normalize_link)(urljoin(source_url, str(link).strip()))
    except ValueError:
        return None


def _clean_title(value: Any, detail: Mapping[str, Any] | None) -> str | None:
    if not value:
        return None
    raw = str(value)
    kind = str((detail or {}).get("type") or "")
    title = html_to_text(raw) if kind in _HTML_TYPES else raw
    return collapse_whitespace(title) or None


def _entry_text(entry: Mapping[str, Any]) -> str:
    """Prefer full content (``content:encoded``, Atom ``content``) over the summary."""
    candidates: list[Mapping[str, Any]] = list(entry.get("content") or [])
    summary = entry.get("summary_detail")
    if summary:
        candidates.append(summary)
    best = ""
    for candidate in candidates:
        value = str(candidate.get("value") or "")
        if not value.strip():
            continue
        kind = str(candidate.get("type") or "text/html")
        text = html_to_text(value) if kind in _HTML_TYPES else _plain_text(value)
        if len(text) > len(best):
            best = text
    return best


def _plain_text(value: str) -> str:
    paragraphs = re.split(r"\n\s*\n", value.replace("\r\n", "\n"))
    lines = (
        "\n".join(collapse_whitespace(line) for line in paragraph.split("\n") if line.strip())
        for paragraph in paragraphs
    )
    return "\n\n".join(p for p in lines if p)


def _entry_authors(entry: Mapping[str, Any]) -> tuple[str, ...]:
    names: list[str] = []
    for author in entry.get("authors") or []:
        if not isinstance(author, Mapping):
            continue
        name = author.get("name") or author.get("email")
        if name:
            names.extend(split_authors(str(name)))
    if not names and entry.get("author"):
        names.extend(split_authors(str(entry["author"])))
    unique: dict[str, None] = {}
    for name in names:
        unique.setdefault(name, None)
    return tuple(unique)


_LIST_SEPARATOR = re.compile(r"\s*,\s*(?:(?:and|&)\s+)?|\s+(?:and|&)\s+", re.IGNORECASE)
_HAS_CONJUNCTION = re.compile(r"\band\b|&", re.IGNORECASE)


def split_authors(raw: str) -> tuple[str, ...]:
    """Split a byline such as ``"A, B and C"`` into names, conservatively.

    A wrong split invents people, so bylines are split only where the shape is unambiguous:

    - ``"P1, P2 and P3"`` / ``"P1, P2, & P3"``: a comma list whose only conjunction comes
      before the last name;
    - ``"Ada Lovelace and Grace Hopper"``: two names joined by a conjunction, each of at least
      two words (so ``"Simon & Schuster"`` and ``"Tom and Jerry"`` stay whole);
    - ``"Ada Lovelace, Grace Hopper"``: commas alone, every part at least two words (so the
      last-name-first ``"Hopper, Grace"`` stays one name).

    Repeated parts (``"Johnson & Johnson Staff, Johnson & Johnson Staff"``) also block a split.
    """
    text = collapse_whitespace(raw)
    if not text:
        return ()
    separators = [match.group(0) for match in _LIST_SEPARATOR.finditer(text)]
    if not separators:
        return (text,)
    parts = _LIST_SEPARATOR.split(text)
    if any(not _looks_like_a_name(part) for part in parts):
        return (text,)
    if len({part.casefold() for part in parts}) != len(parts):
        return (text,)
    has_conjunction = [bool(_HAS_CONJUNCTION.search(separator)) for separator in separators]
    all_multiword = all(len(part.split()) >= 2 for part in parts)
    if any(has_conjunction):
        if any(has_conjunction[:-1]):
            return (text,)  # e.g. "Smith, John and Doe, Jane": ambiguous, keep whole
        if len(parts) >= 3 or all_multiword:
            return tuple(parts)
        return (text,)
    return tuple(parts) if all_multiword else (text,)


def _looks_like_a_name(part: str) -> bool:
    """A split-off part must hold a letter and not begin or end with a dangling conjunction."""
    words = part.split()
    if not words or not any(char.isalpha() for char in part):
        return False
    return words[0].casefold() not in {"and", "&"} and words[-1].casefold() not in {"and", "&"}


def link_key(link: Any) -> str | None:
    """An absolute ``http(s)`` link as an item's identity: only what cannot change the resource
    is normalised (scheme and host case, a default port, an empty path); query and fragment are
    kept byte for byte, so two items are never merged because their links differ only there."""
    parts = _http_parts(link)
    if parts is None:
        return None
    scheme, netloc, split = parts
    return urlunsplit((scheme, netloc, split.path or "/", split.query, split.fragment))


def _http_parts(link: Any) -> tuple[str, str, SplitResult] | None:
    """(scheme, netloc with case and default port normalised, the split link) of an http(s)
    link; None for anything else."""
    if not link:
        return None
    text = str(link).strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _SAFE_LINK_SCHEMES or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    return scheme, (f"{userinfo}@{host}" if userinfo else host), parts


def normalize_link(link: Any) -> str | None:
    """Canonical form of an item link: the shown link (and the key of link-only items in
    corpus-bot 0.1, still recognised as ``FeedItem.legacy_key``).

    Lowercases scheme and host, drops default ports, fragments, ``utm_*`` and a few other
    click-tracking parameters, and Medium's ``?source=rss…`` suffix. Only ``http``/``https``
    links survive: a ``javascript:`` or relative-but-unresolvable link becomes ``None``.
    """
    http = _http_parts(link)
    if http is None:
        return None
    scheme, netloc, parts = http
    # Filter the raw "name=value" pieces so the kept ones stay byte-for-byte as published.
    kept = [
        piece
        for piece in parts.query.split("&")
        if piece and not _is_tracking_param(*_decode_query_piece(piece))
    ]
    query = "&".join(kept)
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def _decode_query_piece(piece: str) -> tuple[str, str]:
    name, _, value = piece.partition("=")
    return unquote_plus(name), unquote_plus(value)


def _is_tracking_param(name: str, value: str) -> bool:
    lowered = name.lower()
    if lowered.startswith("utm_") or lowered in _TRACKING_PARAMS:
        return True
    # Medium appends ?source=rss----<hex>---<n> (or rss-<userhex>------2) to every feed link.
    return lowered == "source" and value.lower().startswith("rss")


def _to_datetime(value: Any) -> datetime | None:
    """feedparser's ``*_parsed`` values are UTC ``struct_time``s; make them aware datetimes."""
    if not isinstance(value, time.struct_time | tuple) or len(value) < 6:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(tuple(value)[:6] + (0, 0, 0)), tz=UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None


def _describe_exception(problem: BaseException) -> str:
    message = str(getattr(problem, "getMessage", lambda: str(problem))()) or type(problem).__name__
    line = getattr(problem, "getLineNumber", None)
    column = getattr(problem, "getColumnNumber", None)
    if callable(line) and callable(column):
        return f"{message} at line {line()}, column {column()}"
    return message


def _describe_unusable(data: bytes, problem: BaseException) -> str:
    if _HTML_SNIFF.search(data[:4096]):
        return "not a feed: got an HTML page"
    return f"not a feed: {_describe_exception(problem)}"
