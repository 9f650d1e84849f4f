"""Where `/subscribe` announces: what the target channel is, what its options mean there, and
the tags of a forum.

A text channel gets messages; an announcement channel too, optionally published to the
servers that follow it; a forum or media channel gets a post per entry, with tags chosen from
those it offers; a thread gets messages (an archived one is reopened by Discord when the next
announcement is sent, unless it is locked: then only with Manage Threads). Each option that
does not fit its target is refused with one sentence naming it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discord_app.limits import CHOICES, safe
from bot.feeds.models import Destination

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot

AnnouncementTarget = discord.TextChannel | discord.ForumChannel | discord.Thread
"""What /subscribe, /unsubscribe and /feed retry take: text and announcement channels (a
`TextChannel` in discord.py), forum and media channels, threads."""
MAX_TAGS = 5
"""Discord: a forum post has at most 5 tags."""
TAGS_CHARS = 100
"""An autocomplete choice's value is at most 100 characters."""


class AnnouncementTargetTransformer(app_commands.Transformer):
    """The `channel` option of the feed's commands: a text, announcement, forum or media
    channel, or a thread, archived ones included. discord.py's own channel transformer finds
    channels in its cache only, and the cache drops archived threads, so one picked in
    Discord's channel list would be refused as "not a valid value"; it is fetched instead
    (one request, well inside Discord's 3 seconds)."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        kinds = discord.ChannelType
        return [
            kinds.text,
            kinds.news,
            kinds.forum,
            kinds.media,
            kinds.news_thread,
            kinds.public_thread,
            kinds.private_thread,
        ]

    async def transform(
        self, interaction: discord.Interaction, value: object, /
    ) -> AnnouncementTarget:
        resolved = value.resolve() if isinstance(value, ChannelOption) else None
        if resolved is None and isinstance(value, app_commands.AppCommandThread):
            resolved = await value.fetch()
        if not isinstance(resolved, AnnouncementTarget):
            raise app_commands.TransformerError(value, discord.AppCommandOptionType.channel, self)
        return resolved


TargetOption = app_commands.Transform[AnnouncementTarget, AnnouncementTargetTransformer]
"""The feed commands' `channel` option: what /subscribe takes (threads, forums, archived
threads too), parsed once by `AnnouncementTargetTransformer`."""

ChannelOption = app_commands.AppCommandChannel | app_commands.AppCommandThread


class DestinationRefused(Exception):
    """An option of /subscribe that does not fit its channel; the text says which and why."""


@dataclass(frozen=True, slots=True)
class DestinationChoice:
    """How announcements reach the target, as /subscribe stores it."""

    destination: Destination
    forum_tag_ids: tuple[int, ...] = ()
    publish: bool = False
    discussion_thread: bool = False
    moderated_tags: bool = False
    """A chosen tag is moderated: only a member with Manage Threads may apply it."""
    notes: tuple[str, ...] = field(default=())
    """What the member should know (how it goes there), shown with the confirmation."""


def choose_destination(
    target: AnnouncementTarget,
    tags: str | None,
    publish: bool | None,
    discussion_thread: bool | None,
) -> DestinationChoice:
    """The destination for `target` with these options, or `DestinationRefused`."""
    where = f"<#{target.id}>"
    if tags and not isinstance(target, discord.ForumChannel):
        raise DestinationRefused(
            f"`tags` are for forum and media channels; {where} is not one. Leave `tags` out."
        )
    if publish and not (isinstance(target, discord.TextChannel) and target.is_news()):
        raise DestinationRefused(
            f"Only announcement channels publish to the servers following them; {where} is not "
            "one. Leave `publish` out."
        )
    if discussion_thread and not isinstance(target, discord.TextChannel):
        kind = (
            "a forum post is its own thread"
            if isinstance(target, discord.ForumChannel)
            else (f"{where} is a thread already")
        )
        raise DestinationRefused(
            f"`discussion_thread` opens a thread on each announcement, but {kind}."
        )
    if isinstance(target, discord.ForumChannel):
        tag_ids = forum_tag_ids(target, tags)
        named = ", ".join(safe(t.name) for t in target.available_tags if t.id in tag_ids)
        return DestinationChoice(
            "forum",
            forum_tag_ids=tag_ids,
            moderated_tags=any(t.moderated for t in target.available_tags if t.id in tag_ids),
            notes=(
                f"Each entry is a post of its own in {where}"
                + (f", tagged {named}." if named else "."),
            ),
        )
    if isinstance(target, discord.Thread):
        notes = [f"Announcements are posted in the thread {where}."]
        if target.archived:
            notes.append(
                f"{where} is archived: Discord reopens it when the next announcement is sent"
                + (
                    " (it is locked: I may reopen it because I have Manage Threads)."
                    if target.locked
                    else "."
                )
            )
        return DestinationChoice("thread", notes=tuple(notes))
    notes = []
    if publish:
        notes.append(
            "Each announcement is published to the servers following this channel. Discord "
            "allows 10 publishes an hour here: past that, announcements are posted at once and "
            "published when the hour allows (`/subscriptions` shows how many wait)."
        )
    if discussion_thread:
        notes.append("A discussion thread, named after the entry, is opened on each announcement.")
    return DestinationChoice(
        "channel",
        publish=bool(publish),
        discussion_thread=bool(discussion_thread),
        notes=tuple(notes),
    )


def forum_tag_ids(forum: discord.ForumChannel, tags: str | None) -> tuple[int, ...]:
    """The ids of the comma-separated tag names `tags` (case-insensitive) among the forum's
    tags; refused naming a tag it does not offer, more than 5, or none where one is required."""
    offered = {tag.name.casefold(): tag for tag in forum.available_tags}
    names = tag_names(tags or "", offered)
    chosen: list[int] = []
    for name in names:
        tag = offered.get(name.casefold())
        if tag is None:
            listed = ", ".join(safe(t.name) for t in forum.available_tags) or "none"
            raise DestinationRefused(
                f"<#{forum.id}> has no tag “{safe(name)[:100]}” (its tags: {listed})."
            )
        if tag.id not in chosen:
            chosen.append(tag.id)
    if len(chosen) > MAX_TAGS:
        raise DestinationRefused(
            f"A post takes at most {MAX_TAGS} tags; `tags` names {len(chosen)}."
        )
    if not chosen and forum.flags.require_tag:
        listed = ", ".join(safe(t.name) for t in forum.available_tags) or "none"
        raise DestinationRefused(
            f"<#{forum.id}> requires a tag on each post: choose at least one with `tags` "
            f"(its tags: {listed})."
        )
    return tuple(chosen)


def tag_names(typed: str, offered: Collection[str]) -> list[str]:
    """The tag names in a comma-separated list, a name with commas of its own (Discord allows
    them: "Q&A, help") kept whole when the forum offers it: the longest run of pieces that is an
    offered name (casefolded) wins, else one piece. A run is not tried past the longest name
    offered, so the work grows with the text typed, never with its square."""
    longest = max((len(name) for name in offered), default=0)
    pieces = typed.split(",")
    names: list[str] = []
    start = 0
    while start < len(pieces):
        end = start + 1
        for stop in range(start + 1, len(pieces) + 1):
            run = ",".join(pieces[start:stop]).strip()
            if len(run) > longest:
                break  # longer runs are longer still: none can be a name
            if run.casefold() in offered:
                end = stop
        name = ",".join(pieces[start:end]).strip()
        if name:
            names.append(name)
        start = end
    return names


def tag_choices(
    interaction: discord.Interaction[CorpusBot], current: str
) -> list[app_commands.Choice[str]]:
    """Autocomplete for `tags`: the tags of the forum chosen in `channel` that match the last
    comma-separated name typed, each choice completing the list typed so far."""
    chosen = getattr(interaction.namespace, "channel", None)
    guild = interaction.guild
    forum = guild.get_channel(chosen.id) if guild is not None and chosen is not None else None
    if not isinstance(forum, discord.ForumChannel):
        return []
    offered = {tag.name.casefold() for tag in forum.available_tags}
    pieces = current.split(",")
    # What is being typed: the longest tail of pieces found in a tag's name (a name may have
    # commas of its own), else the last piece; the names before it are done. A tail found in a
    # name has its shorter tails found too, so the search walks back from the end and stops.
    longest = max((len(name) for name in offered), default=0)
    cut = len(pieces) - 1
    for start in range(len(pieces) - 2, -1, -1):
        tail = ",".join(pieces[start:]).strip().casefold()
        if len(tail) > longest or not any(tail in name for name in offered):
            break
        cut = start
    typed = ",".join(pieces[cut:])
    kept = tag_names(",".join(pieces[:cut]), offered)
    prefix = ", ".join(kept)
    folded = {name.casefold() for name in kept}
    out: list[app_commands.Choice[str]] = []
    for tag in forum.available_tags:
        if tag.name.casefold() in folded or typed.strip().casefold() not in tag.name.casefold():
            continue
        value = f"{prefix}, {tag.name}" if prefix else tag.name
        if len(value) <= TAGS_CHARS:
            out.append(app_commands.Choice(name=value, value=value))
    return out[:CHOICES]


def destination_field(embed: discord.Embed, choice: DestinationChoice) -> discord.Embed:
    """The /subscribe confirmation with how announcements go there (one field, bounded)."""
    if choice.notes:
        text = "\n".join(choice.notes)
        embed.add_field(name="Where", value=text[:1024], inline=False)
    return embed
