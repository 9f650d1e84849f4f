"""Search on a large corpus: bounded ranking and common words, exercised on the bundled corpus
with the bounds lowered (the defaults only bind at tens of thousands of documents)."""

from __future__ import annotations

import pytest

from bot.corpus.models import HIGHLIGHT_CLOSE, HIGHLIGHT_OPEN
from bot.corpus.search import SearchTuning, highlight_window
from bot.corpus.service import CorpusService

LETTER = "access-now-resigns-from-pai"
LARGE = SearchTuning(common_min_documents=1, common_share=0.5, sample_documents=1000)
"""Every word in more than half of the (11) documents counts as common."""


async def _ids(service: CorpusService, query: str, limit: int = 50) -> list[str]:
    return [hit.ref.id for hit in (await service.search(query, limit=limit)).hits]


async def test_small_corpus_counts_exactly(service: CorpusService) -> None:
    results = await service.search("media")
    assert results.total == 4 and not results.total_is_lower_bound and results.ranked


async def test_rank_window_bounds_the_count_and_says_so(service: CorpusService) -> None:
    everything = await service.search("ai", limit=50)
    assert everything.total == 8 and not everything.total_is_lower_bound
    service.store.search_tuning = SearchTuning(rank_window=4)
    bounded = await service.search("ai", limit=50)
    assert bounded.total == 4 and bounded.total_is_lower_bound and bounded.ranked
    assert len(bounded.hits) == 4
    assert [h.score for h in bounded.hits] == sorted((h.score for h in bounded.hits), reverse=True)
    assert {h.ref.id for h in bounded.hits} <= {h.ref.id for h in everything.hits}
    page = await service.search("ai", limit=2, offset=2)
    assert [h.ref.id for h in page.hits] == [h.ref.id for h in bounded.hits[2:4]]


async def test_only_common_words_list_the_newest_matches_unranked(service: CorpusService) -> None:
    service.store.search_tuning = LARGE
    results = await service.search("the")
    assert not results.ranked and results.total == 11 and not results.total_is_lower_bound
    assert all(hit.score == 0.0 for hit in results.hits)
    for hit in results.hits:
        assert f"{HIGHLIGHT_OPEN}the{HIGHLIGHT_CLOSE}" in hit.snippet.replace("The", "the")
    newest_first = await _ids(service, "the")
    assert len(newest_first) == 11
    second = await service.search("the", limit=3, offset=3)
    assert [h.ref.id for h in second.hits] == newest_first[3:6]


@pytest.mark.parametrize(
    "query", ["the facial recognition", "media the", "labeling of the media", "ai and spectre"]
)
async def test_common_words_still_filter(service: CorpusService, query: str) -> None:
    """The same documents match with or without the common-word treatment; only ranking differs."""
    plain = set(await _ids(service, query))
    service.store.search_tuning = LARGE
    bounded = await service.search(query, limit=50)
    assert {h.ref.id for h in bounded.hits} == plain
    assert bounded.total == len(plain) and bounded.ranked
    assert [h.score for h in bounded.hits] == sorted((h.score for h in bounded.hits), reverse=True)


async def test_common_words_are_not_highlighted_rare_ones_are(service: CorpusService) -> None:
    service.store.search_tuning = LARGE
    (hit,) = (await service.search("the facial")).hits
    assert hit.ref.id == LETTER
    assert f"{HIGHLIGHT_OPEN}facial{HIGHLIGHT_CLOSE}" in hit.snippet
    assert f"{HIGHLIGHT_OPEN}the{HIGHLIGHT_CLOSE}" not in hit.snippet.lower()


async def test_any_word_fallback_drops_common_words(service: CorpusService) -> None:
    service.store.search_tuning = LARGE
    results = await service.search("the meltdown zzzqqq")
    assert [h.ref.id for h in results.hits] == ["lessons-from-meltdown-and-spectre"]


def test_highlight_window_marks_whole_folded_words() -> None:
    text = "Zoë met them there. " * 10 + "Then the end came for the Zoe of it all."
    snippet = highlight_window(text, ["the", "zoe"], tokens=8)
    assert snippet.startswith("⟦Zoë⟧ met them there")
    assert "⟦them⟧" not in snippet and snippet.endswith("…")
    late = highlight_window(text, ["end"], tokens=8)
    assert late.startswith("…") and "⟦end⟧" in late
    assert highlight_window("nothing here", ["absent"], tokens=8) == "nothing here"
    assert highlight_window("", ["x"]) == ""
