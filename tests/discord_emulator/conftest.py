"""Fixtures for the emulator's own tests: a started emulator, a small world, and a real
discord.py bot (commands.Bot + app_commands) connected to it.

The test bot's commands exercise each way a bot answers Discord (reply, defer + followup,
defer + edit, views, autocomplete) and a few ways it can break Discord's rules on purpose.
Exceptions the bot meets are put in `bot.failures` (a queue) so tests can await them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from discord_emulator import DiscordEmulator, Guild, User
from discord_emulator.models import Channel
from discord_emulator.permissions import MANAGE_GUILD

POSTS = ["meltdown", "spectre", "heartbleed", "shellshock", "rowhammer"]


@dataclass
class World:
    guild: Guild
    channel: Channel
    other_channel: Channel
    alice: User
    admin: User


class CounterView(discord.ui.View):
    """A view whose button edits the message it is on (callback type 7)."""

    def __init__(self) -> None:
        super().__init__(timeout=60)
        self.count = 0

    @discord.ui.button(label="Next", custom_id="counter:next", style=discord.ButtonStyle.primary)
    async def next_page(
        self, interaction: discord.Interaction, button: discord.ui.Button[CounterView]
    ) -> None:
        self.count += 1
        await interaction.response.edit_message(content=f"page {self.count}", view=self)


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    """A modal whose submission is answered with what was typed."""

    comment: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(
        label="Comment", custom_id="comment"
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks for: {self.comment.value}", ephemeral=True)


class TestBot(commands.Bot):
    """A real discord.py bot with commands covering the emulator's features."""

    __test__ = False  # not a pytest test class

    def __init__(self, guild_id: int, **options: object) -> None:
        intents = options.pop("intents", None) or discord.Intents.default()
        super().__init__(
            command_prefix="!",
            intents=intents,  # type: ignore[arg-type]
            guild_ready_timeout=0.05,
            chunk_guilds_at_startup=bool(options.pop("chunk", False)),
            allowed_mentions=discord.AllowedMentions.none(),
            **options,  # type: ignore[arg-type]
        )
        self.guild_id = guild_id
        self.failures: asyncio.Queue[Exception] = asyncio.Queue()
        self._add_commands()

    async def next_failure(self) -> Exception:
        """The next exception the bot met (10 s at most)."""
        return await asyncio.wait_for(self.failures.get(), 10)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py sleeps 5 s before every non-initial IDENTIFY; not against an emulator."""

    async def setup_hook(self) -> None:
        await self.tree.sync(guild=discord.Object(self.guild_id))
        await self.tree.sync()

    def _add_commands(self) -> None:
        guild = discord.Object(self.guild_id)
        tree = self.tree
        failures = self.failures

        @tree.command(name="summarize", description="Summarize a post", guild=guild)
        @app_commands.describe(post="Which post", length="Sentences")
        async def summarize(interaction: discord.Interaction, post: str, length: int = 3) -> None:
            embed = discord.Embed(
                title=f"Summary of {post}", description=" ".join(["Sentence."] * length)
            )
            embed.add_field(name="Length", value=str(length))
            embed.set_footer(text="corpus-bot")
            await interaction.response.send_message(embed=embed)

        @summarize.autocomplete("post")
        async def post_choices(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            return [
                app_commands.Choice(name=p.title(), value=p)
                for p in POSTS
                if p.startswith(current.lower())
            ]

        @tree.command(name="slow", description="Defer, then follow up", guild=guild)
        async def slow(interaction: discord.Interaction, secret: bool = False) -> None:
            await interaction.response.defer(thinking=True, ephemeral=secret)
            await interaction.followup.send("done after thinking")
            await interaction.followup.send("a second followup")

        @tree.command(name="slowedit", description="Defer, then edit the original", guild=guild)
        async def slowedit(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            await interaction.edit_original_response(content="edited after defer")

        @tree.command(name="counter", description="A message with a button", guild=guild)
        async def counter(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("page 0", view=CounterView())

        @tree.command(name="feedback", description="Opens a modal", guild=guild)
        async def feedback(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(FeedbackModal())

        @tree.command(
            name="late", description="Answers normally (tests set a tiny deadline)", guild=guild
        )
        async def late(interaction: discord.Interaction) -> None:
            try:
                await interaction.response.send_message("too late?")
            except discord.HTTPException as exc:
                failures.put_nowait(exc)

        @tree.command(name="double", description="Two initial responses racing", guild=guild)
        async def double(interaction: discord.Interaction) -> None:
            results = await asyncio.gather(
                interaction.response.send_message("first"),
                interaction.response.send_message("second"),
                return_exceptions=True,
            )
            for result in results:
                if isinstance(result, Exception):
                    failures.put_nowait(result)

        @tree.command(name="bigembed", description="An embed over a limit", guild=guild)
        @app_commands.describe(kind="description | total | fields")
        async def bigembed(interaction: discord.Interaction, kind: str) -> None:
            if kind == "description":
                embeds = [discord.Embed(title="big", description="x" * 4097)]
            elif kind == "fields":
                embed = discord.Embed(title="many fields")
                for i in range(26):
                    embed.add_field(name=f"f{i}", value="v")
                embeds = [embed]
            else:  # each embed is valid, together they exceed 6,000 characters
                embeds = [
                    discord.Embed(title=f"part {i}", description="y" * 2500) for i in range(3)
                ]
            try:
                await interaction.response.send_message(embeds=embeds)
            except discord.HTTPException as exc:
                failures.put_nowait(exc)
                await interaction.response.send_message("fallback: plain text")

        @tree.command(
            name="badbutton", description="A button label over the spec's limit", guild=guild
        )
        async def badbutton(interaction: discord.Interaction) -> None:
            view = discord.ui.View()
            view.add_item(discord.ui.Button(label="L" * 81, custom_id="bad"))
            try:
                await interaction.response.send_message("look", view=view)
            except discord.HTTPException as exc:
                failures.put_nowait(exc)

        @tree.command(
            name="many", description="Autocomplete offering too many choices", guild=guild
        )
        async def many(interaction: discord.Interaction, pick: str) -> None:
            await interaction.response.send_message(pick)

        @many.autocomplete("pick")
        async def too_many(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=f"choice {i}", value=str(i)) for i in range(30)]

        @tree.command(name="ping", description="Mentions a user", guild=guild)
        async def ping(
            interaction: discord.Interaction, who: discord.User, loud: bool = False
        ) -> None:
            mentions = (
                discord.AllowedMentions(users=True) if loud else discord.AllowedMentions.none()
            )
            await interaction.response.send_message(
                f"hello {who.mention}", allowed_mentions=mentions
            )

        @tree.command(name="admin", description="Admins only", guild=guild)
        @app_commands.default_permissions(manage_guild=True)
        async def admin(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("admin ok", ephemeral=True)

        feed = app_commands.Group(
            name="feed", description="Feed commands", guild_ids=[self.guild_id]
        )

        @feed.command(name="status", description="Feed status")
        async def feed_status(interaction: discord.Interaction, verbose: bool = False) -> None:
            await interaction.response.send_message(f"feed ok verbose={verbose}")

        tree.add_command(feed)

        @tree.command(name="serveronly", description="A global command for servers only")
        @app_commands.guild_only()
        async def serveronly(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(f"in a guild: {interaction.guild is not None}")

        @tree.command(name="about", description="A global command (also in DMs)")
        async def about(interaction: discord.Interaction) -> None:
            where = "dm" if interaction.guild is None else "guild"
            await interaction.response.send_message(f"about from {where}")


@pytest.fixture
async def emu() -> AsyncIterator[DiscordEmulator]:
    emulator = DiscordEmulator()
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
def world(emu: DiscordEmulator) -> World:
    admin = emu.add_user("admin")
    guild = emu.add_guild("Test Server", owner_id=None)
    channel = emu.add_channel(guild.id, "general")
    other = emu.add_channel(guild.id, "locked")
    alice = emu.add_user("alice")
    emu.add_member(guild.id, alice.id)
    mods = emu.add_role(guild.id, "mods", permissions=MANAGE_GUILD)
    emu.add_member(guild.id, admin.id, roles=[mods.id])
    return World(guild=guild, channel=channel, other_channel=other, alice=alice, admin=admin)


async def start_bot(emu: DiscordEmulator, bot: commands.Bot) -> asyncio.Task[None]:
    """Start a bot against the emulator and wait until it is ready."""
    task = asyncio.create_task(bot.start(emu.bot_token))
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait({task, ready}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # the bot failed to start: raise its error
    if ready not in done:
        ready.cancel()
        raise TimeoutError("the bot did not become ready")
    return task


async def stop_bot(bot: commands.Bot, task: asyncio.Task[None]) -> None:
    await bot.close()
    await asyncio.wait_for(task, 10)


@pytest.fixture
async def bot(emu: DiscordEmulator, world: World) -> AsyncIterator[TestBot]:
    with emu.patch_discord_py():
        test_bot = TestBot(world.guild.id)
        task = await start_bot(emu, test_bot)
        yield test_bot
        await stop_bot(test_bot, task)
