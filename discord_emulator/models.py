"""The emulated Discord objects and their JSON payloads.

Payloads carry every field discord.py 2.7 reads with `data[...]` (not just `.get`), in the
shape Discord sends, so the real client parses them exactly as in production.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from discord_emulator.permissions import Overwrite

TEXT_CHANNEL = 0
DM_CHANNEL = 1
ANNOUNCEMENT_CHANNEL = 5
ANNOUNCEMENT_THREAD = 10
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
FORUM_CHANNEL = 15
MEDIA_CHANNEL = 16

THREAD_TYPES = frozenset({ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD})
PUBLIC_THREAD_TYPES = frozenset({ANNOUNCEMENT_THREAD, PUBLIC_THREAD})
FORUM_TYPES = frozenset({FORUM_CHANNEL, MEDIA_CHANNEL})
"""Channels that hold only threads (posts): messages are not sent to them directly."""
MESSAGE_TYPES = frozenset({TEXT_CHANNEL, ANNOUNCEMENT_CHANNEL})
"""Guild channels (not threads) that messages are sent to directly."""
REQUIRE_TAG = 1 << 4
"""Channel flag: a post in this forum or media channel must have a tag."""


def iso_timestamp(when: datetime | None = None) -> str:
    """Discord's timestamp format: ISO 8601 with microseconds and +00:00."""
    return (when or datetime.now(UTC)).isoformat(timespec="microseconds")


@dataclass
class User:
    id: int
    username: str
    bot: bool = False
    global_name: str | None = None

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "avatar_decoration_data": None,
            "banner": None,
            "accent_color": None,
            "public_flags": 0,
            "flags": 0,
            "primary_guild": None,
        }
        if self.bot:
            payload["bot"] = True
        return payload

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    mentionable: bool = False
    bot_id: int | None = None

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "description": None,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }
        if self.bot_id is not None:
            payload["tags"] = {"bot_id": str(self.bot_id)}
        return payload


@dataclass
class Member:
    guild_id: int
    user: User
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso_timestamp)

    def to_payload(self, *, permissions: int | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "user": self.user.to_payload(),
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in self.role_ids],
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if permissions is not None:
            payload["permissions"] = str(permissions)
        return payload


@dataclass
class ForumTag:
    """A tag a forum or media channel offers its posts (`available_tags`)."""

    id: int
    name: str
    moderated: bool = False

    def to_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "moderated": self.moderated,
            "emoji_id": None,
            "emoji_name": None,
        }


@dataclass
class ThreadState:
    """What a thread (types 10, 11, 12) has beyond a channel: its parent, its owner, whether it
    is archived or locked, the tags of a forum post."""

    parent_id: int
    owner_id: int
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 1440
    archive_timestamp: str = field(default_factory=lambda: iso_timestamp())
    created_at: str = field(default_factory=lambda: iso_timestamp())
    applied_tags: list[int] = field(default_factory=list)
    message_count: int = 0

    def metadata(self) -> dict[str, Any]:
        return {
            "archived": self.archived,
            "auto_archive_duration": self.auto_archive_duration,
            "archive_timestamp": self.archive_timestamp,
            "locked": self.locked,
            "invitable": True,
            "create_timestamp": self.created_at,
        }


@dataclass
class Channel:
    """A guild channel (text, announcement, forum, media, or a thread of one), or a DM channel
    (guild_id None, one recipient).

    `private`: a DM between two users, which the bot is not part of (Discord's PRIVATE_CHANNEL
    interaction context, 2): only an app the user installed to their account is used there.
    `thread`: set for threads (their permissions are their parent's, `state.parent_of`)."""

    id: int
    name: str
    guild_id: int | None
    type: int = TEXT_CHANNEL
    position: int = 0
    topic: str | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    recipient: User | None = None
    last_message_id: int | None = None
    private: bool = False
    flags: int = 0
    available_tags: list[ForumTag] = field(default_factory=list)
    thread: ThreadState | None = None

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    def to_payload(self) -> dict[str, Any]:
        if self.type == DM_CHANNEL:
            assert self.recipient is not None
            return {
                "id": str(self.id),
                "type": DM_CHANNEL,
                "last_message_id": _opt_str(self.last_message_id),
                "flags": 0,
                "recipients": [self.recipient.to_payload()],
            }
        if self.thread is not None:
            return self._thread_payload(self.thread)
        payload: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [ow.to_payload() for ow in self.overwrites],
            "topic": self.topic,
            "nsfw": False,
            "last_message_id": _opt_str(self.last_message_id),
            "rate_limit_per_user": 0,
            "parent_id": None,
            "flags": self.flags,
        }
        if self.type in FORUM_TYPES:
            payload.update(
                {
                    "available_tags": [tag.to_payload() for tag in self.available_tags],
                    "default_reaction_emoji": None,
                    "default_sort_order": None,
                    "default_forum_layout": 0,
                    "default_thread_rate_limit_per_user": 0,
                    "default_auto_archive_duration": 1440,
                }
            )
        return payload

    def _thread_payload(self, thread: ThreadState) -> dict[str, Any]:
        """A thread as Discord sends it (GUILD_CREATE, THREAD_CREATE, GET /channels/{id})."""
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "parent_id": str(thread.parent_id),
            "owner_id": str(thread.owner_id),
            "name": self.name,
            "last_message_id": _opt_str(self.last_message_id),
            "rate_limit_per_user": 0,
            "message_count": thread.message_count,
            "member_count": 1,
            "total_message_sent": thread.message_count,
            "flags": self.flags,
            "applied_tags": [str(t) for t in thread.applied_tags],
            "thread_metadata": thread.metadata(),
        }


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    bot_role_id: int
    preferred_locale: str = "en-US"
    roles: dict[int, Role] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    members: dict[int, Member] = field(default_factory=dict)
    joined_at: str = field(default_factory=iso_timestamp)
    system_channel_id: int | None = None

    @property
    def everyone_role_id(self) -> int:
        """Discord gives @everyone the guild's own id."""
        return self.id

    def base_payload(self) -> dict[str, Any]:
        """The guild object as REST returns it (no members/channels)."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "icon_hash": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [r.to_payload() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": _opt_str(self.system_channel_id),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_members": 500000,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": self.preferred_locale,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
        }


def _opt_str(value: int | None) -> str | None:
    return None if value is None else str(value)
