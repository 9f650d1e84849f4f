"""Backoff: doubling waits with a cap, pause after a long streak, one success resets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.feeds.backoff import SourceHealth, next_attempt_delay, on_failure, on_success

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("streak", "expected"),
    [
        (0, 0.0),
        (-3, 0.0),
        (1, 300.0),
        (2, 600.0),
        (3, 1200.0),
        (7, 19_200.0),
        (8, 21_600.0),
        (50, 21_600.0),
        (100_000, 21_600.0),
    ],
)
def test_next_attempt_delay(streak: int, expected: float) -> None:
    assert next_attempt_delay(streak) == expected


def test_next_attempt_delay_custom_base_and_cap() -> None:
    assert [next_attempt_delay(n, base=1.0, cap=5.0) for n in range(1, 6)] == [1, 2, 4, 5, 5]


@given(st.integers(min_value=1, max_value=10_000))
def test_delay_is_monotonic_and_capped(streak: int) -> None:
    assert next_attempt_delay(streak) <= next_attempt_delay(streak + 1) <= 6 * 3600.0


def test_failures_lengthen_the_wait_and_pause_without_dropping() -> None:
    health = SourceHealth()
    for attempt in range(1, 5):
        health = on_failure(
            health, f"HTTP 500 #{attempt}", NOW, base=10.0, cap=1000.0, pause_after=4
        )
        assert health.error_streak == attempt
        assert health.last_error == f"HTTP 500 #{attempt}"
        assert health.next_attempt_at == NOW + timedelta(seconds=10.0 * 2 ** (attempt - 1))
        assert health.failing
        assert health.paused is (attempt >= 4)

    paused_again = on_failure(
        health, "timed out after 20 s", NOW, base=10.0, cap=1000.0, pause_after=4
    )
    assert paused_again.paused  # still paused, still scheduled: never dropped
    assert paused_again.next_attempt_at == NOW + timedelta(seconds=160.0)


def test_success_resets_everything() -> None:
    failing = SourceHealth(
        error_streak=12,
        last_error="HTTP 503",
        paused=True,
        next_attempt_at=NOW + timedelta(hours=6),
    )

    later = NOW + timedelta(hours=7)
    healthy = on_success(failing, later)

    assert healthy == SourceHealth(
        error_streak=0, last_error=None, last_success_at=later, next_attempt_at=None, paused=False
    )
    assert not healthy.failing


def test_failure_keeps_last_success_time() -> None:
    health = on_success(SourceHealth(), NOW)

    health = on_failure(health, "connection refused by 127.0.0.1:9", NOW + timedelta(hours=1))

    assert health.last_success_at == NOW
    assert health.next_attempt_at == NOW + timedelta(hours=1, seconds=300)


def test_retry_after_stretches_but_never_exceeds_cap() -> None:
    stretched = on_failure(SourceHealth(), "HTTP 429", NOW, min_delay=900.0)
    capped = on_failure(SourceHealth(), "HTTP 429", NOW, min_delay=10 * 24 * 3600.0)
    shorter = on_failure(SourceHealth(), "HTTP 429", NOW, min_delay=5.0)

    assert stretched.next_attempt_at == NOW + timedelta(seconds=900)
    assert capped.next_attempt_at == NOW + timedelta(hours=6)
    assert shorter.next_attempt_at == NOW + timedelta(seconds=300)
