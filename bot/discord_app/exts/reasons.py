"""/reasons: Access Now's reasons for resigning from the Partnership on AI, quoted verbatim."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discord_app.exts._base import CorpusCog, usable_anywhere
from bot.discord_app.render import reasons_pages
from bot.discord_app.views import Paginator

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot


class ReasonsCog(CorpusCog):
    @app_commands.command(
        name="reasons",
        description="Why Access Now resigned from the Partnership on AI, in its own words.",
    )
    @usable_anywhere()
    @app_commands.describe(topic="Only reasons about this, e.g. 'facial recognition'")
    async def reasons(
        self,
        interaction: discord.Interaction[CorpusBot],
        topic: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        answer = await self.service.reasons(topic)
        await Paginator.send(interaction, reasons_pages(answer))


async def setup(bot: CorpusBot) -> None:
    await bot.add_cog(ReasonsCog(bot))
