"""Plain-text rendering of Discord messages for a terminal (the sandbox).

Shows what a Discord user would see: content with mentions and `<t:...>` timestamps
resolved, embeds (title, url, description, fields, footer, timestamp) as an indented block,
and buttons/select menus as bracketed labels.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

TIMESTAMP = re.compile(r"<t:(-?\d+)(?::([tTdDfFR]))?>")
USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")
CHANNEL_MENTION = re.compile(r"<#(\d+)>")

EPHEMERAL = 1 << 6
LOADING = 1 << 7
ACTION_ROW, BUTTON, STRING_SELECT = 1, 2, 3
LINK_STYLE = 5

EMBED_BAR = "┃ "

NameLookup = Callable[[int], str | None]


def format_timestamp(epoch: int, style: str | None, *, now: datetime | None = None) -> str:
    """Discord's timestamp styles, in UTC and en-US wording."""
    when = datetime.fromtimestamp(epoch, UTC)
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


def render_inline(
    text: str,
    *,
    user_name: NameLookup | None = None,
    role_name: NameLookup | None = None,
    channel_name: NameLookup | None = None,
    now: datetime | None = None,
) -> str:
    """Resolve timestamps and mentions in a piece of message text."""
    text = TIMESTAMP.sub(lambda m: format_timestamp(int(m.group(1)), m.group(2), now=now), text)
    text = USER_MENTION.sub(
        lambda m: "@" + ((user_name and user_name(int(m.group(1)))) or m.group(1)), text
    )
    text = ROLE_MENTION.sub(
        lambda m: "@" + ((role_name and role_name(int(m.group(1)))) or m.group(1)), text
    )
    return CHANNEL_MENTION.sub(
        lambda m: "#" + ((channel_name and channel_name(int(m.group(1)))) or m.group(1)), text
    )


def render_message_text(
    message: dict[str, Any],
    *,
    user_name: NameLookup | None = None,
    role_name: NameLookup | None = None,
    channel_name: NameLookup | None = None,
    now: datetime | None = None,
) -> str:
    """A message as plain text: content, embeds, then components."""

    def inline(text: str) -> str:
        return render_inline(
            text, user_name=user_name, role_name=role_name, channel_name=channel_name, now=now
        )

    flags = int(message.get("flags") or 0)
    lines: list[str] = []
    if flags & LOADING:
        author = (message.get("author") or {}).get("username", "The bot")
        lines.append(f"{author} is thinking…")
    if flags & EPHEMERAL:
        lines.append("(only you can see this)")
    content = message.get("content") or ""
    if content:
        lines.extend(inline(content).splitlines())
    for embed in message.get("embeds") or []:
        if lines:
            lines.append("")
        lines.extend(
            EMBED_BAR + line if line else EMBED_BAR.rstrip() for line in _embed_lines(embed, inline)
        )
    component_lines = _component_lines(message.get("components") or [])
    if component_lines:
        if lines:
            lines.append("")
        lines.extend(component_lines)
    for attachment in message.get("attachments") or []:
        lines.append(f"📎 {attachment.get('filename', 'file')} ({attachment.get('size', 0)} bytes)")
    return "\n".join(lines)


def _embed_lines(embed: dict[str, Any], inline: Callable[[str], str]) -> list[str]:
    lines: list[str] = []
    author = embed.get("author") or {}
    if author.get("name"):
        lines.append(inline(author["name"]))
    title = embed.get("title")
    if title:
        lines.append(inline(title) + (f" <{embed['url']}>" if embed.get("url") else ""))
    elif embed.get("url"):
        lines.append(f"<{embed['url']}>")
    if embed.get("description"):
        lines.extend(inline(embed["description"]).splitlines())
    for field in embed.get("fields") or []:
        lines.append("")
        lines.append(inline(field.get("name", "")))
        lines.extend(inline(field.get("value", "")).splitlines())
    footer_parts = []
    footer = embed.get("footer") or {}
    if footer.get("text"):
        footer_parts.append(inline(footer["text"]))
    if embed.get("timestamp"):
        try:
            when = datetime.fromisoformat(str(embed["timestamp"]).replace("Z", "+00:00"))
            footer_parts.append(format_timestamp(int(when.timestamp()), "f"))
        except ValueError:
            footer_parts.append(str(embed["timestamp"]))
    if footer_parts:
        lines.append("")
        lines.append(" • ".join(footer_parts))
    return lines


def _component_lines(components: list[dict[str, Any]]) -> list[str]:
    lines = []
    for row in components:
        children = row.get("components") if row.get("type") == ACTION_ROW else [row]
        rendered = [_component_text(c) for c in children or []]
        rendered = [r for r in rendered if r]
        if rendered:
            lines.append(" ".join(rendered))
    return lines


def _component_text(component: dict[str, Any]) -> str:
    kind = component.get("type")
    disabled = " (disabled)" if component.get("disabled") else ""
    if kind == BUTTON:
        emoji = (component.get("emoji") or {}).get("name")
        label = " ".join(p for p in (emoji, component.get("label")) if p) or component.get(
            "custom_id", "button"
        )
        if component.get("style") == LINK_STYLE:
            return f"[ {label} ↗ {component.get('url', '')} ]{disabled}"
        return f"[ {label} ]{disabled}"
    if kind == STRING_SELECT:
        options = " | ".join(
            o.get("label", o.get("value", "")) for o in component.get("options") or []
        )
        placeholder = component.get("placeholder") or "Select…"
        return f"[ {placeholder} ▾ ]{disabled} {options}".rstrip()
    return ""
