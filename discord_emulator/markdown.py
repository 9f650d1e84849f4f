"""Discord's message markdown, parsed once into plain data for both sandbox front ends.

The terminal (`render.py`) and the browser page (`page/sandbox.js`) each draw the same tree, so
the rules (what an escape is, where bold ends, which links are safe) live here only. The tree
is JSON: a node is a string (text, already unescaped) or a dict with a type `t`:

* inline: `b` bold, `i` italic, `u` underline, `s` strikethrough, `spoiler` (each with
  children `c`), `code` (`text`), `link` (`href`, only http(s), and children `c`),
  `time` (`epoch`, `style`: the reader formats it in their own time zone), `mention` (`text`,
  e.g. "@alice" or "#general": resolved to names, so nothing can ping from the sandbox);
* block (one per line, or per code block): `line`, `quote`, `subtext`, `h1`-`h3`, `item`
  (children `c`), `codeblock` (`text`).

Parsing is linear in the text and bounded: nesting is cut at `MAX_DEPTH`, and messages are
already capped by Discord's limits (4,096 characters per description).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Node = str | dict[str, Any]
NameLookup = Callable[[int], str | None]

MAX_DEPTH = 8
SAFE_SCHEMES = ("http://", "https://")

# Private-use characters stand in for escaped characters while the inline rules run.
_ESCAPABLE = r"\\`*_~|>#\-\[\]()<:.!+=@&{}"
_ESCAPE = re.compile(r"\\([" + _ESCAPABLE + r"])")
_PLACEHOLDER_BASE = 0xF0000

_INLINE = re.compile(
    r"``(?P<code2>[^`](?:.*?[^`])??)``|`(?P<code>[^`]+)`"
    r"|\*\*(?P<b>.+?)\*\*(?!\*)"
    r"|__(?P<u>.+?)__(?!_)"
    r"|~~(?P<s>.+?)~~"
    r"|\|\|(?P<spoiler>.+?)\|\|"
    r"|\*(?P<i1>[^*\s](?:.*?[^*\s])??)\*"
    r"|(?<![\w])_(?P<i2>[^_\s](?:.*?[^_\s])??)_(?![\w])"
    r"|\[(?P<link_text>[^\]\n]+)\]\((?:<(?P<link_angle>[^>\s]+)>|(?P<link_href>[^)\s]+))\)"
    r"|<t:(?P<epoch>-?\d{1,13})(?::(?P<style>[tTdDfFR]))?>"
    r"|<@!?(?P<user>\d+)>|<@&(?P<role>\d+)>|<#(?P<channel>\d+)>"
    r"|(?P<url>https?://[^\s<>]+[^\s<>.,:;\"')\]])",
    re.DOTALL,
)
_HEADING = re.compile(r"^(#{1,3}) (.*)$")
_ITEM = re.compile(r"^\s*[-*] (.*)$")
_FENCE = "```"


def safe_href(url: object) -> str | None:
    """The URL if a browser may follow it (http or https), else None: no javascript:, data:…"""
    if not isinstance(url, str):
        return None
    stripped = url.strip()
    if stripped.lower().startswith(SAFE_SCHEMES) and len(stripped) <= 2048:
        return stripped
    return None


class Names:
    """Turns mention ids into names; an unknown id shows as the id (as Discord's client does)."""

    def __init__(
        self,
        user: NameLookup | None = None,
        role: NameLookup | None = None,
        channel: NameLookup | None = None,
    ) -> None:
        self.user = user or (lambda _id: None)
        self.role = role or (lambda _id: None)
        self.channel = channel or (lambda _id: None)


def parse_blocks(text: str, names: Names | None = None) -> list[dict[str, Any]]:
    """A message's text as blocks: lines (quote, subtext, heading, list item) and code blocks."""
    names = names or Names()
    blocks: list[dict[str, Any]] = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.lstrip().startswith(_FENCE):
            end = _fence_end(lines, index)
            if end is not None:
                first = line.lstrip()[len(_FENCE) :]
                body = lines[index + 1 : end]
                blocks.append({"t": "codeblock", "lang": first.strip(), "text": "\n".join(body)})
                index = end + 1
                continue
        blocks.append(_line_block(line, names))
        index += 1
    return blocks


def _fence_end(lines: list[str], start: int) -> int | None:
    rest = lines[start].lstrip()[len(_FENCE) :]
    if _FENCE in rest:  # ```one line```: treat as inline code
        return None
    for end in range(start + 1, len(lines)):
        if lines[end].rstrip().endswith(_FENCE):
            return end
    return None


def _line_block(line: str, names: Names) -> dict[str, Any]:
    kind = "line"
    if line.startswith("> "):
        kind, line = "quote", line[2:]
    elif line == ">":
        kind, line = "quote", ""
    if line.startswith("-# "):
        kind, line = "subtext" if kind == "line" else kind, line[3:]
    elif heading := _HEADING.match(line):
        kind, line = f"h{len(heading.group(1))}", heading.group(2)
    elif item := _ITEM.match(line):
        kind, line = "item", item.group(1)
    return {"t": kind, "c": parse_inline(line, names)}


def parse_inline(text: str, names: Names | None = None) -> list[Node]:
    """Inline markdown of one piece of text (a line, a title, a field name)."""
    names = names or Names()
    escaped: list[str] = []

    def hide(match: re.Match[str]) -> str:
        escaped.append(match.group(1))
        return chr(_PLACEHOLDER_BASE + len(escaped) - 1)

    hidden = _ESCAPE.sub(hide, text)
    nodes = _inline(hidden, names, 0)
    return _restore(nodes, escaped)


def _inline(text: str, names: Names, depth: int) -> list[Node]:
    if depth >= MAX_DEPTH:
        return [text] if text else []
    nodes: list[Node] = []
    position = 0
    for match in _INLINE.finditer(text):
        if match.start() > position:
            nodes.append(text[position : match.start()])
        nodes.append(_node(match, names, depth))
        position = match.end()
    if position < len(text):
        nodes.append(text[position:])
    return nodes


def _node(match: re.Match[str], names: Names, depth: int) -> Node:
    group = match.group
    for kind in ("b", "u", "s", "spoiler"):
        if group(kind) is not None:
            return {"t": kind, "c": _inline(group(kind), names, depth + 1)}
    for code in ("code", "code2"):
        if group(code) is not None:
            return {"t": "code", "text": group(code)}
    for italic in ("i1", "i2"):
        if group(italic) is not None:
            return {"t": "i", "c": _inline(group(italic), names, depth + 1)}
    if group("link_text") is not None:
        # `[label](<url>)`: Discord's masked link without an embed preview, as the bot writes them
        written = group("link_href") or f"<{group('link_angle')}>"
        href = safe_href(group("link_href") or group("link_angle"))
        children = _inline(group("link_text"), names, depth + 1)
        if href is None:  # not a web link: show the text as written, never follow it
            return {"t": "span", "c": [f"[{group('link_text')}]({written})"]}
        return {"t": "link", "href": href, "c": children}
    if group("epoch") is not None:
        return {"t": "time", "epoch": int(group("epoch")), "style": group("style") or "f"}
    if group("user") is not None:
        uid = int(group("user"))
        return {"t": "mention", "text": "@" + (names.user(uid) or str(uid))}
    if group("role") is not None:
        rid = int(group("role"))
        return {"t": "mention", "text": "@" + (names.role(rid) or str(rid))}
    if group("channel") is not None:
        cid = int(group("channel"))
        return {"t": "mention", "text": "#" + (names.channel(cid) or str(cid))}
    url = group("url")
    return {"t": "link", "href": url, "c": [url]}


def _restore(nodes: list[Node], escaped: list[str]) -> list[Node]:
    if not escaped:
        return nodes

    def fix(text: str) -> str:
        return "".join(
            escaped[ord(ch) - _PLACEHOLDER_BASE]
            if _PLACEHOLDER_BASE <= ord(ch) < _PLACEHOLDER_BASE + len(escaped)
            else ch
            for ch in text
        )

    out: list[Node] = []
    for node in nodes:
        if isinstance(node, str):
            out.append(fix(node))
            continue
        node = dict(node)
        for key in ("text", "href"):
            if isinstance(node.get(key), str):
                node[key] = fix(node[key])
        if "c" in node:
            node["c"] = _restore(node["c"], escaped)
        out.append(node)
    return out


def plain_text(nodes: list[Node]) -> str:
    """The text a reader sees, without any styling (for labels and tests)."""
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            parts.append(node)
        elif "c" in node:
            parts.append(plain_text(node["c"]))
        elif "text" in node:
            parts.append(str(node["text"]))
    return "".join(parts)
