"""Feed core: fetch RSS/Atom politely, parse it into stable items, back off from failing sources.

Pure functions and one async fetcher; no Discord and no database. Typical use by a scheduler::

    result = await fetch_feed(session, url, etag=etag, last_modified=lm, user_agent=UA)
    if result.outcome == "ok":
        feed = await asyncio.to_thread(
            parse_feed, result.body, source_url=result.final_url or url, content_type=result.content_type
        )
        health = on_success(health, now)
    elif result.outcome == "not_modified":
        health = on_success(health, now)
    else:
        health = on_failure(health, result.error or "unknown error", now,
                            min_delay=result.retry_after or 0.0)
"""

from bot.feeds.backoff import SourceHealth, next_attempt_delay, on_failure, on_success
from bot.feeds.fetch import FetchResult, fetch_feed
from bot.feeds.html_text import html_to_text
from bot.feeds.parse import (
    FeedItem,
    FeedParseError,
    ParsedFeed,
    normalize_link,
    parse_feed,
    split_authors,
)

__all__ = [
    "FeedItem",
    "FeedParseError",
    "FetchResult",
    "ParsedFeed",
    "SourceHealth",
    "fetch_feed",
    "html_to_text",
    "next_attempt_delay",
    "normalize_link",
    "on_failure",
    "on_success",
    "parse_feed",
    "split_authors",
]
