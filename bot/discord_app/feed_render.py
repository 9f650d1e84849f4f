"""The feed as Discord sees it: announcement and digest embeds, `/subscriptions` and
`/feed status` pages, and the note that tells a server's admins a subscription is paused.

Corpus and feed text is escaped (`limits.safe`) and clipped to Discord's limits, links are
wrapped in `<…>` so a URL cannot break the Markdown around it, and an announcement can ping only
its subscription's role: `allowed_mentions` names that role and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import discord
from discord.utils import format_dt

from bot.config import FeedConfig
from bot.discord_app import limits
from bot.discord_app.limits import clip, fit_content, fit_embed, inline_code, masked_link, safe
from bot.discord_app.render import page_ranges
from bot.feeds.announce import Announcement
from bot.feeds.delivery import BatchMessage
from bot.feeds.digest import next_digest_moment
from bot.feeds.discovery import Discovery, FeedCandidate
from bot.feeds.filters import Drop, effective_conditions
from bot.feeds.models import (
    CORPUS_SOURCE,
    PAUSE_REASON_TEXT,
    Condition,
    FollowedSource,
    SourceState,
    Subscription,
    SubscriptionHealth,
)
from bot.feeds.service import Preview
from bot.text_safety import strip_controls

COLOUR = discord.Colour(0x2E8B57)
PAUSED_COLOUR = discord.Colour.orange()
SUBSCRIPTIONS_PER_PAGE = 25
"""At most this many subscriptions on a page of /subscriptions; fewer when they do not fit."""


def source_label(source: str) -> str:
    return "the corpus folder" if source == CORPUS_SOURCE else f"the {source} feed"


def _date(moment: datetime | None) -> str:
    return format_dt(moment, "D") if moment else "unknown"


def announcement_embed(announcement: Announcement) -> discord.Embed:
    """One entry: title (linked), two summary sentences, authors, date, where it comes from."""
    if announcement.summary:
        description = " ".join(safe(sentence) for sentence in announcement.summary)
    else:
        description = f"No short summary fits; `/post {announcement.entry_id}` shows the text."
    embed = discord.Embed(
        title=clip(safe(announcement.title), 256),
        url=announcement.url,
        description=description,
        colour=COLOUR,
    )
    embed.set_author(name=f"New in {source_label(announcement.source)}")
    authors = (
        ", ".join(safe(a) for a in announcement.authors) if announcement.authors else "no byline"
    )
    embed.add_field(name="Authors", value=authors)
    embed.add_field(name="Published", value=_date(announcement.published))
    if announcement.publisher:
        embed.add_field(name="Publisher", value=safe(announcement.publisher))
    note = " · summary of the opening only" if announcement.excerpt else ""
    embed.set_footer(text=f"id {announcement.entry_id} · /post or /summarize it{note}")
    return fit_embed(embed)


def batch_embed(message: BatchMessage) -> discord.Embed:
    """A "+N more" message or a daily digest: one line per entry, oldest first."""
    lines = [
        f"• {masked_link(a.title, a.url, 150)} — {_date(a.published)}"
        + (f" · {clip(safe(', '.join(a.authors)), 80)}" if a.authors else "")
        for a in message.announcements
    ]
    hidden = message.total - len(message.announcements)
    if hidden > 0:
        lines.append(f"…and {hidden} more; `/search` finds them all.")
    plural = "entry" if message.total == 1 else "entries"
    if message.kind == "digest":
        title = f"Daily digest: {message.total} new {plural}"
        footer = f"Digest of {message.created_at:%Y-%m-%d %H:%M} UTC"
    else:
        title = f"+{message.total} more new {plural}"
        footer = "More arrived at once than are announced one by one; here are the rest."
    embed = discord.Embed(
        title=title, description="\n".join(lines) or "Nothing left to list.", colour=COLOUR
    )
    embed.set_footer(text=footer)
    return fit_embed(embed)


def mentions_for(role_id: int | None) -> tuple[str | None, discord.AllowedMentions]:
    """The role ping (if any) and allowed_mentions that permit exactly that role."""
    if role_id is None:
        return None, discord.AllowedMentions.none()
    allowed = discord.AllowedMentions(
        everyone=False, users=False, roles=[discord.Object(role_id)], replied_user=False
    )
    return f"<@&{role_id}>", allowed


# --- filters, formats and preview ---------------------------------------------------------

FORMAT_LABELS: dict[str, str] = {
    "embed": "as an embed",
    "compact": "as one compact line",
    "components": "as a Components V2 layout",
}
_MATCH_WORDS: dict[str, tuple[str, str]] = {
    "contains": ("contains", "does not contain"),
    "words": ("has the words", "does not have the words"),
    "regex": ("matches the regex", "does not match the regex"),
}
_FIELD_WORDS: dict[str, str] = {
    "title": "title",
    "author": "an author",
    "summary": "summary",
    "categories": "a category",
    "text": "title or summary",
}


def condition_text(condition: Condition) -> str:
    """ "title matches the regex `corp(us|ora)`": the value as inline code, shown as typed
    (never a link, a mention or Markdown)."""
    verb = _MATCH_WORDS[condition.match][1 if condition.negate else 0]
    return f"{_FIELD_WORDS[condition.field]} {verb} {inline_code(clip(condition.value, 200))}"


def conditions_text(sub: Subscription) -> str:
    """The numbered conditions of a subscription, as `/feed filter remove number:` takes them."""
    conditions = effective_conditions(sub)
    if not conditions:
        return f"<#{sub.channel_id}> has no filter conditions: every new entry is announced."
    legacy = len(conditions) - len(sub.conditions)
    lines = [
        f"<#{sub.channel_id}>: an entry is announced when it passes "
        f"**{'all' if sub.match_mode == 'all' else 'any'}** of these "
        f"({FORMAT_LABELS[sub.message_format]}):"
    ]
    for number, condition in enumerate(conditions, 1):
        origin = " *(from /subscribe)*" if number <= legacy else ""
        lines.append(f"{number}. {condition_text(condition)}{origin}")
    if sub.source:
        lines.append(f"Only entries from {source_label(sub.source)}.")
    return fit_content("\n".join(lines))


def drop_reason(drop: Drop) -> str:
    """Why a subscription's filters drop an entry, naming the condition(s) by number."""
    if drop.source is not None:
        return f"not from {source_label(drop.source)}"
    if len(drop.failed) == 1:
        number, condition = drop.failed[0]
        return f"fails #{number}: {condition_text(condition)}"
    return "passes none of #" + ", #".join(str(number) for number, _c in drop.failed)


PREVIEW_NOTE_CHARS = 1900


def preview_note(preview: Preview) -> str:
    """What `/feed preview` says above the announcement: what it is, then the recent entries
    the subscription's filters would drop, and why."""
    sub = preview.subscription
    if sub is None:
        return (
            "Preview: this is how a new entry would be announced "
            "(this channel has no subscription)."
        )
    role = f" mentioning <@&{sub.mention_role_id}>" if sub.mention_role_id else ""
    what = (
        "the next waiting announcement" if preview.next_pending else "how a new entry is announced"
    )
    lines = [f"Preview: {what}{role}, {FORMAT_LABELS[sub.message_format]}."]
    dropped = [entry for entry in preview.recent if entry.drop is not None]
    kept = len(preview.recent) - len(dropped)
    if preview.recent:
        lines.append(
            f"Of the {len(preview.recent)} newest entries, {kept} would be announced and "
            f"{len(dropped)} dropped" + (":" if dropped else ".")
        )
    used = sum(len(line) + 1 for line in lines)
    for shown, entry in enumerate(dropped):
        assert entry.drop is not None
        line = f"• {clip(safe(entry.title), 80)}: {clip(drop_reason(entry.drop), 300)}"
        if used + len(line) > PREVIEW_NOTE_CHARS - 40:  # whole lines only, then a count
            lines.append(f"…and {len(dropped) - shown} more.")
            break
        lines.append(line)
        used += len(line) + 1
    return fit_content("\n".join(lines), PREVIEW_NOTE_CHARS)


# --- subscriptions and status --------------------------------------------------------------


def describe_settings(sub: Subscription) -> str:
    """ "every entry", "entries by “x” about “y” from the ada feed", …"""
    parts = []
    if sub.author:
        parts.append(f"by “{safe(sub.author)}”")
    if sub.keyword:
        parts.append(f"about “{safe(sub.keyword)}”")
    if sub.source:
        parts.append(f"from {source_label(sub.source)}")
    if sub.conditions:
        count = len(effective_conditions(sub))
        parts.append(
            f"passing {'all' if sub.match_mode == 'all' else 'any'} of {count} filter conditions"
        )
    what = "entries " + " ".join(parts) if parts else "every new entry"
    if sub.message_format != "embed":
        what += f" ({FORMAT_LABELS[sub.message_format]})"
    when = (
        f"a daily digest at {sub.digest_time} UTC"
        if sub.mode == "digest"
        else "announced as they arrive"
    )
    ping = f", mentioning <@&{sub.mention_role_id}>" if sub.mention_role_id else ""
    return f"{what}, {when}{ping}"


def health_line(sub: Subscription, now: datetime) -> str:
    if sub.paused:
        reason = PAUSE_REASON_TEXT.get(sub.paused_reason or "", sub.paused_reason or "")
        since = f" since {format_dt(sub.paused_at, 'R')}" if sub.paused_at else ""
        detail = f" ({clip(safe(sub.paused_detail), 300)})" if sub.paused_detail else ""
        return f"⏸️ **Paused: {reason}**{since}{detail}. Fix it, then `/feed retry channel:`."
    if sub.retry_at is not None and sub.retry_at > now:
        error = clip(safe(sub.last_error or "an error"), 200)
        return f"⚠️ Retrying after {error}; next try {format_dt(sub.retry_at, 'R')}."
    return "✅ Active."


def subscription_block(health: SubscriptionHealth, now: datetime) -> str:
    sub = health.subscription
    last = format_dt(sub.last_announced_at, "R") if sub.last_announced_at else "never"
    lines = [
        f"**<#{sub.channel_id}>**: {describe_settings(sub)}.",
        health_line(sub, now),
        f"Last announcement: {last} · waiting: {health.pending}",
    ]
    upcoming = next_digest_moment(sub, now)
    if upcoming is not None:
        lines[-1] += f" · next digest {format_dt(upcoming, 'R')}"
    if health.rejected:
        lines.append(refused_line(health.rejected, health.refused_reason))
    lines.extend(destination_lines(health))
    return "\n".join(lines)


def destination_lines(health: SubscriptionHealth) -> list[str]:
    """How a subscription's announcements go out when it is not plain messages: a post per
    entry in a forum, messages in a thread, published to following servers (with how many wait
    for the channel's 10 publishes an hour, or were refused), a discussion thread on each."""
    sub = health.subscription
    lines = []
    if sub.destination == "forum":
        tags = len(sub.forum_tag_ids)
        tagged = f" ({tags} tag{'s' if tags != 1 else ''})" if tags else ""
        lines.append(f"A post per entry{tagged}.")
    elif sub.destination == "thread":
        lines.append("Posted in this thread.")
    if sub.publish:
        line = f"Published to following servers · waiting to publish: {health.publishes_waiting}"
        if health.publishes_waiting:
            line += " (10 publishes an hour)"
        if health.publishes_failed:
            line += f" · not published (refused): {health.publishes_failed}"
        lines.append(line)
    if sub.discussion_thread:
        lines.append("A discussion thread on each announcement.")
    return lines


def refused_line(count: int, reason: str | None) -> str:
    """ "2 announcements refused by Discord: Invalid Form Body (embeds.0.url: …)": set aside,
    never blocking the rest; the reason is Discord's text (already bounded), escaped."""
    plural = "announcement" if count == 1 else "announcements"
    because = f": {clip(safe(reason), 300)}" if reason else ""
    return f"🚫 {count} {plural} refused by Discord{because}"


def subscriptions_pages(
    healths: Sequence[SubscriptionHealth], now: datetime
) -> list[discord.Embed]:
    if not healths:
        embed = discord.Embed(
            title="No feed subscriptions here",
            description="Use `/subscribe` in a channel (or name one) to announce new entries there.",
            colour=COLOUR,
        )
        return [embed]
    paused = sum(1 for h in healths if h.subscription.paused)
    title = f"{len(healths)} feed subscription{'s' if len(healths) != 1 else ''}"
    if paused:
        title += f" ({paused} paused)"
    blocks = [subscription_block(h, now) for h in healths]
    pages = []
    for shown in page_ranges(
        [len(b) for b in blocks], limits.DESCRIPTION, SUBSCRIPTIONS_PER_PAGE, 2
    ):
        description = "\n\n".join(blocks[i] for i in shown)
        pages.append(
            fit_embed(
                discord.Embed(
                    title=title, description=description, colour=PAUSED_COLOUR if paused else COLOUR
                )
            )
        )
    return pages


def subscribed_embed(
    sub: Subscription, *, created: bool, notes: Sequence[str] = ()
) -> discord.Embed:
    description = f"<#{sub.channel_id}> gets {describe_settings(sub)}."
    if created:
        description += "\nNothing published before now will be announced."
    for note in notes:
        description += f"\n⚠️ {note}"
    embed = discord.Embed(
        title="Subscribed" if created else "Subscription updated",
        description=description,
        colour=COLOUR,
    )
    return fit_embed(embed)


def _source_value(state: SourceState | None, config: FeedConfig, now: datetime) -> str:
    if state is None or state.last_fetch_at is None:
        return "Not checked yet."
    lines = [
        f"Last check: {format_dt(state.last_fetch_at, 'R')}",
        f"Last new item: {format_dt(state.last_new_item_at, 'R') if state.last_new_item_at else 'none since it was added'}",
        f"Errors in a row: {state.error_streak}",
    ]
    next_regular = state.last_fetch_at.timestamp() + config.interval_seconds
    next_attempt = max(
        next_regular, state.next_attempt_at.timestamp() if state.next_attempt_at else 0.0
    )
    lines.append(f"Next attempt: <t:{int(max(next_attempt, now.timestamp()))}:R>")
    if state.failing:
        lines.append(
            f"⏸️ **Failing** (paused after {state.error_streak} failures; still retried): "
            f"{clip(safe(state.last_error or ''), 300)}"
        )
    elif state.error_streak:
        lines.append(f"⚠️ Last check failed: {clip(safe(state.last_error or ''), 300)}")
    else:
        lines.append(f"✅ OK · {state.entries} entries known")
    if state.warnings:
        lines.append(f"Warnings: {clip(safe('; '.join(state.warnings)), 200)}")
    return "\n".join(lines)


def status_embed(
    states: Mapping[str, SourceState],
    config: FeedConfig,
    counts: Mapping[str, int],
    now: datetime,
    refused_reason: str | None = None,
    sources: Sequence[FollowedSource] | None = None,
    *,
    loops: str | None = None,
) -> discord.Embed:
    """Every source's health; ``sources`` are the followed feeds (the config's when None), each
    named with its URL as text (never a link) and who added it when it is not the config.
    ``loops``: which process runs the poll, send and digest loops (several share a database)."""
    description = (
        f"Sources are checked every {config.interval_seconds // 60} min. Announcements: "
        f"{counts.get('pending', 0)} waiting · {counts.get('sent', 0)} sent."
    )
    if counts.get("rejected", 0):
        description += "\n" + refused_line(counts["rejected"], refused_reason)
    waiting, failed = counts.get("publish_pending", 0), counts.get("publish_failed", 0)
    if waiting or failed:
        description += (
            f"\nPublishing: {waiting} waiting for their channel's hour (10 publishes an hour)"
            + (f" · {failed} refused by Discord" if failed else "")
            + "."
        )
    embed = discord.Embed(
        title="Feed status",
        description=description,
        colour=PAUSED_COLOUR if any(s.failing for s in states.values()) else COLOUR,
    )
    embed.add_field(
        name="corpus folder",
        value=_source_value(states.get(CORPUS_SOURCE), config, now),
        inline=False,
    )
    followed: Sequence[tuple[str, str, str]] = (
        [(f.name, f.url, "" if f.origin == "config" else " · added") for f in sources]
        if sources is not None
        else [(c.name, c.url, "") for c in config.sources]
    )
    for name, url, origin in followed[:23]:
        label = clip(f"{name} · {strip_controls(url)}{origin}", 256)
        embed.add_field(
            name=label, value=_source_value(states.get(name), config, now), inline=False
        )
    if len(followed) > 23:
        embed.add_field(
            name="…", value=f"{len(followed) - 23} more sources not shown", inline=False
        )
    if loops is not None:
        embed.set_footer(text=f"Polling and sending run in {loops}.")
    return fit_embed(embed)


def _candidate_value(candidate: FeedCandidate) -> str:
    lines = [inline_code(clip(candidate.url, 300)), f"{candidate.items} items"]
    newest = candidate.newest
    if newest is not None:
        when = f" · {format_dt(newest.published, 'D')}" if newest.published else ""
        lines.append(f"Newest: {masked_link(newest.title or 'untitled', newest.link)}{when}")
    return "\n".join(lines)


def discovery_embed(discovery: Discovery) -> discord.Embed:
    """What ``/feed add`` found at a URL: each candidate with its newest item as a preview (the
    buttons below are numbered as the fields are). The URL typed is shown as text, not a link."""
    if not discovery.candidates:
        embed = discord.Embed(
            title="No feed found",
            description=f"{inline_code(clip(discovery.url, 300))}: "
            f"{clip(safe(discovery.error or 'nothing found'), 1500)}",
            colour=PAUSED_COLOUR,
        )
        return fit_embed(embed)
    count = len(discovery.candidates)
    embed = discord.Embed(
        title=f"{count} feed{'s' if count > 1 else ''} found",
        description=f"At {inline_code(clip(discovery.url, 300))}. Press Add to follow one: "
        "its current items are recorded, not announced; new ones are announced from then on.",
        colour=COLOUR,
    )
    for number, candidate in enumerate(discovery.candidates, 1):
        title = clip(safe(candidate.title or "untitled feed"), 200)
        embed.add_field(name=f"{number}. {title}", value=_candidate_value(candidate), inline=False)
    return fit_embed(embed)


def pause_report_text(sub: Subscription) -> str:
    reason = PAUSE_REASON_TEXT.get(sub.paused_reason or "", sub.paused_reason or "")
    detail = f" ({clip(safe(sub.paused_detail), 500)})" if sub.paused_detail else ""
    return fit_content(
        f"The feed subscription of <#{sub.channel_id}> is paused: **{reason}**{detail}. "
        "Its settings are kept and new entries wait for it. Fix the cause, then run "
        f"`/feed retry channel:` for that channel."
    )
