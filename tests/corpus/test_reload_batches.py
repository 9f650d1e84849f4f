"""Reload in batches inside one transaction: the same diff, all or nothing, every problem reported."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.corpus.errors import AnswerError, CorpusInvalid
from bot.corpus.models import Document
from bot.corpus.passages import PassageRow
from bot.corpus.service import CorpusService, ServiceSettings
from tests.conftest import write_doc

FRONT = "id: {id}\ntitle: Bulk post {id}\nauthors: [Zed Writer]\nkind: post\nexcerpt: false\npublished: 2023-01-{day:02d}"


def _bulk(folder: Path, count: int, prefix: str = "bulk") -> None:
    for n in range(count):
        write_doc(
            folder,
            f"{prefix}-{n:03d}.md",
            front=FRONT.format(id=f"{prefix}-{n}", day=n % 28 + 1),
            body=f"Body number {n} about batches.",
        )


@pytest.fixture
def small_batches(settings: ServiceSettings) -> ServiceSettings:
    return dataclasses.replace(settings, reload_batch_files=3)


async def test_batches_give_the_same_report(
    small_batches: ServiceSettings, corpus_dir: Path
) -> None:
    svc = await CorpusService.open(small_batches)
    try:
        first = await svc.reload()
        assert len(first.added) == 11 and first.reparsed == 11
        _bulk(corpus_dir, 10)
        (corpus_dir / "08-four-new-international-partners.md").unlink()
        meltdown = corpus_dir / "01-lessons-from-meltdown-and-spectre.md"
        meltdown.write_text(
            meltdown.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8"
        )
        (corpus_dir / "04-how-news-organizations-use-algorithms.md").rename(
            corpus_dir / "zz-moved.md"
        )
        report = await svc.reload()
        assert report.added == tuple(sorted(f"bulk-{n}" for n in range(10)))
        assert report.changed == ("lessons-from-meltdown-and-spectre",)
        assert report.removed == ("four-new-international-partners",)
        assert (
            report.unchanged == 9 and report.reparsed == 12
        )  # 10 new, 1 changed, 1 moved (hashed, same)
        assert (await svc.stats()).documents == 20
        assert (await svc.author("zed writer")).total == 10
        again = await svc.reload()
        assert not again.changed_anything and again.reparsed == 0 and again.unchanged == 20
    finally:
        await svc.close()


async def test_a_bad_file_in_a_late_batch_undoes_the_early_ones(
    small_batches: ServiceSettings, corpus_dir: Path
) -> None:
    svc = await CorpusService.open(small_batches)
    try:
        await svc.reload()
        _bulk(corpus_dir, 9)
        (corpus_dir / "zz-broken.md").write_text(
            "---\nid: broken\ntitle: [oops\n---\nbody\n", encoding="utf-8"
        )
        (corpus_dir / "zz-no-id.md").write_text("---\ntitle: t\n---\nbody\n", encoding="utf-8")
        with pytest.raises(CorpusInvalid) as caught:
            await svc.reload()
        assert list(dict.fromkeys(p.where for p in caught.value.problems)) == [
            "zz-broken.md",
            "zz-no-id.md",
        ]
        assert (await svc.stats()).documents == 11
        with pytest.raises(AnswerError):
            await svc.author("zed writer")
        (corpus_dir / "zz-broken.md").unlink()
        (corpus_dir / "zz-no-id.md").unlink()
        report = await svc.reload()
        assert len(report.added) == 9 and report.reparsed == 9
    finally:
        await svc.close()


async def test_duplicates_and_feed_clashes_across_batches(
    small_batches: ServiceSettings, corpus_dir: Path
) -> None:
    svc = await CorpusService.open(small_batches)
    try:
        await svc.reload()
        feed_entry = Document(
            id="taken-by-feed",
            title="From a feed",
            subtitle=None,
            authors=(),
            published=date(2024, 1, 1),
            url=None,
            publisher=None,
            kind="post",
            excerpt=False,
            body="Feed text.",
            content_hash="x",
            origin="feed:test",
        )
        await svc.add_documents([feed_entry])
        write_doc(
            corpus_dir,
            "zz-dup.md",
            front="id: lessons-from-meltdown-and-spectre\ntitle: Copy\nauthors: []\nkind: post\nexcerpt: false",
        )
        write_doc(
            corpus_dir,
            "zz-feed.md",
            front="id: taken-by-feed\ntitle: Clash\nauthors: []\nkind: post\nexcerpt: false",
        )
        with pytest.raises(CorpusInvalid) as caught:
            await svc.reload()
        messages = [str(p) for p in caught.value.problems]
        assert messages == [
            "zz-dup.md:2: id 'lessons-from-meltdown-and-spectre' is already used by "
            "01-lessons-from-meltdown-and-spectre.md; ids must be unique",
            "zz-feed.md: id 'taken-by-feed' is already used by a feed entry",
        ]
        assert (await svc.stats()).documents == 12
    finally:
        await svc.close()


async def test_readers_see_the_old_corpus_until_the_last_batch_commits(
    small_batches: ServiceSettings, corpus_dir: Path
) -> None:
    svc = await CorpusService.open(small_batches)
    try:
        await svc.reload()
        _bulk(corpus_dir, 60)
        seen: set[int] = set()
        done = asyncio.Event()
        reading = asyncio.Event()

        async def reader() -> None:
            while not done.is_set():
                seen.add((await svc.stats()).documents)
                reading.set()
                await asyncio.sleep(0)

        task = asyncio.create_task(reader())
        await reading.wait()  # a reader has read before the reload starts, on a busy machine too
        await svc.reload()
        done.set()
        await task
        seen.add((await svc.stats()).documents)
        assert seen <= {11, 71} and 71 in seen and 11 in seen
    finally:
        await svc.close()


async def test_check_reports_every_problem_without_touching_the_index(
    small_batches: ServiceSettings, corpus_dir: Path
) -> None:
    svc = await CorpusService.open(small_batches)
    try:
        (corpus_dir / "zz-broken.md").write_text(
            "---\nid: broken\ntitle: [oops\n---\nbody\n", encoding="utf-8"
        )
        write_doc(
            corpus_dir,
            "zz-dup.md",
            front="id: labeling-manipulated-media\ntitle: Copy\nauthors: []\nkind: post\nexcerpt: false",
        )
        problems = await svc.check()
        assert [p.where for p in problems] == ["zz-broken.md", "zz-dup.md"]
        assert (await svc.stats()).documents == 0
    finally:
        await svc.close()


async def test_the_writer_cache_is_widened_for_a_reload_only(
    service: CorpusService, corpus_dir: Path
) -> None:
    from bot.corpus.store import BULK_WRITE_CACHE_KIB

    async def cache_size() -> int:
        async with service.store.transaction() as writer:
            return int((await writer.execute_fetchall("PRAGMA cache_size"))[0][0])

    usual = await cache_size()
    assert usual != -BULK_WRITE_CACHE_KIB
    (corpus_dir / "zz-broken.md").write_text("no front matter\n", encoding="utf-8")
    with pytest.raises(CorpusInvalid):
        await service.reload()
    assert await cache_size() == usual
    (corpus_dir / "zz-broken.md").unlink()
    await service.reload()
    assert await cache_size() == usual


async def test_passages_are_split_while_the_writer_inserts_the_previous_batch(
    small_batches: ServiceSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Splitting bodies into passages is a third of a build's Python work: it belongs in the
    parsing worker, beside the writer, not between two writes. While the first batch (3 files)
    is being written, the second batch's documents are already split."""
    from bot.corpus import reload as reload_module
    from bot.corpus import store as store_module
    from bot.corpus.passages import passage_rows
    from bot.corpus.store import CorpusBatch, CorpusStore

    split: list[str] = []

    def recording(doc_id: str, title: str, body: str) -> list[PassageRow]:
        split.append(doc_id)
        return passage_rows(doc_id, title, body)

    monkeypatch.setattr(store_module, "passage_rows", recording)
    monkeypatch.setattr(reload_module, "passage_rows", recording, raising=False)
    real_write = CorpusStore.write_corpus_batch
    seen_while_writing: list[int] = []

    async def first_write_waits(self: CorpusStore, writer: Any, batch: CorpusBatch) -> None:
        if not seen_while_writing:
            for _ in range(3000):  # the next batch's split, or give up (the old order never does)
                if len(split) > len(batch.documents.rows):
                    break
                await asyncio.sleep(0.01)
            seen_while_writing.append(len(split))
        await real_write(self, writer, batch)

    monkeypatch.setattr(CorpusStore, "write_corpus_batch", first_write_waits)
    svc = await CorpusService.open(small_batches)
    try:
        report = await svc.reload()
        assert report.added_count == 11
        assert seen_while_writing[0] > 3
        assert sorted(split) == sorted(report.added)  # each document split once
        assert (await svc.ask("What does Access Now want banned?")).passages
    finally:
        await svc.close()
