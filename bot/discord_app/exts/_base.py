"""What every cog shares: access to the core service and the per-user cooldown for heavy commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.corpus.models import Candidate
from bot.corpus.service import CorpusService
from bot.discord_app.limits import CHOICE_NAME, CHOICES, clip
from bot.text_safety import strip_controls

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot

COOLDOWN_RATE = 3
"""Uses of an expensive command per user per `discord.cooldown_seconds` window."""


class CorpusCog(commands.Cog):
    def __init__(self, bot: CorpusBot) -> None:
        self.bot = bot

    @property
    def service(self) -> CorpusService:
        return self.bot.service


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
