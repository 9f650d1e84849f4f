"""Benchmark the extractive summarizer against Lead-3 and sumy's LexRank and TextRank.

Run by hand, never by CI and never imported by tests: it needs bench-only packages and the
CNN/DailyMail evaluation file, which stays in the shared folder (its articles are for research
use and are never copied into the project). From the repository root:

    python3 -m venv /tmp/benchvenv
    /tmp/benchvenv/bin/pip install -r bench/requirements-summaries.txt
    /tmp/benchvenv/bin/python bench/bench_summaries.py
    /tmp/benchvenv/bin/python bench/bench_summaries.py --split dev    # the half to tune on
    /tmp/benchvenv/bin/python bench/bench_summaries.py --split test   # the half to report on

Options: --data PATH (default ../shared/eval/cnndm_frank250.jsonl, i.e. /work/shared/eval/...),
--split all|dev|test (a fixed half of the articles by SHA-1 of their id), --limit N,
--against REV (also compare ours with our summarizer as it was at a git revision, see below).

What it measures: ROUGE-1, ROUGE-2 and ROUGE-Lsum F1 (Google's rouge-score, Porter stemming),
averaged over the articles, against the human highlights (one sentence a line), and documents
per second counting the summarizer's own time only (sentence splitting and, for sumy, parsing
included; ROUGE not), the fastest of `TIMED_PASSES` passes over the articles, taken in turns
with the other systems.
Every system returns 3 sentences.

Whether "ours" beats Lead-3 is a paired bootstrap over the articles (`bootstrap`): the per-article
differences in each ROUGE F1, resampled with replacement `BOOTSTRAP_RESAMPLES` times with a fixed
seed, give the mean difference and its 95% percentile interval; a win needs the interval above
zero. Paired because the same article is easy or hard for both systems: comparing the two means'
own intervals would hide a consistent small gain under the spread between articles. Each line also
counts the articles where ours scores better, worse and the same (`tally`): a mean moved by a few
articles reads differently from one moved by many.

`--against REV` answers "did this change help?" the same way: the summarizer's `bot/` package as
it was at REV (`git archive`, into a temporary folder) summarizes the articles in a child process,
and ours minus that version is bootstrapped like ours minus Lead-3. Not timed, no title.

Rows:

- "ours": `summarize(text, max_sentences=3, max_chars=100_000)`, no title (the file has none).
- "ours + URL title": the same with the article's URL slug as its title. DailyMail URLs carry
  the headline ("Gary-Locke-set-confirmed-permanent-Kilmarnock-manager"), the nearest thing to
  the titles our corpus documents have; Lead-3 and sumy do not use it, so compare with care.
- "Lead-3": the first 3 sentences of our `split_sentences`.
- "sumy LexRank" / "sumy TextRank": sumy 0.13 with its English Snowball stemmer and stop words.
  NLTK's punkt data cannot be downloaded here (no network), so sumy is given our own tokenizer:
  `split_sentences` for sentences and a word regex for words (printed under the table).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run from a bench venv that does not install the project

from bot.corpus.sentences import split_sentences  # noqa: E402
from bot.corpus.summarizer import summarize  # noqa: E402

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "eval" / "cnndm_frank250.jsonl"
SENTENCES = 3
TIMED_PASSES = 5
"""Speed is each system's fastest pass, the passes taking turns between systems (see evaluate):
with two passes in a row per system, runs gave 7x to 17x LexRank."""
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 20_240_511
"""Fixed, so the same summaries always print the same interval."""
WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-])*")

Summarizer = Callable[[dict[str, str]], list[str]]


class OwnTokenizer:
    """sumy's tokenizer protocol (`to_sentences`, `to_words`) on top of `split_sentences`, so
    sumy runs offline without NLTK's punkt data."""

    description = (
        "bot.corpus.sentences.split_sentences + regex words [^\\W\\d_](?:[^\\W\\d_]|['’-])*"
    )
    language = "english"

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        return tuple(s.text for s in split_sentences(paragraph))

    def to_words(self, sentence: str) -> tuple[str, ...]:
        return tuple(WORD.findall(sentence))


@dataclass
class Result:
    name: str
    rouge1: float
    rouge2: float
    rouge_lsum: float
    docs_per_second: float
    per_article: dict[str, list[float]]
    """Each ROUGE measure's F1 per article, in the rows' order, for the paired bootstrap."""


@dataclass
class Interval:
    mean: float
    low: float
    high: float


def bootstrap(
    ours: Sequence[float],
    theirs: Sequence[float],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> Interval:
    """The mean of `ours - theirs` (paired by article, in ROUGE points) and its 95% percentile
    interval over `resamples` resamples of the articles with replacement."""
    differences = [100 * (a - b) for a, b in zip(ours, theirs, strict=True)]
    n = len(differences)
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(differences, k=n)) / n for _ in range(resamples))
    return Interval(
        statistics.fmean(differences),
        means[int(0.025 * resamples)],
        means[min(resamples - 1, int(0.975 * resamples))],
    )


def tally(ours: Sequence[float], theirs: Sequence[float]) -> tuple[int, int, int]:
    """How many articles ours scores better on, worse on and the same (paired, in row order)."""
    better = sum(a > b for a, b in zip(ours, theirs, strict=True))
    worse = sum(a < b for a, b in zip(ours, theirs, strict=True))
    return better, worse, len(ours) - better - worse


_CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
from bot.corpus.summarizer import summarize
rows = json.load(sys.stdin)
json.dump([summarize(t, max_sentences=int(sys.argv[2]), max_chars=100_000) for t in rows], sys.stdout)
"""
"""Run by `summaries_at` in a child process, whose `bot` package is the one at the revision."""


def summaries_at(
    revision: str, rows: Sequence[dict[str, str]], repository: Path = REPO_ROOT
) -> list[list[str]]:
    """Our summaries of `rows` by the summarizer as it was at a git `revision` of this repository
    (its whole `bot/` package, so its sentence splitter too). A child process, started in
    isolated mode (`-I`: no current folder or PYTHONPATH on its path), imports the archived
    package first, so the working tree's `bot` cannot shadow it."""
    with tempfile.TemporaryDirectory(prefix="summaries-at-") as folder:
        archive = subprocess.run(
            ["git", "-C", str(repository), "archive", "--format=tar", revision, "bot"],
            capture_output=True,
            check=True,
        )
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(folder, filter="data")
        child = subprocess.run(
            [sys.executable, "-I", "-c", _CHILD, folder, str(SENTENCES)],
            input=json.dumps([row["text"] for row in rows]),
            capture_output=True,
            text=True,
            check=True,
        )
    summaries: list[list[str]] = json.loads(child.stdout)
    return summaries


def rouge_per_article(
    rows: Sequence[dict[str, str]], summaries: Sequence[list[str]]
) -> dict[str, list[float]]:
    """Each ROUGE measure's F1 per article, against the human highlights."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)
    out: dict[str, list[float]] = {"R-1": [], "R-2": [], "R-Lsum": []}
    for row, summary in zip(rows, summaries, strict=True):
        scores = scorer.score(row["reference"], "\n".join(summary))
        out["R-1"].append(scores["rouge1"].fmeasure)
        out["R-2"].append(scores["rouge2"].fmeasure)
        out["R-Lsum"].append(scores["rougeLsum"].fmeasure)
    return out


def print_comparison(
    name: str, ours: dict[str, list[float]], theirs: dict[str, list[float]]
) -> None:
    """One line a ROUGE measure: ours minus `name`, its paired interval, and the article counts."""
    for measure in ("R-1", "R-2", "R-Lsum"):
        ci = bootstrap(ours[measure], theirs[measure])
        better, worse, same = tally(ours[measure], theirs[measure])
        verdict = "above" if ci.low > 0 else "below" if ci.high < 0 else "a tie with"
        print(
            f"ours - {name}, {measure}: {ci.mean:+.2f} (95% CI {ci.low:+.2f} to {ci.high:+.2f}; "
            f"paired bootstrap, {BOOTSTRAP_RESAMPLES:,} resamples, seed {BOOTSTRAP_SEED}): "
            f"{verdict} {name}; better on {better} articles, worse on {worse}, same on {same}"
        )


def load(path: Path, split: str, limit: int | None) -> list[dict[str, str]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    if split != "all":
        parity = 0 if split == "dev" else 1
        rows = [
            r for r in rows if int(hashlib.sha1(r["id"].encode()).hexdigest(), 16) % 2 == parity
        ]
    return rows[:limit] if limit else rows


def title_from_url(url: str) -> str:
    """'…/article-3023941/Gary-Locke-set-confirmed.html' -> 'Gary Locke set confirmed'."""
    slug = url.rstrip("/").rsplit("/", 1)[-1]
    slug = re.sub(r"\.s?html?$", "", slug)
    return slug.replace("-", " ")


def ours(row: dict[str, str]) -> list[str]:
    return summarize(row["text"], max_sentences=SENTENCES, max_chars=100_000)


def ours_with_title(row: dict[str, str]) -> list[str]:
    title = title_from_url(row.get("url", ""))
    return summarize(row["text"], title=title, max_sentences=SENTENCES, max_chars=100_000)


def lead3(row: dict[str, str]) -> list[str]:
    return [s.text for s in split_sentences(row["text"])[:SENTENCES]]


def sumy_summarizer(kind: str) -> Summarizer:
    from sumy.nlp.stemmers import Stemmer
    from sumy.parsers.plaintext import PlaintextParser
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.summarizers.text_rank import TextRankSummarizer
    from sumy.utils import get_stop_words

    cls = LexRankSummarizer if kind == "lexrank" else TextRankSummarizer
    engine = cls(Stemmer("english"))
    engine.stop_words = get_stop_words("english")
    tokenizer = OwnTokenizer()

    def run(row: dict[str, str]) -> list[str]:
        parser = PlaintextParser.from_string(row["text"], tokenizer)
        return [str(s) for s in engine(parser.document, SENTENCES)]

    return run


def evaluate(
    systems: Sequence[tuple[str, Summarizer]], rows: Sequence[dict[str, str]]
) -> list[Result]:
    """ROUGE of each system's first pass; its speed from its fastest pass. The passes take turns
    (every system's first pass, then every system's second, …) so that a slow spell of the
    machine, which lasts minutes on this VM (one summarizer measured 700 and 1,100 documents/s a
    minute apart), slows every system alike and the ratios hold."""
    passes: dict[str, list[float]] = {name: [] for name, _ in systems}
    first: dict[str, list[list[str]]] = {}
    for _ in range(TIMED_PASSES):
        for name, system in systems:
            started = time.perf_counter()
            summaries = [system(row) for row in rows]
            passes[name].append(time.perf_counter() - started)
            first.setdefault(name, summaries)
    results: list[Result] = []
    for name, _ in systems:
        per_article = rouge_per_article(rows, first[name])
        elapsed = min(passes[name])
        results.append(
            Result(
                name,
                100 * statistics.fmean(per_article["R-1"]),
                100 * statistics.fmean(per_article["R-2"]),
                100 * statistics.fmean(per_article["R-Lsum"]),
                len(rows) / elapsed if elapsed else float("inf"),
                per_article,
            )
        )
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", choices=("all", "dev", "test"), default="all")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument(
        "--against", metavar="REV", help="also compare ours with our summarizer at git revision REV"
    )
    args = parser.parse_args(argv)
    rows = load(args.data, args.split, args.limit)
    then: dict[str, list[float]] | None = None
    if args.against:  # first, so that a bad revision fails before the long run
        try:
            then = rouge_per_article(rows, summaries_at(args.against, rows))
        except subprocess.CalledProcessError as error:
            stderr = error.stderr.decode() if isinstance(error.stderr, bytes) else error.stderr
            last = (stderr or "").strip().splitlines()[-1:] or [f"exit status {error.returncode}"]
            print(f"--against {args.against}: {error.cmd[0]} failed: {last[0]}", file=sys.stderr)
            return 2
    systems: list[tuple[str, Summarizer]] = [
        ("ours", ours),
        ("ours + URL title", ours_with_title),
        ("Lead-3", lead3),
        ("sumy LexRank", sumy_summarizer("lexrank")),
        ("sumy TextRank", sumy_summarizer("textrank")),
    ]
    results = evaluate(systems, rows)
    print(
        f"{len(rows)} articles from {args.data.name} (split: {args.split}), {SENTENCES} sentences"
    )
    print(f"| {'system':<18} | {'R-1':>5} | {'R-2':>5} | {'R-Lsum':>6} | {'docs/s':>8} |")
    print(f"|{'-' * 20}|{'-' * 7}|{'-' * 7}|{'-' * 8}|{'-' * 10}|")
    for r in results:
        print(
            f"| {r.name:<18} | {r.rouge1:5.1f} | {r.rouge2:5.1f} | {r.rouge_lsum:6.1f} "
            f"| {r.docs_per_second:8.0f} |"
        )
    by_name = {r.name: r for r in results}
    ratio = by_name["ours"].docs_per_second / by_name["sumy LexRank"].docs_per_second
    print(f"ours vs LexRank speed: {ratio:.0f}x faster")
    print_comparison("Lead-3", by_name["ours"].per_article, by_name["Lead-3"].per_article)
    if then is not None:
        print(f"ours at {args.against}: R-1 {100 * statistics.fmean(then['R-1']):.1f}")
        print_comparison(args.against, by_name["ours"].per_article, then)
    print(f"sumy tokenizer: {OwnTokenizer.description}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
