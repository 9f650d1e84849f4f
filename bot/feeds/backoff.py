"""How long to leave a failing feed alone, and the small health record that decides it.

A feed that errors must not be hammered (the server may be down or rate-limiting us) nor
forgotten (most outages end). So each consecutive failure doubles the wait up to a cap, a
source that keeps failing is flagged ``paused`` for a person to look at, and one success
resets everything. Everything here is pure: the scheduler owns the clock and persistence.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

__all__ = [
    "DEFAULT_BASE_DELAY",
    "DEFAULT_MAX_DELAY",
    "DEFAULT_PAUSE_AFTER",
    "SourceHealth",
    "next_attempt_delay",
    "on_failure",
    "on_success",
]

DEFAULT_BASE_DELAY = 300.0  # five minutes after the first failure
DEFAULT_MAX_DELAY = 6 * 3600.0  # never wait more than six hours between attempts
DEFAULT_PAUSE_AFTER = 10  # ten failures in a row (hours of outage at the cap) flag the source


def next_attempt_delay(
    error_streak: int, *, base: float = DEFAULT_BASE_DELAY, cap: float = DEFAULT_MAX_DELAY
) -> float:
    """Seconds to wait before the next attempt after ``error_streak`` failures in a row.

    ``base × 2^(streak-1)``, capped at ``cap``: 300 s, 600 s, 1200 s, … up to six hours.
    A streak of 0 (the last attempt succeeded) returns 0.0: the normal polling interval is the
    scheduler's business, not this function's.
    """
    if error_streak <= 0:
        return 0.0
    # Cap the exponent first so a streak of 10_000 cannot overflow a float.
    exponent = min(error_streak - 1, 64)
    return float(min(cap, base * (2.0**exponent)))


@dataclass(frozen=True)
class SourceHealth:
    """The fetch health of one feed source.

    ``next_attempt_at`` is None when the source may be fetched on its normal schedule.
    ``paused`` means "failing for a long time, tell a person": a paused source is still
    retried at the capped interval; it is never dropped, and one success un-pauses it.
    """

    error_streak: int = 0
    last_error: str | None = None
    last_success_at: datetime | None = None
    next_attempt_at: datetime | None = None
    paused: bool = False

    @property
    def failing(self) -> bool:
        """True while the most recent attempt failed."""
        return self.error_streak > 0


def on_success(health: SourceHealth, now: datetime) -> SourceHealth:
    """A fetch (200 or 304) worked: clear the streak, the error and the pause."""
    return replace(
        health,
        error_streak=0,
        last_error=None,
        last_success_at=now,
        next_attempt_at=None,
        paused=False,
    )


def on_failure(
    health: SourceHealth,
    error: str,
    now: datetime,
    base: float = DEFAULT_BASE_DELAY,
    cap: float = DEFAULT_MAX_DELAY,
    pause_after: int = DEFAULT_PAUSE_AFTER,
    min_delay: float = 0.0,
) -> SourceHealth:
    """A fetch failed with ``error``: lengthen the wait and flag the source once it has failed
    ``pause_after`` times in a row. ``min_delay`` lets a server's ``Retry-After`` stretch the
    wait (never shorten it), still within ``cap``.
    """
    streak = health.error_streak + 1
    delay = max(next_attempt_delay(streak, base=base, cap=cap), min(min_delay, cap))
    return replace(
        health,
        error_streak=streak,
        last_error=error,
        next_attempt_at=now + timedelta(seconds=delay),
        paused=health.paused or streak >= pause_after,
    )
