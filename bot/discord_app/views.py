"""Paging through long answers with buttons.

Only the person who asked can turn the pages (others get a quiet ephemeral note), and when the
view times out its buttons are removed from the message, so nobody clicks a dead button.

A paginator shows a `PageSource`: pages it keeps (a short, fixed answer such as the reasons,
rendered lazily), or `FetchedPages`, asked of the core each time one is shown, so a view that
waits three minutes for a click keeps its question and not a whole answer (an author with 7,000
posts is 700 pages; kept answers were most of what the bot's memory grew by with the corpus).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

import discord

from bot.corpus.errors import AnswerError
from bot.discord_app.limits import fit_content, safe
from bot.discord_app.render import number_page

log = logging.getLogger(__name__)

PAGE_TIMEOUT_SECONDS = 180.0

SentMessage = discord.InteractionMessage | discord.WebhookMessage
T = TypeVar("T")

ANSWER_BY_SECONDS = 1.5
"""An answer not ready this long after its command was created is acknowledged with a defer
("thinking…") first. Discord drops an interaction not acknowledged within 3 s (10062 Unknown
interaction: the user sees "did not respond"); a quick answer needs no defer (one HTTP request
less, which counts in a burst), but in a burst at 100,000 documents answers queue behind each
other for over a second, and on a busy machine some went past 3 s."""


class PageSource(Protocol):
    """What a paginator shows: how many pages, and page `index` when it is shown."""

    def __len__(self) -> int: ...

    async def page(self, index: int) -> discord.Embed: ...


class KeptPages:
    """Pages the view keeps: a short answer that is all there (reasons, the authors list)."""

    def __init__(self, pages: Sequence[discord.Embed]) -> None:
        self._pages = pages

    def __len__(self) -> int:
        return len(self._pages)

    async def page(self, index: int) -> discord.Embed:
        return self._pages[index]


class FetchedPages:
    """Pages asked of the core when shown: `fetch(index)` queries and renders page `index`."""

    def __init__(self, count: int, fetch: Callable[[int], Awaitable[discord.Embed]]) -> None:
        self._count = count
        self._fetch = fetch

    def __len__(self) -> int:
        return self._count

    async def page(self, index: int) -> discord.Embed:
        return await self._fetch(index)


def as_source(pages: Sequence[discord.Embed] | PageSource) -> PageSource:
    return KeptPages(pages) if isinstance(pages, Sequence) else pages


class Paginator(discord.ui.View):
    def __init__(
        self,
        pages: Sequence[discord.Embed] | PageSource,
        *,
        owner_id: int,
        timeout: float | None = None,
    ) -> None:
        timeout = PAGE_TIMEOUT_SECONDS if timeout is None else timeout
        super().__init__(timeout=timeout)
        self.pages = as_source(pages)
        self.owner_id = owner_id
        self.index = 0
        self.message: SentMessage | None = None
        self._sync_buttons()

    @classmethod
    async def send(
        cls,
        interaction: discord.Interaction,
        pages: Sequence[discord.Embed] | PageSource,
        *,
        first: discord.Embed | None = None,
        ephemeral: bool = False,
    ) -> None:
        """Reply with the first page (`first` when the caller has it already), and buttons only
        when there is more than one page."""
        source = as_source(pages)
        if first is None:
            first = await source.page(0)
        if len(source) <= 1:
            await respond(interaction, embed=first, ephemeral=ephemeral)
            return
        view = cls(source, owner_id=interaction.user.id)
        view.message = await respond(
            interaction, embed=view.numbered(first, 0), view=view, ephemeral=ephemeral
        )
        if view.message is None:  # Discord sent no message back with the callback: ask for it
            view.message = await interaction.original_response()

    def numbered(self, embed: discord.Embed, index: int) -> discord.Embed:
        return number_page(embed, index, len(self.pages))

    async def page(self, index: int) -> discord.Embed:
        """Page `index` with "page x/y" in its footer."""
        return self.numbered(await self.pages.page(index), index)

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
        wanted = max(0, min(index, len(self.pages) - 1))
        try:
            embed = await self.page(wanted)
        except AnswerError as exc:  # e.g. the author left the corpus in a reload meanwhile
            log.info("page %d of a paged answer is gone: %s", wanted, exc)
            await interaction.response.send_message(
                fit_content(f"That page is no longer available: {safe(exc.message)}"),
                ephemeral=True,
            )
            return
        self.index = wanted
        self._sync_buttons()
        await interaction.response.edit_message(embed=embed, view=self)

    @discord.ui.button(label="Previous", emoji="◀️", style=discord.ButtonStyle.secondary)
    async def previous_page(
        self, interaction: discord.Interaction, _: discord.ui.Button[Paginator]
    ) -> None:
        await self._show(interaction, self.index - 1)

    @discord.ui.button(label="Next", emoji="▶️", style=discord.ButtonStyle.secondary)
    async def next_page(
        self, interaction: discord.Interaction, _: discord.ui.Button[Paginator]
    ) -> None:
        await self._show(interaction, self.index + 1)

    async def on_timeout(self) -> None:
        if self.message is not None:
            try:
                await self.message.edit(view=None)
            except discord.HTTPException:
                pass  # the message is gone or the token expired: nothing left to tidy


async def answer_in_time(
    interaction: discord.Interaction, work: Awaitable[T], *, within: float | None = None
) -> T:
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
    try:
        if remaining > 0:
            done, _ = await asyncio.wait({task}, timeout=remaining)
            if done:
                return task.result()
        await interaction.response.defer(thinking=True)
    except BaseException:
        task.cancel()  # the command was cancelled or cannot answer: nobody will read the result
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
