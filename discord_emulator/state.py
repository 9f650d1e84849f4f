"""Everything the emulated Discord knows: users, guilds, channels, messages, synced commands.

Pure data with Discord's rules for permissions; no I/O. The REST handlers and the test driver
both work on one `EmulatorState`, so what a test sets up is what the bot sees.
"""

from __future__ import annotations

from typing import Any

from discord_emulator import errors, permissions
from discord_emulator.ids import SnowflakeFactory, new_token
from discord_emulator.messages import StoredMessage
from discord_emulator.models import (
    DM_CHANNEL,
    FORUM_TYPES,
    TEXT_CHANNEL,
    THREAD_TYPES,
    Channel,
    ForumTag,
    Guild,
    Member,
    Role,
    ThreadState,
    User,
)
from discord_emulator.permissions import MEMBER_OVERWRITE, Overwrite


class EmulatorState:
    """The world of one emulator instance."""

    def __init__(self, *, bot_name: str = "bot") -> None:
        self.ids = SnowflakeFactory()
        bot_id = self.ids.next()
        self.bot_user = User(id=bot_id, username=bot_name, bot=True)
        # Modern Discord applications share their id with their bot user.
        self.application_id = bot_id
        self.bot_token = f"emu.{bot_id}.{new_token()}"
        self.users: dict[int, User] = {bot_id: self.bot_user}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.deleted_channel_ids: set[int] = set()
        self.dm_channel_by_user: dict[int, int] = {}
        self.private_channels: dict[tuple[int, int], int] = {}
        self.messages: dict[int, StoredMessage] = {}
        self.channel_message_ids: dict[int, list[int]] = {}
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self._command_ids: dict[tuple[int | None, int, str], int] = {}

    # ------------------------------------------------------------------ users and guilds

    def add_user(self, username: str, *, bot: bool = False) -> User:
        user = User(id=self.ids.next(), username=username, bot=bot)
        self.users[user.id] = user
        return user

    def user(self, user_id: int) -> User:
        try:
            return self.users[int(user_id)]
        except KeyError:
            raise errors.EmulatorError(
                f"unknown user id {user_id}: create it with add_user()"
            ) from None

    def add_guild(
        self,
        name: str,
        *,
        owner_id: int | None = None,
        everyone_permissions: int = permissions.DEFAULT_EVERYONE_PERMISSIONS,
        bot_permissions: int = permissions.DEFAULT_BOT_PERMISSIONS,
        locale: str = "en-US",
    ) -> Guild:
        guild_id = self.ids.next(new_millisecond=True)
        owner = self.user(owner_id) if owner_id is not None else self.add_user(f"{name} owner")
        bot_role_id = self.ids.next()
        guild = Guild(
            id=guild_id,
            name=name,
            owner_id=owner.id,
            bot_role_id=bot_role_id,
            preferred_locale=locale,
        )
        guild.roles[guild_id] = Role(
            id=guild_id, guild_id=guild_id, name="@everyone", permissions=everyone_permissions
        )
        guild.roles[bot_role_id] = Role(
            id=bot_role_id,
            guild_id=guild_id,
            name=self.bot_user.username,
            permissions=bot_permissions,
            position=1,
            managed=True,
            bot_id=self.bot_user.id,
        )
        self.guilds[guild_id] = guild
        guild.members[self.bot_user.id] = Member(
            guild_id=guild_id, user=self.bot_user, role_ids=[bot_role_id]
        )
        guild.members[owner.id] = Member(guild_id=guild_id, user=owner)
        return guild

    def guild(self, guild_id: int) -> Guild:
        try:
            return self.guilds[int(guild_id)]
        except KeyError:
            raise errors.EmulatorError(
                f"unknown guild id {guild_id}: create it with add_guild()"
            ) from None

    def add_role(
        self, guild_id: int, name: str, *, permissions: int = 0, mentionable: bool = False
    ) -> Role:
        guild = self.guild(guild_id)
        role = Role(
            id=self.ids.next(),
            guild_id=guild.id,
            name=name,
            permissions=permissions,
            position=len(guild.roles),
            mentionable=mentionable,
        )
        guild.roles[role.id] = role
        return role

    def add_member(
        self,
        guild_id: int,
        user_id: int,
        *,
        roles: list[int] | None = None,
        nick: str | None = None,
    ) -> Member:
        guild = self.guild(guild_id)
        user = self.user(user_id)
        role_ids = [int(r) for r in roles or []]
        for role_id in role_ids:
            if role_id not in guild.roles or role_id == guild.id:
                raise errors.EmulatorError(
                    f"role {role_id} is not an assignable role of guild {guild.id}"
                )
        member = Member(guild_id=guild.id, user=user, role_ids=role_ids, nick=nick)
        guild.members[user.id] = member
        return member

    def member(self, guild_id: int, user_id: int) -> Member:
        guild = self.guild(guild_id)
        try:
            return guild.members[int(user_id)]
        except KeyError:
            raise errors.EmulatorError(
                f"user {user_id} is not a member of guild {guild_id}: use add_member()"
            ) from None

    # ------------------------------------------------------------------ channels

    def add_channel(
        self,
        guild_id: int,
        name: str,
        *,
        topic: str | None = None,
        type: int = TEXT_CHANNEL,
        tags: list[str] | None = None,
        flags: int = 0,
    ) -> Channel:
        """A guild channel of any type but a thread (`add_thread`); `tags` are the
        `available_tags` of a forum or media channel."""
        guild = self.guild(guild_id)
        if type in THREAD_TYPES or type == DM_CHANNEL:
            raise errors.EmulatorError(f"add_channel makes guild channels, not type {type}")
        if tags and type not in FORUM_TYPES:
            raise errors.EmulatorError("only forum and media channels (15, 16) have tags")
        channel = Channel(
            id=self.ids.next(),
            name=name,
            guild_id=guild.id,
            type=type,
            position=len(guild.channel_ids),
            topic=topic,
            flags=flags,
            available_tags=[ForumTag(self.ids.next(), tag) for tag in tags or []],
        )
        self.channels[channel.id] = channel
        guild.channel_ids.append(channel.id)
        return channel

    def add_thread(
        self,
        parent_id: int,
        name: str,
        *,
        type: int,
        owner_id: int,
        applied_tags: list[int] | None = None,
        archived: bool = False,
        locked: bool = False,
        auto_archive_duration: int = 1440,
        thread_id: int | None = None,
    ) -> Channel:
        """A thread of `parent_id` (a forum post is a public thread of a forum channel);
        `thread_id` is given for a thread started from a message (it shares the message's id)."""
        parent = self.channel(parent_id)
        if parent.guild_id is None or parent.is_thread:
            raise errors.EmulatorError(f"channel {parent_id} cannot hold threads")
        if type not in THREAD_TYPES:
            raise errors.EmulatorError(f"type {type} is not a thread type (10, 11, 12)")
        thread = Channel(
            id=thread_id if thread_id is not None else self.ids.next(),
            name=name,
            guild_id=parent.guild_id,
            type=type,
            thread=ThreadState(
                parent_id=parent.id,
                owner_id=owner_id,
                archived=archived,
                locked=locked,
                auto_archive_duration=auto_archive_duration,
                applied_tags=list(applied_tags or []),
            ),
        )
        self.channels[thread.id] = thread
        return thread

    def threads_of(self, guild_id: int, *, archived: bool = False) -> list[Channel]:
        """A guild's threads, active ones by default (what GUILD_CREATE lists)."""
        return [
            c
            for c in self.channels.values()
            if c.thread is not None and c.guild_id == guild_id and c.thread.archived == archived
        ]

    def parent_of(self, channel: Channel) -> Channel:
        """Where a channel's permissions come from: a thread's parent, else the channel."""
        if channel.thread is None:
            return channel
        return self.channels.get(channel.thread.parent_id, channel)

    def dm_channel(self, user_id: int) -> Channel:
        """The bot's DM channel with a user, created on first use as Discord does."""
        user = self.user(user_id)
        existing = self.dm_channel_by_user.get(user.id)
        if existing is not None:
            return self.channels[existing]
        channel = Channel(
            id=self.ids.next(), name=user.username, guild_id=None, type=DM_CHANNEL, recipient=user
        )
        self.channels[channel.id] = channel
        self.dm_channel_by_user[user.id] = channel.id
        return channel

    def private_channel(self, user_id: int, other_id: int) -> Channel:
        """The DM between two users (the bot is not in it), created on first use; the same
        channel whichever of them asks."""
        user, other = self.user(user_id), self.user(other_id)
        key = (min(user.id, other.id), max(user.id, other.id))
        existing = self.private_channels.get(key)
        if existing is not None:
            return self.channels[existing]
        channel = Channel(
            id=self.ids.next(),
            name=f"{user.username}, {other.username}",
            guild_id=None,
            type=DM_CHANNEL,
            recipient=other,
            private=True,
        )
        self.channels[channel.id] = channel
        self.private_channels[key] = channel.id
        return channel

    def channel(self, channel_id: int) -> Channel:
        """A live channel, or Discord's 404 10003 (also for deleted channels)."""
        channel = self.channels.get(int(channel_id))
        if channel is None:
            raise errors.unknown_channel()
        return channel

    def delete_channel(self, channel_id: int) -> Channel:
        channel = self.channels.pop(int(channel_id), None)
        if channel is None:
            raise errors.EmulatorError(f"unknown channel id {channel_id}")
        self.deleted_channel_ids.add(channel.id)
        if channel.guild_id is not None and channel.id in self.guilds[channel.guild_id].channel_ids:
            self.guilds[channel.guild_id].channel_ids.remove(channel.id)
        return channel

    def set_overwrite(
        self, channel_id: int, target_id: int, *, kind: int, allow: int = 0, deny: int = 0
    ) -> Channel:
        """Replace the overwrite for one role (kind 0) or member (kind 1) in a channel."""
        channel = self.channels.get(int(channel_id))
        if channel is None or channel.guild_id is None:
            raise errors.EmulatorError(f"{channel_id} is not a live guild channel")
        channel.overwrites = [
            ow for ow in channel.overwrites if (ow.type, ow.target_id) != (kind, int(target_id))
        ]
        if allow or deny:
            channel.overwrites.append(
                Overwrite(target_id=int(target_id), type=kind, allow=allow, deny=deny)
            )
        return channel

    def bot_overwrite(self, channel_id: int) -> Overwrite | None:
        channel = self.channels.get(int(channel_id))
        if channel is None:
            return None
        for ow in channel.overwrites:
            if (ow.type, ow.target_id) == (MEMBER_OVERWRITE, self.bot_user.id):
                return ow
        return None

    # ------------------------------------------------------------------ permissions

    def guild_permissions(self, guild: Guild, user_id: int) -> int:
        member = guild.members.get(int(user_id))
        role_ids = member.role_ids if member else []
        return permissions.base_permissions(
            is_owner=int(user_id) == guild.owner_id,
            everyone_permissions=guild.roles[guild.id].permissions,
            role_permissions=[guild.roles[r].permissions for r in role_ids if r in guild.roles],
        )

    def channel_permissions(self, channel: Channel, user_id: int) -> int:
        """What a user may do in a channel, after overwrites (DMs: the fixed DM set; a thread:
        its parent's, as Discord computes them)."""
        if channel.guild_id is None:
            return permissions.DM_PERMISSIONS
        guild = self.guilds[channel.guild_id]
        base = self.guild_permissions(guild, user_id)
        member = guild.members.get(int(user_id))
        return permissions.apply_overwrites(
            base,
            guild_id=guild.id,
            member_id=int(user_id),
            member_role_ids=member.role_ids if member else [],
            overwrites=self.parent_of(channel).overwrites,
        )

    def bot_permissions(self, channel: Channel) -> int:
        return self.channel_permissions(channel, self.bot_user.id)

    # ------------------------------------------------------------------ payloads

    def guild_create_payload(self, guild: Guild) -> dict[str, Any]:
        payload = guild.base_payload()
        payload.update(
            {
                "joined_at": guild.joined_at,
                "large": False,
                "unavailable": False,
                "member_count": len(guild.members),
                "voice_states": [],
                "members": [m.to_payload() for m in guild.members.values()],
                "channels": [self.channels[c].to_payload() for c in guild.channel_ids],
                "threads": [t.to_payload() for t in self.threads_of(guild.id)],
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
            }
        )
        return payload

    # ------------------------------------------------------------------ messages

    def add_message(self, stored: StoredMessage) -> StoredMessage:
        self.messages[stored.id] = stored
        self.channel_message_ids.setdefault(stored.channel_id, []).append(stored.id)
        channel = self.channels.get(stored.channel_id)
        if channel is not None:
            channel.last_message_id = stored.id
        return stored

    def message(self, channel_id: int, message_id: int) -> StoredMessage:
        stored = self.messages.get(int(message_id))
        if stored is None or stored.deleted or stored.channel_id != int(channel_id):
            raise errors.unknown_message()
        return stored

    def find_message(self, message_id: int) -> StoredMessage:
        stored = self.messages.get(int(message_id))
        if stored is None or stored.deleted:
            raise errors.EmulatorError(f"no message with id {message_id}")
        return stored

    def channel_messages(
        self, channel_id: int, *, include_ephemeral: bool = True
    ) -> list[StoredMessage]:
        out = []
        for mid in self.channel_message_ids.get(int(channel_id), []):
            stored = self.messages[mid]
            if stored.deleted or (stored.ephemeral and not include_ephemeral):
                continue
            out.append(stored)
        return out

    # ------------------------------------------------------------------ commands

    def commands_for(self, guild_id: int | None) -> list[dict[str, Any]]:
        """Synced commands of one scope: global (None) or one guild's."""
        if guild_id is None:
            return self.global_commands
        return self.guild_commands.get(int(guild_id), [])

    def replace_commands(
        self, guild_id: int | None, bodies: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Bulk overwrite, as PUT .../commands does; ids stay stable per (scope, type, name)."""
        synced = []
        for body in bodies:
            command_type = int(body.get("type") or 1)
            key = (guild_id, command_type, body["name"])
            command_id = self._command_ids.get(key)
            if command_id is None:
                command_id = self._command_ids[key] = self.ids.next()
            synced.append(self._command_payload(command_id, guild_id, command_type, body))
        if guild_id is None:
            self.global_commands = synced
        else:
            self.guild_commands[int(guild_id)] = synced
        return synced

    def _command_payload(
        self, command_id: int, guild_id: int | None, command_type: int, body: dict[str, Any]
    ) -> dict[str, Any]:
        perms = body.get("default_member_permissions")
        payload: dict[str, Any] = {
            "id": str(command_id),
            "application_id": str(self.application_id),
            "version": str(self.ids.next()),
            "type": command_type,
            "name": body["name"],
            "name_localizations": body.get("name_localizations"),
            "description": body.get("description") or "",
            "description_localizations": body.get("description_localizations"),
            "default_member_permissions": None if perms is None else str(perms),
            "dm_permission": body.get("dm_permission", True) if guild_id is None else None,
            "contexts": body.get("contexts"),
            "integration_types": body.get("integration_types") or [0],
            "nsfw": bool(body.get("nsfw") or False),
        }
        if body.get("options"):
            payload["options"] = _strip_option_nulls(body["options"])
        if guild_id is not None:
            payload["guild_id"] = str(guild_id)
        return payload


def _strip_option_nulls(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for option in options:
        clean = {k: v for k, v in option.items() if v is not None}
        if "options" in clean:
            clean["options"] = _strip_option_nulls(clean["options"])
        out.append(clean)
    return out
