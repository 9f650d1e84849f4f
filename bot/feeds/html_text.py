"""Turn feed HTML into readable plain text.

Feed bodies (``content:encoded``, Atom ``content``, RSS ``description``) are HTML written for
browsers. The bot indexes and quotes them as text, so this module keeps the words and the block
structure (paragraphs, headings, list items, line breaks) and drops everything a reader never sees
(scripts, styles, embedded frames). It uses only the standard library's tolerant
``html.parser`` and never raises: a feed with broken markup must still yield its words.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["html_to_text", "collapse_whitespace"]

# Elements whose start and end separate blocks of text by a blank line.
_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "caption",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "ul",
    }
)
# Elements that start a new line but need no blank line around them.
_LINE_TAGS = frozenset({"li", "tr"})
# Elements whose whole content is invisible to a reader (or is another document).
_SKIP_TAGS = frozenset(
    {
        "script",
        "style",
        "iframe",
        "noscript",
        "template",
        "svg",
        "math",
        "object",
        "head",
        "title",
        "select",
        "canvas",
        "audio",
        "video",
    }
)
# Cells of a table row are separated by a space-padded bar so columns stay apart.
_CELL_TAGS = frozenset({"td", "th"})

_WHITESPACE = re.compile(r"[ \t\n\r\f\v\u00a0\u200b]+")
_LINE_BREAK = 1
_BLOCK_BREAK = 2


def collapse_whitespace(text: str) -> str:
    """Collapse every run of whitespace (including no-break spaces) into one space and strip."""
    return _WHITESPACE.sub(" ", text).strip()


class _TextCollector(HTMLParser):
    """Collects visible text, recording where line and block breaks belong.

    Breaks are kept as a pending count rather than written at once, so that nested blocks
    (``<div><p>``) or a ``<br>`` right before ``</p>`` never pile up extra blank lines, and so
    that no break is written before the first word or after the last.
    """

    def __init__(self, max_chars: int) -> None:
        super().__init__(convert_charrefs=True)
        self._max_chars = max_chars
        self._out: list[str] = []
        self._length = 0
        self._pending_break = 0
        self._at_line_start = True
        self._skip_depth: dict[str, int] = {}
        self._pre_depth = 0
        self._list_counters: list[int | None] = []  # None for <ul>, next number for <ol>
        self.full = False

    # -- structure -------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth[tag] = self._skip_depth.get(tag, 0) + 1
            return
        if self._skipping():
            return
        if tag == "br":
            self._request_break(_LINE_BREAK, force=True)
        elif tag in _BLOCK_TAGS:
            self._request_break(_BLOCK_BREAK)
            if tag == "ul":
                self._list_counters.append(None)
            elif tag == "ol":
                self._list_counters.append(_ordered_list_start(attrs))
            elif tag == "pre":
                self._pre_depth += 1
        elif tag in _LINE_TAGS:
            self._request_break(_LINE_BREAK)
            if tag == "li":
                self._write_marker(self._next_list_marker())
        elif tag in _CELL_TAGS and not self._at_line_start:
            self._write_text(" | ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # ``<br/>`` and ``<hr/>`` are breaks; a self-closed skip tag (``<iframe/>``) has no body.
        if tag in _SKIP_TAGS:
            return
        self.handle_starttag(tag, attrs)
        if tag not in {"br", "hr"}:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            depth = self._skip_depth.get(tag, 0)
            if depth > 1:
                self._skip_depth[tag] = depth - 1
            else:
                self._skip_depth.pop(tag, None)
            return
        if self._skipping():
            return
        if tag in _BLOCK_TAGS:
            self._request_break(_BLOCK_BREAK)
            if tag in {"ul", "ol"} and self._list_counters:
                self._list_counters.pop()
            elif tag == "pre" and self._pre_depth:
                self._pre_depth -= 1
        elif tag in _LINE_TAGS:
            self._request_break(_LINE_BREAK)

    # -- text ------------------------------------------------------------------------------
    def handle_data(self, data: str) -> None:
        if self._skipping() or self.full:
            return
        if self._pre_depth:
            self._write_preformatted(data)
            return
        text = _WHITESPACE.sub(" ", data)
        if self._at_line_start or (self._out and self._out[-1].endswith(" ")):
            text = text.lstrip(" ")
        if not text:
            return
        self._write_text(text)

    def _write_preformatted(self, data: str) -> None:
        lines = data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        for index, line in enumerate(lines):
            if index:
                self._request_break(_LINE_BREAK, force=True)
            line = line.replace("\u00a0", " ").rstrip()
            if line:
                self._write_text(line)

    # -- output helpers --------------------------------------------------------------------
    def _skipping(self) -> bool:
        return bool(self._skip_depth)

    def _next_list_marker(self) -> str:
        if not self._list_counters or self._list_counters[-1] is None:
            return "- "
        number = self._list_counters[-1]
        self._list_counters[-1] = number + 1
        return f"{number}. "

    def _request_break(self, kind: int, *, force: bool = False) -> None:
        """Ask for a break before the next text; ``force`` lets repeated ``<br>`` stack once."""
        if not self._out:
            return
        if force and self._pending_break == _LINE_BREAK:
            self._pending_break = _BLOCK_BREAK
        else:
            self._pending_break = max(self._pending_break, kind)
        self._at_line_start = True

    def _write_marker(self, marker: str) -> None:
        self._write_text(marker)
        self._at_line_start = True  # whitespace right after a bullet is not content

    def _write_text(self, text: str) -> None:
        if self.full:
            return
        if self._pending_break and self._out:
            self._out[-1] = self._out[-1].rstrip(" ")
            text = "\n" * self._pending_break + text
        self._pending_break = 0
        room = self._max_chars - self._length
        if len(text) >= room:
            text = text[:room]
            self.full = True
        self._out.append(text)
        self._length += len(text)
        self._at_line_start = False

    def text(self) -> str:
        joined = "".join(self._out)
        lines = [line.rstrip() for line in joined.split("\n")]
        return "\n".join(lines).strip()


def _ordered_list_start(attrs: list[tuple[str, str | None]]) -> int:
    for name, value in attrs:
        if name == "start" and value is not None:
            try:
                return int(value.strip())
            except ValueError:
                return 1
    return 1


def html_to_text(html: str, max_chars: int = 200_000) -> str:
    """Return the visible text of ``html`` with paragraphs separated by blank lines.

    Headings, paragraphs and other blocks are separated by one blank line, list items and
    ``<br>`` start a new line (bullets as ``- `` and ``1. ``), runs of whitespace collapse to
    one space, entities are decoded, and ``<script>``/``<style>``/``<iframe>`` content is
    dropped. The result is cut at ``max_chars`` characters so a huge post cannot balloon
    memory. Broken markup never raises: whatever was collected before the parser gave up is
    returned.
    """
    if not html or max_chars <= 0:
        return ""
    collector = _TextCollector(max_chars)
    try:
        collector.feed(html)
        collector.close()
    except Exception:  # noqa: BLE001 - html.parser can still trip on exotic markup; keep the words
        pass
    return collector.text()
