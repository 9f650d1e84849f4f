"""Cached summaries carry the text's sentence count, so a cached answer never re-splits the text."""

from __future__ import annotations

from bot.corpus.sentences import split_sentences
from bot.corpus.service import CorpusService
from bot.corpus.summaries import SUMMARY_VERSION
from tests.conftest import STORAGES

pytestmark = STORAGES

LETTER = "access-now-resigns-from-pai"
PARAMS = f"v{SUMMARY_VERSION}:2:3500"


async def test_the_count_is_cached_with_the_sentences(service: CorpusService) -> None:
    summary = await service.summarize(LETTER, sentences=2)
    stored = await service.store.document(LETTER)
    assert stored is not None
    assert summary.total_sentences == len(split_sentences(stored.body)) > 2
    assert await service.store.cached_summary_entry(stored.content_hash, PARAMS) == (
        list(summary.sentences),
        summary.total_sentences,
    )
    assert await service.summarize(LETTER, sentences=2) == summary


async def test_a_summary_cached_without_its_count_gets_one(service: CorpusService) -> None:
    """The feed's announcer caches sentences only (and so did the index before migration 3)."""
    stored = await service.store.document(LETTER)
    assert stored is not None
    await service.store.cache_summary(
        stored.content_hash, PARAMS, ["A sentence cached by someone else."]
    )
    summary = await service.summarize(LETTER, sentences=2)
    assert summary.sentences == ("A sentence cached by someone else.",)
    assert summary.total_sentences == len(split_sentences(stored.body))
    entry = await service.store.cached_summary_entry(stored.content_hash, PARAMS)
    assert entry == (["A sentence cached by someone else."], summary.total_sentences)
