"""The feed end to end: the real bot against the Discord emulator and a loopback feed server.

A moderator subscribes channels with slash commands; feed items and corpus files appear; the
tests assert what lands in each channel: exactly one announcement per entry and channel, across
bot restarts, a bot killed mid fan-out, refusals by Discord, edits and daily digests. Nothing
waits on the wall clock: the tests drive the cog's passes directly (the loops call the same
methods) and wait on the emulator's events; digests use an injected clock.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.config import Config, DiscordConfig, FeedConfig, FeedSourceConfig
from bot.corpus.service import CorpusService, ServiceSettings
from bot.discord_app.client import CorpusBot
from bot.discord_app.exts import EXTENSIONS
from bot.discord_app.exts.feed import Feed
from bot.feeds.delivery import DEFAULT_CONCURRENCY
from bot.feeds.entries import entry_id
from discord_emulator import DiscordEmulator
from tests.conftest import write_doc
from tests.discord_app.conftest import running_bot
from tests.discord_app.test_commands import embeds, ephemeral, text_of
from tests.feeds.feed_world import (
    T0,
    FeedServer,
    Item,
    SimulatedCrash,
    medium_rss,
    running_feed_server,
)

MANAGE_CHANNELS = discord.Permissions(manage_channels=True).value
ADA = "/ada.xml"
BASE = [Item("a1", "Why Corpora Need Curators"), Item("a2", "Indexing, Briefly")]
FRESH = Item(
    "a3", "Seen-Sets Beat Dates", html="<p>Dates lie about order. Keys never do. Use keys.</p>"
)
FRESH_ID = entry_id("ada", "https://medium.com/p/a3")


@dataclass
class FeedWorld:
    emu: DiscordEmulator
    feeds: FeedServer
    settings: ServiceSettings
    config: Config
    corpus_dir: Path
    guild_id: int
    general_id: int
    news_id: int
    moderator_id: int
    member_id: int
    role_id: int
    bot: CorpusBot | None = None
    service: CorpusService | None = None
    _run: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    async def start(self) -> CorpusBot:
        """Start as the launcher does: open the index, reload the corpus, run the bot."""
        self._run = contextlib.AsyncExitStack()
        service = await CorpusService.open(self.settings)
        self._run.push_async_callback(service.close)
        await service.reload()
        self.service = service
        try:
            self.bot = await self._run.enter_async_context(
                running_bot(self.emu, self.config, service, extensions=EXTENSIONS)
            )
            await (
                self.cog.loops.poll_once()
            )  # the first pass (the loop may run it too: the lock serializes)
        except BaseException:
            await self.stop()
            raise
        return self.bot

    async def stop(self) -> None:
        await self._run.aclose()
        self.bot = self.service = None

    @property
    def cog(self) -> Feed:
        # Not isinstance: load_extension executes the module afresh, so its class is another object.
        assert self.bot is not None
        cog = self.bot.get_cog("Feed")
        assert cog is not None and type(cog).__name__ == "Feed"
        return cog  # type: ignore[return-value]

    async def reply(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user: int | None = None,
        channel: int | None = None,
    ) -> dict[str, Any]:
        handle = await self.emu.send_command(
            name,
            options or {},
            user=user or self.moderator_id,
            guild=self.guild_id,
            channel=channel or self.general_id,
        )
        return await handle.wait_reply(timeout=10)

    async def preview(
        self, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """`/feed preview`'s two ephemeral messages: the note, then the announcement as sent."""
        handle = await self.emu.send_command(
            "feed preview",
            options or {},
            user=self.moderator_id,
            guild=self.guild_id,
            channel=self.general_id,
        )
        await handle.wait_reply(timeout=10)
        await self.emu.wait_for(lambda: len(handle.messages) >= 2, 10, describe="the preview")
        note, shown = handle.messages
        return note, shown

    def announcements(self, channel_id: int) -> list[dict[str, Any]]:
        """Messages the bot posted in a channel on its own (announcements carry a nonce)."""
        return [
            m
            for m in self.emu.channel_messages(channel_id, include_ephemeral=False)
            if m["author"]["id"] == str(self.emu.bot_user_id) and m.get("nonce") is not None
        ]

    async def wait_announced(self, counts: dict[int, int], within: float = 10.0) -> None:
        """Wait until each channel holds at least its count, then flush the sender once more so
        that any extra (duplicate) post would show up before the test counts exactly."""
        await self.emu.wait_for(
            lambda: all(len(self.announcements(c)) >= n for c, n in counts.items()),
            within,
            describe=f"announcements {counts}",
        )
        await self.cog.loops.send_once()

    def publish(self, *items: Item) -> None:
        self.feeds.serve(ADA, medium_rss([*items, *BASE]))


@pytest.fixture
async def fw(tmp_path: Path, corpus_dir: Path) -> AsyncIterator[FeedWorld]:
    async with running_feed_server() as feeds, DiscordEmulator() as emu:
        feeds.serve(ADA, medium_rss(BASE))
        guild = emu.add_guild("AI governance")
        general = emu.add_channel(guild.id, "general")
        news = emu.add_channel(guild.id, "news")
        mods = emu.add_role(guild.id, "channel-mods", permissions=MANAGE_CHANNELS)
        readers = emu.add_role(guild.id, "readers", mentionable=True)
        moderator, member = emu.add_user("mod"), emu.add_user("member")
        emu.add_member(guild.id, moderator.id, roles=[mods.id])
        emu.add_member(guild.id, member.id)
        settings = ServiceSettings(db_path=tmp_path / "data" / "corpus.db", corpus_dir=corpus_dir)
        config = Config(
            corpus_dir=corpus_dir,
            data_dir=tmp_path / "data",
            # the server's owner is also the bot's admin (who may follow feeds for every server)
            discord=replace(
                DiscordConfig(),
                token=emu.bot_token,
                cooldown_seconds=60.0,
                admin_user_ids=(guild.owner_id,),
            ),
            feed=FeedConfig(
                interval_seconds=3600,
                timeout_seconds=5.0,
                max_announcements_per_cycle=3,
                sources=(FeedSourceConfig("ada", feeds.url(ADA)),),
            ),
        )
        world = FeedWorld(
            emu,
            feeds,
            settings,
            config,
            corpus_dir,
            guild.id,
            general.id,
            news.id,
            moderator.id,
            member.id,
            readers.id,
        )
        try:
            await world.start()
            yield world
        finally:
            if world.bot is not None:
                await world.stop()
        assert emu.validation_errors == [], emu.validation_errors
        assert all(
            not p.everyone and not p.users and set(p.roles) <= {readers.id} for p in emu.pings
        ), emu.pings


async def test_subscribe_then_one_announcement_per_channel_mentioning_only_the_role(
    fw: FeedWorld,
) -> None:
    first = await fw.reply("subscribe")
    second = await fw.reply("subscribe", {"channel": fw.news_id, "mention_role": fw.role_id})
    assert (
        ephemeral(first)
        and "Subscribed" in text_of(first)
        and "Nothing published before now" in text_of(first)
    )
    assert f"<@&{fw.role_id}>" in text_of(second)

    fw.publish(FRESH)
    await fw.cog.loops.poll_once()
    await fw.wait_announced({fw.general_id: 1, fw.news_id: 1})

    for channel in (fw.general_id, fw.news_id):
        (message,) = fw.announcements(channel)
        (embed,) = embeds(message)
        assert embed["title"] == "Seen-Sets Beat Dates"
        assert embed["url"] == "https://medium.com/@ada/a3"
        summary = embed["description"]  # two sentences of the text, verbatim
        assert summary.count(".") == 2 and all(
            s.strip() + "." in "Dates lie about order. Keys never do. Use keys."
            for s in summary.split(".")
            if s.strip()
        )
        assert "<t:" in text_of(message) and "Ada Example" in text_of(message)
        assert FRESH_ID in embed["footer"]["text"]
    general_message, news_message = (
        fw.announcements(fw.general_id)[0],
        fw.announcements(fw.news_id)[0],
    )
    assert general_message["content"] == "" and news_message["content"] == f"<@&{fw.role_id}>"
    mentions = dict(fw.emu.allowed_mentions_log)
    news_allowed = mentions[int(news_message["id"])]
    assert (
        news_allowed is not None
        and news_allowed.get("parse") == []
        and news_allowed.get("roles") in ([fw.role_id], [str(fw.role_id)])
    )
    assert [(p.channel_id, p.roles) for p in fw.emu.pings] == [(fw.news_id, [fw.role_id])]
    assert fw.feeds.hits(ADA).count(304) >= 1


async def test_the_first_subscription_announces_nothing_old(fw: FeedWorld) -> None:
    write_doc(
        fw.corpus_dir,
        "12-old.md",
        front="id: old-but-unseen\ntitle: Old\nauthors: []\nkind: post\nexcerpt: false",
    )
    await fw.cog.loops.poll_once()  # detected before anyone subscribed
    await fw.reply("subscribe")
    await fw.cog.loops.poll_once()
    await fw.cog.loops.send_once()
    assert fw.announcements(fw.general_id) == []


async def test_reload_announces_a_new_corpus_file_and_feed_entries_survive_it(
    fw: FeedWorld,
) -> None:
    await fw.reply("subscribe")
    fw.publish(FRESH)
    await fw.cog.loops.poll_once(reload_corpus=False)
    await fw.wait_announced({fw.general_id: 1})
    write_doc(
        fw.corpus_dir,
        "12-zebras.md",
        front="id: zebra-post\ntitle: Zebras and Stripes\n"
        "authors: [Zed Writer]\nkind: post\nexcerpt: false",
        body="Zebras have stripes. Nobody knows why.",
    )

    reload_reply = await fw.reply("reload", user=fw.emu.state.guilds[fw.guild_id].owner_id)
    assert "1 added" in text_of(reload_reply)
    await fw.wait_announced({fw.general_id: 2})

    assert [embeds(m)[0]["title"] for m in fw.announcements(fw.general_id)] == [
        "Seen-Sets Beat Dates",
        "Zebras and Stripes",
    ]
    found = await fw.reply("search", {"query": "keys never"})
    assert "Seen-Sets Beat Dates" in text_of(found)
    summary = await fw.reply("summarize", {"post": FRESH_ID})
    assert "Dates lie about order." in text_of(summary)


async def test_restart_between_detection_and_delivery_loses_and_doubles_nothing(
    fw: FeedWorld,
) -> None:
    await fw.reply("subscribe")
    await fw.reply("subscribe", {"channel": fw.news_id})
    fw.cog.loops.send_loop.cancel()  # the bot will die right after detection commits
    fw.publish(FRESH)
    await fw.cog.loops.poll_once()
    assert fw.announcements(fw.general_id) == [] and fw.announcements(fw.news_id) == []
    await fw.stop()

    await fw.start()
    await fw.wait_announced({fw.general_id: 1, fw.news_id: 1})
    assert len(fw.announcements(fw.general_id)) == len(fw.announcements(fw.news_id)) == 1


async def test_killed_mid_fan_out_every_channel_gets_the_entry_exactly_once(fw: FeedWorld) -> None:
    channels = [fw.general_id, fw.news_id] + [
        fw.emu.add_channel(fw.guild_id, f"c{i}").id for i in range(6)
    ]
    for channel in channels:
        await fw.reply("subscribe", {"channel": channel})
    done, held = channels[:4], channels[4:]
    for channel in held:  # Discord makes these wait a minute: the bot is killed while they wait
        fw.emu.inject_error("POST", f"/channels/{channel}/messages", status=429, retry_after=60.0)
    fw.publish(FRESH)
    await fw.cog.loops.poll_once()
    await fw.emu.wait_for(
        lambda: (
            all(len(fw.announcements(c)) == 1 for c in done)
            and len(fw.emu.requests_matching("POST", "/channels/{channel_id}/messages"))
            >= len(channels)
        ),
        10,
        describe="four posts made and four held by a 429",
    )
    fw.cog.loops.send_loop.cancel()  # killed mid fan-out
    await fw.stop()
    assert [len(fw.announcements(c)) for c in channels] == [1, 1, 1, 1, 0, 0, 0, 0]

    await fw.start()
    await fw.wait_announced(dict.fromkeys(channels, 1))
    assert [len(fw.announcements(c)) for c in channels] == [1] * len(channels)


async def test_403_and_404_pause_subscriptions_visibly_and_retry_resumes(fw: FeedWorld) -> None:
    doomed = fw.emu.add_channel(fw.guild_id, "doomed")
    for channel in (fw.general_id, fw.news_id, doomed.id):
        await fw.reply("subscribe", {"channel": channel, "keyword": "keys"})
    fw.emu.deny_bot(fw.news_id, send=True)
    fw.emu.delete_channel(doomed.id)
    fw.publish(FRESH)
    await fw.cog.loops.poll_once()
    await fw.wait_announced({fw.general_id: 1})

    listing = text_of(await fw.reply("subscriptions"))
    assert "2 paused" in listing
    assert "Paused: missing permission" in listing and "Paused: channel missing" in listing
    assert "about “keys”" in listing
    subs = {s.channel_id: s for s in await fw.cog.feed.store.all_subscriptions()}
    assert subs[fw.news_id].paused_reason == "missing_permission"
    assert subs[doomed.id].paused_reason == "channel_missing"
    assert all(subs[c].pause_reported_at is not None for c in (fw.news_id, doomed.id)), (
        "reported once"
    )
    assert subs[fw.news_id].keyword == "keys", "a failure never deletes settings"

    fw.emu.allow_bot(fw.news_id)
    retried = await fw.reply("feed retry", {"channel": fw.news_id})
    assert "Resumed" in text_of(retried)
    await fw.wait_announced({fw.news_id: 1})
    assert len(fw.announcements(fw.news_id)) == 1 and len(fw.announcements(fw.general_id)) == 1


async def test_subscribe_checks_the_bot_can_post_and_embed_and_who_asks(fw: FeedWorld) -> None:
    fw.emu.deny_bot(fw.news_id, embed=True)
    refused = await fw.reply("subscribe", {"channel": fw.news_id})
    assert "Embed Links" in text_of(refused) and ephemeral(refused)
    member = await fw.reply("subscribe", user=fw.member_id)
    assert "Manage Channels" in text_of(member)
    everyone = await fw.reply("subscribe", {"mention_role": fw.guild_id})
    assert "never mention @everyone" in text_of(everyone)
    bad_time = await fw.reply("subscribe", {"mode": "digest", "digest_time": "25:00"})
    assert "HH:MM" in text_of(bad_time)
    assert await fw.cog.feed.store.all_subscriptions() == []


async def test_a_changed_entry_edits_the_announcement_instead_of_posting_again(
    fw: FeedWorld,
) -> None:
    await fw.reply("subscribe")
    fw.publish(FRESH)
    await fw.cog.loops.poll_once()
    await fw.wait_announced({fw.general_id: 1})
    (message,) = fw.announcements(fw.general_id)

    fw.publish(replace(FRESH, title="Seen-Sets Beat Dates, Revised"))
    await fw.cog.loops.poll_once()
    await fw.emu.wait_for(
        lambda: len(fw.emu.message_history(int(message["id"]))) >= 1, 10, describe="the edit"
    )
    await fw.cog.loops.send_once()

    (edited,) = fw.announcements(fw.general_id)
    assert edited["id"] == message["id"]
    assert embeds(fw.emu.message(int(message["id"])))[0]["title"] == "Seen-Sets Beat Dates, Revised"


async def test_downtime_backlog_is_capped_with_a_plus_n_more_message(fw: FeedWorld) -> None:
    await fw.reply("subscribe")
    backlog = [
        Item(f"b{i}", f"Backlog Post {i}", published=datetime(2025, 3, 1, i, tzinfo=UTC))
        for i in range(7)
    ]
    fw.publish(*reversed(backlog))
    await fw.cog.loops.poll_once()
    await fw.wait_announced({fw.general_id: 4})
    titles = [embeds(m)[0]["title"] for m in fw.announcements(fw.general_id)]
    assert titles == ["Backlog Post 0", "Backlog Post 1", "Backlog Post 2", "+4 more new entries"]
    assert "Backlog Post 6" in text_of(fw.announcements(fw.general_id)[-1])


async def test_daily_digest_at_an_injected_clock(fw: FeedWorld) -> None:
    morning = datetime(2025, 3, 5, 8, 0, tzinfo=UTC)
    fw.cog.feed.clock = lambda: morning
    reply = await fw.reply(
        "subscribe", {"mode": "digest", "digest_time": "09:00", "mention_role": fw.role_id}
    )
    assert "daily digest at 09:00 UTC" in text_of(reply)
    fw.publish(FRESH, Item("a4", "Another One"))
    await fw.cog.loops.poll_once()
    await fw.cog.loops.send_once()
    await fw.cog.loops.digest_once()
    assert fw.announcements(fw.general_id) == []

    fw.cog.feed.clock = lambda: morning + timedelta(hours=1)
    await fw.cog.loops.digest_once()
    await fw.wait_announced({fw.general_id: 1})
    await fw.cog.loops.digest_once()
    (digest,) = fw.announcements(fw.general_id)
    assert embeds(digest)[0]["title"] == "Daily digest: 2 new entries"
    assert digest["content"] == f"<@&{fw.role_id}>"
    assert "Seen-Sets Beat Dates" in text_of(digest) and "Another One" in text_of(digest)


async def test_feed_status_preview_and_source_retry(fw: FeedWorld) -> None:
    fw.feeds.fail(ADA, 500)
    report = text_of(await fw.reply("feed retry", {"source": "ada"}))
    assert "failed again" in report and "HTTP 500" in report
    status = text_of(await fw.reply("feed status"))
    assert "corpus folder" in status and "ada ·" in status
    assert "Errors in a row: 1" in status and "HTTP 500" in status and "Next attempt: <t:" in status

    fw.publish(FRESH)
    recovered = text_of(await fw.reply("feed retry", {"source": "ada"}))
    assert "Checked ada: new, 1 new." in recovered
    _note, preview = await fw.preview({"post": FRESH_ID})
    assert ephemeral(preview) and embeds(preview)[0]["title"] == "Seen-Sets Beat Dates"
    assert "Errors in a row: 0" in text_of(await fw.reply("feed status"))


async def test_a_large_fan_out_under_discords_rate_limits_is_steady_not_a_429_storm(
    fw: FeedWorld,
) -> None:
    channels = [fw.emu.add_channel(fw.guild_id, f"many-{i}").id for i in range(80)]
    await fw.emu.wait_for(
        lambda: all(fw.bot and fw.bot.get_channel(c) for c in channels),
        10,
        describe="channels cached",
    )
    for channel in channels:
        await fw.cog.feed.store.subscribe(
            guild_id=fw.guild_id,
            channel_id=channel,
            source=None,
            author=None,
            keyword=None,
            mention_role_id=None,
            mode="instant",
            digest_minute=None,
            created_by=fw.moderator_id,
            now=fw.cog.feed.clock(),
        )
    limits = fw.emu.enable_rate_limits(global_limit=40, global_window=0.5)
    fw.publish(FRESH, Item("a4", "Another One"))
    await fw.cog.loops.poll_once()
    await fw.wait_announced(dict.fromkeys(channels, 2), within=60)
    assert [len(fw.announcements(c)) for c in channels] == [2] * len(channels)
    # A few requests in flight at a time: once the global window is full, at most that many meet a
    # 429 before discord.py holds everything until the window reopens (160 posts span 4 windows).
    windows = -(-2 * len(channels) // 40)
    assert limits.rate_limited_count <= DEFAULT_CONCURRENCY * windows


async def test_unsubscribe_stops_announcements_and_the_listing_says_so(fw: FeedWorld) -> None:
    await fw.reply("subscribe")
    gone = await fw.reply("unsubscribe")
    assert "no longer gets announcements" in text_of(gone)
    assert "has no feed subscription" in text_of(await fw.reply("unsubscribe"))
    assert "No feed subscriptions here" in text_of(await fw.reply("subscriptions"))
    fw.publish(FRESH)
    await fw.cog.loops.poll_once()
    await fw.cog.loops.send_once()
    assert fw.announcements(fw.general_id) == []


async def test_the_loops_survive_a_failing_pass_and_a_gateway_reconnect(fw: FeedWorld) -> None:
    await fw.reply("subscribe")
    sender = fw.cog.feed.engine.sender
    real_pass = sender.send_pass
    failures: list[str] = []

    async def failing_once(now: datetime) -> Any:
        if not failures:
            failures.append("boom")
            raise RuntimeError("a bug in one pass")
        return await real_pass(now)

    sender.send_pass = failing_once  # type: ignore[method-assign]
    fw.publish(FRESH)
    await fw.cog.loops.poll_once()  # wakes the send loop: its pass raises
    await fw.emu.wait_for(lambda: failures == ["boom"], 10, describe="the failing pass")
    await fw.emu.disconnect_gateway(resume=True)
    assert (
        fw.cog.loops.send_loop.is_running()
        and fw.cog.loops.poll_loop.is_running()
        and fw.cog.loops.digest_loop.is_running()
    )

    fw.cog.loops.request_send()
    await fw.wait_announced({fw.general_id: 1})
    assert len(fw.announcements(fw.general_id)) == 1


async def test_a_message_discord_refuses_is_set_aside_and_later_ones_are_delivered(
    fw: FeedWorld,
) -> None:
    mod_log = fw.emu.add_channel(fw.guild_id, "mod-log")
    fw.emu.set_system_channel(fw.guild_id, mod_log.id)
    await fw.emu.wait_for(
        lambda: (g := fw.bot.get_guild(fw.guild_id)) is not None and g.system_channel is not None
    )
    await fw.reply("subscribe", {"channel": fw.news_id})
    # Discord refuses the first post (an over-long link, as Discord words it), and only that one.
    url_error = {
        "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2048 or fewer in length."}]
    }
    fw.emu.inject_error(
        "POST",
        f"/channels/{fw.news_id}/messages",
        status=400,
        code=50035,
        message="Invalid Form Body",
        errors={"embeds": {"0": {"url": url_error}}},
        times=1,
    )
    fw.publish(Item("a4", "Another One", published=T0 + timedelta(hours=1)), FRESH)
    await fw.cog.loops.poll_once()
    await fw.wait_announced({fw.news_id: 1})

    (delivered,) = fw.announcements(fw.news_id)
    assert embeds(delivered)[0]["title"] == "Another One", (
        "the entry behind the refused one is not held up"
    )
    sub = await fw.cog.feed.store.subscription_for_channel(fw.news_id)
    assert sub is not None and not sub.paused and sub.retry_at is None
    reason = "Invalid Form Body (embeds.0.url: Must be 2048 or fewer in length.)"
    listing = text_of(await fw.reply("subscriptions"))
    assert f"1 announcement refused by Discord: {reason}" in listing and "Paused" not in listing
    status = text_of(await fw.reply("feed status"))
    assert f"1 announcement refused by Discord: {reason}" in status

    fw.publish(
        Item("a5", "A Third One", published=T0 + timedelta(hours=2)),
        Item("a4", "Another One"),
        FRESH,
    )
    await fw.cog.loops.poll_once()
    await fw.wait_announced({fw.news_id: 2})
    assert [embeds(m)[0]["title"] for m in fw.announcements(fw.news_id)] == [
        "Another One",
        "A Third One",
    ]
    assert fw.emu.channel_messages(mod_log.id, include_ephemeral=False) == [], (
        "nothing is paused, nothing to report"
    )

    # Once the cause is fixed, /feed retry gives the refused announcement one more try.
    retried = text_of(await fw.reply("feed retry", {"channel": fw.news_id}))
    assert "1 refused by Discord will be tried again" in retried
    await fw.wait_announced({fw.news_id: 3})
    assert embeds(fw.announcements(fw.news_id)[-1])[0]["title"] == "Seen-Sets Beat Dates"
    assert "refused by Discord" not in text_of(await fw.reply("subscriptions"))


async def test_about_lists_every_command_the_bot_has_feed_commands_included(fw: FeedWorld) -> None:
    about = text_of(await fw.reply("about"))
    for name in (
        "subscribe",
        "unsubscribe",
        "subscriptions",
        "feed status",
        "feed preview",
        "feed retry",
        "reload",
        "search",
    ):
        assert f"/{name}`" in about, name


async def test_a_restart_after_discords_nonce_window_finds_the_unrecorded_post_and_posts_nothing_twice(
    fw: FeedWorld,
) -> None:
    await fw.reply("subscribe")
    fw.cog.loops.send_loop.cancel()  # this test runs the crashing pass itself
    fw.cog.feed.clock = lambda: (
        datetime.now(UTC) - timedelta(minutes=10)
    )  # the crash was 10 minutes ago

    async def killed_before_recording(*args: object, **kwargs: object) -> None:
        raise SimulatedCrash("the bot died after Discord created the message")

    fw.cog.feed.store.mark_sent = killed_before_recording  # type: ignore[method-assign]
    fw.publish(FRESH)
    await fw.cog.loops.poll_once()
    with pytest.raises(BaseExceptionGroup) as crashed:
        await fw.cog.loops.send_once()
    assert crashed.group_contains(SimulatedCrash)
    assert len(fw.announcements(fw.general_id)) == 1
    await fw.stop()

    fw.emu.config.nonce_window = 0.0  # Discord has forgotten the nonce: a resend would post again
    await fw.start()
    await fw.cog.loops.send_once()
    await fw.cog.loops.send_once()

    (message,) = fw.announcements(fw.general_id)
    sub = await fw.cog.feed.store.subscription_for_channel(fw.general_id)
    assert sub is not None
    (row,) = await fw.cog.feed.store.sent_rows(sub.id)
    assert row.message_id == int(message["id"])
    assert fw.emu.requests_matching("GET", "/channels/{channel_id}/messages"), (
        "it looked before resending"
    )


async def test_subscribe_needs_read_message_history_to_check_for_unrecorded_posts(
    fw: FeedWorld,
) -> None:
    fw.emu.deny_bot(fw.news_id, history=True)
    refused = await fw.reply("subscribe", {"channel": fw.news_id})
    assert "Read Message History" in text_of(refused) and ephemeral(refused)
    assert await fw.cog.feed.store.all_subscriptions() == []
