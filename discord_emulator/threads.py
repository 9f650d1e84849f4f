"""Threads, forum posts and crossposts: the routes of announcement, forum and media channels.

- `POST /channels/{id}/threads`: a post in a forum or media channel (a public thread with its
  first message, which shares the thread's id as on Discord; `applied_tags` must be tags the channel offers, and a channel flagged
  REQUIRE_TAG needs one; a moderated tag needs Manage Threads, else 403 50013), or a thread
  without a message in a text or announcement channel.
- `POST /channels/{id}/messages/{mid}/threads`: a thread started from a message (an
  announcement thread, type 10, in an announcement channel; a public thread, 11, elsewhere). It
  shares the message's id, as on Discord, so a message has at most one.
- `GET /guilds/{id}/threads/active`: the guild's active threads the bot can see (forum posts
  included), newest first; `GET /channels/{id}/threads/archived/public`: a channel's archived
  public threads, most recently archived first, `before` an ISO 8601 timestamp and `limit`
  2-100 (50 by default) as the spec says, Read Message History needed as on Discord. The bot
  lists no thread members (`members` is empty).
- `POST /channels/{id}/messages/{mid}/crosspost`: publishes a message of an announcement
  channel to the channels following it. Discord lets a channel publish 10 messages an hour;
  past that it answers 429 with the `retry_after` until the oldest of them leaves the hour.

What a message sent into a thread needs (`send_refusal`) lives here too: Send Messages in
Threads instead of Send Messages, and an archived thread is reopened by the message unless it
is locked (then only Manage Threads may write there: 400 50083 otherwise).
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from discord_emulator import errors, permissions
from discord_emulator.core import EmulatorCore
from discord_emulator.faults import bucket_hash, rate_limited_response
from discord_emulator.httpio import json_response, request_body
from discord_emulator.messages import is_empty_body
from discord_emulator.models import (
    ANNOUNCEMENT_CHANNEL,
    ANNOUNCEMENT_THREAD,
    FORUM_TYPES,
    MESSAGE_TYPES,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    PUBLIC_THREAD_TYPES,
    REQUIRE_TAG,
    Channel,
    iso_timestamp,
)
from discord_emulator.problems import FieldError

Handler = Any

CROSSPOSTED = 1 << 0
HAS_THREAD = 1 << 5
THREAD_NAME_CHARS = 100


def archived_thread() -> errors.DiscordAPIError:
    return errors.DiscordAPIError(400, 50083, "Thread is archived")


def wrong_channel_type() -> errors.DiscordAPIError:
    return errors.DiscordAPIError(400, 50024, "Cannot execute action on this channel type")


def send_refusal(core: EmulatorCore, channel: Channel, perms: int) -> errors.DiscordAPIError | None:
    """Why the bot may not send a message in `channel` (None: it may), as Discord decides:
    a forum or media channel takes posts, not messages; a thread needs Send Messages in
    Threads; a locked archived thread needs Manage Threads. A message reopens an archived
    thread that is not locked (`reopen_if_archived`)."""
    if channel.type in FORUM_TYPES:
        return errors.DiscordAPIError(400, 50008, "Cannot send messages in a non-text channel")
    if channel.thread is None:
        return None if perms & permissions.SEND_MESSAGES else errors.missing_permissions()
    if not perms & permissions.SEND_MESSAGES_IN_THREADS:
        return errors.missing_permissions()
    if channel.thread.locked and not perms & permissions.MANAGE_THREADS:
        return archived_thread() if channel.thread.archived else errors.missing_permissions()
    return None


def reopen_if_archived(core: EmulatorCore, channel: Channel) -> None:
    """A message sent in an archived thread unarchives it (THREAD_UPDATE to the bot)."""
    if channel.thread is None:
        return
    channel.thread.message_count += 1
    if channel.thread.archived:
        channel.thread.archived = False
        channel.thread.archive_timestamp = iso_timestamp()
        dispatch_thread(core, "THREAD_UPDATE", channel)


def dispatch_thread(core: EmulatorCore, event: str, thread: Channel, **extra: Any) -> None:
    if core.hub is not None:
        core.hub.dispatch(event, {**thread.to_payload(), **extra}, guild_id=thread.guild_id)


class ThreadRoutes:
    """Forum posts, threads from messages, and crossposts."""

    def __init__(self, core: EmulatorCore) -> None:
        self.core = core
        self.state = core.state

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("POST", "/channels/{channel_id}/threads", self.create_thread),
            (
                "POST",
                "/channels/{channel_id}/messages/{message_id}/threads",
                self.create_thread_from_message,
            ),
            (
                "POST",
                "/channels/{channel_id}/messages/{message_id}/crosspost",
                self.crosspost,
            ),
            ("GET", "/guilds/{guild_id}/threads/active", self.active_threads),
            ("GET", "/channels/{channel_id}/threads/archived/public", self.archived_threads),
        ]

    def _channel(self, request: web.Request) -> tuple[Channel, int]:
        channel = self.state.channel(_int(request.match_info["channel_id"]))
        perms = self.state.bot_permissions(channel)
        if not perms & permissions.VIEW_CHANNEL:
            raise errors.missing_access()
        return channel, perms

    # ------------------------------------------------------------------ threads

    async def create_thread(self, request: web.Request) -> web.Response:
        channel, perms = self._channel(request)
        upload = request_body(request)
        body = upload.json if isinstance(upload.json, dict) else {}
        if channel.type in FORUM_TYPES:
            return self._forum_post(channel, perms, body, upload)
        if channel.type not in MESSAGE_TYPES:
            raise wrong_channel_type()
        self.core.validate("create_thread", upload.json, message_at=None)
        kind = int(body.get("type") or PRIVATE_THREAD)
        if channel.type == ANNOUNCEMENT_CHANNEL:
            kind = ANNOUNCEMENT_THREAD
        needed = (
            permissions.CREATE_PRIVATE_THREADS
            if kind == PRIVATE_THREAD
            else permissions.CREATE_PUBLIC_THREADS
        )
        if not perms & needed:
            raise errors.missing_permissions()
        thread = self._new_thread(channel, body, kind)
        return json_response(thread.to_payload(), status=201)

    def _forum_post(
        self, forum: Channel, perms: int, body: dict[str, Any], upload: Any
    ) -> web.Response:
        """A forum or media post: Send Messages (shown as Create Posts) in the channel, tags
        the channel offers (at most 5), one when it requires a tag."""
        message = body.get("message") if isinstance(body.get("message"), dict) else None
        self.core.validate(
            "create_thread",
            upload.json,
            message_at=("message",),
            extra=self._tag_errors(forum, body),
        )
        if not perms & permissions.SEND_MESSAGES:
            raise errors.missing_permissions()
        moderated = {tag.id for tag in forum.available_tags if tag.moderated}
        applied = {_int(tag) for tag in body.get("applied_tags") or []}
        if applied & moderated and not perms & permissions.MANAGE_THREADS:
            raise errors.missing_permissions()  # a moderated tag is for Manage Threads only
        if message is None or is_empty_body(message, has_files=bool(upload.files)):
            raise errors.empty_message()
        if forum.flags & REQUIRE_TAG and not body.get("applied_tags"):
            raise errors.DiscordAPIError(
                400, 40067, "A tag is required to create a forum post in this channel"
            )
        thread = self._new_thread(forum, body, PUBLIC_THREAD)
        if message.get("embeds") and not perms & permissions.EMBED_LINKS:
            message = {**message, "embeds": []}
        stored = self.core.create_message(
            channel=thread, body=message, files=upload.files, message_id=thread.id
        )
        thread.thread.message_count += 1  # type: ignore[union-attr]
        return json_response({**thread.to_payload(), "message": stored.snapshot()}, status=201)

    def _tag_errors(self, forum: Channel, body: dict[str, Any]) -> list[FieldError]:
        offered = {tag.id for tag in forum.available_tags}
        problems = []
        for index, tag in enumerate(body.get("applied_tags") or []):
            try:
                known = int(tag) in offered
            except (TypeError, ValueError):
                continue  # the schema names it
            if not known:
                problems.append(
                    FieldError(
                        ("applied_tags", index),
                        "BASE_TYPE_INVALID",
                        f"Tag {tag} is not an available tag of this channel.",
                    )
                )
        return problems

    async def create_thread_from_message(self, request: web.Request) -> web.Response:
        channel, perms = self._channel(request)
        stored = self.state.message(channel.id, _int(request.match_info["message_id"]))
        upload = request_body(request)
        self.core.validate("create_thread_from_message", upload.json, message_at=None)
        if channel.type not in MESSAGE_TYPES:
            raise wrong_channel_type()
        if not perms & permissions.CREATE_PUBLIC_THREADS:
            raise errors.missing_permissions()
        if stored.id in self.state.channels or stored.payload.get("flags", 0) & HAS_THREAD:
            raise errors.DiscordAPIError(
                400, 160004, "A thread has already been created for this message"
            )
        body = upload.json if isinstance(upload.json, dict) else {}
        kind = ANNOUNCEMENT_THREAD if channel.type == ANNOUNCEMENT_CHANNEL else PUBLIC_THREAD
        thread = self._new_thread(channel, body, kind, thread_id=stored.id)
        stored.payload["flags"] = stored.payload.get("flags", 0) | HAS_THREAD
        stored.payload["thread"] = thread.to_payload()
        return json_response(thread.to_payload(), status=201)

    def _new_thread(
        self, parent: Channel, body: dict[str, Any], kind: int, *, thread_id: int | None = None
    ) -> Channel:
        thread = self.state.add_thread(
            parent.id,
            str(body.get("name") or "")[:THREAD_NAME_CHARS],
            type=kind,
            owner_id=self.state.bot_user.id,
            applied_tags=[int(t) for t in body.get("applied_tags") or []],
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
            thread_id=thread_id,
        )
        dispatch_thread(self.core, "THREAD_CREATE", thread, newly_created=True)
        self.core.notifier.notify()
        return thread

    # ------------------------------------------------------------------ thread lists

    async def active_threads(self, request: web.Request) -> web.Response:
        """The guild's active threads in channels the bot can view, by id, newest first."""
        guild_id = _int(request.match_info["guild_id"])
        if guild_id not in self.state.guilds:
            raise errors.DiscordAPIError(404, 10004, "Unknown Guild")
        visible = [
            thread
            for thread in self.state.threads_of(guild_id)
            if self.state.bot_permissions(thread) & permissions.VIEW_CHANNEL
        ]
        visible.sort(key=lambda thread: thread.id, reverse=True)
        return json_response(
            {"threads": [t.to_payload() for t in visible], "members": [], "has_more": False}
        )

    async def archived_threads(self, request: web.Request) -> web.Response:
        """A channel's archived public threads, most recently archived first, a page at a time
        (`before`: an ISO 8601 archive timestamp; `limit`: 2 to 100)."""
        channel, perms = self._channel(request)
        if channel.type not in MESSAGE_TYPES | FORUM_TYPES:
            raise wrong_channel_type()
        limit, before = _archived_query(request)
        if not perms & permissions.READ_MESSAGE_HISTORY:
            raise errors.missing_permissions()
        archived = [
            (datetime.fromisoformat(thread.thread.archive_timestamp), thread)
            for thread in self.state.threads_of(channel.guild_id or 0, archived=True)
            if thread.thread is not None
            and thread.thread.parent_id == channel.id
            and thread.type in PUBLIC_THREAD_TYPES
        ]
        page = sorted(
            (pair for pair in archived if before is None or pair[0] < before),
            key=lambda pair: pair[0],
            reverse=True,
        )
        return json_response(
            {
                "threads": [thread.to_payload() for _, thread in page[:limit]],
                "members": [],
                "has_more": len(page) > limit,
            }
        )

    # ------------------------------------------------------------------ crossposts

    async def crosspost(self, request: web.Request) -> web.Response:
        channel, perms = self._channel(request)
        stored = self.state.message(channel.id, _int(request.match_info["message_id"]))
        if channel.type != ANNOUNCEMENT_CHANNEL:
            raise wrong_channel_type()
        own = stored.payload["author"]["id"] == str(self.state.bot_user.id)
        # Discord: Send Messages to publish one's own message, Manage Messages for others'.
        needed = permissions.SEND_MESSAGES if own else permissions.MANAGE_MESSAGES
        if not perms & needed:
            raise errors.missing_permissions()
        if stored.payload.get("flags", 0) & CROSSPOSTED:
            raise errors.DiscordAPIError(400, 40033, "This message has already been crossposted.")
        wait = self._crosspost_wait(channel.id)
        if wait is not None:
            limited = rate_limited_response(
                wait,
                is_global=False,
                bucket=bucket_hash(f"crosspost {channel.id}"),
                limit=self.core.config.crossposts_per_window,
                scope="shared",
            )
            self.core.crosspost_refusals.append(stored.id)
            return json_response(limited.body, status=429, headers=limited.headers)
        self.core.crosspost_times.setdefault(channel.id, deque()).append(self.core.now())
        stored.payload["flags"] = stored.payload.get("flags", 0) | CROSSPOSTED
        self.core.crossposted.append(stored.id)
        self.core.dispatch_message("MESSAGE_UPDATE", stored, channel)
        self.core.notifier.notify()
        return json_response(stored.snapshot())

    def _crosspost_wait(self, channel_id: int) -> float | None:
        """Seconds until the channel may publish again (None: now): 10 an hour."""
        window = self.core.config.crosspost_window
        now = self.core.now()
        times = self.core.crosspost_times.setdefault(channel_id, deque())
        while times and times[0] <= now - window:
            times.popleft()
        if len(times) < self.core.config.crossposts_per_window:
            return None
        return max(times[0] + window - now, 0.001)


def _archived_query(request: web.Request) -> tuple[int, datetime | None]:
    """`limit` and `before` of a list of archived threads, refused as Discord does (400 50035
    naming the parameter) when they break the spec."""
    problems: list[FieldError] = []
    limit = 50
    raw_limit = request.query.get("limit")
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            problems.append(FieldError(("limit",), "NUMBER_TYPE_COERCE", "Value is not int."))
        else:
            if not 2 <= limit <= 100:
                problems.append(
                    FieldError(
                        ("limit",),
                        "NUMBER_TYPE_MIN" if limit < 2 else "NUMBER_TYPE_MAX",
                        "Int should be between 2 and 100.",
                    )
                )
    before = None
    raw_before = request.query.get("before")
    if raw_before is not None:
        try:
            before = datetime.fromisoformat(raw_before)
        except ValueError:
            problems.append(
                FieldError(("before",), "DATE_TIME_TYPE_PARSE", "Could not parse date-time.")
            )
        else:
            if before.tzinfo is None:
                before = before.replace(tzinfo=UTC)
    if problems:
        raise errors.invalid_form_body(problems)
    return limit, before


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise errors.DiscordAPIError(404, 0, "404: Not Found") from None
