"""/reload (admins only): re-read the corpus while the bot runs, atomically.

The reply is the diff (added, changed, removed) or every problem found, with file and line; with
problems, the previous corpus stays live. Other features (the feed) hear of each successful
reload through the `corpus_reloaded` event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.corpus.errors import CorpusInvalid
from bot.discord_app.checks import admin_only
from bot.discord_app.exts._base import CorpusCog, server_only
from bot.discord_app.render import problems_embed, reload_embed

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot


class Admin(CorpusCog):
    @app_commands.command(name="reload", description="Re-read the corpus now (admins).")
    @server_only()
    @app_commands.default_permissions(manage_guild=True)
    @admin_only()
    async def reload(self, interaction: discord.Interaction[CorpusBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            report = await self.service.reload()
        except CorpusInvalid as exc:
            await interaction.followup.send(embed=problems_embed(exc.problems), ephemeral=True)
            return
        self.bot.dispatch("corpus_reloaded", report)
        await interaction.followup.send(embed=reload_embed(report), ephemeral=True)


async def setup(bot: CorpusBot) -> None:
    await bot.add_cog(Admin(bot))
