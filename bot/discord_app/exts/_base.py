"""What every cog shares: access to the core service and the per-user cooldown for heavy commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.corpus.models import Candidate
from bot.corpus.service import CorpusService
from bot.discord_app.limits import CHOICE_NAME, CHOICES, clip
from bot.text_safety import strip_controls

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot

T = TypeVar("T")

COOLDOWN_RATE = 3
"""Uses of an expensive command per user per `discord.cooldown_seconds` window."""


class CorpusCog(commands.Cog):
    def __init__(self, bot: CorpusBot) -> None:
        self.bot = bot

    @property
    def service(self) -> CorpusService:
        return self.bot.service


def usable_anywhere() -> Callable[[T], T]:
    """For the read-only commands: installable to a user's account as well as to a server, and
    usable in servers, the bot's DM and other DMs and group DMs (Discord's `integration_types`
    [0, 1] and `contexts` [0, 1, 2]).

    They only read the corpus and answer the asker, so nothing they do depends on a server; a
    command that changes something (/reload, the feed's) stays `guild_only` and server-installed
    by not using this. One decorator, so the read-only set is declared the same way everywhere.
    """
    installs = app_commands.allowed_installs(guilds=True, users=True)
    contexts = app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)

    def inner(command: T) -> T:
        return installs(contexts(command))

    return inner


SERVER_INSTALL_ONLY = app_commands.AppInstallationType(guild=True, user=False)
"""The installs of a command that changes something: Discord defaults a global command's
`integration_types` to the app's configured installs, so a command that must never be
user-installed says so rather than relying on the portal's settings."""

SERVER_CONTEXTS_ONLY = app_commands.AppCommandContext(
    guild=True, dm_channel=False, private_channel=False
)
"""Where a command that changes something is offered: servers. A `Group(guild_only=True)`
alone sends only the deprecated `dm_permission`, no `contexts`."""


def server_only() -> Callable[[T], T]:
    """For the commands that change something (/reload, the feed's): servers only
    (`contexts` [0]) and only through a server's install (`integration_types` [0]).

    The counterpart of `usable_anywhere`; the commands still check who may use them, since a
    server's admins can change who sees a command but not these two lists."""
    installs = app_commands.allowed_installs(guilds=True, users=False)
    guild = app_commands.guild_only()

    def inner(command: T) -> T:
        return installs(guild(command))

    return inner


def expensive_cooldown(interaction: discord.Interaction[CorpusBot]) -> app_commands.Cooldown | None:
    seconds = interaction.client.config.discord.cooldown_seconds
    return app_commands.Cooldown(COOLDOWN_RATE, seconds)


def to_choices(candidates: list[Candidate]) -> list[app_commands.Choice[str]]:
    """Autocomplete choices within Discord's limits (25 choices, names of 100 characters).

    A name is shown as it is (no Markdown there), so it only loses control characters and bidi
    overrides, which would garble or reorder the list; one left empty shows its value."""
    return [
        app_commands.Choice(
            name=clip(strip_controls(c.label) or c.value, CHOICE_NAME), value=c.value[:100]
        )
        for c in candidates[:CHOICES]
    ]
