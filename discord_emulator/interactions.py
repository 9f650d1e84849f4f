"""Interactions the emulator sends to the bot, and everything the bot answered to each.

An `EmulatedInteraction` is both Discord's server-side record of an interaction (token,
acknowledgement deadline, original response, followups) and the handle a test holds:
`await inter.wait_reply()` returns the first message the user would see, whichever way the
bot produced it (immediate reply, defer then edit, defer then followup, message update).
"""

# The test-driver API takes `timeout=` by contract (tests read better than with
# `asyncio.timeout` blocks); every wait goes through `Notifier.wait_for`, which honours it.
# ruff: noqa: ASYNC109

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from discord_emulator.messages import EPHEMERAL, LOADING
from discord_emulator.models import Channel
from discord_emulator.notify import Notifier
from discord_emulator.state import EmulatorState

PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5

# Interaction callback types.
PONG = 1
CHANNEL_MESSAGE_WITH_SOURCE = 4
DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9

#: Which callback types Discord accepts for each interaction type.
ALLOWED_CALLBACKS: dict[int, frozenset[int]] = {
    APPLICATION_COMMAND: frozenset(
        {CHANNEL_MESSAGE_WITH_SOURCE, DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, MODAL}
    ),
    MESSAGE_COMPONENT: frozenset(
        {
            CHANNEL_MESSAGE_WITH_SOURCE,
            DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
            DEFERRED_UPDATE_MESSAGE,
            UPDATE_MESSAGE,
            MODAL,
        }
    ),
    AUTOCOMPLETE: frozenset({AUTOCOMPLETE_RESULT}),
    MODAL_SUBMIT: frozenset(
        {
            CHANNEL_MESSAGE_WITH_SOURCE,
            DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
            DEFERRED_UPDATE_MESSAGE,
            UPDATE_MESSAGE,
        }
    ),
}

GUILD_CONTEXT, BOT_DM_CONTEXT, PRIVATE_CHANNEL_CONTEXT = 0, 1, 2
GUILD_INSTALL, USER_INSTALL = "0", "1"
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


@dataclass
class ResponseRecord:
    """One thing the bot did with an interaction, successful or not.

    `kind` is "callback", "followup", "edit_original", "edit_followup", "delete_original",
    "delete_followup" or "get_original"; `message` is a snapshot of the affected message
    right after a successful request; `error` the error body of a failed one.
    """

    kind: str
    status: int
    body: Any
    callback_type: int | None = None
    message: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class EmulatedInteraction:
    """An interaction sent to the bot; also the test's handle on its responses."""

    def __init__(
        self,
        *,
        interaction_id: int,
        token: str,
        kind: int,
        payload: dict[str, Any],
        name: str,
        created_at: float,
        ack_deadline: float,
        token_lifetime: float,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        source_message_id: int | None,
        state: EmulatorState,
        notifier: Notifier,
    ) -> None:
        self.id = interaction_id
        self.token = token
        self.type = kind
        self.payload = payload
        self.name = name
        self.created_at = created_at
        self.ack_deadline = ack_deadline
        self.expires_at = created_at + token_lifetime
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.user_id = user_id
        self.source_message_id = source_message_id
        self.initial_type: int | None = None
        self.original_message_id: int | None = None
        self.followup_ids: list[int] = []
        self.first_followup_edits_original = False
        self.responses: list[ResponseRecord] = []
        self.choices: list[dict[str, Any]] | None = None
        self.modal: dict[str, Any] | None = None
        self.ephemeral = False
        self._state = state
        self._notifier = notifier

    def __repr__(self) -> str:
        return f"<EmulatedInteraction id={self.id} type={self.type} name={self.name!r} responses={len(self.responses)}>"

    # ------------------------------------------------------------------ state

    @property
    def acknowledged(self) -> bool:
        return self.initial_type is not None

    @property
    def deferred(self) -> bool:
        return self.initial_type in (DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, DEFERRED_UPDATE_MESSAGE)

    @property
    def errors(self) -> list[ResponseRecord]:
        """Responses Discord rejected."""
        return [r for r in self.responses if not r.ok]

    @property
    def original_message(self) -> dict[str, Any] | None:
        """The current state of the original response (or of the message a component is on)."""
        message_id = self.original_message_id
        if message_id is None:
            return None
        stored = self._state.messages.get(message_id)
        return None if stored is None or stored.deleted else stored.snapshot()

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Current state of every message this interaction created (original, followups)."""
        ids = list(self.followup_ids)
        updates_source = self.initial_type in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE)
        if self.original_message_id is not None and not updates_source:
            ids.insert(0, self.original_message_id)
        out = []
        for message_id in dict.fromkeys(ids):
            stored = self._state.messages.get(message_id)
            if stored is not None and not stored.deleted:
                out.append(stored.snapshot())
        return out

    @property
    def reply(self) -> dict[str, Any] | None:
        """The first message content the user saw (None until there is one)."""
        for record in self.responses:
            if not record.ok or record.message is None or record.kind.startswith(("delete", "get")):
                continue
            if record.message.get("flags", 0) & LOADING:
                continue
            return record.message
        return None

    def record(self, response: ResponseRecord) -> None:
        self.responses.append(response)
        self._notifier.notify()

    def note_initial(self, callback_type: int, data: dict[str, Any] | None) -> None:
        self.initial_type = callback_type
        flags = int((data or {}).get("flags") or 0)
        if callback_type in (CHANNEL_MESSAGE_WITH_SOURCE, DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE):
            self.ephemeral = bool(flags & EPHEMERAL)
        self.first_followup_edits_original = callback_type == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE

    # ------------------------------------------------------------------ waiting

    async def wait_reply(self, timeout: float = 10.0) -> dict[str, Any]:
        """The first message the user sees: reply, edit after a defer, or first followup."""
        return await self._notifier.wait_for(
            lambda: self.reply, timeout, describe=lambda: f"a reply to {self!r}: {self._summary()}"
        )

    async def wait_acknowledged(self, timeout: float = 10.0) -> int:
        """The initial callback type, once the bot acknowledged the interaction."""
        return await self._notifier.wait_for(
            lambda: self.initial_type,
            timeout,
            describe=lambda: f"an acknowledgement of {self!r}: {self._summary()}",
        )

    async def wait_responses(self, count: int, timeout: float = 10.0) -> list[ResponseRecord]:
        """Wait until the bot made at least `count` requests about this interaction."""
        await self._notifier.wait_for(
            lambda: len(self.responses) >= count,
            timeout,
            describe=lambda: f"{count} responses to {self!r}",
        )
        return list(self.responses)

    async def wait_choices(self, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Autocomplete: the choices the bot offered."""
        return (
            await self._notifier.wait_for(
                lambda: self.choices if self.choices is not None else None,
                timeout,
                describe=lambda: f"autocomplete choices for {self!r}: {self._summary()}",
            )
            or []
        )

    def _summary(self) -> str:
        if not self.responses:
            return "the bot sent nothing"
        parts = []
        for r in self.responses:
            error = f" {r.error}" if r.error else ""
            parts.append(
                f"{r.kind}{'' if r.callback_type is None else f'(type {r.callback_type})'} -> {r.status}{error}"
            )
        return "; ".join(parts)


def interaction_payload(
    *,
    state: EmulatorState,
    interaction_id: int,
    token: str,
    kind: int,
    data: dict[str, Any],
    user_id: int,
    channel: Channel,
    message: dict[str, Any] | None = None,
    locale: str = "en-US",
    user_install: bool = False,
) -> dict[str, Any]:
    """INTERACTION_CREATE's data, with the member's and the bot's permissions in the channel.

    `authorizing_integration_owners` says, as Discord documents it, which installations allow
    the interaction: {"0": guild id} for a server install ("0" in the bot's DM), {"1": user id}
    when the user installed the app to their account (then alone outside a server it is in)."""
    user = state.user(user_id)
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(state.application_id),
        "type": kind,
        "data": data,
        "channel_id": str(channel.id),
        "token": token,
        "version": 1,
        "locale": locale,
        "app_permissions": str(state.bot_permissions(channel)),
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
    }
    channel_payload = channel.to_payload()
    channel_payload["permissions"] = str(state.channel_permissions(channel, user_id))
    payload["channel"] = channel_payload
    if channel.guild_id is not None:
        guild = state.guild(channel.guild_id)
        member = state.member(guild.id, user_id)
        payload["guild_id"] = str(guild.id)
        payload["guild"] = {"id": str(guild.id), "locale": guild.preferred_locale, "features": []}
        payload["guild_locale"] = guild.preferred_locale
        payload["member"] = member.to_payload(
            permissions=state.channel_permissions(channel, user_id)
        )
        payload["context"] = GUILD_CONTEXT
        owners = {USER_INSTALL: str(user.id)} if user_install else {GUILD_INSTALL: str(guild.id)}
    else:
        payload["user"] = user.to_payload()
        payload["context"] = PRIVATE_CHANNEL_CONTEXT if channel.private else BOT_DM_CONTEXT
        owners = {USER_INSTALL: str(user.id)} if user_install else {GUILD_INSTALL: "0"}
    payload["authorizing_integration_owners"] = owners
    if message is not None:
        payload["message"] = message
    return payload
