"""`ask` over the bundled corpus, measured on the question set tests/corpus/ask_questions.yaml.

Measured with the weights in bot/corpus/ask.py (AskTuning), the figures this test keeps:

- 51 answerable questions: the answering passage (right document, quote holding the phrase) is
  among the first three for 48 (recall@3 0.94, MRR 0.90). The misses: "Why did
  Access Now resign…" (the letter gives its reasons without the word "resign": a bag of words
  finds the sentences that announce the resignation instead), and two refused because their
  words are mostly absent from the answer ("How long was Access Now a member…", "…leave lightly").
- 12 unanswerable questions: all 12 refused ("does Access Now want bananas banned?" included).

The refusal threshold (coverage 0.47) lies between the best unanswerable question's coverage
(0.44, the bananas) and the next answerable one's (0.50). Variants tried on this set: without the
proximity bonus, or without the quote's coverage, the same 48/51; with the title counting fully,
50/51 but a margin of 0.04 over the bananas; without the title, 46/51. The questions were written
by reading the corpus, so their words are close to the text's: expect less on real questions.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.corpus.errors import AnswerError
from bot.corpus.sentences import split_sentences
from bot.corpus.service import CorpusService
from tests.conftest import STORAGES

pytestmark = STORAGES

QUESTIONS = yaml.safe_load(
    (Path(__file__).parent / "ask_questions.yaml").read_text(encoding="utf-8")
)
MIN_RECALL_AT_3 = 48
MIN_REFUSED = 12


async def test_the_question_set_keeps_its_figures(service: CorpusService) -> None:
    assert len(QUESTIONS["answerable"]) >= 40 and len(QUESTIONS["unanswerable"]) >= 10
    found = 0
    misses: list[str] = []
    for item in QUESTIONS["answerable"]:
        try:
            passages = (await service.ask(item["q"])).passages
        except AnswerError:
            passages = ()
        if any(p.ref.id == item["id"] and item["phrase"] in p.quote for p in passages[:3]):
            found += 1
        else:
            misses.append(item["q"])
    refused = 0
    for question in QUESTIONS["unanswerable"]:
        with _refusal() as outcome:
            await service.ask(question)
        refused += outcome.refused
    assert found >= MIN_RECALL_AT_3, misses
    assert refused >= MIN_REFUSED


class _refusal:  # noqa: N801 - used as a context manager
    """Counts a not_found AnswerError as a refusal instead of raising it."""

    refused = 0

    def __enter__(self) -> _refusal:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> bool:
        if isinstance(exc, AnswerError):
            assert exc.kind == "not_found" and exc.message.startswith("The corpus does not say")
            self.refused = 1
            return True
        return False


async def test_every_quote_is_verbatim_whole_sentences(service: CorpusService) -> None:
    for item in QUESTIONS["answerable"]:
        try:
            answer = await service.ask(item["q"], limit=5)
        except AnswerError:
            continue
        assert 1 <= len(answer.passages) <= 5
        scores = [p.score for p in answer.passages]
        assert scores == sorted(scores, reverse=True)
        for passage in answer.passages:
            body = (await service.post(passage.ref.id)).body
            assert body[passage.start : passage.start + len(passage.quote)] == passage.quote
            sentences = split_sentences(body)
            assert passage.start in {s.start for s in sentences}, passage.quote
            assert passage.start + len(passage.quote) in {s.end for s in sentences}, passage.quote
            inside = [
                s
                for s in sentences
                if passage.start <= s.start < passage.start + len(passage.quote)
            ]
            assert 1 <= len(inside) <= 3


async def test_bananas_are_refused_and_the_ban_is_found(service: CorpusService) -> None:
    with pytest.raises(AnswerError) as refused:
        await service.ask("does Access Now want bananas banned?")
    assert refused.value.kind == "not_found"
    assert "The corpus does not say" in refused.value.message
    answer = await service.ask("What does Access Now want banned?")
    assert any("outright ban" in p.quote for p in answer.passages)
    first = answer.passages[0]
    assert (
        first.ref.id == "access-now-resigns-from-pai"
        and first.ref.url
        and first.ref.authors == ("Access Now",)
    )


async def test_excerpt_posts_say_so(service: CorpusService) -> None:
    answer = await service.ask("Who contemplated a decision that could put him in prison?")
    assert answer.passages[0].ref.id == "lessons-from-the-h5n1-controversy"
    assert answer.passages[0].excerpt is True
    letter = await service.ask("What does Access Now say about facial recognition?")
    assert letter.passages[0].excerpt is False


async def test_paragraph_numbers_agree_with_reasons(service: CorpusService) -> None:
    reasons = await service.reasons(topic="facial recognition")
    answer = await service.ask("What technologies enable mass surveillance?")
    assert answer.passages[0].paragraph == reasons.reasons[0].paragraph


@pytest.mark.parametrize(
    "question",
    [
        '"',
        "title: x",
        "NEAR(a b)",
        "a* OR b",
        "' OR 1=1 --",
        "body:*",
        "\x00\u202e<@123>",
        "x" * 10_000,
    ],
)
async def test_any_input_is_safe(service: CorpusService, question: str) -> None:
    try:
        await service.ask(question)
    except AnswerError as error:
        assert error.kind in ("not_found", "bad_input")


async def test_question_words_alone_and_bad_limits_are_bad_input(service: CorpusService) -> None:
    with pytest.raises(AnswerError) as only_words:
        await service.ask("What does it say?")
    assert only_words.value.kind == "bad_input"
    for limit in (0, 11):
        with pytest.raises(AnswerError) as bad:
            await service.ask("facial recognition", limit=limit)
        assert bad.value.kind == "bad_input" and "limit" in bad.value.message
    assert len((await service.ask("facial recognition ban", limit=1)).passages) == 1


async def test_the_ranking_runs_off_the_event_loop(
    service: CorpusService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-ranking splits every candidate into sentences (milliseconds at 100,000 documents):
    a worker thread's work, never the event loop's."""
    import threading

    from bot.corpus import service as service_module

    threads: list[threading.Thread] = []
    real = service_module.rank_passages

    def recording(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - the wrapped function's
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(service_module, "rank_passages", recording)
    await service.ask("What does Access Now want banned?")
    assert threads and threads[0] is not threading.main_thread()


async def test_candidates_are_ranked_in_one_pass(service: CorpusService) -> None:
    """bm25 is computed once per matching passage: FTS5's `rank MATCH … ORDER BY rank` runs a
    nested sorter query that ranks every match again (and reads each word's whole posting list
    again for its idf): at 100,000 documents that doubled the slowest questions' retrieval."""
    statements: list[str] = []

    def trace(conn: sqlite3.Connection, on: bool) -> None:
        conn.set_trace_callback(statements.append if on else None)

    await service.store._reader.run(trace, True)
    try:
        answer = await service.ask("What does Access Now want banned?")
    finally:
        await service.store._reader.run(trace, False)
    assert answer.passages
    ranking = [s for s in statements if "bm25" in s]
    assert len(ranking) == 1, ranking  # the query itself, and no nested "-- SELECT … bm25" one


_QUOTE_IN_A_FRESH_PROCESS = """
import asyncio, sys
from pathlib import Path
from bot.corpus.service import CorpusService, ServiceSettings

async def main() -> None:
    folder = Path(sys.argv[1])
    svc = await CorpusService.open(ServiceSettings(folder / "index.db", folder / "corpus"))
    try:
        await svc.reload()
        answer = await svc.ask(sys.argv[2])
        print(repr([(p.ref.id, p.start, p.quote, p.score) for p in answer.passages]))
    finally:
        await svc.close()

asyncio.run(main())
"""


def test_answers_do_not_change_with_the_process(tmp_path: Path, corpus_dir: Path) -> None:
    """The same question over the same corpus gets the same quotes after a restart. Adding up
    the weights of a set of terms in the set's order (which follows the process's string hash
    seed) made two equal quote weights differ in the last bit: this question got a one- or a
    two-sentence quote depending on the process."""
    question = "Which assessments does Access Now support as a human rights organization?"
    answers = set()
    for seed in ("1", "2", "3"):
        folder = tmp_path / f"seed-{seed}"
        folder.mkdir()
        shutil.copytree(corpus_dir, folder / "corpus")
        run = subprocess.run(
            [sys.executable, "-c", _QUOTE_IN_A_FRESH_PROCESS, str(folder), question],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
        )
        answers.add(run.stdout)
    assert len(answers) == 1, answers
