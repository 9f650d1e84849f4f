"""Finding posts by title on a large corpus: the paths that do not read every title."""

from __future__ import annotations

import pytest

from bot.corpus.errors import AnswerError
from bot.corpus.search import SearchTuning
from bot.corpus.service import CorpusService

MELTDOWN = "lessons-from-meltdown-and-spectre"
LETTER = "access-now-resigns-from-pai"


@pytest.fixture
def no_full_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Behave as on a corpus too large to compare every title letter by letter."""
    monkeypatch.setattr("bot.corpus.lookup.FUZZY_FULL_SCAN_LIMIT", 3)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("What Responsibel AI Can Lern From the Race to Fix Meltdwn and Spectre", MELTDOWN),
        (
            "How News Organisations Use Algorithms to Decide What to Show Yuo",
            "how-news-organizations-use-algorithms",
        ),
        # "Art" is a word of another title: no title holds every word typed.
        ("Access Now resigns from the Partnership on Art", LETTER),
    ],
)
async def test_misspelled_titles_are_found_through_their_words(
    service: CorpusService, no_full_scan: None, query: str, expected: str
) -> None:
    assert (await service.post(query)).ref.id == expected


async def test_unknown_title_offers_close_candidates(
    service: CorpusService, no_full_scan: None
) -> None:
    with pytest.raises(AnswerError) as caught:
        await service.post("Labelling manipulated pictures: eleven principles")
    assert caught.value.kind == "not_found"
    assert "labeling-manipulated-media" in {c.value for c in caught.value.candidates}


async def test_a_prefix_lists_at_most_the_limit_newest_first(service: CorpusService) -> None:
    refs = await service.store.titles_with_prefix("what", "what", limit=2)
    assert {r.id for r in refs} == {MELTDOWN, "lessons-from-the-h5n1-controversy"}
    assert len(await service.store.titles_with_prefix("", "", limit=4)) == 4
    dated = [
        r.published for r in await service.store.titles_with_prefix("", "", limit=11) if r.published
    ]
    assert dated == sorted(dated, reverse=True)


async def test_ranked_title_matches_within_a_window(service: CorpusService) -> None:
    everything = {r.id for r in await service.store.titles_matching('"ai"*')}
    assert len(everything) >= 4
    service.store.search_tuning = SearchTuning(title_window=2)
    bounded = await service.store.titles_matching('"ai"*')
    assert len(bounded) == 2 and {r.id for r in bounded} <= everything
    unranked = await service.store.titles_matching('"ai"*', limit=3, ranked=False)
    assert len(unranked) == 3 and {r.id for r in unranked} <= everything
    with pytest.raises(AnswerError) as caught:
        await service.post("ai")
    assert caught.value.kind == "ambiguous"


async def test_autocomplete_by_word_prefix(service: CorpusService) -> None:
    assert {c.value for c in await service.post_choices("sneez")} == {
        "lessons-from-the-h5n1-controversy"
    }
    assert [c.value for c in await service.post_choices("access-now")] == [LETTER]
    assert len(await service.post_choices("a", limit=3)) == 3


async def test_a_word_of_the_id_finds_its_post(service: CorpusService) -> None:
    """ "h5n1" is in the post's id, not in its title: once it offered two unrelated titles."""
    assert (await service.post("h5n1")).ref.id == "lessons-from-the-h5n1-controversy"
    assert (await service.post("H5N1 controversy")).ref.id == "lessons-from-the-h5n1-controversy"


async def test_nonsense_gets_no_candidates(service: CorpusService) -> None:
    for nonsense in ("qwzx blorf", "zzzzzz", "xq"):
        with pytest.raises(AnswerError) as caught:
            await service.post(nonsense)
        assert caught.value.kind == "not_found" and caught.value.candidates == [], nonsense


async def test_candidates_are_related_by_title_words_or_the_text(service: CorpusService) -> None:
    with pytest.raises(AnswerError) as caught:
        await service.post("sneezing ferets and their debates galore")  # a typo, a title's words
    assert [c.value for c in caught.value.candidates][:1] == ["lessons-from-the-h5n1-controversy"]
    with pytest.raises(AnswerError) as caught:
        await service.post("facial recognition")  # in no title; in the letter's text
    offered = [c.value for c in caught.value.candidates]
    assert LETTER in offered and len(offered) <= 5
