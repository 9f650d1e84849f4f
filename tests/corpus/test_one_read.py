"""Each answer reads the index in one hop to the reader's thread (bot/corpus/lookup.py), and
gives what its reads made one at a time give.

Why one hop matters: in a burst each hop waits behind every other command's queued reads, so a
/post that found its post in one hop and fetched it in another answered after every /search of
the burst. The hops are counted at `IndexReader.run`, the only way onto the reader's thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.corpus.errors import AnswerError
from bot.corpus.models import AuthorPosts, Post
from bot.corpus.service import CorpusService
from bot.corpus.store import IndexReader

MELTDOWN = "lessons-from-meltdown-and-spectre"
LETTER = "access-now-resigns-from-pai"

POSTS = [
    MELTDOWN,  # id
    "What Responsible AI Can Learn From the Race to Fix Meltdown and Spectre",  # exact title
    "what responsible ai can learn",  # title prefix
    "meltdown",  # a word of the title
    "What Responsibel AI Can Lern From the Race to Fix Meltdwn and Spectre",  # typos
]


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The functions run on the reader's thread, in order."""
    calls: list[object] = []
    real = IndexReader.run

    async def counted(self: IndexReader, fn: Callable[..., Any], *args: Any) -> Any:
        calls.append(args[0] if args else fn)
        return await real(self, fn, *args)

    monkeypatch.setattr(IndexReader, "run", counted)
    return calls


@pytest.mark.parametrize("query", POSTS)
async def test_a_post_is_found_and_read_in_one_hop(
    service: CorpusService, hops: list[object], query: str
) -> None:
    post = await service.post(query)
    assert len(hops) == 1
    ref = await service.resolve_ref(query)
    doc = await service.store.document(ref.id)
    assert doc is not None
    assert post == Post(
        ref=doc.ref, body=doc.body, word_count=doc.word_count, annotations=doc.annotations
    )


@pytest.mark.parametrize("query", ["manipulated media", "quantum blockchain zebra", "!!"])
async def test_an_ambiguous_or_unknown_post_costs_one_hop_too(
    service: CorpusService, hops: list[object], query: str
) -> None:
    with pytest.raises(AnswerError) as merged:
        await service.post(query)
    assert len(hops) == 1
    with pytest.raises(AnswerError) as resolved:
        await service.resolve_ref(query)
    assert (merged.value.kind, merged.value.message) == (
        resolved.value.kind,
        resolved.value.message,
    )
    assert merged.value.candidates == resolved.value.candidates


@pytest.mark.parametrize("query", [MELTDOWN, "meltdown"])
async def test_a_summary_reads_its_post_and_cache_in_one_hop(
    service: CorpusService, hops: list[object], query: str
) -> None:
    first = await service.summarize(query, sentences=2)
    assert len(hops) == 1  # the summary is made in a worker thread, cached by the writer
    hops.clear()
    cached = await service.summarize(query, sentences=2)
    assert len(hops) == 1
    assert cached == first
    assert first == await service.summarize(MELTDOWN, sentences=2)


async def test_a_linked_post_is_summarized_in_one_hop(
    service: CorpusService, hops: list[object]
) -> None:
    ref = await service.store.ref_by_id(MELTDOWN)
    assert ref is not None and ref.url
    hops.clear()
    summary = await service.summarize_linked(f"have you read <{ref.url}> ?")
    assert len(hops) == 1
    assert summary == await service.summarize(MELTDOWN)


@pytest.mark.parametrize("name", ["Jasmine Wang", "jasmine wang", "Wang"])
async def test_an_author_and_a_page_of_posts_in_one_hop(
    service: CorpusService, hops: list[object], name: str
) -> None:
    answer = await service.author(name, limit=2)
    assert len(hops) == 1
    author = await service.resolve_author(name)
    posts = await service.store.posts_of_author(author.key, limit=2)
    assert answer == AuthorPosts(author=author, posts=tuple(posts), total=author.posts, offset=0)


async def test_an_unknown_author_still_gets_close_names(
    service: CorpusService, hops: list[object]
) -> None:
    with pytest.raises(AnswerError) as caught:
        await service.author("Jasmin Wnag")
    assert caught.value.kind == "not_found"
    assert any("Jasmine Wang" in c.label for c in caught.value.candidates)


async def test_the_letter_and_the_stats_are_one_hop_each(
    service: CorpusService, hops: list[object]
) -> None:
    reasons = await service.reasons()
    assert len(hops) == 1 and reasons.ref.id == LETTER and reasons.reasons
    hops.clear()
    stats = await service.stats()
    assert len(hops) == 1
    assert stats.documents == await service.store.count_documents()
    assert stats.authors == await service.store.count_authors()
    assert stats.schema_version == await service.store.schema_version()
