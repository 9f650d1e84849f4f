"""A Discord message as the sandbox shows it: plain JSON data that both front ends draw.

`message_view` resolves what the reader needs (names for mentions, the command that caused a
reply, which buttons are disabled) and parses the markdown (`markdown.py`); the terminal
renders the result as text, the browser page builds DOM nodes from it. Only http(s) URLs
survive as links: anything else a message carries is shown as text, never followed.
"""

from __future__ import annotations

from typing import Any

from discord_emulator.components_v2 import IS_COMPONENTS_V2, text_displays
from discord_emulator.markdown import Names, parse_blocks, parse_inline, safe_href

EPHEMERAL = 1 << 6
LOADING = 1 << 7
ACTION_ROW, BUTTON, STRING_SELECT = 1, 2, 3
LINK_STYLE = 5
BUTTON_STYLES = {1: "primary", 2: "secondary", 3: "success", 4: "danger", 5: "link", 6: "premium"}


def message_view(
    message: dict[str, Any], names: Names | None = None, *, version: int = 0
) -> dict[str, Any]:
    """The message (a payload as Discord returns it) as the sandbox draws it."""
    names = names or Names()
    flags = int(message.get("flags") or 0)
    author = message.get("author") or {}
    metadata = message.get("interaction_metadata") or {}
    command = None
    if metadata.get("name"):
        user = (metadata.get("user") or {}).get("username") or "someone"
        command = {"user": user, "name": "/" + str(metadata["name"])}
    return {
        "id": str(message.get("id", "")),
        "channel_id": str(message.get("channel_id", "")),
        "version": version,
        "author": author.get("global_name") or author.get("username") or "unknown",
        "bot": bool(author.get("bot")),
        "timestamp": message.get("timestamp"),
        "edited": bool(message.get("edited_timestamp")),
        "ephemeral": bool(flags & EPHEMERAL),
        "loading": bool(flags & LOADING),
        "command": command,
        # A Components V2 message has no content: its text displays are what a reader sees.
        "content": parse_blocks(
            "\n".join(text_displays(message))
            if flags & IS_COMPONENTS_V2
            else message.get("content") or "",
            names,
        ),
        "embeds": [_embed_view(e, names) for e in message.get("embeds") or []],
        "components": _component_rows(message.get("components") or []),
        "attachments": [
            {"filename": str(a.get("filename", "file")), "size": int(a.get("size") or 0)}
            for a in message.get("attachments") or []
        ],
    }


def _embed_view(embed: dict[str, Any], names: Names) -> dict[str, Any]:
    author = embed.get("author") or {}
    footer = embed.get("footer") or {}
    color = embed.get("color")
    return {
        "color": f"#{int(color):06x}"
        if isinstance(color, int) and 0 <= color <= 0xFFFFFF
        else None,
        "author": parse_inline(author.get("name") or "", names),
        "author_url": safe_href(author.get("url")),
        "title": parse_inline(embed.get("title") or "", names),
        "url": safe_href(embed.get("url")),
        "description": parse_blocks(embed.get("description") or "", names),
        "fields": [
            {
                "name": parse_inline(str(f.get("name", "")), names),
                "value": parse_blocks(str(f.get("value", "")), names),
                "inline": bool(f.get("inline")),
            }
            for f in embed.get("fields") or []
        ],
        "footer": parse_inline(footer.get("text") or "", names),
        "timestamp": embed.get("timestamp"),
    }


def _component_rows(components: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    rows = []
    for row in components:
        children = row.get("components") if row.get("type") == ACTION_ROW else [row]
        rendered = [v for v in (_component_view(c) for c in children or []) if v is not None]
        if rendered:
            rows.append(rendered)
    return rows


def _component_view(component: dict[str, Any]) -> dict[str, Any] | None:
    kind = component.get("type")
    disabled = bool(component.get("disabled"))
    if kind == BUTTON:
        emoji = (component.get("emoji") or {}).get("name")
        style = BUTTON_STYLES.get(int(component.get("style") or 2), "secondary")
        return {
            "kind": "button",
            # A button with neither label nor emoji shows as a blank button in Discord: never
            # its custom_id, which is the bot's internal state.
            "label": component.get("label") or "",
            "emoji": emoji or "",
            "style": style,
            "custom_id": component.get("custom_id"),
            "url": safe_href(component.get("url")) if style == "link" else None,
            "disabled": disabled,
        }
    if kind == STRING_SELECT:
        return {
            "kind": "select",
            "placeholder": component.get("placeholder") or "Select…",
            "options": [
                str(o.get("label", o.get("value", ""))) for o in component.get("options") or []
            ],
            "disabled": disabled,
        }
    return None
