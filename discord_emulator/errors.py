"""Errors of the Discord emulator.

Two kinds exist on purpose:

* `DiscordAPIError` is an *answer* the emulated API gives the bot (a 4xx/5xx with Discord's
  error body). Handlers raise it; the server turns it into the exact JSON Discord would send,
  so discord.py raises the same `HTTPException` subclass it would raise in production.
* `EmulatorError` is a mistake of the *test* (or sandbox user) driving the emulator, such as
  invoking a command that was never synced. It is raised in the caller's code with a message
  that says what to do, instead of producing a confusing Discord-side failure.
"""

from __future__ import annotations

from typing import Any, Literal

from discord_emulator.problems import FieldError, errors_tree

ProblemKind = Literal["validation", "protocol"]


class DiscordAPIError(Exception):
    """An error response of the emulated API.

    `kind` says whether the failure reveals a bug in the bot, so the emulator can record it:
    "validation" (the body breaks Discord's schema or limits: 400 code 50035) or "protocol"
    (the bot used the API wrongly: late or double acknowledgement, empty message...).
    Expected conditions the bot must handle (missing permission, unknown channel) have no kind.
    """

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: dict[str, Any] | None = None,
        *,
        kind: ProblemKind | None = None,
        details: list[str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.kind: ProblemKind | None = kind
        #: Human-readable lines for the emulator's problem lists (default: the message).
        self.details: list[str] = details or [message]

    def explain(self, detail: str) -> DiscordAPIError:
        """Attach what the bot did wrong, for the recorded problem line."""
        self.details = [f"{self.message} ({detail})"]
        return self

    def body(self) -> dict[str, Any]:
        """The JSON body Discord sends for this error."""
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def invalid_form_body(field_errors: list[FieldError]) -> DiscordAPIError:
    """400 50035, Discord's answer to any body that breaks its schema or limits."""
    return DiscordAPIError(
        400,
        50035,
        "Invalid Form Body",
        errors_tree(field_errors),
        kind="validation",
        details=[fe.describe() for fe in field_errors],
    )


def unknown_channel() -> DiscordAPIError:
    return DiscordAPIError(404, 10003, "Unknown Channel")


def unknown_message() -> DiscordAPIError:
    return DiscordAPIError(404, 10008, "Unknown Message")


def unknown_webhook() -> DiscordAPIError:
    return DiscordAPIError(404, 10015, "Unknown Webhook", kind="protocol")


def unknown_interaction() -> DiscordAPIError:
    return DiscordAPIError(404, 10062, "Unknown interaction", kind="protocol")


def already_acknowledged() -> DiscordAPIError:
    return DiscordAPIError(
        400, 40060, "Interaction has already been acknowledged.", kind="protocol"
    )


def missing_permissions() -> DiscordAPIError:
    return DiscordAPIError(403, 50013, "Missing Permissions")


def missing_access() -> DiscordAPIError:
    return DiscordAPIError(403, 50001, "Missing Access")


def empty_message() -> DiscordAPIError:
    return DiscordAPIError(400, 50006, "Cannot send an empty message", kind="protocol")


def unauthorized() -> DiscordAPIError:
    return DiscordAPIError(401, 0, "401: Unauthorized")


class EmulatorError(Exception):
    """The emulator was driven wrongly (unknown command, option, user, message...)."""


class CommandNotSyncedError(EmulatorError):
    """A command was invoked that the bot never synced (Discord would not offer it)."""


class OptionError(EmulatorError):
    """An option is unknown, missing, or has a value Discord's client would not accept."""


class CommandUnavailableError(EmulatorError):
    """Discord's client would not offer this command here or to this user (DM/guild context,
    default_member_permissions)."""
