"""Filter conditions: fields, matches, negation, all/any, missing fields, RE2 patterns,
categories from feeds, and a subscription stored before conditions existed (migration 11)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from bot.corpus import schema
from bot.feeds import filters
from bot.feeds.filters import MATCH_TEXT_CHARS, Drop, entry_facts, wants, why_dropped
from bot.feeds.models import Condition, Subscription
from bot.feeds.parse import parse_feed
from bot.feeds.patterns import MAX_PATTERN_CHARS, PatternError, compile_pattern, search
from bot.feeds.store import conditions_from_json, conditions_to_json
from tests.feeds.feed_world import T0, Item, medium_rss

ENTRY = entry_facts(
    "feed-ada-1",
    "ada",
    "Why Corpora Need Curators",
    ["Émily Saltz", "Grace Sample"],
    "A corpus is only as good as the people who tend it. Bias creeps in (C++ too).",
    ["AI Policy", "Archives"],
)
NO_BYLINE = entry_facts("corpus-1", "corpus", "A title", [], "Some text.")


def subscription(*conditions: Condition, **changes: object) -> Subscription:
    base = Subscription(
        id=1,
        guild_id=10,
        channel_id=20,
        source=None,
        author=None,
        keyword=None,
        mention_role_id=None,
        mode="instant",
        digest_minute=None,
        created_by=30,
        created_at=T0,
        conditions=conditions,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("condition", "wanted"),
    [
        (Condition("title", "contains", "CORPORA need"), True),
        (Condition("title", "contains", "corpora  need"), False),
        (Condition("title", "words", "curator"), False),  # whole words only
        (Condition("title", "words", "curators"), True),
        (Condition("summary", "contains", "c++"), True),  # punctuation kept by contains
        (Condition("summary", "contains", "curators"), False),  # the title is not the summary
        (Condition("text", "contains", "curators"), True),  # text = title and summary
        (Condition("author", "contains", "emily"), True),  # accents ignored
        (Condition("author", "words", "grace sample"), True),
        (Condition("author", "words", "emily sample"), False),  # words of two authors
        (Condition("categories", "contains", "policy"), True),
        (Condition("categories", "words", "archives"), True),
        (Condition("categories", "regex", r"^ai\b"), True),  # case-insensitive
        (Condition("categories", "regex", r"^policy"), False),
        (Condition("title", "regex", r"corp(us|ora)"), True),
        (Condition("title", "regex", r"corp(us|ora)", negate=True), False),
        (Condition("categories", "contains", "sport", negate=True), True),
    ],
)
def test_one_condition(condition: Condition, wanted: bool) -> None:
    assert wants(subscription(condition), ENTRY) is wanted


def test_a_condition_on_a_missing_field_never_matches_negated_or_not() -> None:
    for condition in (
        Condition("categories", "contains", "x"),
        Condition("categories", "contains", "x", negate=True),
        Condition("author", "regex", ".*", negate=True),
        Condition("author", "words", "nobody", negate=True),
    ):
        assert not wants(subscription(condition), NO_BYLINE), condition


def test_all_and_any_and_the_reason_for_a_drop() -> None:
    hit = Condition("title", "words", "curators")
    miss = Condition("summary", "regex", "quantum")
    assert why_dropped(subscription(hit, miss), ENTRY) == Drop(failed=((2, miss),))
    assert why_dropped(subscription(hit, miss, match_mode="any"), ENTRY) is None
    assert why_dropped(subscription(miss, miss, match_mode="any"), ENTRY) == Drop(
        failed=((1, miss), (2, miss))
    )
    assert why_dropped(subscription(hit, source="corpus"), ENTRY) == Drop(source="corpus")
    assert why_dropped(subscription(), ENTRY) is None


def test_author_and_keyword_read_as_the_first_conditions() -> None:
    """A subscription from before conditions keeps matching what it matched (numbered 1, 2)."""
    old = subscription(author="saltz", keyword="the people")
    assert wants(old, ENTRY)
    assert not wants(replace(old, keyword="people the"), ENTRY)
    extra = Condition("title", "contains", "quantum")
    assert why_dropped(replace(old, conditions=(extra,)), ENTRY) == Drop(failed=((3, extra),))
    dropped = why_dropped(replace(old, author="salt"), ENTRY)
    assert dropped is not None and dropped.failed[0][0] == 1
    assert dropped.failed[0][1] == Condition("author", "words", "salt")


def test_a_pathological_pattern_on_a_long_input_returns() -> None:
    """``(a+)+$`` takes exponential time in a backtracking engine; RE2 is linear. No timing
    assertion: with Python's ``re`` this test would not finish."""
    text = "a" * (MATCH_TEXT_CHARS - 1) + "!"
    assert not search(r"(a+)+$", text)
    assert not search(r"(.*a){20}$", text)
    long_entry = entry_facts("e", "ada", "t", ["A"], text + "a" * 100_000)
    assert not wants(subscription(Condition("summary", "regex", r"(a+)+$")), long_entry)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(a", "missing ): (a"),
        ("(?<=a)b", "invalid perl operator: (?<="),
        (r"(a)\1", "invalid escape sequence: \\1"),
        ("x" * (MAX_PATTERN_CHARS + 1), f"at most {MAX_PATTERN_CHARS}"),
        ("((a{1,1000}){1,1000}){1,1000}", "invalid repetition size"),
    ],
)
def test_a_refused_pattern_says_why_in_re2s_words(pattern: str, message: str) -> None:
    with pytest.raises(PatternError) as refused:
        compile_pattern(pattern)
    assert message in str(refused.value)


def test_conditions_round_trip_and_a_bad_stored_element_is_skipped() -> None:
    conditions = (Condition("title", "regex", "é+", negate=True), Condition("text", "words", "x"))
    assert conditions_from_json(conditions_to_json(conditions)) == conditions
    assert conditions_from_json('[{"field": "body", "match": "contains", "value": "x"}, 3]') == ()


def test_feed_categories_are_read_and_stored() -> None:
    feed = parse_feed(
        medium_rss([Item("1", "One", categories=("AI  Policy", "news", "news"))]),
        source_url="https://medium.com/feed/@ada",
    )
    assert feed.items[0].categories == ("AI Policy", "news")


def test_migration_11_keeps_every_subscription_as_it_was(tmp_path: Path) -> None:
    """A database at schema 10 with a subscription by author and keyword: after migrating, it
    has no conditions of its own, matches all, is an embed, and its filters are kept."""
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    for version in range(10):
        for statement in schema._statements(schema.MIGRATIONS[version]):
            conn.execute(statement)
        if version + 1 in schema.AFTER_MIGRATION:
            schema.AFTER_MIGRATION[version + 1](conn)
    conn.execute("PRAGMA user_version = 10")
    conn.execute(
        "INSERT INTO feed_subscriptions (guild_id, channel_id, author, keyword, mode, created_by, "
        "created_at) VALUES (1, 2, 'saltz', 'bias', 'instant', 3, '2025-03-05T08:00:00+00:00')"
    )
    assert schema.migrate(conn) == 10
    conn.row_factory = sqlite3.Row
    row = conn.execute(
        "SELECT author, keyword, match_mode, message_format, filter_conditions "
        "FROM feed_subscriptions"
    ).fetchone()
    assert dict(row) == {
        "author": "saltz",
        "keyword": "bias",
        "match_mode": "all",
        "message_format": "embed",
        "filter_conditions": "[]",
    }
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE feed_subscriptions SET message_format = 'html'")


def test_an_entrys_text_is_normalized_once_not_once_per_subscription(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Matching 50 subscriptions' "contains" against an entry of 20,000 characters normalizes
    that text once (it took 87 s for 100 x 100 when each condition normalized it again)."""
    calls: list[int] = []
    real = filters._loose

    def counting(text: str) -> str:
        calls.append(len(text))
        return real(text)

    monkeypatch.setattr(filters, "_loose", counting)
    entry = entry_facts("e", "ada", "Title", ["A"], "word " * 4000)
    subs = [subscription(Condition("summary", "contains", f"zebra {n}")) for n in range(50)]
    assert filters.wanting_pairs(subs, [entry]) == []
    assert sorted(calls, reverse=True)[:2] == [20_000, len("zebra 49")]  # the text once
