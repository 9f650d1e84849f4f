"""One error handler for every slash command (`tree.on_error`).

Each failure becomes a friendly ephemeral reply; no traceback ever reaches a user. Unexpected
errors get a short id, logged with the traceback, so a user's report can be matched to the log.
A `Fault` (a full disk, a damaged or locked index) is expected: the user reads its
`user_message`, the operator its `message` in the log (one line, no traceback), as on the
command line.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING

import aiohttp
import discord
from discord import app_commands

from bot.corpus.errors import AnswerError, Fault
from bot.discord_app.checks import NotAdmin
from bot.discord_app.limits import clip, safe
from bot.discord_app.render import answer_error_text

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot

log = logging.getLogger(__name__)


class DiscordUnreachable(Fault):
    """Discord could not be reached to log in (DNS, refused connection, timeout, Discord down)."""

    kind = "network"


class TokenRefused(Fault):
    """Discord answered 401 to the token in DISCORD_TOKEN."""

    kind = "credentials"


def login_fault(exc: BaseException, api_base: str, gateway_url: str = "") -> Fault | None:
    """The Fault that an error met while starting the bot means, or None (a bug).

    discord.py lets network errors of its HTTP client through (aiohttp's, which are OSErrors,
    DNS failures included) and raises LoginFailure for a 401 on /users/@me. Once connected it
    reconnects by itself (see OneLineReconnects). Its first gateway connection failing ends,
    though, in an AttributeError raised while handling the network error (discord.py issue
    #10520: `self.ws` is still None): that one is the gateway out of reach too. `api_base` and
    `gateway_url` are named in the message because DISCORD_API_BASE and DISCORD_GATEWAY_URL may
    point elsewhere than Discord.
    """
    if isinstance(exc, discord.LoginFailure):
        return TokenRefused(
            "Discord refused the token in DISCORD_TOKEN (401 Unauthorized): copy the bot's token again "
            "from https://discord.com/developers/applications (Bot tab), then try again",
            user_message="",
        )
    where = api_base
    if isinstance(exc, AttributeError) and exc.__context__ is not None:
        exc, where = exc.__context__, f"its gateway {gateway_url}".rstrip()
    reason = network_reason(exc)
    if reason is None:
        return None
    return DiscordUnreachable(
        f"cannot reach Discord at {where} ({reason}): check the network connection "
        "(and DISCORD_API_BASE / DISCORD_GATEWAY_URL if set), then try again",
        user_message="",
    )


def network_reason(exc: BaseException) -> str | None:
    """Why Discord could not be reached, in a few words, when `exc` says so; None otherwise."""
    if isinstance(exc, discord.DiscordServerError):
        return f"it answered {exc.status} {exc.response.reason or ''}".strip()
    if isinstance(exc, discord.GatewayNotFound):
        return "it gave no gateway to connect to"
    if isinstance(exc, discord.ConnectionClosed):
        return f"the gateway closed the connection with code {exc.code}"
    if isinstance(exc, aiohttp.ClientError | TimeoutError | ConnectionError):
        return str(exc) or type(exc).__name__
    return None


class OneLineReconnects(logging.Filter):
    """Once logged in, discord.py reconnects by itself and logs each failed attempt with the whole
    traceback ("Attempting a reconnect in 1.23s" and 30 lines). Losing the network is expected:
    this filter, put on discord.py's client and shard loggers, keeps the line, adds the reason,
    and drops the traceback. Any other error keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        reason = network_reason(exc) if exc is not None else None
        if reason is not None:
            record.msg = f"{record.getMessage()} ({reason})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def original_error(error: app_commands.AppCommandError) -> BaseException:
    """What actually went wrong: the exception a command raised (discord.py wraps it in a
    CommandInvokeError), or the one an option's transformer raised (wrapped in a
    TransformerError, as its `__cause__`: an unknown post, a full disk, a bug)."""
    if isinstance(error, app_commands.CommandInvokeError):
        return error.original
    if isinstance(error, app_commands.TransformerError) and error.__cause__ is not None:
        return error.__cause__
    return error


def describe(error: app_commands.AppCommandError) -> tuple[str, bool]:
    """The message for a user, and whether the error was unexpected (to be logged)."""
    original = original_error(error)
    if isinstance(original, AnswerError):
        return answer_error_text(original), False
    if isinstance(original, Fault):  # the operator reads `message` in the log (on_tree_error)
        return original.user_message, False
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: you can use this again in {error.retry_after:.0f} s.", False
    if isinstance(error, NotAdmin):
        return str(error), False
    if isinstance(error, app_commands.MissingPermissions):
        missing = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
        return f"You need the {missing} permission for this.", False
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works in servers only, not in DMs.", False
    if isinstance(original, app_commands.TransformerError):
        return clip(f"“{safe(str(original.value))}” is not a valid value here.", 2000), False
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here.", False
    return "", True


async def on_tree_error(
    interaction: discord.Interaction[CorpusBot], error: app_commands.AppCommandError
) -> None:
    message, unexpected = describe(error)
    original = original_error(error)
    if isinstance(original, Fault):
        command = interaction.command.qualified_name if interaction.command else "?"
        log.error("/%s failed: %s", command, original.message)
    if unexpected:
        error_id = secrets.token_hex(4)
        command = interaction.command.qualified_name if interaction.command else "?"
        log.error(
            "error %s in /%s (user %s)", error_id, command, interaction.user.id, exc_info=error
        )
        message = f"Something went wrong on our side (error id `{error_id}`); it has been logged. Please try again later."
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not tell user %s about an error", interaction.user.id, exc_info=True)
