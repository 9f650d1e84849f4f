"""`/feed import file:`: follow every feed an OPML file lists, from Discord (issue #12).

The Discord side of what `corpus-bot feeds import` does: the file an admin attached is read
within the same cap as the CLI's (`bot.feeds.opml.MAX_OPML_BYTES`; by its declared size before
any download, then by the bytes read, `bot.discord_app.attachments`), then handed to
`FeedService.import_opml`, which parses it in a worker thread (refusing DOCTYPE and ENTITY
declarations) and adds each outline as `/feed add` would, nothing fetched yet: each feed's first
poll, through the guarded session unless `feed.allow_private_addresses`, is its silent baseline.
The answer lists each feed added, skipped (already followed) or refused (why), paged, only to
the admin. Who may run it (the config's `admin_user_ids`) is checked by the cog's decorator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.discord_app import limits
from bot.discord_app.attachments import AttachmentTooBig, AttachmentUnreadable, read_capped
from bot.discord_app.feed_render import COLOUR
from bot.discord_app.limits import clip, fit_content, fit_embed, inline_code, safe
from bot.discord_app.render import page_ranges
from bot.discord_app.views import Paginator
from bot.feeds.opml import MAX_OPML_BYTES, OpmlError
from bot.feeds.service import FeedService, ImportReport

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot

__all__ = ["LINES_PER_PAGE", "import_feeds", "import_pages"]

LINES_PER_PAGE = 20
"""Feeds listed on one page of the answer (fewer when their lines are long)."""
SHOWN_URL = 200
"""A feed URL is shown up to this long (an OPML attribute may be any length)."""


async def import_feeds(
    interaction: discord.Interaction[CorpusBot], feed: FeedService, file: discord.Attachment
) -> None:
    """Answer `/feed import`: defer, read the file within the cap, import it, list the outcome."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    shown = inline_code(clip(file.filename, 100))
    try:
        data = await read_capped(interaction.client, file, MAX_OPML_BYTES)
        report = await feed.import_opml(data, added_by=f"discord:{interaction.user.id}")
    except AttachmentTooBig as too_big:
        size = f" ({too_big.declared:,} bytes)" if too_big.declared is not None else ""
        await _say(
            interaction,
            f"{shown} is too big{size}: an OPML import reads at most {MAX_OPML_BYTES:,} bytes "
            "(a file of a few hundred feeds is tens of kilobytes). Nothing was imported.",
        )
        return
    except AttachmentUnreadable as unreadable:
        await _say(interaction, f"{shown} could not be read: {unreadable}. Nothing was imported.")
        return
    except OpmlError as bad:
        await _say(
            interaction,
            f"{shown} is not an OPML file this bot can import: {safe(str(bad))}. "
            "Nothing was imported.",
        )
        return
    await Paginator.send(interaction, import_pages(report, file.filename), ephemeral=True)


async def _say(interaction: discord.Interaction[CorpusBot], text: str) -> None:
    await interaction.followup.send(fit_content(text), ephemeral=True)


def import_pages(report: ImportReport, filename: str) -> list[discord.Embed]:
    """The outcome of an import, a line per feed (added, then skipped, then refused), paged.

    URLs and names are inline code: shown as written, never a link or a mention."""

    def url(text: str) -> str:
        return inline_code(clip(text, SHOWN_URL))

    lines = [f"✅ {url(f.url)} added as {inline_code(name)}" for f, name in report.added]
    lines += [
        f"⏭️ {url(f.url)} skipped: already followed as {inline_code(name)}"
        for f, name in report.skipped
    ]
    lines += [f"⛔ {url(f.url)} refused: {why.text(url)}" for f, why in report.refused]
    if report.not_read:
        lines.append(f"{report.not_read:,} more feeds past the file's cap were not read.")
    if not lines:
        lines.append("The file lists no feed (no outline with an xmlUrl).")
    title = clip(
        f"{safe(clip(filename, 100))}: {len(report.added)} added, {len(report.skipped)} skipped, "
        f"{len(report.refused)} refused",
        limits.TITLE,
    )
    return [
        fit_embed(
            discord.Embed(
                title=title, description="\n".join(lines[i] for i in shown), colour=COLOUR
            )
        )
        for shown in page_ranges(
            [len(line) for line in lines], limits.DESCRIPTION - 100, LINES_PER_PAGE
        )
    ]
