"""summarize: which sentences win (issue #11), and verbatim output on text shaped like news.

Kept apart from test_summarizer.py, which reads ../shared for one of its tests: everything here
is self-contained.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.corpus.sentences import split_sentences
from bot.corpus.summarizer import summarize

HARBOUR = (
    "The city council approved a new budget for the harbour district on Monday. "
    "The plan, which was drafted over eighteen months by a committee of residents, shop owners, "
    "engineers and two former mayors who met every week in the library, sets aside money "
    "for the ferry pier and the market hall. "
    "The budget doubles the money for repairs to the harbour sea wall. "
    "Work on the harbour is due to start in the spring."
)


def sentence_texts(text: str) -> list[str]:
    return [s.text for s in split_sentences(text)]


def test_a_wordy_second_sentence_gives_way_to_shorter_ones_that_say_more() -> None:
    # The second sentence is 38 words: under the old 45-word bound it beat the two short,
    # factual ones on position alone; over 36 words it now costs about two places.
    wordy = sentence_texts(HARBOUR)[1]
    assert summarize(HARBOUR, max_sentences=3) == [
        "The city council approved a new budget for the harbour district on Monday.",
        "The budget doubles the money for repairs to the harbour sea wall.",
        "Work on the harbour is due to start in the spring.",
    ]
    # Penalized, not banned: it is still used when the summary has room for it.
    assert wordy in summarize(HARBOUR, max_sentences=4)


def test_a_long_sentence_alone_is_still_a_summary() -> None:
    long_one = (
        "The committee that drafted the plan met every other week for eighteen months in the old "
        "library, heard from residents, shop owners, engineers and two former mayors, and in the "
        "end agreed on money for the sea wall, the pier and the market hall."
    )
    assert summarize(long_one) == [long_one]


def test_a_photo_caption_glued_to_the_lead_it_repeats_is_passed_over() -> None:
    # DailyMail's page text glues a photo caption (no full stop) to the next sentence; the caption
    # restates the lead, so the pair is a repeat even though it is the longer of the two.
    text = (
        "Gaioz Nigalidze was expelled from the Dubai Open chess tournament for using his phone. "
        "His opponent grew suspicious about his frequent trips to the toilet. "
        "Caught: Gaioz Nigalidze was expelled from the Dubai Open chess tournament for using his "
        "phone The organisers found the phone hidden in a cubicle, wrapped in toilet paper. "
        "They announced the decision on their Facebook page on Sunday morning."
    )
    summary = summarize(text, max_sentences=3)
    assert not any(line.startswith("Caught:") for line in summary)
    assert summary[0].startswith("Gaioz Nigalidze was expelled")


WORDS = st.sampled_from(
    "the police said on Monday that a man aged 48 was arrested after Locke’s car hit "
    "Kilmarnock ‘I’d be over the moon’ (pictured) - U.S. Mr. 3.5 £2,100 e.g. J.K. Rowling …".split()
)
ENDS = st.sampled_from([".", "!", "?", "…", "", ".’", "?”", ")."])


@st.composite
def news_like(draw: st.DrawFn) -> str:
    """Paragraphs of sentences of 1-60 words: short, long and run-on, some without a final stop
    (headings, glued captions), with abbreviations, quotes and numbers that trip splitters."""
    paragraphs = []
    for _ in range(draw(st.integers(1, 4))):
        sentences = []
        for _ in range(draw(st.integers(1, 6))):
            words = draw(st.lists(WORDS, min_size=1, max_size=60))
            sentences.append(" ".join(words).capitalize() + draw(ENDS))
        paragraphs.append(" ".join(sentences))
    return "\n\n".join(paragraphs)


@settings(max_examples=150, deadline=None)
@given(
    news_like(),
    st.integers(min_value=1, max_value=6),
    st.integers(min_value=0, max_value=1200),
    st.none() | st.text(max_size=40),
)
def test_property_news_like_text_gives_its_own_sentences_verbatim(
    text: str, max_sentences: int, max_chars: int, title: str | None
) -> None:
    summary = summarize(text, title=title, max_sentences=max_sentences, max_chars=max_chars)
    sentences = sentence_texts(text)
    positions = [sentences.index(line) for line in summary]  # each one a whole sentence
    assert positions == sorted(set(positions))  # in text order, none twice
    assert all(line in text for line in summary)  # verbatim slices of the text
    assert len(summary) <= max_sentences
    assert sum(map(len, summary)) + max(len(summary) - 1, 0) <= max_chars
    assert summarize(text, title=title, max_sentences=max_sentences, max_chars=max_chars) == (
        summary
    )


# Two full lines of 34 and 35 words (under the 36-word bound, so neither is penalized), then short
# ones: news whose opening already says what a three-line summary would.
FERRY = (
    "The ferry company said on Monday that it would stop running the night crossing between the "
    "two islands from the first of June because too few passengers had used it over the past "
    "winter. "
    "Residents of the smaller island, who rely on the late boat to get home from evening shifts "
    "at the hospital on the main island, said they had not been asked "
    "before the decision was made. "
    "Councillors are due to discuss the timetable on Thursday. "
    "A petition has already gathered four hundred names."
)


def test_a_summary_stops_at_its_word_budget_not_only_its_line_count() -> None:
    # Three lines may hold 3 x 23 = 69 words: the first two already hold 69, so a third line
    # would only make the summary longer (issue #11: on news the human highlights run to 48
    # words and Lead-3 to 81; dev R-1 41.87 -> 42.21).
    lines = sentence_texts(FERRY)
    assert summarize(FERRY, max_sentences=3) == lines[:2]
    # The budget grows with the lines asked for: four lines may hold 92 words, and all four
    # lines of this text (86 words) fit.
    assert summarize(FERRY, max_sentences=4) == lines
