"""Benchmark the core's index at scale: build, incremental reload, query latency, summaries, memory.

Run by hand, never by CI (it prints figures and asserts nothing). From the repository root:

    .venv/bin/python bench/bench_index.py --count 100000
    .venv/bin/python bench/bench_index.py --count 10000                          # a quick run
    .venv/bin/python bench/bench_index.py --count 100000 --keep /tmp/bench-index  # keep the corpus

Without --keep the synthetic corpus (bench/generate_corpus.py) and the databases live in a
temporary folder removed at the end; with --keep DIR they live in DIR and a corpus generated with
the same --count/--seed/--words-mean is reused by the next run (the one file the incremental
phase edits is restored afterwards). Databases are always rebuilt from nothing.

What it prints, in one run, side by side:

1. Index build: `CorpusService.reload()` on an empty database vs. the *raw limit*: the same files
   read and inserted with one bare `executemany` into the same schema (`bot.corpus.schema`'s
   migrations, WAL, synchronous=NORMAL, one transaction), the text split at the front matter
   with minimal parsing (id, title and author lines picked out with `str.startswith`, no YAML, no
   validation, no hashing, no authors tables). Target: build <= 2x raw. The raw build runs in a
   child process so its memory is measured on its own.
2. Reloads after the build: nothing changed, and one file changed (content edited, mtime moved).
   Target: one changed file < 5% of the full build.
3. Query latency p50/p99/max in ms, measured around each `await svc.…()` (so aiosqlite's thread
   hop is included), per class of input and overall: `author` (popular and long-tail full names,
   surnames alone, lowercase unaccented, misspelled), `search` (words of each frequency band, two
   words, absent words, author names), `post` (id, exact title, title prefix, a few title words,
   a misspelled title), and the autocomplete helpers. Target: p99 < 10 ms at 100,000 documents.
   Inputs are drawn with a fixed seed; a not-found or ambiguous answer (AnswerError) is an answer.
4. Summaries of `long-5000` and `long-20000`: `summarize_document` called directly (the first
   call in the process, uncached), then through `svc.summarize` (uncached in the database, then
   cached).
5. Memory: VmRSS (now) and ru_maxrss (the process's peak) after each phase, and the same for a
   child process that indexes the bundled 11-document corpus, to compare.
6. The machine: CPU model, cores, RAM, Python, SQLite, aiosqlite and PyYAML versions.

Options: --count N (default 100000), --keep DIR, --seed S (1), --words-mean W (800),
--queries Q (500 per kind), --jobs J (corpus generation processes).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as `python bench/bench_index.py`
    sys.path.insert(0, str(REPO))

from bench._harness import Report, percentile  # noqa: E402
from bench.generate_corpus import (  # noqa: E402
    LONG_DOCUMENTS,
    author_weights,
    build_author_pool,
    build_vocabulary,
    generate,
)
from bot.corpus.errors import AnswerError  # noqa: E402
from bot.corpus.schema import migrate  # noqa: E402
from bot.corpus.service import CorpusService, ServiceSettings  # noqa: E402
from bot.corpus.summaries import summarize_document  # noqa: E402

BUNDLED_CORPUS = REPO / "corpus"
SUMMARY_SENTENCES = 3
SUMMARY_CHARS = 3500  # the service's default budget
TARGET_BUILD_RATIO = 2.0
TARGET_INCREMENTAL_SHARE = 0.05
TARGET_P99_MS = 10.0
ASK_TARGET_P99_MS = 20.0
"""/ask's own target (issue #13): it ranks passages again in Python after FTS5."""

# --- measuring -------------------------------------------------------------------------------


def _status_mb(field_name: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def rss_now_mb() -> float:
    """Resident memory right now (VmRSS), in MB."""
    return _status_mb("VmRSS")


def rss_high_water_mb() -> float:
    """Peak resident memory of this process image (VmHWM), in MB.

    Used for the child processes: Linux keeps ru_maxrss across fork and exec, so a child's
    ru_maxrss starts at its parent's size when it was forked; VmHWM starts afresh at exec."""
    return _status_mb("VmHWM")


def ru_maxrss_mb() -> float:
    """The process's peak resident memory so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class MemoryLog:
    rows: list[tuple[str, float, float, float]] = field(default_factory=list)

    def mark(self, phase: str) -> None:
        gc.collect()
        self.rows.append((phase, rss_now_mb(), rss_high_water_mb(), ru_maxrss_mb()))


@dataclass
class LatencyClass:
    """Latencies (ms) of one kind of input, and how the service answered."""

    name: str
    millis: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)


async def timed_calls(
    name: str,
    inputs: Sequence[str],
    call: Callable[[str], Awaitable[Any]],
    describe: Callable[[Any], str],
) -> LatencyClass:
    result = LatencyClass(name)
    for text in inputs:
        started = time.perf_counter()
        try:
            answer = await call(text)
            outcome = describe(answer)
        except AnswerError as exc:
            outcome = exc.kind
        result.millis.append((time.perf_counter() - started) * 1000)
        result.outcomes[outcome] += 1
    return result


# --- machine ---------------------------------------------------------------------------------


def machine_description() -> list[str]:
    cpu = "unknown CPU"
    try:
        for line in (
            Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
        ):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import aiosqlite
    import yaml

    return [
        f"CPU      {cpu}, {os.cpu_count()} cores ({usable} usable), {ram:.1f} GiB RAM",
        f"OS       {platform.system()} {platform.release()} {platform.machine()}",
        f"Python   {platform.python_version()} ({platform.python_implementation()})",
        f"SQLite   {sqlite3.sqlite_version}; aiosqlite {aiosqlite.__version__}; "
        f"PyYAML {yaml.__version__} ({'libyaml' if yaml.__with_libyaml__ else 'pure Python'})",
    ]


# --- the corpus ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workspace:
    root: Path
    corpus: Path
    temporary: bool

    def db(self, name: str) -> Path:
        """A fresh database path (any previous file and its WAL removed)."""
        path = self.root / "db" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return path


def prepare_corpus(args: argparse.Namespace) -> tuple[Workspace, str]:
    """Generate the corpus, or reuse a complete one kept from an earlier run."""
    if args.keep:
        root = args.keep.resolve()
        temporary = False
    else:
        root = Path(tempfile.mkdtemp(prefix="bench-index-"))
        temporary = True
    name = f"synthetic-n{args.count}-s{args.seed}-w{args.words_mean}"
    corpus = root / name
    marker = root / f"{name}.complete"
    workspace = Workspace(root, corpus, temporary)
    if marker.exists() and corpus.is_dir():
        return workspace, f"reused {corpus}"
    marker.unlink(missing_ok=True)
    started = time.perf_counter()
    written = generate(
        corpus, count=args.count, seed=args.seed, words_mean=args.words_mean, jobs=args.jobs
    )
    marker.write_text(json.dumps({"count": args.count, "bytes": written}), encoding="utf-8")
    return (
        workspace,
        f"generated {corpus} ({written / 1e6:,.0f} MB) in {time.perf_counter() - started:.1f} s",
    )


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(
        p for p in corpus.iterdir() if p.name.endswith(".md") and not p.name.startswith(".")
    )


def warm_page_cache(files: Sequence[Path]) -> tuple[float, int]:
    """Read every file once so neither build below pays for a cold disk."""
    started = time.perf_counter()
    total = sum(len(p.read_bytes()) for p in files)
    return time.perf_counter() - started, total


# --- raw limit (child process) ---------------------------------------------------------------

_RAW_INSERT = """
INSERT INTO documents (id, origin, source_path, title, display_title, title_source, title_key,
    subtitle, authors, published, url, publisher, kind, excerpt, body, word_count, annotations,
    reasons, content_hash, file_size, file_mtime_ns, added_at, updated_at)
VALUES (?, 'corpus', ?, ?, ?, 'given', ?, NULL, ?, NULL, NULL, NULL, 'post', 0, ?, 0, '{}', '[]', '', ?, 0, '', '')
"""


def _raw_rows(corpus: Path) -> Iterator[tuple[Any, ...]]:
    """Rows streamed from the files: front matter split off, three fields picked out by prefix."""
    for entry in sorted(os.scandir(corpus), key=lambda e: e.name):
        if not entry.name.endswith(".md"):
            continue
        with open(entry.path, "rb") as handle:
            raw = handle.read()
        text = raw.decode("utf-8")
        front, _, body = text[4:].partition("\n---\n")
        doc_id, title, authors = entry.name, "", []
        for line in front.split("\n"):
            if line.startswith("id: "):
                doc_id = line[4:]
            elif line.startswith("title: "):
                title = line[7:]
            elif line.startswith("- "):
                authors.append(line[2:])
        shown = title or doc_id
        yield (
            doc_id,
            entry.name,
            title or None,
            shown,
            shown.lower(),
            "; ".join(authors),
            body,
            len(raw),
        )


def raw_build(corpus: Path, db_path: Path) -> dict[str, float]:
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    migrate(conn)
    started = time.perf_counter()
    cpu_started = time.process_time()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(_RAW_INSERT, _raw_rows(corpus))
    conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    load = os.getloadavg()[0]
    (documents,) = conn.execute("SELECT count(*) FROM documents").fetchone()
    conn.close()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "load": load,
        "documents": documents,
        "db_mb": db_pages_mb(db_path),
        "rss_mb": rss_now_mb(),
        "peak_mb": rss_high_water_mb(),
    }


def db_pages_mb(path: Path) -> float:
    return (
        sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists())
        / 1e6
    )


# --- bundled corpus (child process) ----------------------------------------------------------


async def bundled_memory(db_path: Path) -> dict[str, float]:
    figures = {"after imports": rss_now_mb()}
    svc = await CorpusService.open(ServiceSettings(db_path=db_path, corpus_dir=BUNDLED_CORPUS))
    try:
        report = await svc.reload()
        figures["after reload"] = rss_now_mb()
        figures["documents"] = report.added_count
        await svc.author("Claire Leibowicz")
        await svc.search("manipulated media")
        await svc.post("labeling manipulated media")
        await svc.summarize("access-now-resigns-from-pai")
        figures["after queries"] = rss_now_mb()
    finally:
        await svc.close()
    figures["peak"] = rss_high_water_mb()
    return figures


def run_child(*arguments: str) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", *arguments],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def corpus_shape(db_path: Path) -> str:
    """What the queries run against: the author distribution matters for `author` latency."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        documents, words = conn.execute(
            "SELECT count(*), sum(word_count) FROM documents"
        ).fetchone()
        authors, bylines = conn.execute(
            "SELECT count(DISTINCT author_id), count(*) FROM document_authors"
        ).fetchone()
        (most,) = conn.execute(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM document_authors GROUP BY author_id)"
        ).fetchone()
    return (
        f"Corpus shape: {documents:,} documents, {words:,} words, {authors:,} authors, "
        f"{bylines / documents:.2f} authors a document, the most prolific author has {most:,} posts"
    )


# --- query inputs ----------------------------------------------------------------------------


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def misspell(rng: random.Random, text: str) -> str:
    """One typo in a word of 4+ letters: a swap of two neighbours, or a dropped letter."""
    words = text.split()
    candidates = [i for i, w in enumerate(words) if len(w) >= 4] or list(range(len(words)))
    i = rng.choice(candidates)
    word = words[i]
    at = rng.randrange(1, len(word) - 1) if len(word) > 2 else 0
    if rng.random() < 0.5 and len(word) > 2:
        word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    else:
        word = word[:at] + word[at + 1 :]
    words[i] = word
    return " ".join(words)


@dataclass(frozen=True)
class QueryInputs:
    author: dict[str, list[str]]
    search: dict[str, list[str]]
    post: dict[str, list[str]]
    post_choices: list[str]
    author_choices: list[str]


def _split(total: int, shares: Sequence[int]) -> list[int]:
    counts = [total * s // sum(shares) for s in shares]
    counts[0] += total - sum(counts)
    return counts


def query_inputs(db_path: Path, seed: int, per_kind: int) -> QueryInputs:
    """Varied inputs with a fixed seed, from the author pool, the vocabulary and the stored titles."""
    rng = random.Random(f"queries:{seed}")
    pool = build_author_pool(seed)
    vocabulary = build_vocabulary(seed).words
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        titles = conn.execute(
            "SELECT id, display_title FROM documents WHERE title IS NOT NULL"
        ).fetchall()
    weights = author_weights(len(pool))
    a = _split(per_kind, (2, 2, 2, 2, 2))
    author = {
        "full name, by popularity": rng.choices(pool, cum_weights=weights, k=a[0]),
        "full name, uniform (tail)": rng.choices(pool, k=a[1]),
        "surname only": [n.split()[-1] for n in rng.choices(pool, k=a[2])],
        "lowercase, accents dropped": [strip_accents(n).lower() for n in rng.choices(pool, k=a[3])],
        "misspelled (fuzzy path)": [misspell(rng, n) for n in rng.choices(pool, k=a[4])],
    }
    s = _split(per_kind, (3, 3, 3, 3, 4, 2, 2))
    search = {
        "1 word, rank 1-20": rng.choices(vocabulary[:20], k=s[0]),
        "1 word, rank 21-200": rng.choices(vocabulary[20:200], k=s[1]),
        "1 word, rank 201-1000": rng.choices(vocabulary[200:1000], k=s[2]),
        "1 word, rank 1001-5000": rng.choices(vocabulary[1000:], k=s[3]),
        "2 words, any rank": [
            f"{x} {y}"
            for x, y in zip(
                rng.choices(vocabulary, k=s[4]), rng.choices(vocabulary, k=s[4]), strict=True
            )
        ],
        "absent words (OR fallback)": [
            f"zqxv{rng.randrange(10**6)} wqzk{rng.randrange(10**6)}" for _ in range(s[5])
        ],
        "author name": rng.choices(pool, cum_weights=weights, k=s[6]),
    }
    p = _split(per_kind, (2, 2, 2, 2, 2))
    picked = [rng.choice(titles) for _ in range(sum(p))]
    parts = iter(picked)

    def take(n: int) -> list[tuple[str, str]]:
        return [next(parts) for _ in range(n)]

    post = {
        "id": [doc_id for doc_id, _ in take(p[0])],
        "exact title": [title for _, title in take(p[1])],
        "title prefix (3 words)": [" ".join(title.split()[:3]) for _, title in take(p[2])],
        "3 title words, lowercase": [
            " ".join(rng.sample(title.lower().split(), k=min(3, len(title.split()))))
            for _, title in take(p[3])
        ],
        "misspelled title (fuzzy)": [misspell(rng, title) for _, title in take(p[4])],
    }
    choices_n = max(1, per_kind // 5)
    post_choices = [
        title[: rng.randint(1, 12)] for _, title in (rng.choice(titles) for _ in range(choices_n))
    ]
    author_choices = [n[: rng.randint(1, 8)] for n in rng.choices(pool, k=choices_n)]
    return QueryInputs(author, search, post, post_choices, author_choices)


# --- the benchmark ---------------------------------------------------------------------------


def _describe_author(answer: Any) -> str:
    return "found" if answer.posts else "found, no posts"


def _describe_search(answer: Any) -> str:
    return "hits" if answer.total else "no hits"


def _describe_ask(answer: Any) -> str:
    return f"{len(answer.passages)} passages"


def _describe_found(answer: Any) -> str:
    return "found"


def _describe_choices(answer: Any) -> str:
    return "choices" if answer else "none"


async def measure_queries(svc: CorpusService, inputs: QueryInputs) -> dict[str, list[LatencyClass]]:
    # A short warm-up (not counted) so the first measured call does not pay for imports.
    for text in ("warm up", "policy"):
        try:
            await svc.search(text)
            await svc.author(text)
            await svc.post(text)
        except AnswerError:
            pass
    results: dict[str, list[LatencyClass]] = {
        "author": [],
        "search": [],
        "ask": [],
        "post": [],
        "autocomplete and lists": [],
    }
    for name, texts in inputs.author.items():
        results["author"].append(await timed_calls(name, texts, svc.author, _describe_author))
    for name, texts in inputs.search.items():
        results["search"].append(await timed_calls(name, texts, svc.search, _describe_search))
    for name, texts in inputs.search.items():  # /ask: the search inputs, asked as questions
        questions = [f"What does the corpus say about {text}?" for text in texts]
        results["ask"].append(await timed_calls(f"ask: {name}", questions, svc.ask, _describe_ask))
    for name, texts in inputs.post.items():
        results["post"].append(await timed_calls(name, texts, svc.post, _describe_found))
    results["autocomplete and lists"].append(
        await timed_calls(
            "post_choices (1-12 chars)", inputs.post_choices, svc.post_choices, _describe_choices
        )
    )
    results["autocomplete and lists"].append(
        await timed_calls(
            "author_choices (1-8 chars)",
            inputs.author_choices,
            svc.author_choices,
            _describe_choices,
        )
    )
    authors_list = await timed_calls(
        "authors() (the whole list)",
        ["-"] * 20,
        lambda _: svc.authors(),
        lambda a: f"{len(a)} authors",
    )
    results["autocomplete and lists"].append(authors_list)
    return results


async def measure_summaries(svc: CorpusService) -> list[tuple[str, float]]:
    rows: list[tuple[str, float]] = []
    for doc_id in LONG_DOCUMENTS:
        stored = await svc.store.document(doc_id)
        assert stored is not None, f"{doc_id} is missing from the index"
        started = time.perf_counter()
        direct = summarize_document(
            stored.body,
            title=stored.ref.title,
            sentences=SUMMARY_SENTENCES,
            max_chars=SUMMARY_CHARS,
            excerpt=stored.ref.excerpt,
        )
        rows.append(
            (
                f"{doc_id}: summarize_document() direct, first call ({len(direct.sentences)} sentences)",
                time.perf_counter() - started,
            )
        )
        started = time.perf_counter()
        await svc.summarize(doc_id, sentences=SUMMARY_SENTENCES)
        rows.append((f"{doc_id}: svc.summarize(), not cached", time.perf_counter() - started))
        started = time.perf_counter()
        await svc.summarize(doc_id, sentences=SUMMARY_SENTENCES)
        rows.append((f"{doc_id}: svc.summarize(), cached", time.perf_counter() - started))
    return rows


def edit_one_file(files: Sequence[Path]) -> tuple[Path, bytes, os.stat_result]:
    """Append a sentence to a file in the middle of the corpus and move its mtime on."""
    path = files[len(files) // 2]
    original = path.read_bytes()
    stat = path.stat()
    path.write_bytes(original + b"\nOne more sentence, added by the benchmark.\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    return path, original, stat


def build_row(label: str, seconds: float, documents: int | None = None) -> str:
    rate = f"{documents / seconds:9,.0f}" if documents else " " * 9
    return f"  {label:<54}{seconds:9.2f}{rate}"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


async def run(args: argparse.Namespace) -> None:
    out = Report()
    memory = MemoryLog()
    memory.mark("start (imports done)")
    workspace, corpus_note = prepare_corpus(args)
    try:
        files = corpus_files(workspace.corpus)
        warm_seconds, total_bytes = warm_page_cache(files)
        out(
            f"corpus-bot index benchmark: {len(files):,} documents, {total_bytes / 1e6:,.0f} MB, seed {args.seed}, "
            f"mean {args.words_mean} words"
        )
        out(f"  {corpus_note}; page cache warmed in {warm_seconds:.1f} s")
        out()
        out("Machine")
        for line in machine_description():
            out(f"  {line}")
        out()

        bundled = run_child("bundled", str(workspace.db("bundled.db")))
        raw = run_child("raw", str(workspace.corpus), str(workspace.db("raw.db")))
        memory.mark("after the raw build (child)")

        db_path = workspace.db("service.db")
        svc = await CorpusService.open(
            ServiceSettings(db_path=db_path, corpus_dir=workspace.corpus)
        )
        try:
            started = time.perf_counter()
            cpu_started = time.process_time()  # every thread's: the parsing worker's, SQLite's
            report = await svc.reload()
            build_seconds = time.perf_counter() - started
            build_cpu = time.process_time() - cpu_started
            build_load = os.getloadavg()[0]
            memory.mark("after the full build")
            started = time.perf_counter()
            noop = await svc.reload()
            noop_seconds = time.perf_counter() - started
            path, original, _ = edit_one_file(files)
            try:
                started = time.perf_counter()
                one = await svc.reload()
                one_seconds = time.perf_counter() - started
            finally:
                path.write_bytes(original)
            memory.mark("after the incremental reloads")

            ratio = build_seconds / raw["seconds"]
            share = one_seconds / build_seconds
            build_ok = verdict(ratio <= TARGET_BUILD_RATIO)
            one_ok = verdict(share < TARGET_INCREMENTAL_SHARE)
            added = report.added_count
            out(f"{'Index build and reload':<56}{'seconds':>9}{'docs/s':>9}   compared with")
            out(
                build_row(
                    "raw limit: read, split, executemany (child)", raw["seconds"], raw["documents"]
                )
            )
            out(
                build_row(f"svc.reload(), empty db ({added:,} added)", build_seconds, added)
                + f"   {ratio:.2f}x raw (target <= {TARGET_BUILD_RATIO:.0f}x) {build_ok}"
            )
            out(
                build_row(f"svc.reload(), nothing changed ({noop.reparsed} parsed)", noop_seconds)
                + f"   {noop_seconds / build_seconds:.1%} of the build"
            )
            out(
                build_row(f"svc.reload(), one file edited ({one.reparsed} parsed)", one_seconds)
                + f"   {share:.1%} of the build (target < {TARGET_INCREMENTAL_SHARE:.0%}) {one_ok}"
            )
            # On a shared machine the two builds may run under different loads: their CPU
            # seconds (all threads) and the load at their end say how far to trust the ratio.
            out(
                f"  CPU seconds: raw {raw['cpu_seconds']:.1f}, build {build_cpu:.1f} "
                f"({build_cpu / raw['cpu_seconds']:.2f}x); load average (1 min) at their end: "
                f"{raw['load']:.1f}, {build_load:.1f} on {os.cpu_count()} cores"
            )
            out()

            out(corpus_shape(db_path))
            out()
            inputs = query_inputs(db_path, args.seed, args.queries)
            results = await measure_queries(svc, inputs)
            memory.mark("after the queries")
            out(
                f"Query latency, ms, at {len(files):,} documents      n      p50      p99      max   answers"
            )
            worst_p99 = 0.0
            for kind, classes in results.items():
                every = sorted(m for c in classes for m in c.millis)
                if kind != "autocomplete and lists":
                    p99 = percentile(every, 99)
                    target = ASK_TARGET_P99_MS if kind == "ask" else TARGET_P99_MS
                    if kind != "ask":
                        worst_p99 = max(worst_p99, p99)
                    out(
                        f"  {kind + ' (all)':<44}{len(every):5d} {percentile(every, 50):8.2f} {p99:8.2f} "
                        f"{every[-1]:8.2f}   target p99 < {target:.0f} ms: {verdict(p99 < target)}"
                    )
                else:
                    out(f"  {kind}")
                for c in classes:
                    ms = sorted(c.millis)
                    answers = ", ".join(f"{k} {v}" for k, v in c.outcomes.most_common())
                    out(
                        f"    {c.name:<42}{len(ms):5d} {percentile(ms, 50):8.2f} {percentile(ms, 99):8.2f} "
                        f"{ms[-1]:8.2f}   {answers}"
                    )
            out()

            summaries = await measure_summaries(svc)
            memory.mark("after the summaries")
            out(f"{'Summaries':<70}{'ms':>8}")
            for label, seconds in summaries:
                out(f"  {label:<68}{seconds * 1000:8.1f}")
            out()
        finally:
            await svc.close()
        out(
            f"Database size after close (WAL checkpointed): service {db_pages_mb(db_path):,.0f} MB, "
            f"raw {raw['db_mb']:,.0f} MB"
        )
        out()

        out("Memory, MB (after gc.collect())                   VmRSS now   peak VmHWM   ru_maxrss")
        for phase, now, peak, maxrss in memory.rows:
            out(f"  this process, {phase:<36}{now:8.0f}   {peak:10.0f}  {maxrss:10.0f}")
        out(
            f"  raw build child, after its commit                 {raw['rss_mb']:8.0f}   {raw['peak_mb']:10.0f}"
        )
        out(
            f"  bundled corpus child ({bundled['documents']:.0f} docs), after imports      {bundled['after imports']:8.0f}"
        )
        out(f"  bundled corpus child, after reload                {bundled['after reload']:8.0f}")
        out(
            f"  bundled corpus child, after queries and summary   {bundled['after queries']:8.0f}   {bundled['peak']:10.0f}"
        )
        out(
            "  (children: VmHWM, because Linux carries ru_maxrss over fork and exec from the parent)"
        )
        out()
        summary = (
            f"Targets: build {ratio:.2f}x raw (<= 2x) {verdict(ratio <= TARGET_BUILD_RATIO)}; "
            f"one-file reload {share:.1%} of build (< 5%) {verdict(share < TARGET_INCREMENTAL_SHARE)}; "
            f"worst p99 {worst_p99:.1f} ms (< 10 ms) {verdict(worst_p99 < TARGET_P99_MS)}"
        )
        out(summary)
        if args.keep:
            out.save(workspace.root / "last-report.txt")
    finally:
        if workspace.temporary:
            shutil.rmtree(workspace.root, ignore_errors=True)


def child(arguments: Sequence[str]) -> int:
    """Entry point of the child processes: print one JSON line of figures."""
    role, *rest = arguments
    if role == "raw":
        figures = raw_build(Path(rest[0]), Path(rest[1]))
    elif role == "bundled":
        figures = asyncio.run(bundled_memory(Path(rest[0])))
    else:
        raise SystemExit(f"unknown child role {role!r}")
    print(json.dumps(figures))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return child(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--count", type=int, default=100_000, help="documents in the synthetic corpus"
    )
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep (and reuse) the corpus and databases here"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--words-mean", type=int, default=800)
    parser.add_argument(
        "--queries", type=int, default=500, help="inputs per query kind (author, search, post)"
    )
    parser.add_argument("--jobs", type=int, default=None, help="corpus generation processes")
    args = parser.parse_args(argv)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
