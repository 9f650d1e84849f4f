"""A reload: the corpus folder applied to the index in one transaction, in bounded memory.

All or nothing: every problem of the folder is collected (reading and parsing ones, ids used by
two files, ids taken by feed entries) and any problem rolls the whole transaction back, so the
index keeps serving the previous corpus. Readers keep the previous corpus (WAL) until the commit.

Memory does not grow with the corpus. What a reload must remember about the whole folder lives
in SQLite temp tables, not in Python: the listing of files (path, size, mtime), streamed in
chunks, and the ids each file claimed (to find duplicates, and at the end the documents whose
files are gone). Python holds two batches of files at a time: the one a worker thread reads and
parses while the writer's thread inserts the previous one. (Keeping the listing and the index's
file facts in dicts cost ~1 KB per file: 200 MB at the peak of a reload of 100,000 files that
changed nothing.)
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite

from bot.corpus.errors import CorpusInvalid
from bot.corpus.loader import (
    BATCH_FILES,
    KnownFile,
    ListedFile,
    ParsedFile,
    id_line,
    iter_corpus_listing,
    read_corpus_file,
)
from bot.corpus.models import Problem, ReloadReport
from bot.corpus.passages import PassageRow, passage_rows
from bot.corpus.store import CorpusBatch, CorpusStore, FileChange, now_iso, prepare_documents
from bot.corpus.titles import display_title

REPORT_IDS = 50
"""Ids a reload report lists per kind (added, changed, removed); the counts are always whole."""


@dataclass(frozen=True, slots=True)
class ReloadSettings:
    corpus_dir: Path
    max_file_bytes: int
    batch_files: int = BATCH_FILES


@dataclass(slots=True)
class _BatchRead:
    files: list[tuple[ParsedFile, KnownFile | None]]
    problems: list[Problem]
    reparsed: int
    passages: dict[str, list[PassageRow]] = field(default_factory=dict)
    """path -> the passages of the document parsed from it (see `_read_batch`)"""


def _read_batch(
    corpus_dir: Path, listed: Sequence[tuple[ListedFile, KnownFile | None]], max_bytes: int
) -> _BatchRead:
    """Read and parse one batch (worker thread): skipped where size+mtime or hash say unchanged.

    Each parsed document is also split into passages here, while the writer's thread inserts
    the previous batch: split after the batch was read, that Python work (~0.33 ms of CPU a
    document, a fifth of a build's CPU) ran between two writes instead of beside them."""
    batch = _BatchRead([], [], 0)
    for file, known in listed:
        read = read_corpus_file(corpus_dir, file, known, max_bytes=max_bytes)
        batch.problems.extend(read.problems)
        batch.reparsed += read.reparsed
        if read.file is None:
            continue
        batch.files.append((read.file, known))
        doc = read.file.document
        if doc is not None and not batch.problems:  # a doomed reload writes nothing
            batch.passages[read.file.path] = passage_rows(doc.id, display_title(doc)[0], doc.body)
    return batch


@dataclass(slots=True)
class _Tally:
    """Counts of what a reload found, and the first ids of each kind (bounded lists)."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    reparsed: int = 0
    first_added: list[str] = field(default_factory=list)
    first_changed: list[str] = field(default_factory=list)

    def note(self, added: list[str], changed: list[str], unchanged: int) -> None:
        self.added += len(added)
        self.changed += len(changed)
        self.unchanged += unchanged
        self.first_added = heapq.nsmallest(REPORT_IDS, [*self.first_added, *added])
        self.first_changed = heapq.nsmallest(REPORT_IDS, [*self.first_changed, *changed])


async def reload_corpus(store: CorpusStore, settings: ReloadSettings) -> ReloadReport:
    """Re-read the corpus folder and apply what changed, all or nothing (see the module doc).

    Raises `CorpusInvalid` listing every problem when any file is bad; nothing is written then.
    """
    started = time.perf_counter()
    stamp = now_iso()
    problems: list[Problem] = []
    tally = _Tally()
    async with store.bulk_write_cache(), store.transaction() as writer:
        indexed_before = await store.start_reload_scan(writer)
        if settings.corpus_dir.is_dir():
            listing = iter_corpus_listing(settings.corpus_dir)
            while (chunk := await asyncio.to_thread(next, listing, None)) is not None:
                await store.add_listed_files(writer, chunk)
        else:
            problems.append(Problem(str(settings.corpus_dir), None, "corpus folder not found"))

        def read(
            listed: Sequence[tuple[ListedFile, KnownFile | None]],
        ) -> asyncio.Future[_BatchRead]:
            return asyncio.ensure_future(
                asyncio.to_thread(_read_batch, settings.corpus_dir, listed, settings.max_file_bytes)
            )

        listed = await store.listed_files(writer, after="", limit=settings.batch_files)
        pending = read(listed) if listed else None
        try:
            while pending is not None:
                batch = await pending
                # list and start reading the next batch before writing this one: the worker
                # thread parses while the writer's thread inserts
                following = await store.listed_files(
                    writer, after=listed[-1][0].path, limit=settings.batch_files
                )
                pending = read(following) if following else None
                listed = following
                problems.extend(batch.problems)
                tally.reparsed += batch.reparsed
                await _apply_batch(
                    store, writer, settings.corpus_dir, batch, stamp, problems, tally
                )
        finally:
            if pending is not None:
                _forget(pending)
        if problems:
            raise CorpusInvalid(problems)  # rolls the transaction back
        removed = indexed_before - tally.changed - tally.unchanged
        removed_ids = await store.finish_corpus_reload(
            writer,
            stamp=stamp,
            removed=removed,
            sample=REPORT_IDS,
            authors_changed=bool(tally.changed),
        )
    return ReloadReport(
        added=tuple(tally.first_added),
        changed=tuple(tally.first_changed),
        removed=removed_ids,
        added_count=tally.added,
        changed_count=tally.changed,
        removed_count=removed,
        unchanged=tally.unchanged,
        reparsed=tally.reparsed,
        seconds=time.perf_counter() - started,
    )


async def _apply_batch(
    store: CorpusStore,
    writer: aiosqlite.Connection,
    corpus_dir: Path,
    batch: _BatchRead,
    stamp: str,
    problems: list[Problem],
    tally: _Tally,
) -> None:
    """Sort one batch's files into added, changed and unchanged, record their ids as claimed,
    and write them, unless some problem already dooms the reload (then only problems are
    collected, so the person fixing the corpus gets the whole list)."""
    parsed_ids = [file.document.id for file, _ in batch.files if file.document]
    indexed = await store.indexed_documents(writer, parsed_ids)
    claims: list[tuple[str, str]] = []
    added: list[str] = []
    changed: list[str] = []
    unchanged = 0
    upserts: list[FileChange] = []
    touched: list[tuple[str, str, int, int]] = []
    for file, known in batch.files:
        doc = file.document
        doc_id = _claimed_id(file, known)
        claims.append((doc_id, file.path))
        if doc is None:
            assert known is not None  # a file is left unparsed only when the index knows it
            unchanged += 1
            if (known.size, known.mtime_ns) != (file.size, file.mtime_ns):
                touched.append((doc_id, file.path, file.size, file.mtime_ns))
            continue
        origin, indexed_hash = indexed.get(doc_id, (None, None))
        if origin is not None and origin != "corpus":
            problems.append(
                Problem(file.path, None, f"id '{doc_id}' is already used by a feed entry")
            )
            continue
        if origin is None:
            added.append(doc_id)
        elif indexed_hash != doc.content_hash:
            changed.append(doc_id)
        else:  # same bytes under a new path or mtime
            unchanged += 1
            touched.append((doc_id, file.path, file.size, file.mtime_ns))
            continue
        upserts.append(FileChange(doc, file.size, file.mtime_ns, batch.passages.get(file.path)))
    owners = await store.claim_ids(writer, claims)
    for doc_id, path in claims:
        if doc_id in owners and owners[doc_id] != path:
            message = f"id '{doc_id}' is already used by {owners[doc_id]}; ids must be unique"
            problems.append(Problem(path, id_line(corpus_dir / path), message))
    tally.note(added, changed, unchanged)
    if problems:
        return  # nothing will be written: skip preparing rows
    prepared = await asyncio.to_thread(prepare_documents, upserts, stamp)
    await store.write_corpus_batch(writer, CorpusBatch(prepared, changed, touched))


def _claimed_id(file: ParsedFile, known: KnownFile | None) -> str:
    """The id a file claims: its parsed document's, or the indexed one's for a file not parsed."""
    if file.document is not None:
        return file.document.id
    assert known is not None  # a file is left unparsed only when the index knows it
    return known.doc_id


def _forget(pending: asyncio.Future[_BatchRead]) -> None:
    """Drop a prefetch the reload will not use. A worker thread cannot be stopped: it finishes
    its batch and the result is discarded; an exception it raised is marked as retrieved."""
    if not pending.done():
        pending.cancel()
    elif not pending.cancelled():
        pending.exception()
