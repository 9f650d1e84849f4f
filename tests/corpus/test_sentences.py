"""split_sentences: verbatim spans, the hard cases of English punctuation, paragraphs."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.corpus.sentences import Sentence, is_truncated_excerpt, split_sentences


def texts(text: str) -> list[str]:
    return [s.text for s in split_sentences(text)]


def assert_well_formed(text: str, sentences: list[Sentence]) -> None:
    """The invariants every caller relies on: exact slices, stripped, ordered, disjoint, every
    non-whitespace character covered once, paragraphs counted from 1 and never going back."""
    covered = 0
    previous_end = 0
    previous_paragraph = 1
    for sentence in sentences:
        assert text[sentence.start : sentence.end] == sentence.text
        assert sentence.text and sentence.text == sentence.text.strip()
        assert sentence.start >= previous_end
        assert text[previous_end : sentence.start].strip() == ""
        assert sentence.paragraph >= previous_paragraph
        assert re.search(r"\n[^\S\n]*\n", sentence.text) is None  # never spans a blank line
        covered += len(re.sub(r"\s", "", sentence.text))
        previous_end = sentence.end
        previous_paragraph = sentence.paragraph
    assert text[previous_end:].strip() == ""
    assert covered == len(re.sub(r"\s", "", text))
    if sentences:
        assert sentences[0].paragraph == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Mr. Smith met Dr. Jones on St. James Street. They talked.",
            ["Mr. Smith met Dr. Jones on St. James Street.", "They talked."],
        ),
        (
            "The U.S. Senate voted. The U.S. The vote was close.",
            ["The U.S. Senate voted.", "The U.S.", "The vote was close."],
        ),
        (
            "Use a tool, e.g. a hammer, i.e. the right one, etc. and go. Done.",
            ["Use a tool, e.g. a hammer, i.e. the right one, etc. and go.", "Done."],
        ),
        (
            "Buy apples, pears, etc. The shop opens in Jan. 2021 at No. 5 Main St. It is big.",
            [
                "Buy apples, pears, etc.",
                "The shop opens in Jan. 2021 at No. 5 Main St.",
                "It is big.",
            ],
        ),
        (
            "Apple Inc. reported results. He joined Apple Inc. The firm grew. It was Lakers vs. Celtics.",
            [
                "Apple Inc. reported results.",
                "He joined Apple Inc.",
                "The firm grew.",
                "It was Lakers vs. Celtics.",
            ],
        ),
        (
            "J. K. Rowling and George W. Bush met. Then they left.",
            ["J. K. Rowling and George W. Bush met.", "Then they left."],
        ),
        (
            "It cost over $100,000 USD in fines. Growth was 3.5 per cent. Fine.",
            ["It cost over $100,000 USD in fines.", "Growth was 3.5 per cent.", "Fine."],
        ),
        (
            "It could cause physical harm.” Next came more. “Why?” he asked. Really? Yes!",
            [
                "It could cause physical harm.”",
                "Next came more.",
                "“Why?” he asked.",
                "Really?",
                "Yes!",
            ],
        ),
        (
            'He said "stop." Then he left.',
            ['He said "stop."', "Then he left."],
        ),
        (
            "I waited… and waited... Then it came. It was over…",
            ["I waited… and waited...", "Then it came.", "It was over…"],
        ),
        (
            "The caption read “I’m no expert” — an obvious joke. Facebook—like others—acted.",
            ["The caption read “I’m no expert” — an obvious joke.", "Facebook—like others—acted."],
        ),
        (
            "A complete thought. …",
            ["A complete thought. …"],
        ),
        (
            "The ADM systems failed. As a rule, we object.",
            ["The ADM systems failed.", "As a rule, we object."],
        ),
    ],
)
def test_hard_cases(text: str, expected: list[str]) -> None:
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == expected
    assert_well_formed(text, sentences)


def test_paragraphs_and_headings() -> None:
    text = (
        "RightsCon session videos|IGF\n\n"
        "Access Now resigns from the Partnership on AI\n\n"
        "Lessons on publication norms\nBy Jasmine Wang\n"
        "AI is not the first field. It is presented here.\n\n\n"
        "  Dear PAI Leadership Team,\n \n"
        "We write to you.\n"
    )
    sentences = split_sentences(text)
    assert [(s.paragraph, s.text) for s in sentences] == [
        (1, "RightsCon session videos|IGF"),
        (2, "Access Now resigns from the Partnership on AI"),
        (3, "Lessons on publication norms"),
        (3, "By Jasmine Wang"),
        (3, "AI is not the first field."),
        (3, "It is presented here."),
        (4, "Dear PAI Leadership Team,"),
        (5, "We write to you."),
    ]
    assert_well_formed(text, sentences)


def test_a_paragraph_break_ends_a_sentence_even_without_punctuation() -> None:
    assert texts("no stop here\n\nand a new paragraph") == ["no stop here", "and a new paragraph"]


def test_a_lowercase_line_continues_the_sentence() -> None:
    text = "The board said that\nthe vote would be held. Then\nit was."
    assert texts(text) == ["The board said that\nthe vote would be held.", "Then\nit was."]


def test_numbered_list_items_are_not_split_at_their_marker() -> None:
    assert texts("1. Introduction\n2. Methods and data\na. First point") == [
        "1. Introduction",
        "2. Methods and data",
        "a. First point",
    ]


def test_hard_wrapped_paragraph_ignores_its_line_breaks() -> None:
    text = (
        "The Partnership on AI was founded in 2016 by a group of large\n"
        "American technology companies including Amazon, Google and\n"
        "Facebook. It now has more than one hundred members around the\n"
        "world."
    )
    assert texts(text) == [
        "The Partnership on AI was founded in 2016 by a group of large\n"
        "American technology companies including Amazon, Google and\nFacebook.",
        "It now has more than one hundred members around the\nworld.",
    ]


def test_windows_line_endings() -> None:
    text = "First line.\r\n\r\nSecond para. Still second.\r\n"
    sentences = split_sentences(text)
    assert [(s.paragraph, s.text) for s in sentences] == [
        (1, "First line."),
        (2, "Second para."),
        (2, "Still second."),
    ]


def test_long_runs_of_marks_stay_in_one_sentence() -> None:
    text = "Wait" + "." * 5000 + " Then go" + "!" * 3000 + "”" * 100 + " Done."
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == [
        "Wait" + "." * 5000,
        "Then go" + "!" * 3000 + "”" * 100,
        "Done.",
    ]
    assert_well_formed(text, sentences)


def test_empty_and_blank_text() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\n\t \n") == []


def test_truncated_excerpt_detection() -> None:
    text = (
        "Who could you tell? That was the question the industry faced after Jann…\n\n"
        "It may not seem like a tragedy. …\n\nI thought… Then I knew. It went on..."
    )
    sentences = split_sentences(text)
    flags = {s.text: is_truncated_excerpt(s, text) for s in sentences}
    assert flags == {
        "Who could you tell?": False,
        "That was the question the industry faced after Jann…": True,
        "It may not seem like a tragedy. …": False,
        "I thought…": False,
        "Then I knew.": False,
        "It went on...": True,
    }


def test_deterministic() -> None:
    text = "Mr. A. B. Smith said so. “Fine?” Yes… No.\n\nNext.\nHeading\nBody text."
    assert split_sentences(text) == split_sentences(text)


_PIECES = st.sampled_from(
    [
        "word",
        "Word",
        "Mr.",
        "U.S.",
        "e.g.",
        "J.",
        "3.5",
        "$100,000",
        "etc.",
        "No.",
        "5",
        ".",
        "!",
        "?",
        "…",
        "...",
        "”",
        "“",
        "’",
        "‘",
        '"',
        "'",
        "(",
        ")",
        "—",
        "-",
        ",",
        " ",
        "  ",
        "\t",
        "\n",
        "\n\n",
        "\r\n",
        " \n \n",
        "The",
        "it",
        "1.",
        "a.",
        "By",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=60).map("".join))
def test_property_sentences_are_verbatim_spans_covering_the_text(text: str) -> None:
    assert_well_formed(text, split_sentences(text))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_property_holds_for_arbitrary_unicode(text: str) -> None:
    sentences = split_sentences(text)
    assert_well_formed(text, sentences)
    assert split_sentences(text) == sentences
