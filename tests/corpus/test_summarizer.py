"""summarize: verbatim sentences in text order, within budget, boilerplate-free, deterministic."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.corpus.loader import parse_document
from bot.corpus.sentences import split_sentences
from bot.corpus.summarizer import summarize
from tests.conftest import BUNDLED_CORPUS, shared_file

LETTER_FILE = "11-access-now-resigns-from-pai.md"
LETTER_SEED = ("seeds", "001_8d2e336b0c43d08f.txt")
"""The letter as it was saved from the web, page chrome and all (in ../shared, when present)."""

NEWS = (
    "Gary Locke will be confirmed as Kilmarnock’s permanent manager on Friday. "
    "An announcement will be made by the Rugby Park club on Friday morning, with the former "
    "Hearts boss being given a three-year deal. "
    "On Thursday the 39-year-old paid tribute to the players. "
    "‘I’d be over the moon to get it,’ said Locke. "
    "Kilmarnock went unbeaten in Locke’s first six games in charge of the club. "
    "The weather in Ayrshire was mild."
)


def sentence_texts(text: str) -> list[str]:
    return [s.text for s in split_sentences(text)]


def assert_extractive(text: str, summary: list[str]) -> None:
    """Every summary line is one of the text's own sentences, verbatim, and in text order."""
    sentences = sentence_texts(text)
    positions = [sentences.index(line) for line in summary]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)


def joined_length(summary: list[str]) -> int:
    return sum(map(len, summary)) + max(len(summary) - 1, 0)


def test_picks_verbatim_sentences_in_text_order() -> None:
    summary = summarize(NEWS)
    assert len(summary) == 3
    assert_extractive(NEWS, summary)
    assert summary[0].startswith("Gary Locke will be confirmed")


@pytest.mark.parametrize("max_sentences", [0, 1, 2, 3, 5, 50])
def test_max_sentences(max_sentences: int) -> None:
    summary = summarize(NEWS, max_sentences=max_sentences)
    assert len(summary) == min(max_sentences, len(sentence_texts(NEWS)))
    assert_extractive(NEWS, summary)


def test_budget_skips_a_sentence_that_does_not_fit_and_never_cuts_one() -> None:
    long_one = sentence_texts(NEWS)[1]
    budget = len(long_one) - 1
    summary = summarize(NEWS, max_chars=budget)
    assert summary
    assert long_one not in summary
    assert joined_length(summary) <= budget
    assert_extractive(NEWS, summary)


def test_a_single_sentence_over_budget_gives_no_summary() -> None:
    text = "This one sentence is much longer than the tiny budget the caller allows for it."
    assert summarize(text, max_chars=20) == []
    assert summarize(text, max_chars=len(text)) == [text]


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=600), st.integers(min_value=0, max_value=6))
def test_property_budget_and_count_always_hold(max_chars: int, max_sentences: int) -> None:
    summary = summarize(NEWS, max_chars=max_chars, max_sentences=max_sentences)
    assert len(summary) <= max_sentences
    assert joined_length(summary) <= max_chars
    assert_extractive(NEWS, summary)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .?!…\n’”Mr")), max_size=200))
def test_property_any_text_gives_its_own_sentences(text: str) -> None:
    summary = summarize(text)
    assert_extractive(text, summary)
    assert all(line in text for line in summary)
    assert summarize(text) == summary


def test_a_sentence_said_twice_is_picked_once() -> None:
    # found by the property test above: two "M?" have no content stems to compare
    assert summarize("M? M?") == ["M?"]
    assert summarize("Why? Why?", max_sentences=3) == ["Why?"]


def test_deterministic() -> None:
    assert summarize(NEWS, title="Locke to be Kilmarnock manager") == summarize(
        NEWS, title="Locke to be Kilmarnock manager"
    )


def test_skips_boilerplate_bylines_chrome_and_notes() -> None:
    text = (
        "Sign in\n\n"
        "By Jasmine Wang\n\n"
        "Editor’s note: this post was updated on Monday to fix a link.\n\n"
        "AI is by no means the first field to face the challenges of publishing risky research. "
        "This post looks at how biosecurity handled the same problem. "
        "Its lessons apply to machine learning today."
    )
    summary = summarize(text)
    assert summary == [
        "AI is by no means the first field to face the challenges of publishing risky research.",
        "This post looks at how biosecurity handled the same problem.",
        "Its lessons apply to machine learning today.",
    ]


def test_truncated_excerpt_is_left_out_when_whole_sentences_exist() -> None:
    text = (
        "If you found out a basic safeguard was broken, who could you tell without harm? "
        "That was the question the tech industry faced in 2017 after Jann…"
    )
    assert summarize(text) == [
        "If you found out a basic safeguard was broken, who could you tell without harm?"
    ]


def test_only_weak_sentences_are_used_when_nothing_else_is_left() -> None:
    text = "Access Now resigns from the Partnership on AI\n\nBy Access Now"
    assert summarize(text) == ["Access Now resigns from the Partnership on AI"]
    assert summarize("By Jasmine Wang\n\nSign in") == []
    assert summarize("") == []


def test_a_short_question_heading_is_weak_but_a_long_question_is_a_sentence() -> None:
    text = (
        "What is MediaReview?\n\n"
        "A lack of clarity around demographic data has been cited as a barrier to fixing bias.\n\n"
        "This has led us to ask the question, “When and how should demographic data be collected "
        "and used in service of algorithmic bias detection and mitigation?”"
    )
    summary = summarize(text)
    assert "What is MediaReview?" not in summary
    assert summary == sentence_texts(text)[1:]


def test_a_sentence_repeating_a_picked_one_is_passed_over() -> None:
    text = (
        "Access Now resigned from the Partnership on AI on Tuesday. "
        "Access Now has resigned from the Partnership on AI, it said on Tuesday. "
        "The group cited a shrinking role for civil society. "
        "Other members stayed."
    )
    assert summarize(text, max_sentences=2) == [
        "Access Now resigned from the Partnership on AI on Tuesday.",
        "The group cited a shrinking role for civil society.",
    ]


def test_the_title_pulls_in_a_sentence_about_it() -> None:
    text = (
        "Shoppers crowded the market early on Saturday. "
        "Farmers sold apples and pears from their trucks. "
        "A new library will open downtown next spring. "
        "Musicians played jazz near the fountain."
    )
    assert summarize(text, max_sentences=2) == [
        "Shoppers crowded the market early on Saturday.",
        "Farmers sold apples and pears from their trucks.",
    ]
    assert summarize(text, max_sentences=2, title="Library to open downtown") == [
        "Shoppers crowded the market early on Saturday.",
        "A new library will open downtown next spring.",
    ]


def bundled_letter() -> str:
    """The letter's body as the bundled corpus holds it (verbatim from the seed, without chrome)."""
    raw = (BUNDLED_CORPUS / LETTER_FILE).read_bytes()
    document, problems = parse_document(raw, LETTER_FILE, max_bytes=len(raw))
    assert document is not None, problems
    return document.body


@pytest.mark.parametrize("source", ["bundled corpus", "seed with page chrome"])
def test_access_now_letter_summary_is_made_of_the_letters_sentences(source: str) -> None:
    if source == "bundled corpus":
        letter = bundled_letter()
    else:
        letter = shared_file(*LETTER_SEED).read_text(encoding="utf-8")
    summary = summarize(letter, title="Access Now resigns from the Partnership on AI")
    assert len(summary) == 3
    assert_extractive(letter, summary)
    assert all(line in letter for line in summary)
    assert summary[0] == (
        "Access Now announces its official resignation from the Partnership on AI (PAI)."
    )
    for chrome in ("RightsCon session videos|IGF", "Dear PAI Leadership Team,", "Sincerely,"):
        assert chrome not in summary
    assert joined_length(summary) <= 1000
