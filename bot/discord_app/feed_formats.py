"""An announcement in each subscription's format: what is sent, edited and looked for.

- ``embed``: today's embed (``feed_render.announcement_embed`` / ``batch_embed``);
- ``compact``: one line of text per entry, the title linked through ``limits.masked_link``;
- ``components``: a Components V2 layout (a container of text displays), for clients that
  show those; its text stays within Discord's 4,000 characters and 40 components.

The deliverer and ``/feed preview`` both call :func:`message_parts`, so a preview is the
announcement as it will be sent. Nothing here can ping but the subscription's role
(``feed_render.mentions_for``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import discord
from discord.utils import format_dt

from bot.discord_app.feed_render import (
    COLOUR,
    announcement_embed,
    batch_embed,
    mentions_for,
    source_label,
)
from bot.discord_app.limits import CONTENT, clip, fit_content, masked_link, safe
from bot.feeds.announce import Announcement
from bot.feeds.delivery import BatchMessage, EntryMessage, Outgoing
from bot.feeds.models import MessageFormat

TEXT_DISPLAY_TOTAL = 4000
"""Discord's limit for the text of all text displays of one message."""
SUMMARY_CHARS = 1500
BATCH_TEXT_CHARS = 3000


@dataclass(frozen=True)
class MessageParts:
    """What one message is made of, in one format: give :meth:`send_kwargs` to ``send`` and
    :meth:`edit_kwargs` to ``edit``."""

    content: str | None
    embed: discord.Embed | None
    view: discord.ui.LayoutView | None
    allowed_mentions: discord.AllowedMentions

    def send_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"allowed_mentions": self.allowed_mentions}
        if self.view is not None:  # Components V2: no content, no embed
            kwargs["view"] = self.view
        else:
            kwargs["content"] = self.content
            kwargs["embed"] = self.embed
        return kwargs

    def edit_kwargs(self) -> dict[str, Any]:
        """As sent; a layout also clears content and embeds, as Discord requires to turn a
        message posted in another format (before ``/feed format`` changed) into a layout. The
        reverse is refused by Discord (the flag cannot be removed): the edit is then dropped and
        the post stands (``delivery.classify_edit``)."""
        kwargs = self.send_kwargs()
        if self.view is not None:
            kwargs.update(content=None, embed=None)
        return kwargs

    def marker(self, *, whole: bool) -> tuple[str | None, ...]:
        """What identifies the message among the channel's (see ``message_marker``)."""
        return _marker(self.content, self.embed, _texts(self.view), whole=whole)


def message_parts(message: Outgoing, message_format: MessageFormat) -> MessageParts:
    """``message`` as its subscription's format shows it."""
    ping, allowed = mentions_for(message.mention_role_id)
    if message_format == "compact":
        text = (
            compact_line(message.announcement)
            if isinstance(message, EntryMessage)
            else compact_batch(message)
        )
        content = fit_content(f"{ping} {text}" if ping else text)
        return MessageParts(content, None, None, allowed)
    if message_format == "components":
        return MessageParts(None, None, components_layout(message, ping), allowed)
    embed = (
        announcement_embed(message.announcement)
        if isinstance(message, EntryMessage)
        else batch_embed(message)
    )
    return MessageParts(ping, embed, None, allowed)


def outgoing_title(message: Outgoing) -> str:
    """The plain title of an announcement (an entry's title; a batch's heading), which names a
    forum post or a discussion thread whatever the subscription's format."""
    if isinstance(message, EntryMessage):
        return message.announcement.title
    plural = "entry" if message.total == 1 else "entries"
    if message.kind == "digest":
        return f"Daily digest: {message.total} new {plural}"
    return f"+{message.total} more new {plural}"


def message_marker(message: discord.Message, *, whole: bool) -> tuple[str | None, ...]:
    """What identifies a posted announcement, read back from Discord: an embed's footer (an
    entry's names its id; a batch's title too), a compact message's text, a layout's last text
    display (it names the entry's id) and, for a batch, its first."""
    texts = [t for component in message.components for t in _component_texts(component)]
    embed = message.embeds[0] if message.embeds else None
    return _marker(message.content or None, embed, texts, whole=whole)


def _marker(
    content: str | None, embed: discord.Embed | None, texts: list[str], *, whole: bool
) -> tuple[str | None, ...]:
    if embed is not None:
        return ("embed", embed.title if whole else None, embed.footer.text)
    if texts:
        return ("components", texts[0] if whole else None, texts[-1])
    return ("compact", content)


def _texts(view: discord.ui.LayoutView | None) -> list[str]:
    if view is None:
        return []
    return [
        item.content for item in view.walk_children() if isinstance(item, discord.ui.TextDisplay)
    ]


def _component_texts(component: Any) -> list[str]:
    """Text displays of a component as discord.py parses a fetched message, depth first."""
    if isinstance(component, discord.components.TextDisplay):
        return [component.content]
    out: list[str] = []
    for child in getattr(component, "children", None) or []:
        out.extend(_component_texts(child))
    return out


# --- compact -------------------------------------------------------------------------------


def _byline(announcement: Announcement, limit: int) -> str:
    return clip(safe(", ".join(announcement.authors)), limit) if announcement.authors else ""


def compact_line(announcement: Announcement) -> str:
    """``[Title](<url>) — Author, Author · the ada feed``: one line, no embed."""
    byline = _byline(announcement, 200)
    by = f" — {byline}" if byline else ""
    return f"📰 {masked_link(announcement.title, announcement.url, 256)}{by} · {source_label(announcement.source)}"


def compact_batch(message: BatchMessage) -> str:
    """A heading, then one compact line per entry, as many as fit in a message."""
    plural = "entry" if message.total == 1 else "entries"
    heading = (
        f"**Daily digest: {message.total} new {plural}**"
        if message.kind == "digest"
        else f"**+{message.total} more new {plural}**"
    )
    return _lines_within(
        heading, [compact_line(a) for a in message.announcements], message.total, CONTENT - 40
    )


def _lines_within(heading: str, lines: list[str], total: int, limit: int) -> str:
    """``heading`` and as many whole ``lines`` as fit in ``limit``, then "…and N more"."""
    kept = [heading]
    used = len(heading)
    for line in lines:
        if used + 1 + len(line) > limit - 60:
            break
        kept.append(line)
        used += 1 + len(line)
    hidden = total - (len(kept) - 1)
    if hidden > 0:
        kept.append(f"…and {hidden} more; `/search` finds them all.")
    return "\n".join(kept)


# --- Components V2 -------------------------------------------------------------------------


def components_layout(message: Outgoing, ping: str | None) -> discord.ui.LayoutView:
    """A container of text displays (well under 40 components and 4,000 characters): the ping
    (if any) first, outside the container, since a layout message has no content."""
    view = discord.ui.LayoutView(timeout=None)
    if ping:
        view.add_item(discord.ui.TextDisplay(ping))
    if isinstance(message, EntryMessage):
        texts = _entry_texts(message.announcement)
    else:
        texts = _batch_texts(message)
    container: discord.ui.Container[discord.ui.LayoutView] = discord.ui.Container(
        accent_colour=COLOUR
    )
    for index, text in enumerate(texts):
        if index == len(texts) - 1:
            container.add_item(discord.ui.Separator())
        container.add_item(discord.ui.TextDisplay(text))
    view.add_item(container)
    return view


def _entry_texts(announcement: Announcement) -> list[str]:
    if announcement.summary:
        summary = clip(" ".join(safe(s) for s in announcement.summary), SUMMARY_CHARS)
    else:
        summary = f"No short summary fits; `/post {announcement.entry_id}` shows the text."
    facts = [_byline(announcement, 300) or "no byline"]
    facts.append(
        format_dt(announcement.published, "D") if announcement.published else "date unknown"
    )
    if announcement.publisher:
        facts.append(clip(safe(announcement.publisher), 200))
    note = " · summary of the opening only" if announcement.excerpt else ""
    return [
        f"-# New in {source_label(announcement.source)}",
        f"### {masked_link(announcement.title, announcement.url, 256)}",
        summary,
        " · ".join(facts),
        f"-# id {announcement.entry_id} · /post or /summarize it{note}",
    ]


def _batch_texts(message: BatchMessage) -> list[str]:
    plural = "entry" if message.total == 1 else "entries"
    if message.kind == "digest":
        title = f"### Daily digest: {message.total} new {plural}"
        footer = f"-# Digest of {message.created_at:%Y-%m-%d %H:%M} UTC"
    else:
        title = f"### +{message.total} more new {plural}"
        footer = "-# More arrived at once than are announced one by one; here are the rest."
    lines = [f"• {compact_line(a)}" for a in message.announcements]
    body = _lines_within("", lines, message.total, BATCH_TEXT_CHARS).lstrip("\n")
    return [title, body or "Nothing left to list.", footer]
