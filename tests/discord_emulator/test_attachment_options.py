"""Attachment options: a user attaches a file to a slash command, as on Discord. The option's
value is the attachment's id, the attachment object is in `data.resolved.attachments`, and the
file is served by the emulator's CDN route, so the real client's `Attachment.read()` works. A
file given to another kind of option, or something else given to an attachment option, is
refused as Discord's client would. Files the bot uploads are served the same way."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from discord_emulator import DiscordEmulator, OptionError, Upload
from discord_emulator.interactions import ATTACHMENT_SIZE_LIMIT
from discord_emulator.sandbox import parse_command_line
from tests.discord_emulator.conftest import World, start_bot, stop_bot

OPML = b'<?xml version="1.0"?>\n<opml version="2.0"><body/></opml>\n'


class FileBot(commands.Bot):
    """A bot with one command taking a file, and one sending one."""

    def __init__(self, guild_id: int) -> None:
        super().__init__(
            command_prefix="!",
            intents=discord.Intents.default(),
            guild_ready_timeout=0.05,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.guild_id = guild_id
        self.seen: list[discord.Attachment] = []
        guild = discord.Object(guild_id)

        @self.tree.command(name="upload", description="Read a file", guild=guild)
        async def upload(
            interaction: discord.Interaction, file: discord.Attachment, note: str | None = None
        ) -> None:
            self.seen.append(file)
            data = await file.read()
            await interaction.response.send_message(
                f"{file.filename} declared {file.size} read {len(data)} "
                f"type {file.content_type} first {data[:5].decode()}",
                ephemeral=True,
            )

        @self.tree.command(name="export", description="Send a file", guild=guild)
        async def export(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(
                "here", file=discord.File(io.BytesIO(OPML), filename="f.opml")
            )

    async def setup_hook(self) -> None:
        await self.tree.sync(guild=discord.Object(self.guild_id))


@pytest.fixture
async def file_bot(emu: DiscordEmulator, world: World) -> AsyncIterator[FileBot]:
    with emu.patch_discord_py():
        bot = FileBot(world.guild.id)
        task = await start_bot(emu, bot)
        await emu.wait_for_commands(world.guild.id)
        yield bot
        await stop_bot(bot, task)


async def upload(emu: DiscordEmulator, world: World, options: dict[str, Any]) -> dict[str, Any]:
    """Alice runs /upload with these options; the reply she sees."""
    handle = await emu.send_command(
        "upload", options, user=world.alice.id, guild=world.guild.id, channel=world.channel.id
    )
    return await handle.wait_reply()


async def test_a_file_attached_to_an_option_reaches_the_bot_and_is_read_from_the_cdn(
    emu: DiscordEmulator, world: World, file_bot: FileBot
) -> None:
    handle = await emu.send_command(
        "upload",
        {"file": Upload(OPML, "feeds.opml", "text/x-opml")},
        user=world.alice.id,
        guild=world.guild.id,
        channel=world.channel.id,
    )
    reply = await handle.wait_reply()
    assert reply["content"] == (
        f"feeds.opml declared {len(OPML)} read {len(OPML)} type text/x-opml first <?xml"
    )
    data = handle.payload["data"]
    (option,) = data["options"]
    assert option["type"] == 11  # ATTACHMENT
    attachment = data["resolved"]["attachments"][option["value"]]
    assert attachment["id"] == option["value"] and attachment["filename"] == "feeds.opml"
    assert attachment["size"] == len(OPML) and attachment["content_type"] == "text/x-opml"
    assert attachment["ephemeral"] is True
    assert attachment["url"].startswith(f"http://127.0.0.1:{emu.port}/attachments/")
    assert attachment["proxy_url"] == attachment["url"]
    assert emu.attachment_downloads == [int(option["value"])]  # Attachment.read() fetched it
    assert emu.problems == []


async def test_the_declared_size_may_differ_from_the_bytes_served(
    emu: DiscordEmulator, world: World, file_bot: FileBot
) -> None:
    """For a bot that must cap what it reads whatever the attachment's size says."""
    reply = await upload(emu, world, {"file": Upload(OPML, "lies.opml", size=10)})
    assert f"declared 10 read {len(OPML)} type None" in reply["content"]


async def test_a_file_is_refused_by_a_non_attachment_option_and_text_by_an_attachment_one(
    emu: DiscordEmulator, world: World, file_bot: FileBot
) -> None:
    opml = Upload(OPML, "feeds.opml", "text/x-opml")
    with pytest.raises(OptionError, match="only be given to an attachment option.*string"):
        await upload(emu, world, {"file": opml, "note": opml})
    with pytest.raises(OptionError, match=r"/upload file: expects a file"):
        await upload(emu, world, {"file": "feeds.opml"})
    with pytest.raises(OptionError, match="requires option 'file'"):
        await upload(emu, world, {"note": "no file"})
    too_big = Upload(b"\0" * (ATTACHMENT_SIZE_LIMIT + 1), "huge.bin")
    with pytest.raises(OptionError, match="huge.bin is over the 10,485,760-byte upload limit"):
        await upload(emu, world, {"file": too_big})
    assert emu.interactions == [] and emu.attachment_downloads == []


async def test_a_file_the_bot_sends_is_served_and_its_bytes_are_readable(
    emu: DiscordEmulator, world: World, file_bot: FileBot
) -> None:
    handle = await emu.send_command(
        "export", user=world.alice.id, guild=world.guild.id, channel=world.channel.id
    )
    (attachment,) = (await handle.wait_reply())["attachments"]
    assert emu.attachment_data(attachment) == OPML
    async with aiohttp.ClientSession() as http, http.get(attachment["url"]) as response:
        assert response.status == 200 and await response.read() == OPML
    assert emu.problems == []


async def test_the_cdn_answers_404_for_an_unknown_or_mismatched_file(
    emu: DiscordEmulator, world: World, file_bot: FileBot
) -> None:
    await upload(emu, world, {"file": Upload(OPML, "feeds.opml")})
    (good,) = file_bot.seen
    wrong_name = good.url.rsplit("/", 1)[0] + "/other.opml"
    wrong_channel = good.url.replace(f"/{world.channel.id}/", f"/{world.other_channel.id}/")
    unknown = good.url.replace(f"/{good.id}/", "/1/")
    async with aiohttp.ClientSession() as http:
        for url in (
            wrong_name,
            wrong_channel,
            unknown,
            f"http://127.0.0.1:{emu.port}/attachments/x/y/z",
        ):
            async with http.get(url) as response:
                assert response.status == 404, url
    assert emu.attachment_downloads == [good.id]


def test_an_upload_is_named_by_its_file_not_its_bytes() -> None:
    assert repr(Upload(b"x" * 10_000, "big.opml", "text/x-opml")) == (
        "Upload('big.opml', 10000 bytes, 'text/x-opml')"
    )


def test_the_sandbox_says_it_cannot_attach_files() -> None:
    synced = [
        {
            "id": "1",
            "name": "upload",
            "type": 1,
            "description": "d",
            "options": [{"type": 11, "name": "file", "description": "d", "required": True}],
        }
    ]
    with pytest.raises(OptionError, match="^/upload file: takes a file, and the sandbox cannot"):
        parse_command_line("/upload file: notes.opml", synced)
