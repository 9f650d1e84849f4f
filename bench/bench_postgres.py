"""Search on PostgreSQL against search on SQLite, side by side, on the same 100,000 documents.

Run by hand, never by CI (it prints figures and asserts nothing). From the repository root:

    .venv/bin/python bench/bench_postgres.py                       # the kept corpus of bench_index
    .venv/bin/python bench/bench_postgres.py --corpus DIR --sqlite-db FILE --queries 500

It answers issue #14's question "PostgreSQL full-text search, or a per-process SQLite replica
rebuilt from the shared documents?" with figures:

1. Load: a real PostgreSQL server is started (tests/postgres_server.py: initdb into a temporary
   folder, Unix socket only, fsync off), the corpus files are parsed by the loader a batch at a
   time in a worker thread while the previous batch is sent with COPY
   (`PostgresCorpusStore.copy_documents`: the generated tsvector and its GIN index are maintained
   as rows arrive), then ANALYZE. Parse and COPY are timed apart; the database's size is printed.
2. Query latency, p50/p99/max in ms around each `await store.search_page(terms, limit=10)` (what
   /search asks for its first page: the folded terms of the query, 10 hits), for PostgreSQL
   (asyncpg, a pool of 4) and for SQLite (a copy of the index `bench_index.py --keep` built, or
   `corpus-bot --corpus DIR --db FILE index`: the file given is only read), alternating per
   input, with the inputs of bench_index (words of each frequency band, two words, absent
   words, author names), drawn with its seed. Printed for all inputs, then for the inputs both
   backends found something for: PostgreSQL drops English stop words, so its answer to the most
   common words is an empty page, fast, which flatters its row of all inputs.
3. Agreement: how often both backends put the same document first, and how many of SQLite's top
   10 PostgreSQL also returns.

The machine's load average is printed before and after: the figures mean little on a busy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as `python bench/bench_postgres.py`
    sys.path.insert(0, str(REPO))

from bench._harness import Report, load_note, machine_lines, percentile  # noqa: E402
from bench.bench_index import query_inputs  # noqa: E402
from bot.corpus.loader import CorpusScanner  # noqa: E402
from bot.corpus.models import Document  # noqa: E402
from bot.corpus.search import query_terms  # noqa: E402
from bot.corpus.store import CorpusStore, SearchPage  # noqa: E402
from bot.storage.postgres.documents import PostgresCorpusStore  # noqa: E402
from tests.postgres_server import PostgresServer, find_binaries, missing_reason  # noqa: E402

DEFAULT_CORPUS = Path("/tmp/bench-index/synthetic-n100000-s1-w800")
DEFAULT_SQLITE = Path("/tmp/bench-index/db/service.db")
BATCH_FILES = 2000


@dataclass
class Latencies:
    name: str
    postgres: list[float] = field(default_factory=list)
    sqlite: list[float] = field(default_factory=list)
    same_first: int = 0
    both_found: int = 0
    overlap: list[float] = field(default_factory=list)
    found_postgres: list[float] = field(default_factory=list)
    """Latencies of the inputs both backends found something for (the same inputs for both)."""
    found_sqlite: list[float] = field(default_factory=list)


@dataclass
class LoadFigures:
    documents: int = 0
    parse_s: float = 0.0
    copy_s: float = 0.0
    analyze_s: float = 0.0
    wall_s: float = 0.0


async def load_postgres(store: PostgresCorpusStore, corpus: Path) -> LoadFigures:
    """Parse batches in a thread while the previous batch is copied: both sides stay busy."""
    figures = LoadFigures()
    scanner = CorpusScanner(corpus, max_bytes=1_000_000, batch_files=BATCH_FILES)

    def parse() -> list[Document] | None:
        started = time.perf_counter()
        batch = scanner.next_batch()
        figures.parse_s += time.perf_counter() - started
        if batch is None:
            return None
        return [f.document for f in batch if f.document is not None]

    began = time.perf_counter()
    pending = asyncio.create_task(asyncio.to_thread(parse))
    while (documents := await pending) is not None:
        pending = asyncio.create_task(asyncio.to_thread(parse))
        started = time.perf_counter()
        await store.copy_documents(documents)
        figures.copy_s += time.perf_counter() - started
        figures.documents += len(documents)
        if figures.documents % 20_000 < BATCH_FILES:
            print(f"  … {figures.documents:,} documents loaded", flush=True)
    started = time.perf_counter()
    await store.analyze()
    figures.analyze_s = time.perf_counter() - started
    figures.wall_s = time.perf_counter() - began
    if scanner.all_problems:
        print(f"  ({len(scanner.all_problems)} files had problems and were left out)")
    return figures


async def timed(call: Callable[[], Awaitable[SearchPage]], into: list[float]) -> SearchPage:
    started = time.perf_counter()
    page = await call()
    into.append((time.perf_counter() - started) * 1000)
    return page


async def measure(
    postgres: PostgresCorpusStore, sqlite: CorpusStore, classes: dict[str, list[str]]
) -> list[Latencies]:
    results: list[Latencies] = []
    for name, texts in classes.items():
        row = Latencies(name)
        for text in texts:
            terms = query_terms(text)
            pg = await timed(functools.partial(postgres.search_page, terms, limit=10), row.postgres)
            sq = await timed(functools.partial(sqlite.search_page, terms, limit=10), row.sqlite)
            pg_ids = [ref.id for ref, _, _ in pg.hits]
            sq_ids = [ref.id for ref, _, _ in sq.hits]
            if pg_ids and sq_ids:
                row.found_postgres.append(row.postgres[-1])
                row.found_sqlite.append(row.sqlite[-1])
                row.both_found += 1
                row.same_first += pg_ids[0] == sq_ids[0]
                row.overlap.append(len(set(pg_ids) & set(sq_ids)) / len(sq_ids))
        results.append(row)
    return results


def latency_cells(millis: Sequence[float]) -> str:
    ordered = sorted(millis)
    return (
        f"{percentile(ordered, 50):8.2f} {percentile(ordered, 99):8.2f} {max(ordered):8.2f}"
        if ordered
        else f"{'-':>8} {'-':>8} {'-':>8}"
    )


def agreement(row: Latencies) -> str:
    if not row.both_found:
        return "no input found by both"
    overlap = sum(row.overlap) / len(row.overlap)
    return f"same 1st {row.same_first}/{row.both_found}, top-10 overlap {overlap:.0%}"


def print_latencies(report: Report, rows: list[Latencies]) -> None:
    report(
        f"{'/search first page, ms':34} {'n':>5}   {'PostgreSQL p50/p99/max':>26}   "
        f"{'SQLite p50/p99/max':>26}   agreement"
    )
    everything = Latencies("(all)")
    found = Latencies("(all found by both)")
    for row in rows:
        everything.postgres += row.postgres
        everything.sqlite += row.sqlite
        everything.same_first += row.same_first
        everything.both_found += row.both_found
        everything.overlap += row.overlap
        found.postgres += row.found_postgres
        found.sqlite += row.found_sqlite
        found.same_first += row.same_first
        found.both_found += row.both_found
        found.overlap += row.overlap
    for row in [everything, found, *rows]:
        report(
            f"  {row.name:32} {len(row.postgres):5}   {latency_cells(row.postgres)}   "
            f"{latency_cells(row.sqlite)}   {agreement(row)}"
        )


async def run(args: argparse.Namespace) -> int:
    report = Report()
    binaries = find_binaries()
    if binaries is None:
        print(f"bench_postgres: {missing_reason()}", file=sys.stderr)
        return 2
    if not args.sqlite_db.is_file() or not args.corpus.is_dir():
        print(
            f"bench_postgres: needs the corpus {args.corpus} and its SQLite index {args.sqlite_db} "
            "(bench/bench_index.py --count 100000 --keep /tmp/bench-index makes both)",
            file=sys.stderr,
        )
        return 2
    report(f"corpus-bot search benchmark: PostgreSQL vs SQLite on {args.corpus}")
    for line in machine_lines():
        report(f"  {line}")
    report(f"  PostgreSQL {binaries.version()} ({binaries.bin_dir})")
    report()
    work = Path(tempfile.mkdtemp(prefix="bench-postgres-"))
    server = PostgresServer(
        binaries, keep=args.keep_cluster, settings={"shared_buffers": args.shared_buffers}
    )
    try:
        sqlite_copy = work / "service.db"
        started = time.perf_counter()
        await asyncio.to_thread(shutil.copyfile, args.sqlite_db, sqlite_copy)
        report(f"SQLite: copied {args.sqlite_db} in {time.perf_counter() - started:.1f} s")
        dsn = await asyncio.to_thread(server.start)
        report(
            f"PostgreSQL: a server of its own in {server.socket_dir} (fsync off, "
            f"shared_buffers {args.shared_buffers})"
        )
        if args.keep_cluster is None:
            report("  (its folder is removed at the end; --keep-cluster DIR keeps it for a rerun)")
        postgres = await PostgresCorpusStore.open(dsn, min_size=4, max_size=4)
        sqlite = await CorpusStore.open(sqlite_copy)
        try:
            stored = await postgres.count_documents()
            if stored:
                report(f"Load: reused the {stored:,} documents of {args.keep_cluster}")
            else:
                report(f"Load ({load_note('before the load')})")
                figures = await load_postgres(postgres, args.corpus)
                report(
                    f"  {figures.documents:,} documents in {figures.wall_s:.0f} s "
                    f"({figures.documents / figures.wall_s:,.0f} docs/s): parse "
                    f"{figures.parse_s:.0f} s (a worker thread, overlapping), COPY with the "
                    f"tsvector and GIN index {figures.copy_s:.0f} s, VACUUM ANALYZE "
                    f"{figures.analyze_s:.1f} s ({load_note('after the load')})"
                )
            size = await postgres.database_bytes()
            report(
                f"  database size {size / 1e6:,.0f} MB; SQLite index "
                f"{args.sqlite_db.stat().st_size / 1e6:,.0f} MB"
            )
            report()
            inputs = query_inputs(sqlite_copy, args.seed, args.queries).search
            report(f"Queries ({load_note('before the queries')})")
            rows = await measure(postgres, sqlite, inputs)
            print_latencies(report, rows)
            report(f"  ({load_note('after the queries')})")
        finally:
            await postgres.close()
            await sqlite.close()
    finally:
        await asyncio.to_thread(server.stop)
        shutil.rmtree(work, ignore_errors=True)
    if args.save:
        report.save(args.save)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument(
        "--sqlite-db", type=Path, default=DEFAULT_SQLITE, help="the corpus's SQLite index (copied)"
    )
    parser.add_argument("--queries", type=int, default=500, help="search inputs in all")
    parser.add_argument("--seed", type=int, default=1, help="the corpus's seed (its vocabulary)")
    parser.add_argument(
        "--shared-buffers",
        default="2GB",
        help="the server's cache (PostgreSQL's advice: a quarter of RAM; its default is 128MB)",
    )
    parser.add_argument("--save", type=Path, default=None, help="also write the report here")
    parser.add_argument(
        "--keep-cluster",
        type=Path,
        default=None,
        help="keep the PostgreSQL cluster in this folder; a later run reuses its documents",
    )
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
