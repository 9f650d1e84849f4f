"""/about: what the bot is, how big its corpus is, when it was last reloaded, and a guide."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discord_app.exts._base import CorpusCog, usable_anywhere
from bot.discord_app.render import about_embed

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot


class About(CorpusCog):
    @app_commands.command(name="about", description="What this bot is and how to use it.")
    @usable_anywhere()
    async def about(self, interaction: discord.Interaction[CorpusBot]) -> None:
        guide = command_guide(self.bot.tree)
        await interaction.response.send_message(
            embed=about_embed(await self.service.stats(), guide), ephemeral=True
        )


def command_guide(tree: app_commands.CommandTree) -> list[tuple[str, str]]:
    """Every command the bot has, from its own tree: slash commands ("/feed status", each
    subcommand by its full name), then the message menus by name with the `guide` line each
    keeps in its `extras` (a context menu has no description of its own)."""
    slash = [
        (f"/{command.qualified_name}", command.description)
        for command in tree.walk_commands()
        if isinstance(command, app_commands.Command)
    ]
    menus = [
        (menu.name, str(menu.extras.get("guide", "(a message's Apps menu)")))
        for menu in tree.walk_commands(type=discord.AppCommandType.message)
    ]
    return slash + menus


async def setup(bot: CorpusBot) -> None:
    await bot.add_cog(About(bot))
