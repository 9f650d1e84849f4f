"""/post and /summarize: one document, whole or summarized."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discord_app.exts._base import CorpusCog, expensive_cooldown, to_choices
from bot.discord_app.render import post_embed, summary_embed
from bot.discord_app.views import respond

PostQuery = app_commands.Range[str, 1, 300]

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot


class Posts(CorpusCog):
    @app_commands.command(name="post", description="Show a post of the corpus, with its source.")
    @app_commands.describe(post="The post's id or title (start typing to pick one)")
    async def post(self, interaction: discord.Interaction, post: PostQuery) -> None:
        answer = await self.service.post(post)
        await respond(interaction, embed=post_embed(answer))

    @app_commands.command(name="summarize", description="Summarize a post in sentences quoted from it.")
    @app_commands.describe(post="The post's id or title (start typing to pick one)", length="How many sentences (1-10)")
    @app_commands.checks.dynamic_cooldown(expensive_cooldown)
    async def summarize(
        self, interaction: discord.Interaction, post: PostQuery, length: app_commands.Range[int, 1, 10] = 3
    ) -> None:
        ref = await self.service.resolve_ref(post)  # unknown/ambiguous: an ephemeral error, before deferring
        await interaction.response.defer(thinking=True)
        summary = await self.service.summarize(ref.id, sentences=length)
        await interaction.followup.send(embed=summary_embed(summary))

    @post.autocomplete("post")
    @summarize.autocomplete("post")
    async def post_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return to_choices(await self.service.post_choices(current))


async def setup(bot: CorpusBot) -> None:
    await bot.add_cog(Posts(bot))
