"""Who may use the feed's commands, and what the bot needs in a channel to announce there.

The general checks (admins, managing a channel, mentioning a role) are in
`bot.discord_app.checks`; these are the feed's own, shared by the cog, the deliverer and the
pause reports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands

from bot.discord_app.checks import ADMIN_REQUIRED, NotAdmin, feed_manager_refusal, is_admin
from bot.feeds.models import CORPUS_SOURCE

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot

T = TypeVar("T")

MANAGE_CHANNELS_REQUIRED = (
    "You need the Manage Channels permission (or to be a configured admin) for this."
)


def channel_manager_only() -> Callable[[T], T]:
    """Manage Channels in the channel the command is typed in, or a user id listed in
    `discord.admin_user_ids`: for commands that act on no channel in particular (listing, status,
    preview). Those that act on a channel check the member there (`checks.feed_manager_refusal`)."""

    def predicate(interaction: discord.Interaction[CorpusBot]) -> bool:
        admins = interaction.client.config.discord.admin_user_ids
        if interaction.user.id in admins:
            return True
        if interaction.guild is not None and interaction.permissions.manage_channels:
            return True
        raise NotAdmin(MANAGE_CHANNELS_REQUIRED)

    return app_commands.check(predicate)


def missing_post_permissions(
    channel: discord.abc.GuildChannel | discord.Thread,
    me: discord.Member,
    *,
    discussion_thread: bool = False,
    moderated_tags: bool = False,
) -> list[str]:
    """What the bot lacks to announce in `channel` (names as Discord shows them), for the kind
    of channel it is, overwrites included (a thread's are its parent's):

    - a text or announcement channel: View Channel, Send Messages, Embed Links and Read Message
      History (after a crash the sender looks for an unrecorded post in the channel before
      resending it; without it Discord lists no messages, and the post could be doubled);
      Create Public Threads to open a discussion thread on each announcement. Publishing needs
      nothing more: Discord lets who sent a message crosspost it with Send Messages alone
      (Manage Messages is for publishing other people's messages);
    - a forum or media channel: View Channel, Send Messages (which Discord shows as Create
      Posts there), Embed Links and Read Message History (after a crash the sender reads the
      first message of its recent posts, archived ones listed only with it, before resending);
      Manage Threads to apply a moderated tag (Discord lets only moderators apply one);
    - a thread: View Channel, Send Messages in Threads, Embed Links and Read Message History,
      and Manage Threads when it is locked (only then may a locked thread take messages).
    """
    perms = channel.permissions_for(me)
    needed: list[tuple[str, str]] = [("view_channel", "View Channel")]
    if isinstance(channel, discord.Thread):
        needed += [
            ("send_messages_in_threads", "Send Messages in Threads"),
            ("embed_links", "Embed Links"),
            ("read_message_history", "Read Message History"),
        ]
        if channel.locked:
            needed.append(("manage_threads", "Manage Threads"))
    elif isinstance(channel, discord.ForumChannel):
        needed += [
            ("send_messages", "Create Posts"),
            ("embed_links", "Embed Links"),
            ("read_message_history", "Read Message History"),
        ]
        if moderated_tags:
            needed.append(("manage_threads", "Manage Threads (to apply a moderated tag)"))
    else:
        needed += [
            ("send_messages", "Send Messages"),
            ("embed_links", "Embed Links"),
            ("read_message_history", "Read Message History"),
        ]
        if discussion_thread:
            needed.append(("create_public_threads", "Create Public Threads"))
    return [label for attribute, label in needed if not getattr(perms, attribute)]


def retry_refusal(
    interaction: discord.Interaction[CorpusBot],
    channel: discord.abc.GuildChannel | discord.Thread | None,
    source: str | None,
    admins: tuple[int, ...],
) -> str | None:
    """Who may retry what, checked where it takes effect: re-reading the corpus is a reload,
    so only who may /reload (`checks.is_admin`); a channel's subscription needs Manage
    Channels there; checking a feed now, or resuming every subscription one may manage,
    Manage Channels where the command is typed (or a configured admin)."""
    if source == CORPUS_SOURCE and not is_admin(interaction, admins):
        return f"Checking the corpus folder re-reads the corpus, as /reload does. {ADMIN_REQUIRED}"
    if channel is not None:
        return feed_manager_refusal(interaction, channel)
    if interaction.user.id in admins or interaction.permissions.manage_channels:
        return None
    return MANAGE_CHANNELS_REQUIRED
