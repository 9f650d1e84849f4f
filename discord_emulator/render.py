"""Discord messages as terminal text (the sandbox's console).

Draws the data of `view.message_view`: content with markdown rendered (bold, italic,
underline and dimmed subtext as ANSI styles when `ansi` is on, i.e. when stdout is a
terminal; plain text otherwise, escapes like `\\*` shown as the character), mentions and
`<t:...>` timestamps resolved, embeds as an indented block with their colour bar, and buttons
and select menus as bracketed labels (a disabled one marked so).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from discord_emulator.markdown import NameLookup, Names, Node
from discord_emulator.view import message_view

EMBED_BAR = "┃ "
QUOTE_BAR = "│ "

_STYLES = {
    "b": ("\x1b[1m", "\x1b[22m"),
    "h1": ("\x1b[1m", "\x1b[22m"),
    "h2": ("\x1b[1m", "\x1b[22m"),
    "h3": ("\x1b[1m", "\x1b[22m"),
    "i": ("\x1b[3m", "\x1b[23m"),
    "u": ("\x1b[4m", "\x1b[24m"),
    "s": ("\x1b[9m", "\x1b[29m"),
    "subtext": ("\x1b[2m", "\x1b[22m"),
    "code": ("\x1b[36m", "\x1b[39m"),
    "spoiler": ("\x1b[7m", "\x1b[27m"),
}


def format_timestamp(epoch: int, style: str | None, *, now: datetime | None = None) -> str:
    """Discord's timestamp styles, in UTC and en-US wording."""
    try:
        when = datetime.fromtimestamp(epoch, UTC)
    except (OverflowError, OSError, ValueError):
        return str(epoch)
    style = style or "f"
    if style == "t":
        return when.strftime("%H:%M")
    if style == "T":
        return when.strftime("%H:%M:%S")
    if style == "d":
        return when.strftime("%m/%d/%Y")
    if style == "D":
        return f"{when.strftime('%B')} {when.day}, {when.year}"
    if style == "F":
        return f"{when.strftime('%A, %B')} {when.day}, {when.year} {when.strftime('%H:%M')}"
    if style == "R":
        return _relative(when, now or datetime.now(UTC))
    return f"{when.strftime('%B')} {when.day}, {when.year} {when.strftime('%H:%M')}"


def _relative(when: datetime, now: datetime) -> str:
    seconds = int((when - now).total_seconds())
    future = seconds > 0
    seconds = abs(seconds)
    for unit, size in (
        ("year", 365 * 86400),
        ("month", 30 * 86400),
        ("day", 86400),
        ("hour", 3600),
        ("minute", 60),
    ):
        if seconds >= size:
            count = seconds // size
            text = f"{count} {unit}{'s' if count != 1 else ''}"
            return f"in {text}" if future else f"{text} ago"
    return "in a few seconds" if future else "a few seconds ago"


class TerminalStyle:
    """Draws markdown nodes as text; with `ansi`, styles become escape sequences."""

    def __init__(self, *, ansi: bool = False, now: datetime | None = None) -> None:
        self.ansi = ansi
        self.now = now

    def wrap(self, kind: str, text: str) -> str:
        if not self.ansi or kind not in _STYLES or not text:
            return text
        start, end = _STYLES[kind]
        return f"{start}{text}{end}"

    def inline(self, nodes: list[Node]) -> str:
        parts: list[str] = []
        for node in nodes:
            if isinstance(node, str):
                parts.append(node)
                continue
            kind = node["t"]
            if kind == "code":
                parts.append(self.wrap("code", str(node["text"])))
            elif kind == "time":
                parts.append(format_timestamp(int(node["epoch"]), node.get("style"), now=self.now))
            elif kind == "mention":
                parts.append(str(node["text"]))
            elif kind == "link":
                text = self.inline(node["c"])
                parts.append(text if text == node["href"] else f"{text} <{node['href']}>")
            else:
                parts.append(self.wrap(kind, self.inline(node.get("c") or [])))
        return "".join(parts)

    def blocks(self, blocks: list[dict[str, Any]]) -> list[str]:
        lines: list[str] = []
        for block in blocks:
            kind = block["t"]
            if kind == "codeblock":
                lines.extend(self.wrap("code", line) for line in str(block["text"]).split("\n"))
                continue
            text = self.inline(block["c"])
            if kind == "quote":
                lines.append(QUOTE_BAR + text)
            elif kind == "item":
                lines.append("• " + text)
            elif kind in ("subtext", "h1", "h2", "h3"):
                lines.append(self.wrap(kind, text))
            else:
                lines.append(text)
        return lines

    def bar(self, color: str | None) -> str:
        if not self.ansi or not color:
            return EMBED_BAR
        red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
        return f"\x1b[38;2;{red};{green};{blue}m┃\x1b[39m "


def render_view(view: dict[str, Any], *, ansi: bool = False, now: datetime | None = None) -> str:
    """A message view (see `view.message_view`) as terminal text."""
    style = TerminalStyle(ansi=ansi, now=now)
    lines: list[str] = []
    if view["loading"]:
        lines.append(f"{view['author']} is thinking…")
    if view["ephemeral"]:
        lines.append(style.wrap("subtext", "(only you can see this)"))
    lines.extend(style.blocks(view["content"]) if _has_text(view["content"]) else [])
    for embed in view["embeds"]:
        if lines:
            lines.append("")
        bar = style.bar(embed["color"])
        lines.extend(bar + line if line else bar.rstrip() for line in _embed_lines(embed, style))
    component_lines = [_row_text(row, style) for row in view["components"]]
    if component_lines:
        if lines:
            lines.append("")
        lines.extend(component_lines)
    for attachment in view["attachments"]:
        lines.append(f"📎 {attachment['filename']} ({attachment['size']} bytes)")
    return "\n".join(lines)


def _has_text(blocks: list[dict[str, Any]]) -> bool:
    return any(b["t"] == "codeblock" or b["c"] for b in blocks)


def _embed_lines(embed: dict[str, Any], style: TerminalStyle) -> list[str]:
    lines: list[str] = []
    if embed["author"]:
        lines.append(style.inline(embed["author"]))
    title = style.wrap("b", style.inline(embed["title"]))
    if title:
        lines.append(title + (f" <{embed['url']}>" if embed["url"] else ""))
    elif embed["url"]:
        lines.append(f"<{embed['url']}>")
    if _has_text(embed["description"]):
        lines.extend(style.blocks(embed["description"]))
    for field in embed["fields"]:
        lines.append("")
        lines.append(style.wrap("b", style.inline(field["name"])))
        lines.extend(style.blocks(field["value"]))
    footer_parts = []
    if embed["footer"]:
        footer_parts.append(style.inline(embed["footer"]))
    if embed["timestamp"]:
        try:
            when = datetime.fromisoformat(str(embed["timestamp"]).replace("Z", "+00:00"))
            footer_parts.append(format_timestamp(int(when.timestamp()), "f", now=style.now))
        except ValueError:
            footer_parts.append(str(embed["timestamp"]))
    if footer_parts:
        lines.append("")
        lines.append(style.wrap("subtext", " • ".join(footer_parts)))
    return lines


def _row_text(row: list[dict[str, Any]], style: TerminalStyle) -> str:
    parts = []
    for component in row:
        disabled = " (disabled)" if component["disabled"] else ""
        if component["kind"] == "button":
            label = " ".join(p for p in (component["emoji"], component["label"]) if p) or "button"
            if component["style"] == "link":
                parts.append(f"[ {label} ↗ {component['url'] or ''} ]{disabled}")
            else:
                parts.append(f"[ {label} ]{disabled}")
        else:
            options = " | ".join(component["options"])
            parts.append(f"[ {component['placeholder']} ▾ ]{disabled} {options}".rstrip())
    return " ".join(parts)


def render_message_text(
    message: dict[str, Any],
    *,
    user_name: NameLookup | None = None,
    role_name: NameLookup | None = None,
    channel_name: NameLookup | None = None,
    now: datetime | None = None,
    ansi: bool = False,
) -> str:
    """A message payload as terminal text: content, embeds, then components."""
    names = Names(user=user_name, role=role_name, channel=channel_name)
    return render_view(message_view(message, names), ansi=ansi, now=now)
