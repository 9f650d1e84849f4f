"""OPML, the file feed readers exchange their subscriptions in: read an import, write an export.

An imported file is someone's upload, so it is read defensively: at most
:data:`MAX_OPML_BYTES`, UTF-8 only, and refused outright when it declares a DOCTYPE or an
ENTITY (the only way XML gets entity expansion or external references: billion laughs, file or
URL inclusion). What is left is parsed with the standard library's ElementTree, which then has
nothing to expand or fetch. No new dependency: defusedxml would do the same refusal, and is not
installed here. Never imports discord.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # noqa: S405 - DOCTYPE/ENTITY refused before parsing
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from bot.feeds.models import FollowedSource

__all__ = ["MAX_OPML_BYTES", "MAX_OUTLINES", "OpmlError", "OpmlFeed", "export_opml", "read_opml"]

MAX_OPML_BYTES = 1_000_000
"""An OPML file of a few hundred feeds is tens of kilobytes."""
MAX_OUTLINES = 500
"""Feeds read from one file; the rest are reported as not read."""
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class OpmlError(Exception):
    """The file cannot be read as OPML; the message says why (and where, for bad XML)."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One ``<outline xmlUrl=…>`` of the file: its feed URL and title."""

    url: str
    title: str | None


def read_opml(data: bytes, *, name: str = "the file") -> tuple[list[OpmlFeed], int]:
    """The feeds an OPML file lists (in file order, nested outlines included), and how many
    more it lists past :data:`MAX_OUTLINES`. Raises :class:`OpmlError`."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"{name} is over {MAX_OPML_BYTES // 1000} kB")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OpmlError(f"{name} is not UTF-8 text (byte {exc.start + 1})") from None
    declared = _DECLARATION.search(data)
    if declared is not None:
        line = data.count(b"\n", 0, declared.start()) + 1
        kind = declared.group(1).decode().upper()
        raise OpmlError(f"{name}, line {line}: a {kind} declaration is not accepted in OPML")
    try:
        root = ET.fromstring(data)  # noqa: S314 - no DTD can remain (refused above)
    except ET.ParseError as exc:
        line, column = exc.position
        raise OpmlError(f"{name}, line {line}, column {column + 1}: not well-formed XML") from None
    if root.tag != "opml":
        raise OpmlError(f"{name} is not OPML (its root element is {_element_name(root.tag)})")
    body = root.find("body")
    if body is None:
        raise OpmlError(f"{name} is OPML without a <body>")
    feeds: list[OpmlFeed] = []
    more = 0
    for outline in body.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if not url:
            continue  # a folder, or a link that is not a feed
        if len(feeds) >= MAX_OUTLINES:
            more += 1
            continue
        title = (outline.get("title") or outline.get("text") or "").strip() or None
        feeds.append(OpmlFeed(url, title))
    return feeds, more


def _element_name(tag: str) -> str:
    """An element's name as a message shows it: ElementTree writes a namespaced one as
    ``{uri}name``, and the URI (anything the file says) is left out."""
    namespace, _, local = tag.rpartition("}")
    return f"<{local[:40]}>" + (" in an XML namespace" if namespace else "")


def export_opml(sources: Iterable[FollowedSource], now: datetime) -> bytes:
    """An OPML 2.0 file listing ``sources`` (ElementTree escapes every attribute)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = "corpus-bot feeds"
    ET.SubElement(head, "dateCreated").text = format_datetime(now)
    body = ET.SubElement(root, "body")
    for source in sources:
        ET.SubElement(
            body, "outline", type="rss", text=source.name, title=source.name, xmlUrl=source.url
        )
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
