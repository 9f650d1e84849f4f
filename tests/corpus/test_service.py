"""The answers of the core service, over a real index of the bundled corpus."""

from __future__ import annotations

import pytest

from bot.corpus.errors import AnswerError
from bot.corpus.loader import paragraphs
from bot.corpus.models import HIGHLIGHT_CLOSE, HIGHLIGHT_OPEN
from bot.corpus.service import CorpusService
from tests.conftest import STORAGES

pytestmark = STORAGES

MELTDOWN = "lessons-from-meltdown-and-spectre"
LETTER = "access-now-resigns-from-pai"


# --- post ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        MELTDOWN,
        "What Responsible AI Can Learn From the Race to Fix Meltdown and Spectre",
        "what responsible ai can learn",  # title prefix
        "meltdown",  # a word of the title
        "What Responsibel AI Can Lern From the Race to Fix Meltdwn and Spectre",  # typos
    ],
)
async def test_post_found_by_id_title_prefix_word_or_typo(
    service: CorpusService, query: str
) -> None:
    post = await service.post(query)
    assert post.ref.id == MELTDOWN
    assert post.ref.authors == ("Jasmine Wang",)
    assert post.ref.url and post.ref.published and post.ref.published.isoformat() == "2021-02-26"
    assert post.ref.excerpt is True


async def test_ambiguous_post_lists_candidates(service: CorpusService) -> None:
    with pytest.raises(AnswerError) as caught:
        await service.post("manipulated media")
    assert caught.value.kind == "ambiguous"
    assert {c.value for c in caught.value.candidates} == {
        "automated-categorization-of-manipulated-media",
        "labeling-manipulated-media",
    }


async def test_unknown_post_is_an_answer_not_a_crash(service: CorpusService) -> None:
    for query in ("zzzz qqqq", "", "   ", "!!!", "x" * 10_000):
        with pytest.raises(AnswerError) as caught:
            await service.post(query)
        assert caught.value.kind in ("not_found", "bad_input")


async def test_untitled_posts_show_marked_fallback_titles(service: CorpusService) -> None:
    untitled = await service.post("facebook-removed-a-surprising-post")
    assert untitled.ref.title_source == "derived"
    assert untitled.ref.title == "As part of its ongoing effort to address…"
    inferred = await service.post("pattern-risk-assessment-covid-19")
    assert inferred.ref.title_source == "inferred"
    assert inferred.ref.published is None


async def test_post_autocomplete(service: CorpusService) -> None:
    choices = await service.post_choices("mel")
    assert [c.value for c in choices] == [MELTDOWN]
    assert len(await service.post_choices("")) == 11
    assert {c.value for c in await service.post_choices("manipulated")} == {
        "automated-categorization-of-manipulated-media",
        "labeling-manipulated-media",
    }


# --- authors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["saltz", "Emily Saltz", "emily  SALTZ", "Émily Saltz", "Emily Saltz (PAI)", "emi sal"]
)
async def test_author_matching_is_forgiving(service: CorpusService, name: str) -> None:
    answer = await service.author(name)
    assert answer.author.name == "Emily Saltz"
    assert answer.author.posts == 4
    dates = [p.published for p in answer.posts]
    dated = [d for d in dates if d]
    assert dated == sorted(dated, reverse=True), "newest first"
    assert dates[len(dated) :] == [None] * (len(dates) - len(dated)), "undated posts last"


async def test_claire_is_two_people(service: CorpusService) -> None:
    with pytest.raises(AnswerError) as caught:
        await service.author("Claire")
    assert caught.value.kind == "ambiguous"
    assert [c.value for c in caught.value.candidates] == ["Claire Leibowicz", "Claire Wardle"]


async def test_misspelt_author_suggests(service: CorpusService) -> None:
    with pytest.raises(AnswerError) as caught:
        await service.author("wardel")
    assert caught.value.kind == "not_found"
    assert [c.value for c in caught.value.candidates] == ["Claire Wardle"]


async def test_authors_with_counts(service: CorpusService) -> None:
    authors = {a.name: a.posts for a in await service.authors()}
    assert (
        authors["Emily Saltz"] == 4
        and authors["Claire Leibowicz"] == 4
        and authors["Claire Wardle"] == 3
    )
    assert authors["Access Now"] == 1
    assert "Emily Saltz (PAI)" not in authors
    assert len(authors) == 15


# --- summaries ----------------------------------------------------------------------------------


async def test_summary_sentences_are_verbatim_in_order(service: CorpusService) -> None:
    for doc_id in (MELTDOWN, LETTER, "demographic-data-and-algorithmic-bias"):
        body = (await service.post(doc_id)).body
        summary = await service.summarize(doc_id, sentences=3)
        assert 1 <= len(summary.sentences) <= 3
        positions = [body.index(s) for s in summary.sentences]
        assert positions == sorted(positions)


async def test_excerpt_summary_says_so_and_skips_the_cut_sentence(service: CorpusService) -> None:
    summary = await service.summarize(MELTDOWN, sentences=10)
    assert summary.excerpt is True
    assert not any(s.endswith("…") for s in summary.sentences)
    assert (await service.summarize(LETTER)).excerpt is False


async def test_summary_is_cached_by_content_hash(service: CorpusService) -> None:
    from bot.corpus.summaries import SUMMARY_VERSION

    first = await service.summarize(LETTER, sentences=2)
    stored = await service.store.document(LETTER)
    assert stored is not None
    cached = await service.store.cached_summary(stored.content_hash, f"v{SUMMARY_VERSION}:2:3500")
    assert cached == list(first.sentences)
    assert await service.summarize(LETTER, sentences=2) == first


async def test_summary_length_is_checked(service: CorpusService) -> None:
    for bad in (0, 11, -3):
        with pytest.raises(AnswerError) as caught:
            await service.summarize(MELTDOWN, sentences=bad)
        assert caught.value.kind == "bad_input"


# --- reasons ------------------------------------------------------------------------------------


async def test_reasons_are_verbatim_with_paragraphs(service: CorpusService) -> None:
    answer = await service.reasons()
    body = (await service.post(LETTER)).body
    assert answer.ref.id == LETTER and answer.ref.url
    assert len(answer.reasons) == 7
    for reason in answer.reasons:
        assert reason.quote in paragraphs(body)[reason.paragraph - 1]


@pytest.mark.parametrize(
    ("topic", "count"),
    [
        ("facial recognition", 2),
        ("Facial Recognition", 2),
        ("civil society", 2),
        ("surveillance", 1),
    ],
)
async def test_reasons_by_topic(service: CorpusService, topic: str, count: int) -> None:
    answer = await service.reasons(topic)
    assert len(answer.reasons) == count
    assert answer.topic == topic


async def test_reasons_unknown_topic_lists_what_there_is(service: CorpusService) -> None:
    with pytest.raises(AnswerError) as caught:
        await service.reasons("blockchain")
    assert caught.value.kind == "not_found"
    assert len(caught.value.candidates) == 7


# --- search -------------------------------------------------------------------------------------


async def test_search_ranks_and_highlights(service: CorpusService) -> None:
    results = await service.search("facial recognition")
    assert results.total == 1
    (hit,) = results.hits
    assert hit.ref.id == LETTER
    assert f"{HIGHLIGHT_OPEN}facial{HIGHLIGHT_CLOSE}" in hit.snippet
    broad = await service.search("manipulated media")
    assert broad.hits[0].ref.id in (
        "automated-categorization-of-manipulated-media",
        "labeling-manipulated-media",
    )
    assert [h.score for h in broad.hits] == sorted((h.score for h in broad.hits), reverse=True)


async def test_search_stems_and_folds_accents(service: CorpusService) -> None:
    assert (await service.search("publishing")).total >= 2  # porter: publish/publishing
    assert (await service.search("BIOSÉCURITY")).hits[
        0
    ].ref.id == "lessons-from-the-h5n1-controversy"


async def test_search_falls_back_to_any_word(service: CorpusService) -> None:
    results = await service.search("meltdown zzzqqq")
    assert results.hits and results.hits[0].ref.id == MELTDOWN


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "NEAR(a b)",
        "*",
        "title:ai",
        "display_title : x",
        "a OR",
        "AND",
        "NOT NOT",
        "^x",
        "(((",
        "x" * 10_000,
        "\u200f\u202eevil\u200b",
        "@everyone",
        "'; DROP TABLE documents; --",
    ],
)
async def test_hostile_queries_give_results_or_a_clear_message(
    service: CorpusService, query: str
) -> None:
    try:
        results = await service.search(query)
    except AnswerError as exc:
        assert exc.kind == "bad_input"
    else:
        assert results.total >= 0
    assert (await service.stats()).documents == 11


async def test_search_limit_is_checked(service: CorpusService) -> None:
    with pytest.raises(AnswerError):
        await service.search("ai", limit=0)
    assert len((await service.search("ai", limit=2)).hits) == 2
