"""What REST handlers, the gateway and the test driver share: state, logs, validation, and
the creation and editing of messages (with mentions and gateway events).

Message creation lives here because three routes create messages (channel messages,
interaction callbacks, followups) and all must do the same things: apply Discord's limits,
work out who would be pinged, store the message and tell the bot's gateway session.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any, NamedTuple

from discord_emulator import errors, limits
from discord_emulator.attachments import AttachmentStore
from discord_emulator.components_v2 import text_displays
from discord_emulator.faults import FaultInjector
from discord_emulator.gateway import (
    DIRECT_MESSAGES_INTENT,
    GUILD_MESSAGES_INTENT,
    MESSAGE_CONTENT_INTENT,
    GatewayHub,
)
from discord_emulator.httpio import UploadedFile
from discord_emulator.interactions import EmulatedInteraction
from discord_emulator.messages import (
    DEFAULT_MESSAGE,
    EPHEMERAL,
    LOADING,
    Ping,
    StoredMessage,
    apply_edit,
    build_message,
    compute_pings,
)
from discord_emulator.models import Channel
from discord_emulator.notify import Notifier
from discord_emulator.problems import FieldError, unique
from discord_emulator.ratelimits import RateLimitEmulator
from discord_emulator.state import EmulatorState
from discord_emulator.validation import SpecValidator

#: Operations whose bodies the emulator validates (compiled ahead of time at start).
VALIDATED_OPERATIONS = (
    "create_interaction_response",
    "execute_webhook",
    "update_original_webhook_message",
    "update_webhook_message",
    "create_message",
    "update_message",
    "bulk_set_application_commands",
    "bulk_set_guild_application_commands",
    "create_dm",
    "create_thread",
    "create_thread_from_message",
)


class RequestRecord(NamedTuple):
    """One REST request as the emulator answered it (path without /api/v10 and query)."""

    method: str
    path: str
    body: Any
    status: int


@dataclass
class EmulatorConfig:
    ack_deadline: float = 3.0
    token_lifetime: float = 15 * 60.0
    nonce_window: float = 5 * 60.0
    crosspost_window: float = 60 * 60.0
    """Discord lets an announcement channel publish `crossposts_per_window` messages an hour
    (tests shorten it to act out the hour passing)."""
    crossposts_per_window: int = 10
    validate_schema: bool = True
    enforce_command_contexts: bool = True
    enforce_command_permissions: bool = False
    recommended_shards: int = 1
    heartbeat_interval_ms: int = 41_250
    global_rate_limit: int | None = 50
    """Requests a second the bot may make over REST, all routes but interaction endpoints, as
    on Discord (ratelimits.py); None: unlimited."""
    global_rate_window: float = 1.0


class EmulatorCore:
    """Shared services of one emulator instance."""

    def __init__(self, config: EmulatorConfig, state: EmulatorState, notifier: Notifier) -> None:
        self.config = config
        self.state = state
        self.notifier = notifier
        self.validator: SpecValidator | None = None
        self.hub: GatewayHub | None = None
        self.base_url = ""
        self.gateway_url = ""
        self.interactions: dict[int, EmulatedInteraction] = {}
        self.requests: list[RequestRecord] = []
        self.validation_errors: list[str] = []
        self.protocol_errors: list[str] = []
        self.pings: list[Ping] = []
        self.allowed_mentions_log: list[tuple[int, dict[str, Any] | None]] = []
        self.stripped_embeds: list[int] = []
        self.crosspost_times: dict[int, deque[float]] = {}
        """When each announcement channel published, for its 10 an hour (`threads.py`)."""
        self.crossposted: list[int] = []
        """Messages published (crossposted), in order."""
        self.crosspost_refusals: list[int] = []
        """Messages whose publish was answered 429 (the channel's 10 an hour were used)."""
        self.unsupported_routes: list[str] = []
        self.faults = FaultInjector()
        self.attachments = AttachmentStore()
        self.rate_limits: RateLimitEmulator | None = (
            RateLimitEmulator(
                (),
                global_limit=config.global_rate_limit,
                global_window=config.global_rate_window,
                clock=self.now,
            )
            if config.global_rate_limit is not None
            else None
        )
        """Discord's global limit from the start; `enable_rate_limits` adds route buckets."""

    # ------------------------------------------------------------------ time and logs

    @staticmethod
    def now() -> float:
        return asyncio.get_running_loop().time()

    def log_request(self, record: RequestRecord) -> None:
        self.requests.append(record)
        self.notifier.notify()

    def record_problem(self, method: str, path: str, error: errors.DiscordAPIError) -> None:
        target = self.validation_errors if error.kind == "validation" else self.protocol_errors
        for detail in error.details:
            target.append(f"{method} {path}: {detail}")

    # ------------------------------------------------------------------ validation

    def validate(
        self,
        operation_id: str,
        body: Any,
        *,
        message_at: tuple[Any, ...] | None = (),
        extra: list[FieldError] | None = None,
    ) -> None:
        """Raise 400 50035 if `body` breaks the spec or Discord's limits.

        `message_at` is where the message fields (content, embeds) sit in the body: `()` for
        a message body, `("data",)` for a callback, None for bodies without a message.
        """
        problems: list[FieldError] = []
        if self.config.validate_schema and self.validator is not None:
            problems.extend(self.validator.check(operation_id, body))
        if message_at is not None:
            node = body
            for key in message_at:
                node = node.get(key) if isinstance(node, dict) else None
            problems.extend(limits.check_message(node, prefix=message_at))
        problems.extend(extra or [])
        if problems:
            raise errors.invalid_form_body(unique(problems))

    # ------------------------------------------------------------------ messages

    def create_message(
        self,
        *,
        channel: Channel,
        body: dict[str, Any],
        files: list[UploadedFile] | None = None,
        interaction: EmulatedInteraction | None = None,
        ephemeral: bool = False,
        message_type: int = DEFAULT_MESSAGE,
        loading: bool = False,
        notify_mentions: bool = True,
        message_id: int | None = None,
    ) -> StoredMessage:
        """Store a message the bot sends, record its pings, dispatch MESSAGE_CREATE.
        `message_id`: given for a forum post's first message, which shares the post's id."""
        message_id = message_id if message_id is not None else self.state.ids.next()
        extra: dict[str, Any] = {}
        if interaction is not None:
            extra = self._interaction_fields(interaction)
        payload = build_message(
            message_id=message_id,
            channel_id=channel.id,
            author=self.state.bot_user.to_payload(),
            body=body,
            attachments=self._attachments(channel.id, body, files),
            message_type=message_type,
            extra=extra,
        )
        if ephemeral:
            payload["flags"] |= EPHEMERAL
        if loading:
            payload["flags"] |= LOADING
        stored = StoredMessage(
            payload=payload,
            channel_id=channel.id,
            ephemeral=ephemeral,
            interaction_id=interaction.id if interaction else None,
            allowed_mentions=body.get("allowed_mentions"),
            nonce=body.get("nonce"),
            created_at=self.now(),
        )
        self.apply_mentions(stored, ping=notify_mentions and not ephemeral and not loading)
        self.state.add_message(stored)
        if not ephemeral:
            self.dispatch_message("MESSAGE_CREATE", stored, channel)
        self.notifier.notify()
        return stored

    def edit_message(
        self,
        stored: StoredMessage,
        body: dict[str, Any],
        *,
        files: list[UploadedFile] | None = None,
        notify_mentions: bool = False,
    ) -> StoredMessage:
        """Apply an edit. Edits never ping, except a followup that fills a deferred reply."""
        was_loading = stored.loading
        stored.history.append(stored.snapshot())
        attachments = self._attachments(stored.channel_id, body, files) if files else None
        apply_edit(stored.payload, body, mark_edited=not was_loading, attachments=attachments)
        if "allowed_mentions" in body:
            stored.allowed_mentions = body.get("allowed_mentions")
        self.apply_mentions(stored, ping=notify_mentions and not stored.ephemeral)
        channel = self.state.channels.get(stored.channel_id)
        if channel is not None and not stored.ephemeral:
            self.dispatch_message("MESSAGE_UPDATE", stored, channel)
        self.notifier.notify()
        return stored

    def delete_message(self, stored: StoredMessage) -> None:
        stored.deleted = True
        channel = self.state.channels.get(stored.channel_id)
        if channel is not None and self.hub is not None and not stored.ephemeral:
            data: dict[str, Any] = {"id": str(stored.id), "channel_id": str(channel.id)}
            intent = GUILD_MESSAGES_INTENT if channel.guild_id else DIRECT_MESSAGES_INTENT
            if channel.guild_id is not None:
                data["guild_id"] = str(channel.guild_id)
            self.hub.dispatch_if("MESSAGE_DELETE", data, guild_id=channel.guild_id, intent=intent)
        self.notifier.notify()

    def apply_mentions(self, stored: StoredMessage, *, ping: bool) -> None:
        """Fill `mentions`/`mention_roles`/`mention_everyone` (only what allowed_mentions lets
        through) and, for a message that notifies (`ping`), record who was pinged."""
        payload = stored.payload
        # A Components V2 message has no content: its text displays mention (and ping) instead.
        text = "\n".join([payload.get("content") or "", *text_displays(payload)])
        users, roles, everyone = compute_pings(text, stored.allowed_mentions)
        payload["mentions"] = [
            self.state.users[u].to_payload() for u in users if u in self.state.users
        ]
        payload["mention_roles"] = [str(r) for r in roles]
        payload["mention_everyone"] = everyone
        if ping:
            self.allowed_mentions_log.append((stored.id, stored.allowed_mentions))
            if users or roles or everyone:
                self.pings.append(Ping(stored.id, stored.channel_id, users, roles, everyone))

    def _interaction_fields(self, interaction: EmulatedInteraction) -> dict[str, Any]:
        user = self.state.user(interaction.user_id).to_payload()
        metadata: dict[str, Any] = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": user,
            "authorizing_integration_owners": interaction.payload.get(
                "authorizing_integration_owners", {}
            ),
        }
        if interaction.type == 2:
            metadata["name"] = interaction.name
        if interaction.original_message_id is not None and interaction.initial_type is not None:
            metadata["original_response_message_id"] = str(interaction.original_message_id)
        return {
            "webhook_id": str(self.state.application_id),
            "application_id": str(self.state.application_id),
            "interaction_metadata": metadata,
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                "name": interaction.name,
                "user": user,
            },
        }

    def _attachments(
        self, channel_id: int, body: dict[str, Any], files: list[UploadedFile] | None
    ) -> list[dict[str, Any]]:
        if not files:
            return []
        by_field = {f.field: f for f in files}
        described = {
            str(a.get("id")): a for a in body.get("attachments") or [] if isinstance(a, dict)
        }
        out = []
        for index, upload in enumerate(files):
            meta = described.get(str(index), {})
            stored = self.attachments.add(
                channel_id=channel_id,
                attachment_id=self.state.ids.next(),
                filename=meta.get("filename") or by_field[upload.field].filename,
                data=upload.data,
                content_type=upload.content_type,
            )
            out.append({**stored, "description": meta.get("description")})
        return out

    def dispatch_message(self, event: str, stored: StoredMessage, channel: Channel) -> None:
        """MESSAGE_CREATE/UPDATE to the bot, gated by intents like Discord does."""
        if self.hub is None:
            return
        session = self.hub.session_for_guild(channel.guild_id)
        if session is None:
            return
        intent = GUILD_MESSAGES_INTENT if channel.guild_id else DIRECT_MESSAGES_INTENT
        if not session.intents & intent:
            return
        data = stored.snapshot()
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
            member = self.state.guilds[channel.guild_id].members.get(int(data["author"]["id"]))
            if member is not None:
                data["member"] = {k: v for k, v in member.to_payload().items() if k != "user"}
        author_id = int(data["author"]["id"])
        mentions_bot = any(int(u["id"]) == self.state.bot_user.id for u in data["mentions"])
        if (
            channel.guild_id is not None
            and not session.intents & MESSAGE_CONTENT_INTENT
            and author_id != self.state.bot_user.id
            and not mentions_bot
        ):
            # Without the privileged Message Content intent, Discord blanks other users' text.
            data.update({"content": "", "embeds": [], "attachments": [], "components": []})
        self.hub.dispatch_to(session, event, data)
