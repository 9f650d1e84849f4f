"""Reload: a diff applied in one transaction, unchanged files skipped, a bad corpus changes nothing."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import pytest

from bot.corpus.errors import CorpusInvalid
from bot.corpus.service import CorpusService, ServiceSettings
from tests.conftest import STORAGES, write_doc

pytestmark = STORAGES

NEW_FRONT = (
    "id: brand-new\ntitle: A Brand New Post\nauthors: [Zed Writer]\nkind: post\nexcerpt: false"
)


async def test_first_reload_adds_everything(settings: ServiceSettings) -> None:
    svc = await CorpusService.open(settings)
    try:
        report = await svc.reload()
        assert len(report.added) == 11 and report.reparsed == 11
        assert not report.changed and not report.removed
        again = await svc.reload()
        assert not again.changed_anything and again.unchanged == 11
        assert again.reparsed == 0, "files with the same size and mtime must not be read again"
    finally:
        await svc.close()


async def test_diff_reports_added_changed_removed(service: CorpusService, corpus_dir: Path) -> None:
    write_doc(corpus_dir, "12-new.md", front=NEW_FRONT, body="Fresh words about zebras.")
    (corpus_dir / "08-four-new-international-partners.md").unlink()
    meltdown = corpus_dir / "01-lessons-from-meltdown-and-spectre.md"
    meltdown.write_text(
        meltdown.read_text(encoding="utf-8") + "\nAn added closing line.\n", encoding="utf-8"
    )
    report = await service.reload()
    assert report.added == ("brand-new",)
    assert report.changed == ("lessons-from-meltdown-and-spectre",)
    assert report.removed == ("four-new-international-partners",)
    assert report.unchanged == 9
    assert report.reparsed == 2
    assert (await service.search("zebras")).hits[0].ref.id == "brand-new"
    assert (await service.author("Zed Writer")).posts[0].id == "brand-new"
    assert (await service.search("closing")).hits[0].ref.id == "lessons-from-meltdown-and-spectre"


async def test_touched_but_identical_file_is_hashed_not_parsed(
    service: CorpusService, corpus_dir: Path
) -> None:
    path = corpus_dir / "04-how-news-organizations-use-algorithms.md"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    report = await service.reload()
    assert not report.changed_anything and report.reparsed == 0


async def test_renamed_file_is_unchanged(service: CorpusService, corpus_dir: Path) -> None:
    (corpus_dir / "04-how-news-organizations-use-algorithms.md").rename(corpus_dir / "renamed.md")
    report = await service.reload()
    assert not report.changed_anything
    assert (
        await service.post("how-news-organizations-use-algorithms")
    ).ref.id == "how-news-organizations-use-algorithms"


async def test_broken_file_keeps_the_old_corpus(service: CorpusService, corpus_dir: Path) -> None:
    before = await service.stats()
    write_doc(corpus_dir, "12-new.md", front=NEW_FRONT)
    (corpus_dir / "13-broken.md").write_text(
        "---\nid: broken\ntitle: [oops\n---\nbody\n", encoding="utf-8"
    )
    (corpus_dir / "01-lessons-from-meltdown-and-spectre.md").unlink()
    with pytest.raises(CorpusInvalid) as caught:
        await service.reload()
    (problem,) = caught.value.problems
    assert (problem.where, problem.line) == ("13-broken.md", 4)
    assert "not valid YAML" in problem.message
    after = await service.stats()
    assert after.documents == before.documents == 11
    assert (await service.post("meltdown")).ref.id == "lessons-from-meltdown-and-spectre"
    with pytest.raises(Exception, match="No post matches"):
        await service.post("brand-new")


async def test_readers_see_old_or_new_corpus_never_a_mix(
    service: CorpusService, corpus_dir: Path
) -> None:
    """While a reload of many files commits, concurrent reads see 11 or 11 + 200 documents."""
    for n in range(200):
        write_doc(corpus_dir, f"bulk-{n:03d}.md", front=NEW_FRONT.replace("brand-new", f"bulk-{n}"))
    seen: set[int] = set()
    done = asyncio.Event()

    async def reader() -> None:
        while not done.is_set():
            seen.add((await service.stats()).documents)
            await asyncio.sleep(0)

    task = asyncio.create_task(reader())
    await service.reload()
    done.set()
    await task
    seen.add((await service.stats()).documents)
    assert seen <= {11, 211} and 211 in seen


async def test_index_file_is_wal_with_a_schema_version(
    service: CorpusService, settings: ServiceSettings
) -> None:
    conn = sqlite3.connect(settings.db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert (
            conn.execute("PRAGMA user_version").fetchone()[0]
            == (await service.stats()).schema_version
            >= 1
        )
    finally:
        conn.close()


async def test_a_newer_schema_is_refused(settings: ServiceSettings) -> None:
    from bot.corpus.schema import SchemaTooNew

    settings.db_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(settings.db_path)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(SchemaTooNew, match="newer corpus-bot"):
        await CorpusService.open(settings)


async def test_reopening_keeps_the_index(settings: ServiceSettings) -> None:
    svc = await CorpusService.open(settings)
    await svc.reload()
    await svc.close()
    svc = await CorpusService.open(settings)
    try:
        assert (await svc.stats()).documents == 11
        assert (await svc.reload()).reparsed == 0
    finally:
        await svc.close()
