"""Interaction responses: the callback, followups, and the @original/followup message routes.

These are the routes where a bot most easily breaks Discord's rules, so each rule is
enforced as Discord does:

* the initial response must arrive within the acknowledgement deadline (3 s by default),
  otherwise 404 10062 "Unknown interaction";
* only one initial response: a second gets 400 40060;
* the callback type must suit the interaction (e.g. 8 only for autocomplete);
* after a deferred reply (type 5) the first followup *fills* the deferred message instead of
  posting a new one, and keeps the defer's ephemerality;
* followups and edits work for 15 minutes (the token's lifetime), not before the
  interaction is acknowledged.

Every attempt, accepted or refused, is appended to the interaction's `responses`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from discord_emulator import errors, limits
from discord_emulator.components_v2 import check_edit
from discord_emulator.core import EmulatorCore
from discord_emulator.httpio import json_response, no_content, request_body
from discord_emulator.interactions import (
    ALLOWED_CALLBACKS,
    APPLICATION_COMMAND,
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE_WITH_SOURCE,
    DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
    DEFERRED_UPDATE_MESSAGE,
    MODAL,
    UPDATE_MESSAGE,
    EmulatedInteraction,
    ResponseRecord,
)
from discord_emulator.messages import (
    CHAT_INPUT_COMMAND_MESSAGE,
    DEFAULT_MESSAGE,
    EPHEMERAL,
    StoredMessage,
    is_empty_body,
)
from discord_emulator.problems import FieldError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MESSAGE_CALLBACKS = (CHANNEL_MESSAGE_WITH_SOURCE, UPDATE_MESSAGE)


class InteractionRoutes:
    """Handlers for the token-authenticated interaction routes."""

    def __init__(self, core: EmulatorCore) -> None:
        self.core = core
        self.state = core.state

    def routes(self) -> list[tuple[str, str, Handler]]:
        original = "/webhooks/{application_id}/{token}/messages/@original"
        followup = "/webhooks/{application_id}/{token}/messages/{message_id}"
        return [
            ("POST", "/interactions/{interaction_id}/{token}/callback", self.callback),
            ("POST", "/webhooks/{application_id}/{token}", self.create_followup),
            ("GET", original, self.get_original),
            ("PATCH", original, self.edit_original),
            ("DELETE", original, self.delete_original),
            ("GET", followup, self.get_followup),
            ("PATCH", followup, self.edit_followup),
            ("DELETE", followup, self.delete_followup),
        ]

    # ------------------------------------------------------------------ lookup

    def _by_callback_url(self, request: web.Request) -> EmulatedInteraction:
        try:
            inter = self.core.interactions.get(int(request.match_info["interaction_id"]))
        except ValueError:
            inter = None
        if inter is None or inter.token != request.match_info["token"]:
            raise errors.unknown_interaction().explain("no interaction with this id and token")
        return inter

    def _by_webhook_url(self, request: web.Request) -> EmulatedInteraction:
        token = request.match_info["token"]
        if request.match_info["application_id"] != str(self.state.application_id):
            raise errors.unknown_webhook().explain("the webhook id is not the application id")
        for inter in self.core.interactions.values():
            if inter.token == token:
                if self.core.now() > inter.expires_at:
                    raise errors.DiscordAPIError(
                        401, 50027, "Invalid Webhook Token", kind="protocol"
                    ).explain("the interaction token expired (15 minutes)")
                if not inter.acknowledged:
                    raise errors.unknown_webhook().explain(
                        f"interaction {inter.id} was not acknowledged yet: send the initial response first"
                    )
                return inter
        raise errors.unknown_webhook().explain("no interaction with this token")

    async def _recorded(
        self,
        inter: EmulatedInteraction,
        kind: str,
        request: web.Request,
        action: Callable[[], Awaitable[tuple[web.Response, StoredMessage | None]]],
        *,
        callback_type: int | None = None,
    ) -> web.Response:
        """Run `action`, appending what happened (accepted or not) to the interaction."""
        body = request_body(request).json
        try:
            response, stored = await action()
        except errors.DiscordAPIError as exc:
            inter.record(ResponseRecord(kind, exc.status, body, callback_type, error=exc.body()))
            raise
        snapshot = stored.snapshot() if stored is not None else None
        inter.record(ResponseRecord(kind, response.status, body, callback_type, message=snapshot))
        return response

    # ------------------------------------------------------------------ the initial response

    async def callback(self, request: web.Request) -> web.Response:
        inter = self._by_callback_url(request)
        body = request_body(request).json
        callback_type = body.get("type") if isinstance(body, dict) else None
        return await self._recorded(
            inter,
            "callback",
            request,
            lambda: self._callback(inter, request),
            callback_type=callback_type,
        )

    async def _callback(
        self, inter: EmulatedInteraction, request: web.Request
    ) -> tuple[web.Response, StoredMessage | None]:
        if inter.acknowledged:
            raise errors.already_acknowledged().explain(
                f"interaction {inter.id} ({inter.name}) was already answered with type {inter.initial_type}"
            )
        elapsed = self.core.now() - inter.created_at
        if elapsed > inter.ack_deadline:
            raise errors.unknown_interaction().explain(
                f"interaction {inter.id} ({inter.name}) acknowledged {elapsed:.2f}s after it was "
                f"created; the deadline is {inter.ack_deadline:g}s"
            )
        upload = request_body(request)
        body = upload.json
        callback_type = body.get("type") if isinstance(body, dict) else None
        self.core.validate(
            "create_interaction_response",
            body,
            message_at=("data",) if callback_type in MESSAGE_CALLBACKS else None,
            extra=limits.check_autocomplete(body.get("data"))
            if callback_type == AUTOCOMPLETE_RESULT
            else None,
        )
        if not isinstance(body, dict) or not isinstance(callback_type, int):
            # Only reachable with schema validation off: keep Discord's answer anyway.
            raise errors.invalid_form_body(
                [FieldError(("type",), "BASE_TYPE_REQUIRED", "This field is required")]
            )
        if callback_type not in ALLOWED_CALLBACKS.get(inter.type, frozenset()):
            raise errors.invalid_form_body(
                [
                    FieldError(
                        ("type",),
                        "INTERACTION_RESPONSE_TYPE_INVALID",
                        f"Interaction response type {callback_type} is not valid for interaction type {inter.type}",
                    )
                ]
            )
        data: dict[str, Any] = body.get("data") or {}
        if callback_type == CHANNEL_MESSAGE_WITH_SOURCE and is_empty_body(
            data, has_files=bool(upload.files)
        ):
            raise errors.empty_message()
        channel = self.state.channel(inter.channel_id)
        ephemeral = bool(int(data.get("flags") or 0) & EPHEMERAL)
        inter.note_initial(callback_type, data)
        stored: StoredMessage | None = None
        if callback_type in (CHANNEL_MESSAGE_WITH_SOURCE, DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE):
            stored = self.core.create_message(
                channel=channel,
                body=data if callback_type == CHANNEL_MESSAGE_WITH_SOURCE else {},
                files=upload.files,
                interaction=inter,
                ephemeral=ephemeral,
                message_type=CHAT_INPUT_COMMAND_MESSAGE
                if inter.type == APPLICATION_COMMAND
                else DEFAULT_MESSAGE,
                loading=callback_type == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
            )
            inter.original_message_id = stored.id
        elif callback_type in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE):
            inter.original_message_id = inter.source_message_id
            if callback_type == UPDATE_MESSAGE and inter.source_message_id is not None:
                stored = self.state.find_message(inter.source_message_id)
                self.core.edit_message(stored, data, files=upload.files)
        elif callback_type == AUTOCOMPLETE_RESULT:
            inter.choices = list(data.get("choices") or [])
        elif callback_type == MODAL:
            inter.modal = data
        if request.query.get("with_response", "").lower() not in ("1", "true"):
            return no_content(), stored
        return json_response(self._callback_response(inter, callback_type, stored)), stored

    def _callback_response(
        self, inter: EmulatedInteraction, callback_type: int, stored: StoredMessage | None
    ) -> dict[str, Any]:
        """The `with_response` body: `interaction`, plus `resource.message` for messages."""
        info: dict[str, Any] = {"id": str(inter.id), "type": inter.type}
        if stored is not None:
            info["response_message_id"] = str(stored.id)
            info["response_message_loading"] = callback_type == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
            info["response_message_ephemeral"] = stored.ephemeral
        response: dict[str, Any] = {"interaction": info}
        if stored is not None:
            response["resource"] = {"type": callback_type, "message": stored.snapshot()}
        return response

    # ------------------------------------------------------------------ followups

    async def create_followup(self, request: web.Request) -> web.Response:
        inter = self._by_webhook_url(request)
        return await self._recorded(
            inter, "followup", request, lambda: self._followup(inter, request)
        )

    async def _followup(
        self, inter: EmulatedInteraction, request: web.Request
    ) -> tuple[web.Response, StoredMessage | None]:
        upload = request_body(request)
        body = upload.json if isinstance(upload.json, dict) else {}
        self.core.validate("execute_webhook", upload.json)
        if is_empty_body(body, has_files=bool(upload.files)):
            raise errors.empty_message()
        original = self._original(inter, required=False)
        if inter.first_followup_edits_original and original is not None and original.loading:
            # Discord: the first followup after a deferred reply replaces the "thinking" message.
            inter.first_followup_edits_original = False
            stored = self.core.edit_message(original, body, files=upload.files)
        else:
            stored = self.core.create_message(
                channel=self.state.channel(inter.channel_id),
                body=body,
                files=upload.files,
                interaction=inter,
                ephemeral=bool(int(body.get("flags") or 0) & EPHEMERAL),
                message_type=CHAT_INPUT_COMMAND_MESSAGE
                if inter.type == APPLICATION_COMMAND
                else DEFAULT_MESSAGE,
            )
            inter.followup_ids.append(stored.id)
        if request.query.get("wait", "").lower() in ("1", "true"):
            return json_response(stored.snapshot()), stored
        return no_content(), stored

    # ------------------------------------------------------------------ @original

    def _original(
        self, inter: EmulatedInteraction, *, required: bool = True
    ) -> StoredMessage | None:
        message_id = inter.original_message_id
        stored = self.state.messages.get(message_id) if message_id is not None else None
        if stored is None or stored.deleted:
            if required:
                raise errors.unknown_message()
            return None
        return stored

    async def get_original(self, request: web.Request) -> web.Response:
        inter = self._by_webhook_url(request)
        stored = self._original(inter)
        assert stored is not None
        return json_response(stored.snapshot())

    async def edit_original(self, request: web.Request) -> web.Response:
        inter = self._by_webhook_url(request)

        async def action() -> tuple[web.Response, StoredMessage | None]:
            stored = self._original(inter)
            assert stored is not None
            stored = await self._edit(stored, request, "update_original_webhook_message")
            inter.first_followup_edits_original = False
            return json_response(stored.snapshot()), stored

        return await self._recorded(inter, "edit_original", request, action)

    async def delete_original(self, request: web.Request) -> web.Response:
        inter = self._by_webhook_url(request)

        async def action() -> tuple[web.Response, StoredMessage | None]:
            stored = self._original(inter)
            assert stored is not None
            self.core.delete_message(stored)
            return no_content(), None

        return await self._recorded(inter, "delete_original", request, action)

    # ------------------------------------------------------------------ followup messages

    def _followup_message(self, inter: EmulatedInteraction, request: web.Request) -> StoredMessage:
        try:
            message_id = int(request.match_info["message_id"])
        except ValueError:
            raise errors.unknown_message() from None
        if message_id not in inter.followup_ids and message_id != inter.original_message_id:
            raise errors.unknown_message()
        stored = self.state.messages.get(message_id)
        if stored is None or stored.deleted:
            raise errors.unknown_message()
        return stored

    async def get_followup(self, request: web.Request) -> web.Response:
        inter = self._by_webhook_url(request)
        return json_response(self._followup_message(inter, request).snapshot())

    async def edit_followup(self, request: web.Request) -> web.Response:
        inter = self._by_webhook_url(request)

        async def action() -> tuple[web.Response, StoredMessage | None]:
            stored = await self._edit(
                self._followup_message(inter, request), request, "update_webhook_message"
            )
            return json_response(stored.snapshot()), stored

        return await self._recorded(inter, "edit_followup", request, action)

    async def delete_followup(self, request: web.Request) -> web.Response:
        inter = self._by_webhook_url(request)

        async def action() -> tuple[web.Response, StoredMessage | None]:
            self.core.delete_message(self._followup_message(inter, request))
            return no_content(), None

        return await self._recorded(inter, "delete_followup", request, action)

    async def _edit(
        self, stored: StoredMessage, request: web.Request, operation: str
    ) -> StoredMessage:
        upload = request_body(request)
        self.core.validate(operation, upload.json, extra=check_edit(stored.payload, upload.json))
        body = upload.json if isinstance(upload.json, dict) else {}
        return self.core.edit_message(stored, body, files=upload.files)
