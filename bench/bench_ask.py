"""Benchmark `ask` on a public question set with paragraph-level answers, beside plain BM25.

Run by hand, never by CI and never imported by tests: it needs rank_bm25 (bench-only) and a
SQuAD-format JSON file, which is never copied into the project (keep it in /tmp or ../shared):

    python3 -m venv /tmp/benchvenv
    /tmp/benchvenv/bin/pip install -e . -r bench/requirements-ask.txt
    /tmp/benchvenv/bin/python bench/bench_ask.py --data /tmp/squad-dev.json

Options: --data PATH (SQuAD v1.1 or v2.0 format), --limit N (questions, 0 for all).

What it measures, with each article a corpus document whose paragraphs are SQuAD's contexts (so
a passage's paragraph number names the context): for answerable questions, recall@3 (the
context holding the answer is among the first three passages' paragraphs) and MRR over the first
three (0 when not there or refused); for questions SQuAD 2.0 marks impossible, how many are
refused ("The corpus does not say…"). Rows:

- "ours": `CorpusService.ask` as shipped (ranking and refusal threshold of bot/corpus/ask.py).
- "ours, no refusal": the same ranking with the threshold at 0, to see ranking apart from refusal.
- "BM25 (rank_bm25)": BM25Okapi over the contexts, words lowercased, nothing set aside, no
  stemming; it ranks but cannot refuse.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.corpus.errors import AnswerError  # noqa: E402
from bot.corpus.loader import paragraphs  # noqa: E402
from bot.corpus.service import CorpusService, ServiceSettings  # noqa: E402

_WORD = re.compile(r"\w+")


@dataclasses.dataclass(frozen=True, slots=True)
class Question:
    text: str
    doc_id: str
    paragraph: int
    """1-based number of the context in its article"""
    answerable: bool


def load(path: Path) -> tuple[dict[str, tuple[str, list[str]]], list[Question]]:
    """doc id -> (title, contexts), and every question with where its answer is."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    documents: dict[str, tuple[str, list[str]]] = {}
    questions: list[Question] = []
    for number, article in enumerate(data, start=1):
        doc_id = f"squad-{number:03d}"
        contexts = [" ".join(p["context"].split()) for p in article["paragraphs"]]
        documents[doc_id] = (article["title"].replace("_", " "), contexts)
        for index, paragraph in enumerate(article["paragraphs"], start=1):
            for qa in paragraph["qas"]:
                answerable = not qa.get("is_impossible", False)
                questions.append(Question(qa["question"], doc_id, index, answerable))
    return documents, questions


def write_corpus(folder: Path, documents: dict[str, tuple[str, list[str]]]) -> None:
    for doc_id, (title, contexts) in documents.items():
        body = "\n\n".join(contexts)
        assert len(paragraphs(body)) == len(contexts)
        front = {"id": doc_id, "title": title, "authors": [], "kind": "article", "excerpt": False}
        (folder / f"{doc_id}.md").write_text(
            f"---\n{json.dumps(front)}\n---\n{body}\n", encoding="utf-8"
        )


def scores(ranks: Sequence[int | None]) -> tuple[float, float]:
    """recall@3 and MRR@3 from 1-based ranks (None: not in the first three, or refused)."""
    found = [r for r in ranks if r is not None and r <= 3]
    return len(found) / max(1, len(ranks)), sum(1 / r for r in found) / max(1, len(ranks))


async def run_ours(
    service: CorpusService, questions: Sequence[Question], min_coverage: float | None
) -> tuple[list[int | None], int, float]:
    if min_coverage is not None:
        service.ask_tuning = dataclasses.replace(service.ask_tuning, min_coverage=min_coverage)
    ranks: list[int | None] = []
    refused = 0
    started = time.perf_counter()
    for question in questions:
        try:
            passages = (await service.ask(question.text, limit=3)).passages
        except AnswerError:
            refused += not question.answerable
            if question.answerable:
                ranks.append(None)
            continue
        if question.answerable:
            where = [(p.ref.id, p.paragraph) for p in passages]
            target = (question.doc_id, question.paragraph)
            ranks.append(where.index(target) + 1 if target in where else None)
    return ranks, refused, time.perf_counter() - started


def run_bm25(
    documents: dict[str, tuple[str, list[str]]], questions: Sequence[Question]
) -> list[int | None]:
    from rank_bm25 import BM25Okapi

    units = [
        (doc_id, index)
        for doc_id, (_, contexts) in documents.items()
        for index in range(1, len(contexts) + 1)
    ]
    texts = [documents[doc_id][1][index - 1] for doc_id, index in units]
    bm25 = BM25Okapi([_WORD.findall(t.lower()) for t in texts])
    ranks: list[int | None] = []
    for question in questions:
        if not question.answerable:
            continue
        scored = bm25.get_scores(_WORD.findall(question.text.lower()))
        best = sorted(range(len(units)), key=lambda i: -scored[i])[:3]
        target = (question.doc_id, question.paragraph)
        top = [units[i] for i in best]
        ranks.append(top.index(target) + 1 if target in top else None)
    return ranks


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=REPO.parent / "shared" / "eval" / "squad-dev.json"
    )
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(
            f"bench_ask: {args.data} not found (a SQuAD-format JSON file; see the docstring)",
            file=sys.stderr,
        )
        return 2
    documents, questions = load(args.data)
    if args.limit:
        questions = questions[: args.limit]
    answerable = sum(q.answerable for q in questions)
    unanswerable = len(questions) - answerable
    contexts = sum(len(c) for _, c in documents.values())
    print(
        f"{args.data.name}: {len(documents)} articles, {contexts} contexts, {answerable} answerable and {unanswerable} impossible questions"
    )
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "corpus"
        corpus.mkdir()
        write_corpus(corpus, documents)
        service = await CorpusService.open(
            ServiceSettings(db_path=Path(folder) / "i.db", corpus_dir=corpus)
        )
        try:
            await service.reload()
            rows = []
            for label, coverage in (("ours", None), ("ours, no refusal", 0.0)):
                ranks, refused, seconds = await run_ours(service, questions, coverage)
                recall, mrr = scores(ranks)
                wrongly = sum(r is None for r in ranks)
                rows.append(
                    (
                        label,
                        recall,
                        mrr,
                        f"{refused}/{unanswerable}",
                        f"{len(questions) / seconds:.0f}/s",
                        wrongly,
                    )
                )
        finally:
            await service.close()
    started = time.perf_counter()
    ranks = run_bm25(documents, questions)
    seconds = time.perf_counter() - started
    recall, mrr = scores(ranks)
    rows.append(
        ("BM25 (rank_bm25)", recall, mrr, f"0/{unanswerable}", f"{answerable / seconds:.0f}/s", 0)
    )
    print("| system | recall@3 | MRR@3 | impossible refused | questions/s |")
    print("| --- | --- | --- | --- | --- |")
    for label, recall, mrr, refused, speed, _ in rows:
        print(f"| {label} | {recall:.3f} | {mrr:.3f} | {refused} | {speed} |")
    print(
        f"(answerable questions ours refused or missed in the top 3: {rows[0][5]} of {answerable})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
