"""Paging through long answers with buttons.

Only the person who asked can turn the pages (others get a quiet ephemeral note), and when the
view times out its buttons are removed from the message, so nobody clicks a dead button.

A paginator shows a `PageSource`: pages it keeps (a short, fixed answer such as the reasons,
rendered lazily), or `WindowedPages`, asked of the core each time one is shown, so a view that
waits three minutes for a click keeps its question and not a whole answer (an author with 7,000
posts is hundreds of pages; kept answers were most of what the bot's memory grew by with the
corpus). Either way a page holds as much as fits in one message: an answer that fits is one
message with no buttons (the reasons once came as pages of 4 and 3, though all 7 fit in one).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

import discord

from bot.corpus.errors import AnswerError
from bot.discord_app.limits import fit_content, safe
from bot.discord_app.render import Window, label_page, number_page

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot

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
    """What a paginator shows: whether page `index` exists, and that page, numbered, when shown."""

    def has_page(self, index: int) -> bool: ...

    async def page(self, index: int) -> discord.Embed: ...


class KeptPages:
    """Pages the view keeps: a short answer that is all there (reasons, the authors list)."""

    def __init__(self, pages: Sequence[discord.Embed]) -> None:
        self._pages = pages

    def has_page(self, index: int) -> bool:
        return 0 <= index < len(self._pages)

    async def page(self, index: int) -> discord.Embed:
        return number_page(self._pages[index], index, len(self._pages))


class WindowedPages:
    """A long answer asked of the core a page at a time, each page as long as fits.

    `fetch(offset)` queries the items from `offset` on and renders as many as fit in one message
    (`Window.shown` of them); the next page starts where that one ended, so page boundaries are
    learnt as pages are turned (a paginator moves one page at a time, and going back asks again
    from a start already learnt). The view keeps the question and a start per page seen, never
    the items. Pages are labelled by item ("posts 11-24 of 250"), which stays exact although
    how many pages there are is not known in advance.
    """

    def __init__(
        self, first: Window, *, total: int, noun: str, fetch: Callable[[int], Awaitable[Window]]
    ) -> None:
        self._total = total
        self._noun = noun
        self._fetch = fetch
        self._starts = [0, first.shown]
        self._first: discord.Embed | None = self._label(first, 0)

    def has_page(self, index: int) -> bool:
        return index == 0 or (0 < index < len(self._starts) and self._starts[index] < self._total)

    async def page(self, index: int) -> discord.Embed:
        if index == 0 and self._first is not None:
            first, self._first = self._first, None  # shown once; asked again if paged back to
            return first
        start = self._starts[index]
        window = await self._fetch(start)
        if index + 1 == len(self._starts):
            self._starts.append(start + max(window.shown, 1))
        return self._label(window, start)

    def _label(self, window: Window, start: int) -> discord.Embed:
        if start == 0 and window.shown >= self._total:
            return window.embed  # all of it on one page: nothing to number
        last = start + window.shown
        return label_page(window.embed, f"{self._noun} {start + 1}-{last} of {self._total}")


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
        interaction: discord.Interaction[CorpusBot],
        pages: Sequence[discord.Embed] | PageSource,
        *,
        ephemeral: bool = False,
    ) -> None:
        """Reply with the first page, and buttons only when there is another page."""
        source = as_source(pages)
        first = await source.page(0)
        if not source.has_page(1):
            await respond(interaction, embed=first, ephemeral=ephemeral)
            return
        view = cls(source, owner_id=interaction.user.id)
        view.message = await respond(interaction, embed=first, view=view, ephemeral=ephemeral)
        if view.message is None:  # Discord sent no message back with the callback: ask for it
            view.message = await interaction.original_response()

    async def page(self, index: int) -> discord.Embed:
        """Page `index`, numbered or labelled in its footer."""
        return await self.pages.page(index)

    def _sync_buttons(self) -> None:
        self.previous_page.disabled = self.index == 0
        self.next_page.disabled = not self.pages.has_page(self.index + 1)

    async def interaction_check(
        self, interaction: discord.Interaction
    ) -> bool:  # View's own signature
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "Only the person who asked can turn these pages; run the command yourself to browse.",
            ephemeral=True,
        )
        return False

    async def _show(self, interaction: discord.Interaction[CorpusBot], index: int) -> None:
        wanted = index if self.pages.has_page(index) else self.index
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
        self, interaction: discord.Interaction[CorpusBot], _: discord.ui.Button[Paginator]
    ) -> None:
        await self._show(interaction, self.index - 1)

    @discord.ui.button(label="Next", emoji="▶️", style=discord.ButtonStyle.secondary)
    async def next_page(
        self, interaction: discord.Interaction[CorpusBot], _: discord.ui.Button[Paginator]
    ) -> None:
        await self._show(interaction, self.index + 1)

    async def on_timeout(self) -> None:
        if self.message is not None:
            try:
                await self.message.edit(view=None)
            except discord.HTTPException:
                pass  # the message is gone or the token expired: nothing left to tidy


async def answer_in_time(
    interaction: discord.Interaction[CorpusBot],
    work: Awaitable[T],
    *,
    within: float | None = None,
    ephemeral: bool = False,
) -> T:
    """Await `work` (the answer); if it is not ready `within` seconds after the command was
    created (`ANSWER_BY_SECONDS` by default), defer first, then keep waiting for it.

    Time counts from the interaction's creation (its snowflake), not from now, so a command that
    already waited in a queue defers at once. An answer that fails before the defer (unknown
    post, ambiguous name) still gets its error as an ephemeral reply; after a defer the error
    follows up the deferred, public message, as Discord allows.

    An interaction already acknowledged (a check or an earlier step deferred it) has nothing left
    to beat: the answer is simply awaited.

    `ephemeral`: the answer will be ephemeral, so is the defer (Discord makes the first followup
    of a deferred interaction the deferred message itself, public or not as the defer was)."""
    if interaction.response.is_done():
        return await work
    budget = ANSWER_BY_SECONDS if within is None else within
    task = asyncio.ensure_future(work)
    waited = (discord.utils.utcnow() - interaction.created_at).total_seconds()
    remaining = min(budget, budget - waited)  # a clock behind Discord's: never more than budget
    try:
        if remaining > 0:
            done, _ = await asyncio.wait({task}, timeout=remaining)
            if done:
                return task.result()
        await interaction.response.defer(thinking=True, ephemeral=ephemeral)
    except BaseException:
        task.cancel()  # the command was cancelled or cannot answer: nobody will read the result
        raise
    return await task


async def respond(
    interaction: discord.Interaction[CorpusBot],
    *,
    embed: discord.Embed,
    view: discord.ui.View | None = None,
    ephemeral: bool = False,
) -> SentMessage | None:
    """Answer an interaction whether or not it was deferred; returns the message sent.

    The message comes back with the response itself (discord.py asks for it with
    `with_response`), so a paginator needs no extra request (`original_response()`, a GET per
    paged answer) to remove its buttons later. None if Discord sent no message back.
    """
    shown = view if view is not None else discord.utils.MISSING  # discord.py's "no view"
    if interaction.response.is_done():
        return await interaction.followup.send(
            embed=embed, view=shown, ephemeral=ephemeral, wait=True
        )
    callback = await interaction.response.send_message(embed=embed, view=shown, ephemeral=ephemeral)
    resource = callback.resource
    return resource if isinstance(resource, discord.InteractionMessage) else None
