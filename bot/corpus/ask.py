"""Ranking passages for `ask`: which passages answer a question, which quote of each to show,
and when the corpus does not answer it at all.

Retrieval (in `store.py`) gives candidates: passages holding any of the question's words, best
bm25 first (FTS5, Porter stemming, the document's title as a second, heavier column). Here they
are ranked again with what a bag of words misses, and each gets a quote:

- coverage: the share of the question's words, weighted by how rare each is among passages
  (idf), that the passage or its document's title holds. bm25 alone lets one rare word win over
  a passage that holds every word; coverage is also what decides refusal: a question whose
  rarest words the best passage lacks ("does Access Now want bananas banned?": no passage says
  "bananas") is not answered by the corpus, however well the other words match.
- proximity: the share of the question's adjacent word pairs ("facial recognition") that occur
  within a few words of each other in the passage, in either order.
- the quote: the 1-3 adjacent sentences of the passage holding the most of the question's
  weight (`passages.best_quote`); its coverage counts too, so a passage whose matching words are
  scattered ranks below one that says it in a sentence.

The weights and the refusal threshold were chosen on the question set of
tests/corpus/ask_questions.yaml (figures in its test and in README). Question words ("what",
"does", "say"…) are set aside before anything: they are in most questions and say nothing
about the answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.corpus import search as fts
from bot.corpus.models import DocumentRef
from bot.corpus.names import fold
from bot.corpus.passages import best_quote, word_matches

QUESTION_WORDS = frozenset(
    """what whats which who whom whose when where why how does do did doing done is are was were
    be been being am the a an of to in on at for from by with about as into onto than then so
    and or but if it its it s this that these those there their they them he she his her him i
    me my we our us you your tell say says said saying explain describe according corpus post
    posts document documents article text any some can could should would will shall may might
    must has have had having not no yes""".split()
)
"""Set aside from questions: what they ask, not what they ask about. "not" and "no" are among
them because a bag of words cannot honour a negation: the passage is shown and read."""


@dataclass(frozen=True, slots=True)
class AskTuning:
    """Weights of the ranking and the refusal threshold (chosen by measurement, see above)."""

    candidates: int = 30
    """Passages ranked again here: the best by bm25."""
    rank_window: int = 2000
    """At most this many matching passages are ranked by bm25: the most recently indexed ones
    (as search does; only large corpora reach it)."""
    common_passages: int = 5000
    """A word in at least this many passages is common: left out of retrieval when a rarer one is
    there (it still counts in coverage), so its long posting list is never ranked."""
    title_weight: float = 2.0
    """bm25 weight of the title column against the text's 1.0."""
    title_share: float = 0.5
    """How much a question word counts in coverage when only the document's title holds it: the
    title says what the whole document is about, but every passage of it would hold the word."""
    quote_weight: float = 0.5
    proximity_weight: float = 0.3
    bm25_weight: float = 0.2
    min_coverage: float = 0.47
    """Below this idf-weighted share of the question's words in its best passage, the corpus
    does not answer the question."""


@dataclass(frozen=True, slots=True)
class PassageCandidate:
    """A passage retrieved for a question, with what ranking needs."""

    ref: DocumentRef
    paragraph: int
    start: int
    text: str
    """`body[start:start + len(text)]`"""
    bm25: float
    """Higher is better (FTS5's bm25, negated)."""


@dataclass(frozen=True, slots=True)
class RankedPassage:
    candidate: PassageCandidate
    score: float
    coverage: float
    quote_start: int
    """Offset of the quote in the body."""
    quote: str


_WORD = re.compile(r"[^\W_]+")
PROXIMITY_WORDS = 3
"""Two words count as near when at most this many words apart."""
MAX_POSITIONS = 100
"""Occurrences of a word compared for proximity: a bound on the work of a passage made of one
sentence of thousands of words."""


def question_terms(question: str) -> list[str]:
    """The question's words that say what it is about: folded like the index folds them, question
    words set aside, capped like a search's (see `search.query_terms`)."""
    return [t for t in fts.query_terms(question) if t not in QUESTION_WORDS]


def idf(total: int, holding: int) -> float:
    """bm25's idf, kept positive: a word in no passage weighs the most."""
    return math.log(1 + (total - holding + 0.5) / (holding + 0.5))


def rank_passages(
    candidates: Sequence[PassageCandidate],
    terms: Sequence[str],
    weights: dict[str, float],
    tuning: AskTuning,
) -> list[RankedPassage]:
    """The candidates best first, each with its quote. `weights`: term -> idf.

    Weights of sets of terms are added with `math.fsum`, exact whatever the order: a plain sum
    over a set depends on the set's order, which changes with each process's string hashing, so
    two equal shares could compare unequal and a tie be broken differently after a restart."""
    total_weight = math.fsum(weights.get(t, 0.0) for t in terms) or 1.0
    top_bm25 = max((c.bm25 for c in candidates), default=0.0) or 1.0
    pairs = list(zip(terms, terms[1:], strict=False))
    ranked: list[RankedPassage] = []
    for candidate in candidates:
        words = [w.lower() if w.isascii() else fold(w) for w in _WORD.findall(candidate.text)]
        title_words = [
            w.lower() if w.isascii() else fold(w) for w in _WORD.findall(candidate.ref.title)
        ]
        positions = {
            t: [i for i, w in enumerate(words) if word_matches(w, t)][:MAX_POSITIONS] for t in terms
        }
        in_text = {t for t in terms if positions[t]}
        title_only = {
            t for t in terms if t not in in_text and any(word_matches(w, t) for w in title_words)
        }
        coverage = (
            math.fsum(weights.get(t, 0.0) for t in in_text)
            + tuning.title_share * math.fsum(weights.get(t, 0.0) for t in title_only)
        ) / total_weight
        quote_start, quote_end, in_quote = best_quote(
            candidate.text, 0, len(candidate.text), terms, weights
        )
        quote_coverage = math.fsum(weights.get(t, 0.0) for t in in_quote) / total_weight
        proximity = (
            (sum(_near(positions[a], positions[b]) for a, b in pairs) / len(pairs))
            if pairs
            else 0.0
        )
        score = (
            coverage
            + tuning.quote_weight * quote_coverage
            + tuning.proximity_weight * proximity
            + tuning.bm25_weight * max(0.0, candidate.bm25) / top_bm25
        )
        ranked.append(
            RankedPassage(
                candidate=candidate,
                score=score,
                coverage=coverage,
                quote_start=candidate.start + quote_start,
                quote=candidate.text[quote_start:quote_end],
            )
        )
    ranked.sort(key=lambda r: (-r.score, r.candidate.ref.id, r.candidate.start))
    return ranked


def _near(left: list[int], right: list[int]) -> bool:
    """Whether some occurrence of one word is within `PROXIMITY_WORDS` of one of the other."""
    return any(abs(a - b) <= PROXIMITY_WORDS for a in left for b in right if a != b)
