"""Paging through long answers with buttons.

Only the person who asked can turn the pages (others get a quiet ephemeral note), and when the
view times out its buttons are removed from the message, so nobody clicks a dead button.

Pages may be a `render.LazyPages`: the paginator asks for a page only when it shows it, so an
answer of ten pages costs one page's rendering until someone turns it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import TypeVar

import discord

from bot.discord_app.render import number_page

PAGE_TIMEOUT_SECONDS = 180.0

SentMessage = discord.InteractionMessage | discord.WebhookMessage
T = TypeVar("T")

ANSWER_BY_SECONDS = 1.5
"""An answer not ready this long after its command was created is acknowledged with a defer
("thinking…") first. Discord drops an interaction not acknowledged within 3 s (10062 Unknown
interaction: the user sees "did not respond"); a quick answer needs no defer (one HTTP request
less, which counts in a burst), but in a burst at 100,000 documents answers queue behind each
other for over a second, and on a busy machine some went past 3 s."""


class Paginator(discord.ui.View):
    def __init__(self, pages: Sequence[discord.Embed], *, owner_id: int, timeout: float | None = None) -> None:
        timeout = PAGE_TIMEOUT_SECONDS if timeout is None else timeout
        super().__init__(timeout=timeout)
        self.pages = pages
        self.owner_id = owner_id
        self.index = 0
        self.message: SentMessage | None = None
        self._numbered: set[int] = set()
        self._sync_buttons()

    @classmethod
    async def send(
        cls, interaction: discord.Interaction, pages: Sequence[discord.Embed], *, ephemeral: bool = False
    ) -> None:
        """Reply with the first page, and buttons only when there is more than one page."""
        if len(pages) <= 1:
            await respond(interaction, embed=pages[0], ephemeral=ephemeral)
            return
        view = cls(pages, owner_id=interaction.user.id)
        view.message = await respond(interaction, embed=view.page(0), view=view, ephemeral=ephemeral)
        if view.message is None:  # Discord sent no message back with the callback: ask for it
            view.message = await interaction.original_response()

    def page(self, index: int) -> discord.Embed:
        """Page `index`, rendered if it was not yet, with "page x/y" in its footer."""
        embed = self.pages[index]
        if index not in self._numbered:
            number_page(embed, index, len(self.pages))
            self._numbered.add(index)
        return embed

    def _sync_buttons(self) -> None:
        self.previous_page.disabled = self.index == 0
        self.next_page.disabled = self.index >= len(self.pages) - 1

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "Only the person who asked can turn these pages; run the command yourself to browse.",
            ephemeral=True,
        )
        return False

    async def _show(self, interaction: discord.Interaction, index: int) -> None:
        self.index = max(0, min(index, len(self.pages) - 1))
        self._sync_buttons()
        await interaction.response.edit_message(embed=self.page(self.index), view=self)

    @discord.ui.button(label="Previous", emoji="◀️", style=discord.ButtonStyle.secondary)
    async def previous_page(self, interaction: discord.Interaction, _: discord.ui.Button[Paginator]) -> None:
        await self._show(interaction, self.index - 1)

    @discord.ui.button(label="Next", emoji="▶️", style=discord.ButtonStyle.secondary)
    async def next_page(self, interaction: discord.Interaction, _: discord.ui.Button[Paginator]) -> None:
        await self._show(interaction, self.index + 1)

    async def on_timeout(self) -> None:
        if self.message is not None:
            try:
                await self.message.edit(view=None)
            except discord.HTTPException:
                pass  # the message is gone or the token expired: nothing left to tidy


async def answer_in_time(interaction: discord.Interaction, work: Awaitable[T], *, within: float | None = None) -> T:
    """Await `work` (the answer); if it is not ready `within` seconds after the command was
    created (`ANSWER_BY_SECONDS` by default), defer first, then keep waiting for it.

    Time counts from the interaction's creation (its snowflake), not from now, so a command that
    already waited in a queue defers at once. An answer that fails before the defer (unknown
    post, ambiguous name) still gets its error as an ephemeral reply; after a defer the error
    follows up the deferred, public message, as Discord allows."""
    budget = ANSWER_BY_SECONDS if within is None else within
    task = asyncio.ensure_future(work)
    waited = (discord.utils.utcnow() - interaction.created_at).total_seconds()
    remaining = min(budget, budget - waited)  # a clock behind Discord's: never more than budget
    if remaining > 0:
        done, _ = await asyncio.wait({task}, timeout=remaining)
        if done:
            return task.result()
    try:
        await interaction.response.defer(thinking=True)
    except BaseException:
        task.cancel()  # nobody will read it
        raise
    return await task


async def respond(interaction: discord.Interaction, **kwargs: object) -> SentMessage | None:
    """Answer an interaction whether or not it was deferred; returns the message sent.

    The message comes back with the response itself (discord.py asks for it with
    `with_response`), so a paginator needs no extra request (`original_response()`, a GET per
    paged answer) to remove its buttons later. None if Discord sent no message back.
    """
    if interaction.response.is_done():
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        return await interaction.followup.send(wait=True, **kwargs)  # type: ignore[call-overload, no-any-return]
    callback = await interaction.response.send_message(**kwargs)  # type: ignore[arg-type]
    resource = callback.resource
    return resource if isinstance(resource, discord.InteractionMessage) else None
