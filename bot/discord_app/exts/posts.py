"""/post and /summarize: one document, whole or summarized."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discord_app.exts._base import CorpusCog, expensive_cooldown, usable_anywhere
from bot.discord_app.options import PostOption
from bot.discord_app.render import post_embed, summary_embed
from bot.discord_app.views import answer_in_time, respond

DEFER_AFTER_SECONDS = 0.3
"""/summarize answers at once when its summary is ready within this time of the command's
creation (a cached summary, a short post), and acknowledges with a defer ("thinking…") first
otherwise. A defer is one more HTTP request, a third of what a summarized answer costs the bot,
and only needed when the answer might miss Discord's 3 s deadline; a command that already waited
this long in a queue (a burst) defers at once, as before."""

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot


class Posts(CorpusCog):
    @app_commands.command(name="post", description="Show a post of the corpus, with its source.")
    @usable_anywhere()
    @app_commands.describe(post="The post's id or title (start typing to pick one)")
    async def post(self, interaction: discord.Interaction[CorpusBot], post: PostOption) -> None:
        answer = await answer_in_time(interaction, self.service.post(post))
        await respond(interaction, embed=post_embed(answer))

    @app_commands.command(
        name="summarize", description="Summarize a post in sentences quoted from it."
    )
    @usable_anywhere()
    @app_commands.describe(
        post="The post's id or title (start typing to pick one)", length="How many sentences (1-10)"
    )
    @app_commands.checks.dynamic_cooldown(expensive_cooldown)
    async def summarize(
        self,
        interaction: discord.Interaction[CorpusBot],
        post: PostOption,
        length: app_commands.Range[int, 1, 10] = 3,
    ) -> None:
        summary = await answer_in_time(
            interaction,
            self.service.summarize(post, sentences=length),
            within=DEFER_AFTER_SECONDS,
        )
        await respond(interaction, embed=summary_embed(summary))


async def setup(bot: CorpusBot) -> None:
    await bot.add_cog(Posts(bot))
