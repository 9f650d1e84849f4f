"""The feed's commands: `/subscribe`, `/unsubscribe`, `/subscriptions`,
`/feed status|sources|export|preview|retry`, and `/feed add|remove|import` (admins: sources feed the
shared corpus, so they take the same check as /reload).

Each command parses its options, checks who may do it in Discord (`checks`), calls one
`FeedService` method and renders the answer (`bot.discord_app.feed_render`). The cog decides
nothing about what is announced; its loops (`loops.FeedLoops`) run the service's passes.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.corpus.models import ReloadReport
from bot.discord_app.checks import (
    bot_admin_only,
    feed_manager_refusal,
    mention_role_refusal,
)
from bot.discord_app.exts._base import (
    SERVER_CONTEXTS_ONLY,
    SERVER_INSTALL_ONLY,
    server_only,
    to_choices,
)
from bot.discord_app.exts.feed.add_view import AddFeedView
from bot.discord_app.exts.feed.checks import (
    channel_manager_only,
    missing_post_permissions,
    retry_refusal,
)
from bot.discord_app.exts.feed.deliverer import DiscordDeliverer
from bot.discord_app.exts.feed.destinations import (
    AnnouncementTarget,
    DestinationRefused,
    TargetOption,
    choose_destination,
    destination_field,
    tag_choices,
)
from bot.discord_app.exts.feed.filters_cog import (
    FeedFilterCommands,
    filter_group,
    send_preview,
)
from bot.discord_app.exts.feed.import_command import import_feeds
from bot.discord_app.exts.feed.loops import FeedLoops
from bot.discord_app.feed_render import (
    discovery_embed,
    preview_note,
    status_embed,
    subscribed_embed,
    subscriptions_pages,
)
from bot.discord_app.limits import CHOICES, clip, fit_content, inline_code, safe
from bot.discord_app.views import Paginator
from bot.feeds.discovery import FeedCandidate
from bot.feeds.service import (
    AddedSource,
    FeedService,
    ResumeReport,
    SourceCheck,
    SourceRefused,
    SubscriptionRefused,
)

if TYPE_CHECKING:
    from bot.discord_app.client import CorpusBot


OPML_FILENAME = "corpus-bot-feeds.opml"


class Feed(FeedFilterCommands):
    feed_group = app_commands.Group(
        name="feed",
        description="The feed of new entries: status, sources, preview, retry (Manage Channels).",
        guild_only=True,
        allowed_installs=SERVER_INSTALL_ONLY,
        allowed_contexts=SERVER_CONTEXTS_ONLY,
        default_permissions=discord.Permissions(manage_channels=True),
    )
    feed_group.add_command(filter_group)  # /feed filter add|remove|list|match (filters_cog.py)
    feed_group.add_command(FeedFilterCommands.format_command)  # /feed format

    def __init__(self, bot: CorpusBot) -> None:
        self.bot = bot
        self.feed = FeedService(
            bot.service, bot.config.feed, DiscordDeliverer(bot), database=bot.feed_database
        )
        self.loops = FeedLoops(bot, self.feed, bot.feed_lease)

    async def cog_load(self) -> None:
        await self.feed.open()
        self.loops.start(self.bot.config.feed.interval_seconds)

    async def cog_unload(self) -> None:
        await self.loops.stop()
        await self.feed.close()

    @commands.Cog.listener()
    async def on_corpus_reloaded(self, report: ReloadReport) -> None:
        await self.loops.corpus_reloaded()

    @commands.Cog.listener()
    async def on_corpus_changed(self) -> None:
        """Documents another process published were pulled into this process's replica
        (`storage: postgres`): the lease holder announces what is new, so an entry is
        announced once whichever process ran /reload."""
        await self.loops.corpus_reloaded()

    # --- commands ----------------------------------------------------------------------------

    async def source_choices(
        self, interaction: discord.Interaction[CorpusBot], current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.strip().lower()
        return [
            app_commands.Choice(name=n, value=n) for n in self.feed.source_names() if typed in n
        ][:CHOICES]

    async def _tag_choices(
        self, interaction: discord.Interaction[CorpusBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return tag_choices(interaction, current)

    @app_commands.command(
        name="subscribe", description="Announce new entries in a channel (Manage Channels)."
    )
    @server_only()
    @app_commands.default_permissions(manage_channels=True)
    @app_commands.describe(
        channel="Where to announce (default: this channel)",
        author="Only entries by this author",
        keyword="Only entries whose title or text has this word or phrase",
        source="Only entries from this source (the corpus folder or one feed)",
        mention_role="A role to mention with each announcement (never @everyone)",
        mode="Announce each entry at once, or once a day in a digest",
        digest_time="Digest time, HH:MM in UTC (default 09:00)",
        tags="Forum or media channels: the tags of each post, comma-separated",
        publish="Announcement channels: publish each announcement to the servers following it",
        discussion_thread="Open a thread on each announcement to discuss it",
    )
    @app_commands.choices(
        mode=[
            app_commands.Choice(name="instant", value="instant"),
            app_commands.Choice(name="daily digest", value="digest"),
        ]
    )
    @app_commands.autocomplete(source=source_choices, tags=_tag_choices)
    async def subscribe(
        self,
        interaction: discord.Interaction[CorpusBot],
        channel: TargetOption | None = None,
        author: app_commands.Range[str, 1, 100] | None = None,
        keyword: app_commands.Range[str, 1, 100] | None = None,
        source: app_commands.Range[str, 1, 40] | None = None,
        mention_role: discord.Role | None = None,
        mode: app_commands.Choice[str] | None = None,
        digest_time: app_commands.Range[str, 1, 20] | None = None,
        tags: app_commands.Range[str, 1, 200] | None = None,
        publish: bool | None = None,
        discussion_thread: bool | None = None,
    ) -> None:
        guild = interaction.guild
        if guild is None:  # guild_only tells Discord where to offer it; a DM may still arrive
            raise app_commands.NoPrivateMessage()
        target = channel or interaction.channel
        if not isinstance(target, AnnouncementTarget):
            await self._refuse(
                interaction,
                "Name a text, announcement, forum or media channel, or a thread, to announce in.",
            )
            return
        refusal = feed_manager_refusal(interaction, target)
        if refusal is None and mention_role is not None:
            refusal = mention_role_refusal(interaction, mention_role, target)
        if refusal is not None:
            await self._refuse(interaction, refusal)
            return
        try:
            schedule = self.feed.subscription_options(
                mode.value if mode else None, digest_time, source
            )
        except SubscriptionRefused as refused:
            await self._refuse(interaction, refused.text(safe))
            return
        try:
            where = choose_destination(target, tags, publish, discussion_thread)
        except DestinationRefused as refused:
            await self._refuse(interaction, str(refused))
            return
        me = guild.me
        missing = (
            missing_post_permissions(
                target,
                me,
                discussion_thread=where.discussion_thread,
                moderated_tags=where.moderated_tags,
            )
            if me is not None
            else []
        )
        if missing:
            await self._refuse(
                interaction,
                f"I can't announce in {target.mention}: I'm missing {', '.join(missing)} there. "
                "Give me those permissions in that channel and run `/subscribe` again.",
            )
            return
        notes = []
        if (
            mention_role is not None
            and not mention_role.mentionable
            and me is not None
            and not me.guild_permissions.mention_everyone
        ):
            notes.append(
                f"{mention_role.mention} is not mentionable and I can't mention all roles, so it won't be pinged."
            )
        sub, created = await self.feed.subscribe(
            guild_id=guild.id,
            channel_id=target.id,
            source=source,
            author=author,
            keyword=keyword,
            mention_role_id=mention_role.id if mention_role else None,
            schedule=schedule,
            created_by=interaction.user.id,
        )
        sub = await self.feed.set_destination(
            sub.id,
            destination=where.destination,
            forum_tag_ids=where.forum_tag_ids,
            publish=where.publish,
            discussion_thread=where.discussion_thread,
        )
        await interaction.response.send_message(
            embed=destination_field(subscribed_embed(sub, created=created, notes=notes), where),
            ephemeral=True,
        )

    @app_commands.command(
        name="unsubscribe",
        description="Stop announcing new entries in a channel (Manage Channels).",
    )
    @server_only()
    @app_commands.default_permissions(manage_channels=True)
    @app_commands.describe(channel="The channel to stop (default: this channel)")
    async def unsubscribe(
        self,
        interaction: discord.Interaction[CorpusBot],
        channel: TargetOption | None = None,
    ) -> None:
        target = channel or interaction.channel
        if not isinstance(target, discord.abc.GuildChannel | discord.Thread):
            await self._refuse(interaction, "Name a channel of this server.")
            return
        refusal = feed_manager_refusal(interaction, target)
        if refusal is not None:
            await self._refuse(interaction, refusal)
            return
        dropped = None
        if interaction.guild is not None:
            dropped = await self.feed.unsubscribe(interaction.guild.id, target.id)
        if dropped is None:
            await self._refuse(interaction, f"<#{target.id}> has no feed subscription.")
            return
        await interaction.response.send_message(
            f"<#{dropped.channel_id}> no longer gets announcements; waiting ones were dropped.",
            ephemeral=True,
        )

    @app_commands.command(
        name="subscriptions", description="This server's feed subscriptions and their health."
    )
    @server_only()
    @app_commands.default_permissions(manage_channels=True)
    @channel_manager_only()
    async def subscriptions(self, interaction: discord.Interaction[CorpusBot]) -> None:
        assert interaction.guild is not None
        healths = await self.feed.subscriptions(interaction.guild.id)
        await Paginator.send(
            interaction, subscriptions_pages(healths, self.feed.clock()), ephemeral=True
        )

    @feed_group.command(
        name="status",
        description="Each source's last check, last new item, errors and next attempt.",
    )
    @channel_manager_only()
    async def status(self, interaction: discord.Interaction[CorpusBot]) -> None:
        await self._send_status(interaction)

    async def _send_status(self, interaction: discord.Interaction[CorpusBot]) -> None:
        status = await self.feed.status()
        embed = status_embed(
            status.states,
            self.bot.config.feed,
            status.outbox,
            status.now,
            status.refused,
            status.sources or None,  # none stored (not loaded): the config's
            loops=await self.loops.holder(),
        )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @feed_group.command(
        name="sources", description="Every source followed, with its health (as /feed status)."
    )
    async def sources(self, interaction: discord.Interaction[CorpusBot]) -> None:
        await self._send_status(interaction)

    @feed_group.command(name="export", description="Every feed followed, as an OPML file.")
    async def export(self, interaction: discord.Interaction[CorpusBot]) -> None:
        data = await self.feed.export_opml()
        await interaction.response.send_message(
            "The feeds followed, as OPML (feed readers import it).",
            file=discord.File(io.BytesIO(data), filename=OPML_FILENAME),
            ephemeral=True,
        )

    @feed_group.command(
        name="add", description="Follow a feed: a feed URL or a site's URL (bot admins)."
    )
    @bot_admin_only()
    @app_commands.describe(
        url="A feed's URL, or a site's: its feeds are looked for",
        name="A short name for it (default: from its title)",
    )
    async def add(
        self,
        interaction: discord.Interaction[CorpusBot],
        url: app_commands.Range[str, 1, 2048],
        name: app_commands.Range[str, 1, 32] | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        discovery = await self.feed.discover(url)
        embed = discovery_embed(discovery)
        if not discovery.candidates:
            await interaction.followup.send(embed=embed, ephemeral=True)
            return

        async def add_one(pressed: discord.Interaction[CorpusBot], chosen: FeedCandidate) -> str:
            try:
                added = await self.feed.add_source(
                    chosen.url, name=name, title=chosen.title, added_by=f"discord:{pressed.user.id}"
                )
            except SourceRefused as refused:
                return refused.text(inline_code)
            return _added_text(added)

        view = AddFeedView(discovery.candidates, owner_id=interaction.user.id, add=add_one)
        view.message = await interaction.followup.send(
            embed=embed, view=view, ephemeral=True, wait=True
        )

    @feed_group.command(
        name="import", description="Follow every feed an OPML file lists (bot admins)."
    )
    @bot_admin_only()
    @app_commands.describe(
        file="An OPML file, as feed readers and /feed export give (1 MB at most)"
    )
    async def import_file(
        self, interaction: discord.Interaction[CorpusBot], file: discord.Attachment
    ) -> None:
        await import_feeds(interaction, self.feed, file)

    @feed_group.command(name="remove", description="Stop following a feed (bot admins).")
    @bot_admin_only()
    @app_commands.describe(source="The feed to stop following")
    @app_commands.autocomplete(source=source_choices)
    async def remove(
        self,
        interaction: discord.Interaction[CorpusBot],
        source: app_commands.Range[str, 1, 40],
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)  # waits for a poll pass
        try:
            removed = await self.feed.remove_source(source)
        except SourceRefused as refused:
            await interaction.followup.send(fit_content(refused.text(inline_code)), ephemeral=True)
            return
        await interaction.followup.send(
            fit_content(
                f"Stopped following {inline_code(removed.name)}. Subscriptions limited to it "
                "stay, and announce nothing unless a feed of that name is added again."
            ),
            ephemeral=True,
        )

    @feed_group.command(
        name="preview",
        description="The next announcement as it will look, and what the filters drop (only you).",
    )
    @channel_manager_only()
    @app_commands.describe(
        post="An entry to preview (default: the next waiting one, else the newest wanted)",
        channel="The subscription to preview (default: this channel's)",
    )
    async def preview(
        self,
        interaction: discord.Interaction[CorpusBot],
        post: app_commands.Range[str, 1, 300] | None = None,
        channel: TargetOption | None = None,
    ) -> None:
        refusal = feed_manager_refusal(interaction, channel) if channel else None
        if refusal is not None:
            await self._refuse(interaction, refusal)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        target = channel.id if channel else interaction.channel_id or 0
        shown = await self.feed.preview(post, target)
        await interaction.followup.send(preview_note(shown), ephemeral=True)
        await send_preview(interaction, shown)

    @preview.autocomplete("post")
    async def _post_choices(
        self, interaction: discord.Interaction[CorpusBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return to_choices(await self.feed.post_choices(current))

    @feed_group.command(
        name="retry", description="Resume a paused subscription, or check a source now."
    )
    @app_commands.describe(
        channel="Resume this channel's subscription",
        source="Check this source now (the corpus folder or a feed)",
    )
    @app_commands.autocomplete(source=source_choices)
    async def retry(
        self,
        interaction: discord.Interaction[CorpusBot],
        channel: TargetOption | None = None,
        source: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        guild = interaction.guild
        if guild is None:
            raise app_commands.NoPrivateMessage()
        refusal = retry_refusal(
            interaction, channel, source, self.bot.config.discord.admin_user_ids
        )
        if refusal is not None:
            await self._refuse(interaction, refusal)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        lines: list[str] = []
        if source is not None:
            lines.append(_checked_text(await self.feed.check_source(source)))
        if channel is not None or source is None:

            def may_manage(channel_id: int) -> bool:
                target = guild.get_channel_or_thread(channel_id)
                return target is None or feed_manager_refusal(interaction, target) is None

            report = await self.feed.resume(guild.id, channel.id if channel else None, may_manage)
            lines.extend(_resumed_lines(report, guild, channel))
        self.loops.request_send()
        await interaction.followup.send(fit_content("\n".join(lines)), ephemeral=True)

    async def _refuse(self, interaction: discord.Interaction[CorpusBot], text: str) -> None:
        await interaction.response.send_message(fit_content(text), ephemeral=True)


def _added_text(added: AddedSource) -> str:
    """What a press of Add did: the name the feed is followed by, and its first fetch."""
    name = inline_code(added.source.name)
    report = added.poll
    if report is not None and report.outcome == "error":
        return (
            f"Following it as {name}, but its first fetch failed: "
            f"{clip(safe(report.error or ''), 500)} It is retried with back-off; "
            "`/feed status` shows how it goes."
        )
    return (
        f"Following it as {name}. What it holds now is recorded, not announced; new items are "
        "announced to subscribed channels from now on."
    )


def _checked_text(check: SourceCheck) -> str:
    """One line for a source checked by `/feed retry source:`."""
    if check.corpus is not None:
        return f"Checked the corpus folder: {check.corpus.new_count} new, {check.corpus.changed_count} changed."
    report = check.poll
    if report is None:
        return f"There is no source “{safe(check.name)}”; `/feed status` lists them."
    if report.outcome == "error":
        return f"Checked {check.name}: it failed again: {clip(safe(report.error or ''), 500)}"
    return (
        f"Checked {check.name}: {report.outcome.replace('_', ' ')}, {len(report.new_entries)} new."
    )


def _resumed_lines(
    report: ResumeReport, guild: discord.Guild, channel: AnnouncementTarget | None
) -> list[str]:
    """What `/feed retry` resumed, one line each, with what still stands in a channel's way."""
    if report.no_subscription and channel is not None:
        return [f"{channel.mention} has no feed subscription."]
    lines = [f"<#{sub.channel_id}> is not paused." for sub in report.not_paused]
    for health in report.resumed:
        sub = health.subscription
        target = guild.get_channel_or_thread(sub.channel_id)
        missing = (
            missing_post_permissions(target, guild.me) if target is not None and guild.me else []
        )
        again = (
            f" ({health.rejected} refused by Discord will be tried again)"
            if health.rejected
            else ""
        )
        if target is None:
            lines.append(
                f"Resumed <#{sub.channel_id}>, but I can't see that channel; it will pause again if it is gone."
            )
        elif missing:
            lines.append(
                f"Resumed {target.mention}, but I'm still missing {', '.join(missing)} there."
            )
        else:
            lines.append(
                f"Resumed {target.mention}; waiting announcements are on their way{again}."
            )
    if report.not_yours:
        n = report.not_yours
        lines.append(
            f"{n} paused subscription{'s are' if n > 1 else ' is'} in channels you can't manage; left as they are."
        )
    return lines or ["No subscription here is paused."]
