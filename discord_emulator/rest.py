"""Bot-authenticated REST routes: identity, gateway discovery, command sync, channels,
channel messages, DMs.

Each handler does what Discord does for the request, including its refusals: 404 10003 for
an unknown or deleted channel, 403 50001/50013 for a channel the bot cannot see or write to,
and the nonce deduplication of `enforce_nonce`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from discord_emulator import errors, limits, permissions, threads
from discord_emulator.components_v2 import check_edit
from discord_emulator.core import EmulatorCore
from discord_emulator.httpio import json_response, no_content, request_body
from discord_emulator.messages import embeds_of, is_empty_body
from discord_emulator.models import Channel

Handler = Any


class RestRoutes:
    """Handlers for the routes a bot calls with its token."""

    def __init__(self, core: EmulatorCore) -> None:
        self.core = core
        self.state = core.state

    def routes(self) -> list[tuple[str, str, Handler]]:
        """(method, path template, handler); templates are relative to /api/v10."""
        return [
            ("GET", "/users/@me", self.get_me),
            ("POST", "/users/@me/channels", self.create_dm),
            ("GET", "/users/{user_id}", self.get_user),
            ("GET", "/oauth2/applications/@me", self.get_application),
            ("GET", "/applications/@me", self.get_application),
            ("GET", "/gateway", self.get_gateway),
            ("GET", "/gateway/bot", self.get_gateway_bot),
            ("GET", "/applications/{application_id}/commands", self.get_global_commands),
            ("PUT", "/applications/{application_id}/commands", self.put_global_commands),
            (
                "GET",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self.get_guild_commands,
            ),
            (
                "PUT",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self.put_guild_commands,
            ),
            ("GET", "/guilds/{guild_id}", self.get_guild),
            ("GET", "/guilds/{guild_id}/channels", self.get_guild_channels),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self.get_member),
            ("GET", "/channels/{channel_id}", self.get_channel),
            ("GET", "/channels/{channel_id}/messages", self.list_messages),
            ("POST", "/channels/{channel_id}/messages", self.create_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message),
        ]

    # ------------------------------------------------------------------ identity

    async def get_me(self, request: web.Request) -> web.Response:
        user = self.state.bot_user.to_payload()
        user.update({"verified": True, "mfa_enabled": False, "email": None, "locale": "en-US"})
        return json_response(user)

    async def get_user(self, request: web.Request) -> web.Response:
        user = self.state.users.get(_int(request.match_info["user_id"]))
        if user is None:
            raise errors.DiscordAPIError(404, 10013, "Unknown User")
        return json_response(user.to_payload())

    async def get_application(self, request: web.Request) -> web.Response:
        bot = self.state.bot_user
        owner = self.state.users.get(self._owner_id()) or bot
        return json_response(
            {
                "id": str(self.state.application_id),
                "name": bot.username,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 0,
                "owner": owner.to_payload(),
                "team": None,
                "bot": bot.to_payload(),
                "rpc_origins": [],
                "tags": [],
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "approximate_guild_count": len(self.state.guilds),
            }
        )

    def _owner_id(self) -> int:
        for guild in self.state.guilds.values():
            return guild.owner_id
        return self.state.bot_user.id

    async def get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.core.gateway_url})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self.core.gateway_url,
                "shards": self.core.config.recommended_shards,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    # ------------------------------------------------------------------ commands

    def _check_application(self, request: web.Request) -> None:
        if _int(request.match_info["application_id"]) != self.state.application_id:
            raise errors.DiscordAPIError(403, 50001, "Missing Access")

    def _guild_for_commands(self, request: web.Request) -> int:
        guild_id = _int(request.match_info["guild_id"])
        if guild_id not in self.state.guilds:
            raise errors.DiscordAPIError(404, 10004, "Unknown Guild")
        return guild_id

    async def get_global_commands(self, request: web.Request) -> web.Response:
        self._check_application(request)
        return json_response(self.state.commands_for(None))

    async def put_global_commands(self, request: web.Request) -> web.Response:
        self._check_application(request)
        return json_response(self._sync(request, None, "bulk_set_application_commands"))

    async def get_guild_commands(self, request: web.Request) -> web.Response:
        self._check_application(request)
        return json_response(self.state.commands_for(self._guild_for_commands(request)))

    async def put_guild_commands(self, request: web.Request) -> web.Response:
        self._check_application(request)
        guild_id = self._guild_for_commands(request)
        return json_response(self._sync(request, guild_id, "bulk_set_guild_application_commands"))

    def _sync(
        self, request: web.Request, guild_id: int | None, operation: str
    ) -> list[dict[str, Any]]:
        body = request_body(request).json
        self.core.validate(operation, body, message_at=None, extra=limits.check_commands(body))
        synced = self.state.replace_commands(guild_id, body or [])
        self.core.notifier.notify()
        return synced

    # ------------------------------------------------------------------ guilds

    def _guild(self, request: web.Request) -> Any:
        guild = self.state.guilds.get(_int(request.match_info["guild_id"]))
        if guild is None:
            raise errors.DiscordAPIError(404, 10004, "Unknown Guild")
        return guild

    async def get_guild(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        payload = guild.base_payload()
        payload["approximate_member_count"] = len(guild.members)
        return json_response(payload)

    async def get_guild_channels(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        return json_response([self.state.channels[c].to_payload() for c in guild.channel_ids])

    async def get_member(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        member = guild.members.get(_int(request.match_info["user_id"]))
        if member is None:
            raise errors.DiscordAPIError(404, 10007, "Unknown Member")
        return json_response(member.to_payload())

    # ------------------------------------------------------------------ channels

    def _visible_channel(self, request: web.Request) -> Channel:
        channel = self.state.channel(_int(request.match_info["channel_id"]))
        if not self.state.bot_permissions(channel) & permissions.VIEW_CHANNEL:
            raise errors.missing_access()
        return channel

    async def get_channel(self, request: web.Request) -> web.Response:
        return json_response(self._visible_channel(request).to_payload())

    async def create_dm(self, request: web.Request) -> web.Response:
        body = request_body(request).json
        self.core.validate("create_dm", body, message_at=None)
        recipient = _int((body or {}).get("recipient_id"))
        if recipient not in self.state.users:
            raise errors.DiscordAPIError(400, 50033, "Invalid Recipient(s)")
        return json_response(self.state.dm_channel(recipient).to_payload())

    async def list_messages(self, request: web.Request) -> web.Response:
        channel = self._visible_channel(request)
        if not self.state.bot_permissions(channel) & permissions.READ_MESSAGE_HISTORY:
            return json_response([])
        limit = max(1, min(100, _int(request.query.get("limit", "50"))))
        stored = self.state.channel_messages(channel.id, include_ephemeral=False)
        if "before" in request.query:
            stored = [m for m in stored if m.id < _int(request.query["before"])]
        if "after" in request.query:
            stored = [m for m in stored if m.id > _int(request.query["after"])][:limit]
        newest_first = sorted(stored, key=lambda m: m.id, reverse=True)[:limit]
        return json_response([m.fetched() for m in newest_first])

    async def create_message(self, request: web.Request) -> web.Response:
        channel = self._visible_channel(request)
        perms = self.state.bot_permissions(channel)
        refusal = threads.send_refusal(self.core, channel, perms)
        if refusal is not None:
            raise refusal
        upload = request_body(request)
        body = upload.json if isinstance(upload.json, dict) else {}
        self.core.validate("create_message", upload.json)
        if upload.files and not perms & permissions.ATTACH_FILES:
            raise errors.missing_permissions()
        if is_empty_body(body, has_files=bool(upload.files)):
            raise errors.empty_message()
        existing = self._message_for_nonce(channel, body)
        if existing is not None:
            return json_response(existing)
        stripped = False
        if embeds_of(body) and not perms & permissions.EMBED_LINKS:
            # Discord: without Embed Links an embed-only message is refused (403 50013) and a
            # message with text is sent with its embeds silently dropped (discord-api-docs#2601).
            if not body.get("content") and not body.get("components") and not upload.files:
                raise errors.missing_permissions()
            body = {**body, "embeds": []}
            stripped = True
        threads.reopen_if_archived(self.core, channel)
        stored = self.core.create_message(channel=channel, body=body, files=upload.files)
        if stripped:
            self.core.stripped_embeds.append(stored.id)
        return json_response(stored.snapshot())

    def _message_for_nonce(self, channel: Channel, body: dict[str, Any]) -> dict[str, Any] | None:
        """`enforce_nonce`: the message already created with this nonce, if created less than
        `nonce_window` seconds ago (Discord: "the past few minutes"; tests shorten it to act out
        a restart after Discord forgot the nonce)."""
        nonce = body.get("nonce")
        if nonce is None or not body.get("enforce_nonce"):
            return None
        horizon = self.core.now() - self.core.config.nonce_window
        for stored in reversed(self.state.channel_messages(channel.id)):
            if stored.created_at < horizon:
                break
            if stored.nonce == nonce and stored.payload["author"]["id"] == str(
                self.state.bot_user.id
            ):
                return stored.snapshot()
        return None

    def _own_message(self, request: web.Request) -> Any:
        channel = self._visible_channel(request)
        return channel, self.state.message(channel.id, _int(request.match_info["message_id"]))

    async def get_message(self, request: web.Request) -> web.Response:
        channel = self._visible_channel(request)
        if not self.state.bot_permissions(channel) & permissions.READ_MESSAGE_HISTORY:
            raise errors.missing_permissions()
        stored = self.state.message(channel.id, _int(request.match_info["message_id"]))
        if stored.ephemeral:
            raise errors.unknown_message()
        return json_response(stored.fetched())

    async def edit_message(self, request: web.Request) -> web.Response:
        channel, stored = self._own_message(request)
        if stored.payload["author"]["id"] != str(self.state.bot_user.id) or stored.ephemeral:
            raise errors.DiscordAPIError(
                403, 50005, "Cannot edit a message authored by another user"
            )
        upload = request_body(request)
        body = upload.json if isinstance(upload.json, dict) else {}
        self.core.validate("update_message", upload.json, extra=check_edit(stored.payload, body))
        if embeds_of(body) and not self.state.bot_permissions(channel) & permissions.EMBED_LINKS:
            body = {**body, "embeds": []}
            self.core.stripped_embeds.append(stored.id)
        self.core.edit_message(stored, body, files=upload.files)
        return json_response(stored.snapshot())

    async def delete_message(self, request: web.Request) -> web.Response:
        channel, stored = self._own_message(request)
        is_own = stored.payload["author"]["id"] == str(self.state.bot_user.id)
        if not is_own and not self.state.bot_permissions(channel) & permissions.MANAGE_MESSAGES:
            raise errors.missing_permissions()
        self.core.delete_message(stored)
        return no_content()


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise errors.DiscordAPIError(404, 0, "404: Not Found") from None
