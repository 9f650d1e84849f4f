"""What the reader's thread keeps about the documents (the passage count /ask's idf needs, the
share of documents holding each searched word) is measured again when documents change, and
only then: a summary written to the cache is a commit too, and in a burst each uncached
/summarize made the next /ask count every passage again (9 ms at 100,000 documents)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.corpus.errors import AnswerError
from bot.corpus.search import SearchTuning
from bot.corpus.service import CorpusService
from tests.conftest import write_doc

COUNT_PASSAGES = "SELECT count(*) FROM passages"
COUNT_WORD = "SELECT count(*) FROM (SELECT 1 FROM passages_fts WHERE passages_fts MATCH"
MEASURE_WORD = "SELECT count(*) FROM documents_fts WHERE documents_fts MATCH"
LARGE = SearchTuning(common_min_documents=1, common_share=0.5, sample_documents=1000)
"""Every word's share is measured, as on a large corpus."""


@pytest.fixture
async def statements(service: CorpusService) -> list[str]:
    """Every statement the reader's connection runs from now on."""
    seen: list[str] = []

    def trace(conn: sqlite3.Connection) -> None:
        conn.set_trace_callback(seen.append)

    await service.store.reader.run(trace)
    return seen


def runs(statements: list[str], prefix: str) -> int:
    return sum(1 for s in statements if s.startswith(prefix))


async def test_a_cached_summary_does_not_make_ask_count_passages_again(
    service: CorpusService, statements: list[str]
) -> None:
    first = await service.ask("What does Access Now want banned?")
    assert runs(statements, COUNT_PASSAGES) == 1
    await service.summarize("lessons-from-meltdown-and-spectre")  # not cached: written
    again = await service.ask("What does Access Now want banned?")
    assert runs(statements, COUNT_PASSAGES) == 1
    assert again == first


async def test_a_cached_summary_does_not_make_search_measure_words_again(
    service: CorpusService, statements: list[str]
) -> None:
    service.store.search_tuning = LARGE
    first = await service.search("facial recognition")
    measured = runs(statements, MEASURE_WORD)
    assert measured == 2
    await service.summarize("lessons-from-meltdown-and-spectre")
    assert await service.search("facial recognition") == first
    assert runs(statements, MEASURE_WORD) == measured


async def test_new_documents_are_measured_again(
    service: CorpusService, statements: list[str], corpus_dir: Path
) -> None:
    service.store.search_tuning = LARGE
    with pytest.raises(AnswerError):  # "quokka" is counted: in no passage
        await service.ask("quokka sightings")
    before = await service.search("quokka")
    assert before.total == 0
    write_doc(
        corpus_dir,
        "quokkas.md",
        front="id: quokkas\ntitle: Quokka sightings\nauthors: [Ann Example]\nkind: post\nexcerpt: false",
        body="Quokka sightings rose this year. Every quokka was counted twice.",
    )
    await service.reload()
    counted = runs(statements, COUNT_PASSAGES)
    answer = await service.ask("quokka sightings")
    assert runs(statements, COUNT_PASSAGES) == counted + 1
    assert answer.passages[0].ref.id == "quokkas"
    assert [hit.ref.id for hit in (await service.search("quokka")).hits] == ["quokkas"]
    authors = {a.name for a in await service.authors()}
    assert "Ann Example" in authors


async def test_a_word_asked_about_again_is_not_counted_again(
    service: CorpusService, statements: list[str]
) -> None:
    first = await service.ask("What does Access Now want banned?")
    counted = runs(statements, COUNT_WORD)
    assert counted >= 2
    assert await service.ask("What does Access Now want banned?") == first
    assert runs(statements, COUNT_WORD) == counted
