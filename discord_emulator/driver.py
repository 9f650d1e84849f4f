"""`DiscordEmulator`: the test driver (and the sandbox's engine).

A Discord-compatible server on 127.0.0.1 that the real discord.py client logs into, plus the
controls a test needs: build a world (guilds, channels, roles, members, permission
overwrites), act as a user (slash commands, autocomplete, buttons, modals), inject
faults, and inspect what the bot did (messages, requests, rule violations).

Typical use::

    emu = DiscordEmulator(ack_deadline=3.0)
    await emu.start()
    guild = emu.add_guild("Test Server")
    chan = emu.add_channel(guild.id, "general")
    alice = emu.add_user("alice"); emu.add_member(guild.id, alice.id)
    with emu.patch_discord_py():
        ...start the bot with emu.bot_token, wait for it to sync...
        inter = await emu.send_command("summarize", {"post": "meltdown"}, user=alice.id,
                                       guild=guild.id, channel=chan.id)
        reply = await inter.wait_reply()
    assert emu.validation_errors == []
    await emu.stop()
"""

# The test-driver API takes `timeout=` by contract (tests read better than with
# `asyncio.timeout` blocks); every wait goes through `Notifier.wait_for`, which honours it.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from discord_emulator import errors, invocations, permissions
from discord_emulator.commands import build_options
from discord_emulator.core import VALIDATED_OPERATIONS, EmulatorConfig, EmulatorCore, RequestRecord
from discord_emulator.faults import FaultRule
from discord_emulator.gateway import GUILD_MEMBERS_INTENT, GatewayEvent, GatewayHub, GatewaySession
from discord_emulator.ids import new_token
from discord_emulator.interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    EmulatedInteraction,
    interaction_payload,
)
from discord_emulator.messages import Ping, StoredMessage, build_message
from discord_emulator.models import (
    ANNOUNCEMENT_CHANNEL,
    PUBLIC_THREAD,
    REQUIRE_TAG,
    TEXT_CHANNEL,
    Channel,
    Guild,
    Member,
    Role,
    User,
    iso_timestamp,
)
from discord_emulator.notify import Notifier
from discord_emulator.permissions import MEMBER_OVERWRITE, ROLE_OVERWRITE
from discord_emulator.ratelimits import DEFAULT_ROUTE_LIMITS, RateLimitEmulator, RouteLimit
from discord_emulator.routes import compile_pattern, method_matches
from discord_emulator.server import EmulatorServer
from discord_emulator.state import EmulatorState
from discord_emulator.threads import dispatch_thread
from discord_emulator.validation import SpecValidator, load_validator

T = TypeVar("T")


class DiscordEmulator:
    """A loopback Discord for the real discord.py client. See the module docstring.

    Which commands a user may invoke, as Discord's client decides it:

    * `enforce_command_contexts` (default True): a command is offered only where its
      `contexts`/`dm_permission` allow (guild commands never in DMs). Discord enforces this
      and servers cannot change it; pass False to test a bot's own guild-only guard anyway.
    * `enforce_command_permissions` (default False): members lacking a command's
      `default_member_permissions` do not see it, but server admins can override that per
      command, so a bot must check permissions itself; by default the emulator lets anyone
      invoke (the case the bot must survive). True emulates the default hiding.

    A refused invocation raises `CommandUnavailableError`.

    `nonce_window` (seconds, default 5 minutes): how long a message's nonce deduplicates an
    `enforce_nonce` resend; set it to 0 to act out a restart after Discord forgot it.

    `global_rate_limit` (default 50) requests per `global_rate_window` (1 s): Discord's global
    limit for the bot, counted across every connection and process using its token (interaction
    endpoints excepted); past it a 429 with `global: true`. None turns it off.
    `enable_rate_limits()` adds Discord's per-route buckets.
    """

    def __init__(
        self,
        *,
        ack_deadline: float = 3.0,
        token_lifetime: float = 15 * 60.0,
        spec_path: str | None = None,
        validate_schema: bool = True,
        enforce_command_contexts: bool = True,
        enforce_command_permissions: bool = False,
        recommended_shards: int = 1,
        bot_name: str = "bot",
        heartbeat_interval_ms: int = 41_250,
        nonce_window: float = 5 * 60.0,
        global_rate_limit: int | None = 50,
        global_rate_window: float = 1.0,
    ) -> None:
        self.config = EmulatorConfig(
            ack_deadline=ack_deadline,
            token_lifetime=token_lifetime,
            nonce_window=nonce_window,
            validate_schema=validate_schema,
            enforce_command_contexts=enforce_command_contexts,
            enforce_command_permissions=enforce_command_permissions,
            recommended_shards=recommended_shards,
            heartbeat_interval_ms=heartbeat_interval_ms,
            global_rate_limit=global_rate_limit,
            global_rate_window=global_rate_window,
        )
        self.state = EmulatorState(bot_name=bot_name)
        self.notifier = Notifier()
        self.core = EmulatorCore(self.config, self.state, self.notifier)
        self.hub = GatewayHub(
            self.state,
            url=lambda: self.gateway_url,
            notify=self.notifier.notify,
            heartbeat_interval_ms=heartbeat_interval_ms,
        )
        self.core.hub = self.hub
        self._server = EmulatorServer(self.core, self.hub)
        self._spec_path = spec_path
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self, *, host: str = "127.0.0.1", port: int = 0) -> DiscordEmulator:
        """Load the spec (in a worker thread: 1.2 MB of JSON) and bind the server."""
        if self.config.validate_schema:
            self.core.validator = await asyncio.to_thread(_prepared_validator, self._spec_path)
        self.port = await self._server.start(host, port)
        self.core.base_url = self.api_base
        self.core.attachments.origin = f"http://127.0.0.1:{self.port}"
        self.core.gateway_url = self.gateway_url
        return self

    async def stop(self) -> None:
        await self._server.stop()

    def add_page(self, index: Callable[..., Any], routes: list[Any]) -> None:
        """Serve a web page beside the API (the sandbox's, see `discord_emulator.web`); before start."""
        self._server.add_page(index, routes)

    async def __aenter__(self) -> DiscordEmulator:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def bot_environment(self) -> dict[str, str]:
        """What points a bot's own process here, `corpus-bot run` for one (the counterpart of
        `patch_discord_py` for a bot in another process): its token, REST base and gateway,
        as environment."""
        return {
            "DISCORD_TOKEN": self.bot_token,
            "DISCORD_API_BASE": self.api_base,
            "DISCORD_GATEWAY_URL": self.gateway_url,
        }

    @contextlib.contextmanager
    def patch_discord_py(self) -> Iterator[None]:
        """Point discord.py's REST base and default gateway here; restore them on exit.

        Clients built inside the block may be used after it ends only if they already
        connected (their routes are built per request: keep requests inside the block).
        """
        import discord.gateway
        import discord.http
        import yarl

        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    # ------------------------------------------------------------------ identity

    @property
    def bot_token(self) -> str:
        return self.state.bot_token

    @property
    def application_id(self) -> int:
        return self.state.application_id

    @property
    def bot_user_id(self) -> int:
        return self.state.bot_user.id

    @property
    def bot_user(self) -> User:
        return self.state.bot_user

    @property
    def ack_deadline(self) -> float:
        return self.config.ack_deadline

    @ack_deadline.setter
    def ack_deadline(self, seconds: float) -> None:
        """Applies to interactions created from now on."""
        self.config.ack_deadline = seconds

    # ------------------------------------------------------------------ the world

    def add_user(self, username: str) -> User:
        return self.state.add_user(username)

    def add_guild(
        self,
        name: str,
        *,
        owner_id: int | None = None,
        everyone_permissions: int = permissions.DEFAULT_EVERYONE_PERMISSIONS,
        bot_permissions: int = permissions.DEFAULT_BOT_PERMISSIONS,
        locale: str = "en-US",
    ) -> Guild:
        """A guild the bot is in (with @everyone, the bot's managed role, bot and owner)."""
        guild = self.state.add_guild(
            name,
            owner_id=owner_id,
            everyone_permissions=everyone_permissions,
            bot_permissions=bot_permissions,
            locale=locale,
        )
        session = self.hub.session_for_guild(guild.id)
        if session is not None:
            session.guild_ids.append(guild.id)
            self.hub.dispatch_to(session, "GUILD_CREATE", self.state.guild_create_payload(guild))
        return guild

    def set_system_channel(self, guild_id: int, channel_id: int | None) -> None:
        """Where Discord posts the server's system messages (and bots post notices for admins)."""
        guild = self.state.guild(guild_id)
        guild.system_channel_id = channel_id
        self.hub.dispatch("GUILD_UPDATE", guild.base_payload(), guild_id=guild_id)

    def add_channel(
        self,
        guild_id: int,
        name: str,
        *,
        topic: str | None = None,
        type: int = TEXT_CHANNEL,
        tags: list[str] | None = None,
        require_tag: bool = False,
    ) -> Channel:
        """A guild channel: text (0), announcement (5), forum (15) or media (16); `tags` are a
        forum's or media channel's `available_tags` (`forum_tag_id` finds one by name) and
        `require_tag` sets its REQUIRE_TAG flag."""
        channel = self.state.add_channel(
            guild_id,
            name,
            topic=topic,
            type=type,
            tags=tags,
            flags=REQUIRE_TAG if require_tag else 0,
        )
        self.hub.dispatch("CHANNEL_CREATE", channel.to_payload(), guild_id=channel.guild_id)
        return channel

    def add_thread(
        self,
        parent_id: int,
        name: str,
        *,
        type: int = PUBLIC_THREAD,
        archived: bool = False,
        locked: bool = False,
    ) -> Channel:
        """A thread of a text, announcement or forum channel, started by the guild's owner
        (active ones reach the bot in THREAD_CREATE, as on Discord; archived ones do not)."""
        parent = self.state.channel(parent_id)
        owner = self.state.guild(parent.guild_id or 0).owner_id
        thread = self.state.add_thread(
            parent_id, name, type=type, owner_id=owner, archived=archived, locked=locked
        )
        if not archived:
            dispatch_thread(self.core, "THREAD_CREATE", thread, newly_created=True)
        return thread

    def set_thread_archived(
        self, thread_id: int, *, archived: bool, locked: bool = False
    ) -> Channel:
        """Archive (and maybe lock) a thread, or reopen it; the bot gets THREAD_UPDATE."""
        thread = self.state.channel(thread_id)
        if thread.thread is None:
            raise errors.EmulatorError(f"channel {thread_id} is not a thread")
        if thread.thread.archived != archived:
            thread.thread.archive_timestamp = iso_timestamp()  # as Discord: when it changed
        thread.thread.archived = archived
        thread.thread.locked = locked
        dispatch_thread(self.core, "THREAD_UPDATE", thread)
        return thread

    def delete_forum_tag(self, channel_id: int, name: str) -> Channel:
        """A moderator deletes a tag of a forum or media channel: it leaves `available_tags` and
        the posts that had it, and the bot gets CHANNEL_UPDATE, as on Discord."""
        tag_id = self.forum_tag_id(channel_id, name)
        channel = self.state.channel(channel_id)
        channel.available_tags = [t for t in channel.available_tags if t.id != tag_id]
        for post in self.threads_of(channel_id):
            if post.thread is not None and tag_id in post.thread.applied_tags:
                post.thread.applied_tags.remove(tag_id)
        self.hub.dispatch("CHANNEL_UPDATE", channel.to_payload(), guild_id=channel.guild_id)
        return channel

    def moderate_forum_tag(self, channel_id: int, name: str) -> Channel:
        """Make a forum's tag moderated: only members with Manage Threads may apply it (the bot
        gets CHANNEL_UPDATE)."""
        tag_id = self.forum_tag_id(channel_id, name)
        channel = self.state.channel(channel_id)
        for tag in channel.available_tags:
            tag.moderated = tag.moderated or tag.id == tag_id
        self.hub.dispatch("CHANNEL_UPDATE", channel.to_payload(), guild_id=channel.guild_id)
        return channel

    def set_channel_type(self, channel_id: int, type: int) -> Channel:
        """Convert a text channel into an announcement channel or back (the one conversion
        Discord offers); the bot gets CHANNEL_UPDATE."""
        channel = self.state.channel(channel_id)
        if {channel.type, type} - {TEXT_CHANNEL, ANNOUNCEMENT_CHANNEL}:
            raise errors.EmulatorError(
                "Discord converts only text (0) and announcement (5) channels"
            )
        channel.type = type
        self.hub.dispatch("CHANNEL_UPDATE", channel.to_payload(), guild_id=channel.guild_id)
        return channel

    def publish_by_hand(self, channel_id: int, count: int = 1) -> None:
        """People published `count` messages in an announcement channel now: they count in
        its 10 publishes an hour, as the bot's do."""
        times = self.core.crosspost_times.setdefault(int(channel_id), deque())
        times.extend([self.core.now()] * count)

    def forum_tag_id(self, channel_id: int, name: str) -> int:
        """The id of the tag called `name` that a forum or media channel offers."""
        channel = self.state.channel(channel_id)
        for tag in channel.available_tags:
            if tag.name == name:
                return tag.id
        raise errors.EmulatorError(
            f"channel {channel_id} has no tag {name!r}: {[t.name for t in channel.available_tags]}"
        )

    def threads_of(self, channel_id: int) -> list[Channel]:
        """The threads (and forum posts) of a channel, oldest first."""
        return [
            c
            for c in self.state.channels.values()
            if c.thread is not None and c.thread.parent_id == channel_id
        ]

    def add_role(
        self, guild_id: int, name: str, *, permissions: int = 0, mentionable: bool = False
    ) -> Role:
        role = self.state.add_role(guild_id, name, permissions=permissions, mentionable=mentionable)
        self.hub.dispatch(
            "GUILD_ROLE_CREATE",
            {"guild_id": str(guild_id), "role": role.to_payload()},
            guild_id=guild_id,
        )
        return role

    def add_member(
        self,
        guild_id: int,
        user_id: int,
        *,
        roles: list[int] | None = None,
        nick: str | None = None,
    ) -> Member:
        """Make a user a member; admin means guild owner or a role with MANAGE_GUILD."""
        member = self.state.add_member(guild_id, user_id, roles=roles, nick=nick)
        data = {**member.to_payload(), "guild_id": str(guild_id)}
        self.hub.dispatch_if(
            "GUILD_MEMBER_ADD", data, guild_id=guild_id, intent=GUILD_MEMBERS_INTENT
        )
        return member

    def set_permission_overwrite(
        self, channel_id: int, target_id: int, *, member: bool, allow: int = 0, deny: int = 0
    ) -> Channel:
        """Set (or with allow=deny=0 remove) a channel overwrite for a member or a role."""
        kind = MEMBER_OVERWRITE if member else ROLE_OVERWRITE
        channel = self.state.set_overwrite(channel_id, target_id, kind=kind, allow=allow, deny=deny)
        self.hub.dispatch("CHANNEL_UPDATE", channel.to_payload(), guild_id=channel.guild_id)
        return channel

    def deny_bot(
        self,
        channel_id: int,
        *,
        send: bool = False,
        embed: bool = False,
        view: bool = False,
        attach: bool = False,
        history: bool = False,
    ) -> Channel:
        """Take permissions away from the bot in one channel (a member overwrite)."""
        deny = (
            (permissions.SEND_MESSAGES if send else 0)
            | (permissions.EMBED_LINKS if embed else 0)
            | (permissions.VIEW_CHANNEL if view else 0)
            | (permissions.ATTACH_FILES if attach else 0)
            | (permissions.READ_MESSAGE_HISTORY if history else 0)
        )
        if not deny:
            raise errors.EmulatorError(
                "deny_bot needs at least one of send/embed/view/attach/history"
            )
        current = self.state.bot_overwrite(channel_id)
        allow = current.allow & ~deny if current else 0
        deny |= current.deny if current else 0
        return self.set_permission_overwrite(
            channel_id, self.bot_user_id, member=True, allow=allow, deny=deny
        )

    def allow_bot(self, channel_id: int) -> Channel:
        """Remove the bot's member overwrite in a channel."""
        return self.set_permission_overwrite(channel_id, self.bot_user_id, member=True)

    def delete_channel(self, channel_id: int) -> Channel:
        """Delete a channel: further requests about it get 404 10003 Unknown Channel."""
        channel = self.state.delete_channel(channel_id)
        self.hub.dispatch("CHANNEL_DELETE", channel.to_payload(), guild_id=channel.guild_id)
        return channel

    def dm_channel(self, user_id: int) -> Channel:
        return self.state.dm_channel(user_id)

    def private_channel(self, user_id: int, other_id: int) -> Channel:
        """The DM between two users, which the bot is not in (where a user-installed app's
        commands are used with context 2)."""
        return self.state.private_channel(user_id, other_id)

    def post_user_message(self, channel_id: int, user_id: int, content: str) -> dict[str, Any]:
        """A user writes in a channel (the bot receives MESSAGE_CREATE, gated by intents)."""
        channel = self.state.channel(channel_id)
        user = self.state.user(user_id)
        payload = build_message(
            message_id=self.state.ids.next(),
            channel_id=channel.id,
            author=user.to_payload(),
            body={"content": content},
        )
        stored = StoredMessage(payload=payload, channel_id=channel.id, created_at=self.core.now())
        self.core.apply_mentions(stored, ping=False)
        self.state.add_message(stored)
        self.core.dispatch_message("MESSAGE_CREATE", stored, channel)
        self.notifier.notify()
        return stored.snapshot()

    # ------------------------------------------------------------------ inspection

    @property
    def requests(self) -> list[RequestRecord]:
        """Every REST request: (method, path without /api/v10, JSON body, status)."""
        return self.core.requests

    def requests_matching(self, method: str, pattern: str) -> list[RequestRecord]:
        """Requests whose method and path match, e.g. ("POST", "/channels/{id}/messages")."""
        regex = compile_pattern(pattern)
        return [
            r
            for r in self.core.requests
            if method_matches(method, r.method) and regex.match(r.path)
        ]

    @property
    def validation_errors(self) -> list[str]:
        """Bodies Discord would reject with 400 50035 (schema and limits). Assert == []."""
        return self.core.validation_errors

    @property
    def protocol_errors(self) -> list[str]:
        """Other bot mistakes: late (10062) or double (40060) acknowledgement, empty
        messages, followups before acknowledging, unknown webhooks, emulator failures."""
        return self.core.protocol_errors

    @property
    def unsupported_routes(self) -> list[str]:
        """Requests to routes the emulator does not implement (answered 404)."""
        return self.core.unsupported_routes

    @property
    def problems(self) -> list[str]:
        """Everything above in one list, for `assert emu.problems == []`."""
        unsupported = [
            f"{r}: route not supported by the emulator" for r in self.core.unsupported_routes
        ]
        return [*self.core.validation_errors, *self.core.protocol_errors, *unsupported]

    @property
    def pings(self) -> list[Ping]:
        """Notifications the bot's messages caused (after allowed_mentions). Assert == []."""
        return self.core.pings

    @property
    def allowed_mentions_log(self) -> list[tuple[int, dict[str, Any] | None]]:
        """(message id, allowed_mentions as sent or None) for every message that could ping."""
        return self.core.allowed_mentions_log

    @property
    def stripped_embeds(self) -> list[int]:
        """Messages whose embeds Discord dropped because the bot lacked Embed Links."""
        return self.core.stripped_embeds

    @property
    def crossposted(self) -> list[int]:
        """Messages the bot published (crossposted) in announcement channels, in order."""
        return self.core.crossposted

    @property
    def crosspost_refusals(self) -> list[int]:
        """Messages whose publish Discord answered 429: the channel's 10 an hour were used."""
        return self.core.crosspost_refusals

    @property
    def gateway_events(self) -> list[GatewayEvent]:
        return self.hub.events

    @property
    def gateway_sessions(self) -> list[GatewaySession]:
        return list(self.hub.sessions.values())

    @property
    def interactions(self) -> list[EmulatedInteraction]:
        return list(self.core.interactions.values())

    def channel_messages(
        self, channel_id: int, *, include_ephemeral: bool = True
    ) -> list[dict[str, Any]]:
        """Messages in a channel, oldest first, as Discord returns them."""
        return [
            m.snapshot()
            for m in self.state.channel_messages(channel_id, include_ephemeral=include_ephemeral)
        ]

    def message(self, message_id: int) -> dict[str, Any]:
        return self.state.find_message(message_id).snapshot()

    def message_history(self, message_id: int) -> list[dict[str, Any]]:
        """Earlier versions of a message, oldest first (one per edit)."""
        return [dict(v) for v in self.state.find_message(message_id).history]

    def attachment_data(self, attachment: Mapping[str, Any]) -> bytes:
        """The bytes of an attachment object (of a message the bot sent, or an upload)."""
        return self.core.attachments.data(int(attachment["id"]))

    @property
    def attachment_downloads(self) -> list[int]:
        """Ids of the attachments downloaded from the CDN route, one per download, in order."""
        return self.core.attachments.downloads

    def synced_commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        return list(self.state.commands_for(guild_id))

    # ------------------------------------------------------------------ acting as a user

    async def send_command(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        user: int,
        guild: int | None = None,
        channel: int | None = None,
        locale: str = "en-US",
        timeout: float = 10.0,
        user_install: bool = False,
        private_with: int | None = None,
    ) -> EmulatedInteraction:
        """Invoke a synced slash command ("name" or "group sub"); guild=None means a DM.

        Options are typed from the synced definition. Returns once the interaction is sent.
        An ATTACHMENT option takes an `Upload(data, filename, content_type)`: its id is the
        option's value, its attachment object is in `resolved.attachments`, and its bytes are
        served at the object's `url` (`attachment_data`, `attachment_downloads`).
        `user_install=True`: as a user who installed the app to their account (the command
        must list integration type 1); the interaction's `authorizing_integration_owners` is
        then {"1": user id}. `private_with=` another user's id: in the DM between the two, which
        the bot is not in (context 2: user-installed commands only).
        """
        target, where = invocations.command_target(
            self.state,
            self.config,
            name,
            user=user,
            guild=guild,
            channel=channel,
            user_install=user_install,
            private_with=private_with,
        )
        resolver = invocations.resolver_for(
            self.state, where, user, attachments=self.core.attachments
        )
        data = invocations.command_data(
            target, build_options(target, options or {}, resolver), resolver
        )
        return await self._send(
            APPLICATION_COMMAND,
            data,
            target.full_name,
            user,
            where,
            locale,
            timeout,
            user_install=user_install,
        )

    async def send_message_command(
        self,
        name: str,
        message_id: int,
        *,
        user: int,
        locale: str = "en-US",
        timeout: float = 10.0,
        user_install: bool = False,
    ) -> EmulatedInteraction:
        """Right-click a stored message and pick the bot's message command `name` (type 3).

        The interaction's `data` carries `target_id` and the message in `resolved.messages`,
        as Discord sends it; the command is offered where its contexts and integration types
        allow, as for `send_command`."""
        stored = self.state.find_message(message_id)
        channel = self.state.channel(stored.channel_id)
        target, where = invocations.command_target(
            self.state,
            self.config,
            name,
            user=user,
            guild=channel.guild_id,
            channel=channel.id if channel.guild_id is not None else None,
            user_install=user_install,
            command_type=invocations.MESSAGE_COMMAND,
            dm=channel if channel.guild_id is None else None,
        )
        data = invocations.command_data(
            target, [], invocations.resolver_for(self.state, where, user)
        )
        data["target_id"] = str(stored.id)
        data["resolved"] = {"messages": {str(stored.id): stored.snapshot()}}
        return await self._send(
            APPLICATION_COMMAND,
            data,
            target.full_name,
            user,
            where,
            locale,
            timeout,
            user_install=user_install,
        )

    async def send_autocomplete(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        focused: str,
        user: int,
        guild: int | None = None,
        channel: int | None = None,
        locale: str = "en-US",
        timeout: float = 10.0,
    ) -> list[dict[str, Any]]:
        """Type into an autocomplete option; returns the choices the bot offered."""
        inter = await self.autocomplete_interaction(
            name,
            options,
            focused=focused,
            user=user,
            guild=guild,
            channel=channel,
            locale=locale,
            timeout=timeout,
        )
        return await inter.wait_choices(timeout)

    async def autocomplete_interaction(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        focused: str,
        user: int,
        guild: int | None = None,
        channel: int | None = None,
        locale: str = "en-US",
        timeout: float = 10.0,
    ) -> EmulatedInteraction:
        """Like `send_autocomplete` but returns the interaction handle without waiting."""
        target, where = invocations.command_target(
            self.state, self.config, name, user=user, guild=guild, channel=channel
        )
        resolver = invocations.resolver_for(self.state, where, user)
        values = dict(options or {})
        values.setdefault(focused, "")
        data = invocations.command_data(
            target, build_options(target, values, resolver, focused=focused), resolver
        )
        return await self._send(AUTOCOMPLETE, data, target.full_name, user, where, locale, timeout)

    async def click_button(
        self, message_id: int, custom_id: str, *, user: int, timeout: float = 10.0
    ) -> EmulatedInteraction:
        """Click a button of a message (a component interaction, type 3)."""
        stored = self.state.find_message(message_id)
        component = invocations.find_component(stored.payload.get("components") or [], custom_id)
        if component is None or component.get("type") != invocations.BUTTON:
            raise errors.EmulatorError(
                f"message {message_id} has no button with custom_id {custom_id!r}"
            )
        if component.get("disabled"):
            raise errors.EmulatorError(
                f"button {custom_id!r} is disabled: Discord's client cannot click it"
            )
        data = {"custom_id": custom_id, "component_type": invocations.BUTTON}
        return await self._component_interaction(stored, data, custom_id, user, timeout)

    async def submit_modal(
        self, opened_by: EmulatedInteraction, values: Mapping[str, str], *, timeout: float = 10.0
    ) -> EmulatedInteraction:
        """Fill and submit the modal the bot opened in answer to `opened_by`."""
        modal = opened_by.modal
        if modal is None:
            raise errors.EmulatorError(f"{opened_by!r} was not answered with a modal")
        data = invocations.modal_submission(modal, values)
        channel = self.state.channel(opened_by.channel_id)
        return await self._send(
            MODAL_SUBMIT, data, modal["custom_id"], opened_by.user_id, channel, "en-US", timeout
        )

    # ------------------------------------------------------------------ faults

    def inject_error(
        self,
        method: str,
        path: str,
        *,
        status: int = 429,
        retry_after: float = 0.2,
        times: int = 1,
        is_global: bool = False,
        code: int = 0,
        message: str | None = None,
        errors: dict[str, Any] | None = None,
    ) -> FaultRule:
        """The next `times` requests matching method and path (e.g. "/channels/{channel_id}/
        messages") answer `status`: 429 with retry_after/Via/X-RateLimit-*, a 5xx, or a 4xx with
        Discord's error `code` and `message` (e.g. 400, 50035, "Invalid Form Body") and, if
        given, its `errors` tree (`problems.errors_tree` builds one from field errors)."""
        return self.core.faults.add(
            method,
            path,
            status=status,
            retry_after=retry_after,
            times=times,
            is_global=is_global,
            code=code,
            message=message,
            errors=errors,
        )

    def enable_rate_limits(
        self,
        routes: tuple[RouteLimit, ...] = DEFAULT_ROUTE_LIMITS,
        *,
        global_limit: int | None = 50,
        global_window: float = 1.0,
        clock: Callable[[], float] | None = None,
    ) -> RateLimitEmulator:
        """Emulate Discord's per-route buckets (headers and 429s) and a global limit from now on,
        every window starting afresh (in place of the default global limit). `clock` (seconds)
        lets a test say when a window is over; by default the event loop's."""
        self.core.rate_limits = RateLimitEmulator(
            routes,
            global_limit=global_limit,
            global_window=global_window,
            clock=clock or self.core.now,
        )
        return self.core.rate_limits

    def disable_rate_limits(self) -> None:
        """No rate limit at all from now on, the global one included."""
        self.core.rate_limits = None

    @property
    def rate_limits(self) -> RateLimitEmulator | None:
        return self.core.rate_limits

    @property
    def rate_limited_count(self) -> int:
        """429s answered by the emulated rate limits (injected faults not included)."""
        return self.core.rate_limits.rate_limited_count if self.core.rate_limits else 0

    async def disconnect_gateway(
        self, *, resume: bool = True, wait: bool = True, timeout: float = 10.0
    ) -> None:
        """Drop the bot's gateway connection(s).

        resume=True: the session stays valid; the client RESUMEs and gets missed events.
        resume=False: the session is invalidated; its RESUME gets INVALID_SESSION and the
        client IDENTIFYs afresh (discord.py waits 5 s in `before_identify_hook` unless the
        bot overrides it). With `wait`, return once the bot is back.
        """
        dropped = await self.hub.disconnect(resume=resume)
        if not dropped:
            raise errors.EmulatorError("the bot has no gateway session to disconnect")
        if not wait:
            return
        if resume:
            before = {s.session_id: s.resumes for s in dropped}
            await self.wait_for(
                lambda: all(s.connected and s.resumes > before[s.session_id] for s in dropped),
                timeout,
                describe="the bot to RESUME",
            )
        else:
            shards = {s.shard for s in dropped}
            await self.wait_for(
                lambda: all(self._fresh_session(shard, dropped) for shard in shards),
                timeout,
                describe="the bot to IDENTIFY after INVALID_SESSION",
            )

    def _fresh_session(self, shard: tuple[int, int], old: list[GatewaySession]) -> bool:
        return any(
            s.shard == shard and s.connected and not s.invalidated and s not in old
            for s in self.hub.sessions.values()
        )

    # ------------------------------------------------------------------ waiting

    async def wait_for(
        self,
        condition: Callable[[], T | None],
        timeout: float = 5.0,
        *,
        describe: str = "condition",
    ) -> T:
        """Wait until `condition()` is truthy.

        The condition is re-checked whenever the emulator sees something happen: a request,
        gateway traffic, an interaction response, and the bot confirming (by heartbeat) that
        it parsed the dispatches sent so far, so conditions on the bot's cache work too.
        """
        return await self.notifier.wait_for(
            condition, timeout, describe=describe, before_blocking=self.hub.request_client_sync
        )

    async def wait_for_gateway(
        self, *, shards: int = 1, timeout: float = 10.0
    ) -> list[GatewaySession]:
        """Wait until the bot has `shards` live, connected sessions."""
        return await self.wait_for(
            lambda: (
                [s for s in self.hub.live_sessions() if s.connected]
                if len([s for s in self.hub.live_sessions() if s.connected]) >= shards
                else None
            ),
            timeout,
            describe=f"{shards} connected gateway session(s)",
        )

    async def wait_for_commands(
        self, guild_id: int | None = None, *, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Wait until the bot synced at least one command (globally or for a guild)."""
        return await self.wait_for(
            lambda: self.synced_commands(guild_id), timeout, describe="the bot to sync its commands"
        )

    # ------------------------------------------------------------------ internals

    async def _component_interaction(
        self, stored: StoredMessage, data: dict[str, Any], custom_id: str, user: int, timeout: float
    ) -> EmulatedInteraction:
        channel = self.state.channel(stored.channel_id)
        if channel.guild_id is not None:
            self.state.member(channel.guild_id, user)
        return await self._send(
            MESSAGE_COMPONENT, data, custom_id, user, channel, "en-US", timeout, message=stored
        )

    async def _send(
        self,
        kind: int,
        data: dict[str, Any],
        name: str,
        user_id: int,
        channel: Channel,
        locale: str,
        timeout: float,
        *,
        message: StoredMessage | None = None,
        user_install: bool = False,
    ) -> EmulatedInteraction:
        """Create the interaction and dispatch INTERACTION_CREATE to the right shard."""
        session = await self.wait_for(
            lambda: self.hub.session_for_guild(channel.guild_id),
            timeout,
            describe="a gateway session to deliver the interaction to (is the bot running?)",
        )
        interaction_id = self.state.ids.next()
        token = new_token("emu-interaction-")
        payload = interaction_payload(
            state=self.state,
            interaction_id=interaction_id,
            token=token,
            kind=kind,
            data=data,
            user_id=user_id,
            channel=channel,
            message=message.snapshot() if message is not None else None,
            locale=locale,
            user_install=user_install,
        )
        inter = EmulatedInteraction(
            interaction_id=interaction_id,
            token=token,
            kind=kind,
            payload=payload,
            name=name,
            created_at=self.core.now(),
            ack_deadline=self.config.ack_deadline,
            token_lifetime=self.config.token_lifetime,
            guild_id=channel.guild_id,
            channel_id=channel.id,
            user_id=user_id,
            source_message_id=message.id if message is not None else None,
            state=self.state,
            notifier=self.notifier,
        )
        self.core.interactions[interaction_id] = inter
        self.hub.dispatch_to(session, "INTERACTION_CREATE", payload)
        return inter


def _prepared_validator(spec_path: str | None) -> SpecValidator:
    validator = load_validator(spec_path)
    validator.warm(VALIDATED_OPERATIONS)
    return validator
