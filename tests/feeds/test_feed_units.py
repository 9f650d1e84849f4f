"""Pure parts of the feed: filters, digest times, error classification, nonces, entry ids."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.feeds.delivery import (
    REFUSAL_CHARS,
    DeliveryError,
    batch_nonce,
    classify_edit,
    classify_post,
    entry_nonce,
    refusal_reason,
    retry_delay,
)
from bot.feeds.digest import (
    due_digest_moment,
    latest_digest_moment,
    next_digest_moment,
    parse_digest_time,
)
from bot.feeds.entries import entry_id
from bot.feeds.filters import entry_facts, wants
from bot.feeds.models import Subscription, from_iso, to_iso

NOW = datetime(2025, 3, 5, 8, 0, tzinfo=UTC)


def subscription(**changes: object) -> Subscription:
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
        created_at=NOW,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


ENTRY = entry_facts(
    "feed-ada-1",
    "ada",
    "Why Corpora Need Curators",
    ["Émily Saltz", "Grace Sample"],
    "A corpus is only as good as the people who tend it. Bias creeps in.",
)


@pytest.mark.parametrize(
    ("changes", "wanted"),
    [
        ({}, True),
        ({"source": "ada"}, True),
        ({"source": "corpus"}, False),
        ({"author": "saltz"}, True),
        ({"author": "EMILY saltz"}, True),
        ({"author": "emily sample"}, False),  # words of two different authors
        ({"author": "salt"}, False),  # whole words only
        ({"keyword": "bias"}, True),
        ({"keyword": "curators"}, True),  # title counts
        ({"keyword": "bia"}, False),
        ({"keyword": "the people"}, True),  # a phrase
        ({"keyword": "people the"}, False),
        ({"author": "saltz", "keyword": "nothing here"}, False),
    ],
)
def test_filters(changes: dict[str, object], wanted: bool) -> None:
    assert wants(subscription(**changes), ENTRY) is wanted


@pytest.mark.parametrize(
    ("text", "minute"),
    [
        ("09:00", 540),
        ("9:05", 545),
        ("23:59", 1439),
        ("00:00", 0),
        (" 07:30 UTC ", 450),
        ("24:00", None),
        ("9", None),
        ("09:60", None),
        ("nine", None),
        ("", None),
    ],
)
def test_parse_digest_time(text: str, minute: int | None) -> None:
    assert parse_digest_time(text) == minute


def test_digest_is_due_once_a_day_from_its_time_on() -> None:
    sub = subscription(mode="digest", digest_minute=9 * 60)  # created 08:00
    assert due_digest_moment(sub, NOW.replace(hour=8, minute=59)) is None
    nine = NOW.replace(hour=9)
    assert due_digest_moment(sub, nine) == nine
    assert due_digest_moment(sub, nine + timedelta(hours=5)) == nine
    done = replace(sub, last_digest_at=nine)
    assert due_digest_moment(done, nine + timedelta(hours=5)) is None
    assert next_digest_moment(done, nine + timedelta(hours=5)) == nine + timedelta(days=1)
    # Three days of downtime: one digest, for the latest moment.
    assert due_digest_moment(done, nine + timedelta(days=3, minutes=1)) == nine + timedelta(days=3)


def test_a_subscription_made_after_todays_time_waits_for_tomorrow() -> None:
    sub = subscription(mode="digest", digest_minute=7 * 60, created_at=NOW)  # 07:00, made at 08:00
    assert due_digest_moment(sub, NOW + timedelta(hours=10)) is None
    assert latest_digest_moment(NOW, 7 * 60) == NOW.replace(hour=7)
    assert due_digest_moment(sub, NOW + timedelta(days=1)) == NOW.replace(hour=7) + timedelta(
        days=1
    )


def test_instant_subscriptions_have_no_digest() -> None:
    assert due_digest_moment(subscription(), NOW) is None


@pytest.mark.parametrize(
    ("status", "code", "action", "reason"),
    [
        (403, 50013, "pause", "missing_permission"),
        (403, 50001, "pause", "missing_permission"),
        (404, 10003, "pause", "channel_missing"),
        (400, 50035, "set_aside", None),
        (400, 50083, "pause", "rejected"),
        (413, 40005, "pause", "rejected"),
        (429, None, "retry", None),
        (401, 0, "retry", None),
        (500, None, "retry", None),
        (503, None, "retry", None),
        (None, None, "retry", None),
    ],
)
def test_post_failures_are_classified(
    status: int | None, code: int | None, action: str, reason: str | None
) -> None:
    verdict = classify_post(DeliveryError(status, "Missing Permissions", code=code))
    assert (verdict.action, verdict.reason) == (action, reason)


def test_rejections_keep_discords_message() -> None:
    verdict = classify_post(
        DeliveryError(400, "Invalid Form Body: embeds.0.title too long", code=50035)
    )
    assert "embeds.0.title too long" in verdict.detail


def test_a_refusal_reason_is_one_bounded_line() -> None:
    text = "Invalid Form Body\nIn embeds.0.url: Must be 2048 or fewer in length.\nIn content: Too long."
    assert (
        refusal_reason(text)
        == "Invalid Form Body (embeds.0.url: Must be 2048 or fewer in length.; content: Too long.)"
    )
    many = "Invalid Form Body\n" + "\n".join(
        f"In embeds.{i}.url: Must be 2048 or fewer in length." for i in range(50)
    )
    assert len(refusal_reason(many)) == REFUSAL_CHARS and refusal_reason(many).endswith("…")
    assert refusal_reason("") == "no details"


def test_edit_failures_drop_deleted_messages_but_pause_missing_channels() -> None:
    assert classify_edit(DeliveryError(404, "Unknown Message", code=10008)).action == "drop"
    assert (
        classify_edit(DeliveryError(404, "Unknown Channel", code=10003)).reason == "channel_missing"
    )
    assert (
        classify_edit(DeliveryError(403, "Missing Access", code=50001)).reason
        == "missing_permission"
    )
    assert classify_edit(DeliveryError(502, "Bad Gateway")).action == "retry"


def test_nonces_are_deterministic_distinct_and_short() -> None:
    first = entry_nonce(1, "why-corpora-need-curators")
    assert first == entry_nonce(1, "why-corpora-need-curators")
    assert first != entry_nonce(2, "why-corpora-need-curators")
    assert first != entry_nonce(1, "why-corpora-need-curators-2")
    assert batch_nonce(1, 1) != batch_nonce(1, 2) != first
    assert all(
        len(n) <= 25 for n in (first, batch_nonce(1, 10**12), entry_nonce(10**12, "x" * 500))
    )


def test_retry_delay_doubles_up_to_an_hour_and_honours_retry_after() -> None:
    assert [retry_delay(n, None) for n in (1, 2, 3)] == [30.0, 60.0, 120.0]
    assert retry_delay(50, None) == 3600.0
    assert retry_delay(1, 90.0) == 90.0


def test_entry_ids_depend_on_source_and_key_only() -> None:
    assert entry_id("ada", "https://medium.com/p/1") == entry_id("ada", "https://medium.com/p/1")
    assert entry_id("ada", "https://medium.com/p/1") != entry_id("bob", "https://medium.com/p/1")
    assert entry_id("ada", "k").startswith("feed-ada-")


def test_times_round_trip_in_one_format() -> None:
    assert from_iso(to_iso(NOW)) == NOW
    assert to_iso(NOW) < to_iso(NOW + timedelta(microseconds=1))
    with pytest.raises(ValueError):
        to_iso(datetime(2025, 1, 1))  # noqa: DTZ001 - naive on purpose
