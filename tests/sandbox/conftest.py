"""The sandbox end to end: the real bot (every cog, the feed included) against the emulator,
in the server `build_world` makes, driven through a `SandboxSession` as both front ends do."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from bot.config import Config, FeedConfig
from bot.corpus.service import CorpusService, ServiceSettings
from bot.discord_app.client import CorpusBot
from bot.discord_app.exts import EXTENSIONS
from bot.discord_app.sandbox import BOT_NAME
from discord_emulator import DiscordEmulator
from discord_emulator.sandbox import SandboxSession, build_world
from tests.conftest import write_doc
from tests.discord_app.conftest import make_config, running_bot


@dataclass
class Sandbox:
    emu: DiscordEmulator
    session: SandboxSession
    bot: CorpusBot
    corpus_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.emu.port}/"

    def channel(self, name: str) -> int:
        return self.session.world.channel_ids[name]

    def add_document(self, name: str = "12-zebras.md", title: str = "Zebras and Stripes") -> None:
        """A new corpus file, as a person would add one to the sandbox's corpus copy."""
        write_doc(
            self.corpus_dir,
            name,
            front=f"id: zebra-post\ntitle: {title}\nauthors: [Zed Writer]\nkind: post\nexcerpt: false",
            body="Zebras have stripes. Nobody knows why.",
        )

    async def announcements(self, count: int = 1) -> list[dict[str, object]]:
        """Wait until #announcements holds `count` messages; return them."""
        channel = self.channel("announcements")
        return await self.emu.wait_for(
            lambda: (m := self.emu.channel_messages(channel)) and len(m) >= count and m,
            15,
            describe="an announcement in #announcements",
        )


@contextlib.asynccontextmanager
async def running_sandbox(
    tmp_path: Path, corpus_dir: Path, *, web: bool = False
) -> AsyncIterator[Sandbox]:
    emu = DiscordEmulator(bot_name=BOT_NAME)
    session = SandboxSession(emu, build_world(emu))
    if web:
        from discord_emulator.web import install_page

        install_page(emu, session)
    await emu.start()
    try:
        config: Config = make_config(tmp_path, corpus_dir, emu.bot_token)
        config = replace(
            config, feed=FeedConfig(), discord=replace(config.discord, cooldown_seconds=0.0)
        )
        settings = ServiceSettings(db_path=tmp_path / "data" / "sandbox.db", corpus_dir=corpus_dir)
        service = await CorpusService.open(settings)
        try:
            await service.reload()
            async with running_bot(emu, config, service, extensions=EXTENSIONS) as bot:
                await emu.wait_for(session.commands, 15, describe="the bot to sync its commands")
                yield Sandbox(emu, session, bot, corpus_dir)
        finally:
            await service.close()
        assert emu.problems == [], emu.problems
    finally:
        await emu.stop()


@pytest.fixture
async def sandbox(tmp_path: Path, corpus_dir: Path) -> AsyncIterator[Sandbox]:
    async with running_sandbox(tmp_path, corpus_dir) as running:
        yield running
