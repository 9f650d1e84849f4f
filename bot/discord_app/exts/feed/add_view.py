"""The buttons under `/feed add`'s answer: one "Add" per feed found, for the admin who asked.

A press removes the buttons first (the acknowledgement, so a second press cannot add twice and
Discord's 3-second deadline is met whatever the first fetch takes), then adds the feed through
`FeedService` and says what happened in a followup. The buttons go when the view times out.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import discord

from bot.discord_app.limits import fit_content
from bot.feeds.discovery import FeedCandidate

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot

log = logging.getLogger(__name__)

ADD_TIMEOUT_SECONDS = 300.0
MAX_BUTTONS = 5

Adder = Callable[[discord.Interaction["CorpusBot"], FeedCandidate], Awaitable[str]]
"""Adds a candidate and returns the sentence to answer with."""


class AddFeedView(discord.ui.View):
    def __init__(
        self,
        candidates: Sequence[FeedCandidate],
        *,
        owner_id: int,
        add: Adder,
        timeout: float = ADD_TIMEOUT_SECONDS,  # noqa: ASYNC109 - discord.py's view timeout
    ) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.message: discord.InteractionMessage | discord.WebhookMessage | None = None
        self._add = add
        for number, candidate in enumerate(candidates[:MAX_BUTTONS], 1):
            label = f"Add {number}" if len(candidates) > 1 else "Add"
            self.add_item(_AddButton(label, candidate))

    async def pressed(
        self, interaction: discord.Interaction[CorpusBot], candidate: FeedCandidate
    ) -> None:
        self.stop()
        await interaction.response.edit_message(view=None)
        text = await self._add(interaction, candidate)
        await interaction.followup.send(fit_content(text), ephemeral=True)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:  # View's own
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "Only the admin who ran /feed add can press these.", ephemeral=True
        )
        return False

    async def on_error(
        self,
        interaction: discord.Interaction,
        error: Exception,
        item: discord.ui.Item[AddFeedView],
    ) -> None:
        log.error("feed: adding a feed from a button failed", exc_info=error)
        try:
            await interaction.followup.send(
                "Adding that feed failed unexpectedly; it is in the bot's log.", ephemeral=True
            )
        except discord.HTTPException:
            pass

    async def on_timeout(self) -> None:
        if self.message is not None:
            try:
                await self.message.edit(view=None)
            except discord.HTTPException:
                pass  # the message is gone or the token expired: nothing left to tidy


class _AddButton(discord.ui.Button[AddFeedView]):
    """One candidate's button: the view does the work (it knows the owner and the adder)."""

    def __init__(self, label: str, candidate: FeedCandidate) -> None:
        super().__init__(label=label, style=discord.ButtonStyle.primary)
        self.candidate = candidate

    async def callback(self, interaction: discord.Interaction[CorpusBot]) -> None:  # type: ignore[override]
        assert self.view is not None  # noqa: S101 - a button only fires from its view
        await self.view.pressed(interaction, self.candidate)
