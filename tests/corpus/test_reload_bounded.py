"""A reload keeps what it must remember about the whole folder in SQLite, not in Python.

Memory itself is measured by bench/bench_memory.py (no RSS or timing assertions here); these
tests check the structure that keeps it flat: the folder is listed in chunks, files are handed
to Python a batch at a time, reports carry counts and a bounded list of ids, and the temp tables
are left empty. And that the diff is still right in the cases a per-batch view could get wrong.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from bot.cli.render import report_json, report_text
from bot.corpus import loader, reload
from bot.corpus.errors import CorpusInvalid
from bot.corpus.service import CorpusService, ServiceSettings
from bot.corpus.store import CorpusStore
from tests.conftest import write_doc

FRONT = "id: {id}\ntitle: Post {id}\nauthors: [Zed Writer]\nkind: post\nexcerpt: false"


def _many(folder: Path, count: int) -> list[str]:
    ids = [f"many-{n:03d}" for n in range(count)]
    for doc_id in ids:
        write_doc(folder, f"{doc_id}.md", front=FRONT.format(id=doc_id), body=f"Body of {doc_id}.")
    return ids


@pytest.fixture
def small_batches(settings: ServiceSettings) -> ServiceSettings:
    return dataclasses.replace(settings, reload_batch_files=3)


async def test_python_sees_the_folder_a_chunk_and_a_batch_at_a_time(
    small_batches: ServiceSettings, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _many(corpus_dir, 20)
    chunks: list[int] = []
    batches: list[int] = []
    real_listing = loader.iter_corpus_listing
    real_listed = CorpusStore.listed_files

    def listing(folder: Path, chunk_files: int = 4):  # noqa: ANN202 - a generator, as the real one
        for chunk in real_listing(folder, 4):
            chunks.append(len(chunk))
            yield chunk

    async def listed(self: CorpusStore, writer, *, after: str, limit: int):  # noqa: ANN001, ANN202
        rows = await real_listed(self, writer, after=after, limit=limit)
        batches.append(len(rows))
        return rows

    monkeypatch.setattr(reload, "iter_corpus_listing", listing)
    monkeypatch.setattr(CorpusStore, "listed_files", listed)
    svc = await CorpusService.open(small_batches)
    try:
        report = await svc.reload()
        assert report.added_count == 31 and report.reparsed == 31
        assert sum(chunks) == 31 and max(chunks) <= 4
        assert sum(batches) == 31 and max(batches) <= 3
        left = await svc.store._writer.execute_fetchall("SELECT name FROM sqlite_temp_master")  # noqa: SLF001
        assert list(left) == []  # the reload's temp tables are dropped with its commit
    finally:
        await svc.close()


async def test_a_report_counts_everything_and_lists_the_first_ids(
    small_batches: ServiceSettings, corpus_dir: Path
) -> None:
    svc = await CorpusService.open(small_batches)
    try:
        await svc.reload()
        ids = _many(corpus_dir, reload.REPORT_IDS + 7)
        report = await svc.reload()
        assert report.added_count == len(ids)
        assert report.added == tuple(sorted(ids)[: reload.REPORT_IDS])
        assert report.unchanged == 11 and report.changed_count == report.removed_count == 0
        text = report_text(report)
        assert f"{len(ids)} added" in text and "added: … and 7 more" in text
        shown = json.loads(json.dumps(report_json(report)))
        assert shown["added_count"] == len(ids) and len(shown["added"]) == reload.REPORT_IDS

        for doc_id in ids:
            (corpus_dir / f"{doc_id}.md").unlink()
        gone = await svc.reload()
        assert gone.removed_count == len(ids) and gone.removed == tuple(
            sorted(ids)[: reload.REPORT_IDS]
        )
        assert (await svc.stats()).documents == 11
    finally:
        await svc.close()


async def test_swapped_files_and_a_moved_file_across_batches(
    small_batches: ServiceSettings, corpus_dir: Path
) -> None:
    svc = await CorpusService.open(small_batches)
    try:
        await svc.reload()
        first = corpus_dir / "01-lessons-from-meltdown-and-spectre.md"
        last = corpus_dir / "11-access-now-resigns-from-pai.md"
        first_bytes, last_bytes = first.read_bytes(), last.read_bytes()
        first.write_bytes(last_bytes)
        last.write_bytes(first_bytes)
        os.rename(
            corpus_dir / "05-field-guide-to-making-ai-art-responsibly.md",
            corpus_dir / "00-moved-first.md",
        )
        report = await svc.reload()
        assert not report.changed_anything and report.unchanged == 11
        again = await svc.reload()
        assert again.reparsed == 0 and again.unchanged == 11
        assert (await svc.post("access-now-resigns-from-pai")).ref.title.startswith("Access Now")
        assert (await svc.post("lessons-from-meltdown-and-spectre")).body in first_bytes.decode(
            "utf-8"
        )
    finally:
        await svc.close()


async def test_a_new_file_taking_the_id_of_a_later_unchanged_file_is_a_duplicate(
    small_batches: ServiceSettings, corpus_dir: Path
) -> None:
    svc = await CorpusService.open(small_batches)
    try:
        await svc.reload()
        write_doc(corpus_dir, "00-early.md", front=FRONT.format(id="access-now-resigns-from-pai"))
        with pytest.raises(CorpusInvalid) as caught:
            await svc.reload()
        assert [str(p) for p in caught.value.problems] == [
            "11-access-now-resigns-from-pai.md:2: id 'access-now-resigns-from-pai' is already used by "
            "00-early.md; ids must be unique"
        ]
        assert (await svc.post("access-now-resigns-from-pai")).ref.title.startswith("Access Now")
    finally:
        await svc.close()
