"""/reload end to end: who may run it, the diff it reports, and a broken corpus left unserved."""

from __future__ import annotations

import pytest

from tests.conftest import write_doc
from tests.discord_app.conftest import World
from tests.discord_app.test_commands import embeds, ephemeral, text_of
from tests.storage_faults import disk_full, short_busy_timeout_of, write_lock_held

NEW = "id: fresh-post\ntitle: A Fresh Post About Zebras\nauthors: [Zed Writer]\nkind: post\nexcerpt: false"


async def test_moderator_reloads_and_sees_the_diff(world: World) -> None:
    write_doc(world.corpus_dir, "12-fresh.md", front=NEW, body="Zebras have stripes.")
    (world.corpus_dir / "08-four-new-international-partners.md").unlink()
    reply = await world.reply("reload", user=world.moderator_id)
    assert ephemeral(reply)
    text = text_of(reply)
    assert "1 added · 0 changed · 1 removed" in text
    assert "`fresh-post`" in text and "`four-new-international-partners`" in text
    post = await world.reply("post", {"post": "zebras"})
    assert embeds(post)[0]["title"] == "A Fresh Post About Zebras"


async def test_member_without_manage_server_is_refused(world: World) -> None:
    write_doc(world.corpus_dir, "12-fresh.md", front=NEW)
    reply = await world.reply("reload", user=world.member_id)
    assert ephemeral(reply) and "Manage Server" in reply["content"]
    assert (await world.service.stats()).documents == 11


async def test_configured_admin_may_reload_without_the_permission(world: World) -> None:
    from dataclasses import replace

    world.bot.config = replace(
        world.bot.config,
        discord=replace(world.bot.config.discord, admin_user_ids=(world.member_id,)),
    )
    reply = await world.reply("reload", user=world.member_id)
    assert "Corpus reloaded" in text_of(reply)


async def test_reload_is_guild_only(world: World) -> None:
    """Discord never offers a guild-only command in DMs; the bot refuses it anyway if it arrives."""
    world.emu.config.enforce_command_contexts = False
    reply = await world.reply("reload", user=world.moderator_id, dm=True)
    assert ephemeral(reply) and "servers only" in reply["content"]


async def test_broken_file_is_reported_and_the_old_corpus_served(world: World) -> None:
    write_doc(world.corpus_dir, "12-fresh.md", front=NEW)
    (world.corpus_dir / "13-broken.md").write_text(
        "---\nid: broken\nexcerpt: [\n---\nbody\n", encoding="utf-8"
    )
    reply = await world.reply("reload", user=world.moderator_id)
    text = text_of(reply)
    assert "Reload refused: 1 problem" in text and "13-broken.md:4" in text
    assert "previous corpus is still being served" in text
    assert (await world.service.stats()).documents == 11
    assert "No post matches" in (await world.reply("post", {"post": "fresh-post"}))["content"]


async def test_reload_on_a_full_disk_says_so_and_keeps_the_old_corpus(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The disk fills while the bot runs (SQLite's own SQLITE_FULL, see tests/storage_faults.py):
    /reload says so, nothing changes, and every command keeps answering from the old corpus."""
    write_doc(world.corpus_dir, "12-fresh.md", front=NEW, body="Zebras have stripes. " * 2000)
    await disk_full(world.service.store)
    reply = await world.reply("reload", user=world.moderator_id)
    assert ephemeral(reply)
    text = text_of(reply)
    assert "The bot's disk is full, so nothing could be saved" in text
    assert "what the bot served before, it still serves" in text
    assert "Traceback" not in text and "i.db" not in text and "corpus.db" not in text
    assert (await world.service.stats()).documents == 11
    assert "No post matches" in (await world.reply("post", {"post": "fresh-post"}))["content"]
    post = await world.reply("post", {"post": "meltdown"})
    assert embeds(post)[0]["footer"]["text"].endswith("id lessons-from-meltdown-and-spectre")
    summary = await world.reply("summarize", {"post": "access-now-resigns-from-pai", "length": 10})
    assert "Access Now" in text_of(summary)
    logged = [
        r
        for r in caplog.records
        if "/reload failed: no space left on the disk to write" in r.getMessage()
    ]
    assert len(logged) == 1 and logged[0].exc_info is None


async def test_reload_while_another_process_holds_the_index(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holds the index's write lock past the busy timeout (a real lock): /reload
    says the index is busy, nothing changes, answers go on; once the lock is gone it works."""
    write_doc(world.corpus_dir, "12-fresh.md", front=NEW)
    await short_busy_timeout_of(world.service.store, monkeypatch)
    with write_lock_held(world.service.store.path):
        reply = await world.reply("reload", user=world.moderator_id)
        assert (
            "The bot's index is busy (another program holds it), so nothing was changed"
            in text_of(reply)
        )
        post = await world.reply("post", {"post": "meltdown"})
        assert embeds(post)[0]["footer"]["text"].endswith("id lessons-from-meltdown-and-spectre")
    assert (await world.service.stats()).documents == 11
    assert "1 added" in text_of(await world.reply("reload", user=world.moderator_id))
