"""How long a process's SQLite replica takes to fill from PostgreSQL, and to follow it.

Run by hand, never by CI (it prints figures and asserts nothing). From the repository root:

    .venv/bin/python bench/bench_replica.py                  # the kept corpus of bench_index
    .venv/bin/python bench/bench_replica.py --corpus DIR --keep-cluster DIR

With `storage: postgres` every process serves commands from a replica (bot/storage/postgres/
replica.py), and a process that starts with an empty one (a new machine, a lost data_dir) fills
it from PostgreSQL before it answers. This measures, on a corpus made by generate_corpus.py:

1. The load into PostgreSQL, as bench_postgres.py does it (parse in a thread, COPY), with the
   change log's triggers (migration 3) firing on every row. Skipped when `--keep-cluster` holds
   a loaded cluster.
2. The first pull into an empty replica: wall time, documents per second, the process's peak
   RSS (the pull is paged: it must not grow with the corpus), the replica's size.
3. A pull with nothing new (ids and numbers only), then 100 documents changed by another
   writer and pulled (what follows a /reload elsewhere or a feed entry).
4. A publish that compares all 100,000 corpus documents with PostgreSQL's and finds nothing to
   write (a process's first reload, or one after a failed publish).

The machine's load average is printed before and after each step.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import asyncpg

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as `python bench/bench_replica.py`
    sys.path.insert(0, str(REPO))

from bench._harness import Report, load_note, machine_lines  # noqa: E402
from bench.bench_postgres import DEFAULT_CORPUS, load_postgres  # noqa: E402
from bot.corpus.models import Document  # noqa: E402
from bot.corpus.store import CorpusStore, IndexReads  # noqa: E402
from bot.storage.postgres.documents import PostgresCorpusStore, replace_documents  # noqa: E402
from bot.storage.postgres.replica import CorpusReplica  # noqa: E402
from tests.postgres_server import PostgresServer, find_binaries, missing_reason  # noqa: E402
from tests.storage.replicas import shared_pool  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run(args: argparse.Namespace, report: Report) -> int:
    binaries = find_binaries()
    if binaries is None:
        print(f"bench_replica: {missing_reason()}", file=sys.stderr)
        return 2
    report(f"corpus-bot replica benchmark on {args.corpus}")
    for line in machine_lines():
        report(f"  {line}")
    report(f"  PostgreSQL {binaries.version()} ({binaries.bin_dir})")
    report()
    server = PostgresServer(binaries, keep=args.keep_cluster)
    work = Path(tempfile.mkdtemp(prefix="bench-replica-"))
    try:
        dsn = await asyncio.to_thread(server.start)
        postgres = await PostgresCorpusStore.open(dsn, min_size=2, max_size=4)
        try:
            stored = await postgres.count_documents()
            if stored:
                report(f"Load: reused the {stored:,} documents of {args.keep_cluster}")
            else:
                report(f"Load ({load_note('before the load')})")
                figures = await load_postgres(postgres, args.corpus)
                report(
                    f"  {figures.documents:,} documents in {figures.wall_s:.0f} s "
                    f"(parse {figures.parse_s:.0f} s, COPY {figures.copy_s:.0f} s, "
                    f"analyze {figures.analyze_s:.0f} s; {load_note('after the load')})"
                )
        finally:
            await postgres.close()
        async with shared_pool(dsn) as pool:
            await measure(pool, dsn, work, report)
    finally:
        await asyncio.to_thread(server.stop)
        shutil.rmtree(work, ignore_errors=True)
    return 0


async def measure(pool: asyncpg.Pool, dsn: str, work: Path, report: Report) -> None:
    store = await CorpusStore.open(work / "replica.db")
    try:
        replica = CorpusReplica(store, pool, dsn)
        report()
        report(f"First pull into an empty replica ({load_note('before')})")
        rss_before = peak_rss_mb()
        started = time.perf_counter()
        cpu = time.process_time()
        pulled = await replica.pull()
        wall = time.perf_counter() - started
        report(
            f"  {pulled.written:,} documents and {pulled.summaries:,} summaries in {wall:.0f} s "
            f"({pulled.written / wall:,.0f} docs/s), this process's CPU "
            f"{time.process_time() - cpu:.0f} s (all threads); peak RSS "
            f"{rss_before:.0f} -> {peak_rss_mb():.0f} MB; replica "
            f"{(work / 'replica.db').stat().st_size / 2**20:,.0f} MB ({load_note('after')})"
        )
        started = time.perf_counter()
        idle = await replica.pull()
        report(
            f"A pull with nothing new: {1000 * (time.perf_counter() - started):.1f} ms "
            f"({idle.written} written)"
        )
        sample = await store.read(_some_documents, 100)
        edited = [
            dataclasses.replace(
                doc, body=doc.body + " Edited.", content_hash="e" + doc.content_hash
            )
            for doc in sample
        ]
        async with pool.acquire() as conn, conn.transaction():
            await replace_documents(conn, edited)
        started = time.perf_counter()
        again = await replica.pull()
        report(
            f"100 documents changed by another writer, pulled: "
            f"{1000 * (time.perf_counter() - started):.0f} ms ({again.written} written)"
        )
        started = time.perf_counter()
        published = await replica.publish()
        report(
            f"A publish comparing every corpus document with PostgreSQL's (a first reload, or "
            f"one after a failed publish): {time.perf_counter() - started:.1f} s "
            f"({published.written} written, {published.removed} removed)"
        )
    finally:
        await store.close()


def _some_documents(reads: IndexReads, count: int) -> list[Document]:
    ids = [row["id"] for row in reads.conn.execute("SELECT id FROM documents LIMIT ?", (count,))]
    return reads.whole_documents(ids)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument(
        "--keep-cluster",
        type=Path,
        default=None,
        help="a folder for the PostgreSQL cluster that outlives the run (a rerun skips the load)",
    )
    args = parser.parse_args(argv)
    report = Report()
    return asyncio.run(run(args, report))


if __name__ == "__main__":
    raise SystemExit(main())
