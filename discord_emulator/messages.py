"""Messages as Discord stores and returns them, and the mentions they would ping.

The bot's request bodies are turned into the message objects Discord answers with (author,
timestamps, `type: "rich"` on embeds, nulls dropped...), so what a test reads back through
`channel_messages()` is what a user would see.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from discord_emulator.models import iso_timestamp

USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")
EVERYONE_MENTION = re.compile(r"@(everyone|here)\b")

EPHEMERAL = 1 << 6
LOADING = 1 << 7
SUPPRESS_EMBEDS = 1 << 2
IS_COMPONENTS_V2 = 1 << 15

DEFAULT_MESSAGE = 0
REPLY_MESSAGE = 19
CHAT_INPUT_COMMAND_MESSAGE = 20

# Fields of a create/edit body that become part of the stored message as they are.
_COPIED_FIELDS = ("content", "tts", "components", "poll")


@dataclass
class Ping:
    """Who a message notifies, after Discord applied its `allowed_mentions`."""

    message_id: int
    channel_id: int
    users: list[int]
    roles: list[int]
    everyone: bool


@dataclass
class StoredMessage:
    """A message plus what the emulator must remember about it."""

    payload: dict[str, Any]
    channel_id: int
    ephemeral: bool = False
    interaction_id: int | None = None
    allowed_mentions: dict[str, Any] | None = None
    nonce: str | int | None = None
    created_at: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False

    @property
    def id(self) -> int:
        return int(self.payload["id"])

    @property
    def loading(self) -> bool:
        return bool(self.payload.get("flags", 0) & LOADING)

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(self.payload)

    def fetched(self) -> dict[str, Any]:
        """The message as GET returns it: Discord does not keep a nonce with the message, so
        only the create response and the gateway's MESSAGE_CREATE carry it."""
        payload = self.snapshot()
        payload.pop("nonce", None)
        return payload


def drop_nulls(value: Any) -> Any:
    """Discord omits null fields of embeds and components in what it returns."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def normalize_embed(embed: dict[str, Any]) -> dict[str, Any]:
    out = drop_nulls(embed)
    out.setdefault("type", "rich")
    ts = out.get("timestamp")
    if isinstance(ts, str):
        try:
            out["timestamp"] = datetime.fromisoformat(ts.replace("Z", "+00:00")).isoformat()
        except ValueError:
            pass
    return out


def embeds_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    embeds = body.get("embeds")
    return [e for e in embeds if isinstance(e, dict)] if isinstance(embeds, list) else []


def is_empty_body(body: dict[str, Any], *, has_files: bool) -> bool:
    """Discord refuses (50006) a message with nothing to show."""
    return not (
        body.get("content")
        or embeds_of(body)
        or body.get("components")
        or body.get("sticker_ids")
        or body.get("poll")
        or has_files
    )


def build_message(
    *,
    message_id: int,
    channel_id: int,
    author: dict[str, Any],
    body: dict[str, Any],
    attachments: list[dict[str, Any]] | None = None,
    message_type: int = DEFAULT_MESSAGE,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The message object Discord returns for a create request."""
    message: dict[str, Any] = {
        "id": str(message_id),
        "type": message_type,
        "channel_id": str(channel_id),
        "author": author,
        "content": body.get("content") or "",
        "timestamp": iso_timestamp(),
        "edited_timestamp": None,
        "tts": bool(body.get("tts") or False),
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": attachments or [],
        "embeds": [normalize_embed(e) for e in embeds_of(body)],
        "pinned": False,
        "flags": int(body.get("flags") or 0),
        "components": drop_nulls(body.get("components") or []),
    }
    if body.get("nonce") is not None:
        message["nonce"] = body["nonce"]
    if body.get("poll") is not None:
        message["poll"] = drop_nulls(body["poll"])
    if extra:
        message.update(extra)
    return message


def apply_edit(
    message: dict[str, Any],
    body: dict[str, Any],
    *,
    mark_edited: bool,
    attachments: list[dict[str, Any]] | None = None,
) -> None:
    """Apply a PATCH body in place: present fields replace, null clears."""
    for key in _COPIED_FIELDS:
        if key in body:
            value = body[key]
            if key == "content":
                message[key] = value or ""
            elif key == "components":
                message[key] = drop_nulls(value or [])
            elif value is None:
                message.pop(key, None)
            else:
                message[key] = drop_nulls(value)
    if "embeds" in body:
        message["embeds"] = [normalize_embed(e) for e in embeds_of(body)]
    if "flags" in body and body["flags"] is not None:
        # Only SUPPRESS_EMBEDS may be toggled by an edit; EPHEMERAL stays as created; an edit may
        # turn a message into a Components V2 one, never back.
        keep = message.get("flags", 0) & ~SUPPRESS_EMBEDS
        message["flags"] = keep | (int(body["flags"]) & (SUPPRESS_EMBEDS | IS_COMPONENTS_V2))
    if attachments is not None:
        message["attachments"] = attachments
    elif "attachments" in body:
        kept = {str(a.get("id")) for a in body.get("attachments") or [] if isinstance(a, dict)}
        message["attachments"] = [a for a in message["attachments"] if a["id"] in kept]
    message["flags"] = message.get("flags", 0) & ~LOADING
    if mark_edited:
        message["edited_timestamp"] = iso_timestamp()


def compute_pings(
    content: str, allowed_mentions: dict[str, Any] | None
) -> tuple[list[int], list[int], bool]:
    """(users, roles, everyone) a message's content notifies, per Discord's rules.

    Without `allowed_mentions` everything mentioned is pinged. With it, a mention pings only if
    its type is in `parse` or its id is listed in `users`/`roles`. The emulator does not check
    the Mention Everyone permission: a bot that *tries* to ping @everyone is reported.
    """
    users = [int(u) for u in USER_MENTION.findall(content)]
    roles = [int(r) for r in ROLE_MENTION.findall(content)]
    everyone = bool(EVERYONE_MENTION.search(content))
    if allowed_mentions is None:
        return _unique(users), _unique(roles), everyone
    parse = set(allowed_mentions.get("parse") or [])
    allowed_users = {int(u) for u in allowed_mentions.get("users") or [] if u is not None}
    allowed_roles = {int(r) for r in allowed_mentions.get("roles") or [] if r is not None}
    users = [u for u in users if "users" in parse or u in allowed_users]
    roles = [r for r in roles if "roles" in parse or r in allowed_roles]
    return _unique(users), _unique(roles), everyone and "everyone" in parse


def _unique(ids: list[int]) -> list[int]:
    return list(dict.fromkeys(ids))
