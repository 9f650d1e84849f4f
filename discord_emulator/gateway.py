"""The emulated gateway: a websocket speaking Discord's gateway protocol (v10, JSON, no
compression).

What discord.py relies on, and the emulator therefore implements:

* HELLO, heartbeat ACKs, IDENTIFY -> READY (`session_id`, `resume_gateway_url`, guild stubs)
  then one GUILD_CREATE per guild of the identifying shard;
* sharding: IDENTIFY's `shard: [id, count]` receives only guilds with
  `(guild_id >> 22) % count == id` (DMs go to shard 0), as Discord routes them;
* sessions outlive connections: dispatches sent while the bot is disconnected are buffered
  and replayed on RESUME (by sequence number), then RESUMED; a RESUME of an invalidated or
  unknown session gets INVALID_SESSION (`d: false`), which makes the client IDENTIFY afresh;
* op 8 (request guild members) is answered with one GUILD_MEMBERS_CHUNK.

The client asks for zlib-stream compression; the emulator sends plain text frames, which
discord.py accepts (it only decompresses binary frames).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from discord_emulator.ids import new_token
from discord_emulator.state import EmulatorState

log = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE_UPDATE = 0, 1, 2, 3
RESUME, RECONNECT, REQUEST_GUILD_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 7, 8, 9, 10, 11

CLOSE_UNKNOWN_ERROR = 4000
CLOSE_NOT_AUTHENTICATED = 4003
CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_ALREADY_AUTHENTICATED = 4005
CLOSE_DECODE_ERROR = 4002
CLOSE_INVALID_SHARD = 4010

# Intent bits that gate the dispatches the emulator sends.
GUILD_MEMBERS_INTENT = 1 << 1
GUILD_MESSAGES_INTENT = 1 << 9
DIRECT_MESSAGES_INTENT = 1 << 12
MESSAGE_CONTENT_INTENT = 1 << 15

REPLAY_BUFFER = 10_000


@dataclass
class GatewayEvent:
    """One thing that happened on the gateway, for tests to assert on."""

    kind: str  # IDENTIFY, READY, RESUME, RESUMED, INVALID_SESSION, DISCONNECT, DISPATCH
    shard: tuple[int, int]
    session_id: str | None
    detail: str = ""


class Connection:
    """One websocket connection; frames go out in order through a queue and a writer task,
    so dispatching is synchronous for callers and can never interleave."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write())

    @property
    def open(self) -> bool:
        return not self.ws.closed and not self._writer.done()

    def send(self, frame: str) -> None:
        self._queue.put_nowait(frame)

    def send_json(self, payload: dict[str, Any]) -> None:
        self.send(json.dumps(payload))

    async def _write(self) -> None:
        while True:
            frame = await self._queue.get()
            try:
                await self.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return  # the session buffer keeps dispatches for a RESUME

    async def close(self, code: int, message: bytes) -> None:
        self._writer.cancel()
        if not self.ws.closed:
            await self.ws.close(code=code, message=message)


@dataclass
class GatewaySession:
    """A gateway session: survives disconnections until invalidated."""

    session_id: str
    shard_id: int
    shard_count: int
    intents: int
    seq: int = 0
    connection: Connection | None = None
    invalidated: bool = False
    guild_ids: list[int] = field(default_factory=list)
    buffer: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=REPLAY_BUFFER))
    resumes: int = 0
    #: Last sequence number the client reported in a heartbeat: it has parsed up to there.
    client_seq: int = 0
    sync_requested_for: int = 0

    @property
    def shard(self) -> tuple[int, int]:
        return (self.shard_id, self.shard_count)

    @property
    def connected(self) -> bool:
        return self.connection is not None and self.connection.open

    def owns_guild(self, guild_id: int | None) -> bool:
        if guild_id is None:
            return self.shard_id == 0
        return (int(guild_id) >> 22) % self.shard_count == self.shard_id


class GatewayHub:
    """All gateway sessions of one emulator and the websocket endpoint serving them."""

    def __init__(
        self,
        state: EmulatorState,
        *,
        url: Callable[[], str],
        notify: Callable[[], None],
        heartbeat_interval_ms: int = 41_250,
    ) -> None:
        self._state = state
        self._url = url
        self._notify = notify
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.sessions: dict[str, GatewaySession] = {}
        self.events: list[GatewayEvent] = []
        self._connections: set[Connection] = set()

    # ------------------------------------------------------------------ queries

    def live_sessions(self) -> list[GatewaySession]:
        return [s for s in self.sessions.values() if not s.invalidated]

    def session_for_guild(self, guild_id: int | None) -> GatewaySession | None:
        """The newest live session whose shard receives this guild's events."""
        for session in reversed(list(self.sessions.values())):
            if not session.invalidated and session.owns_guild(guild_id):
                return session
        return None

    def count(self, kind: str) -> int:
        return sum(1 for e in self.events if e.kind == kind)

    # ------------------------------------------------------------------ dispatching

    def dispatch(self, event: str, data: dict[str, Any], *, guild_id: int | None) -> bool:
        """Send a dispatch to the session owning `guild_id`; False if there is none yet."""
        session = self.session_for_guild(guild_id)
        if session is None:
            return False
        self.dispatch_to(session, event, data)
        return True

    def dispatch_if(
        self, event: str, data: dict[str, Any], *, guild_id: int | None, intent: int
    ) -> None:
        """Dispatch only if the receiving session asked for `intent`, as Discord gates events."""
        session = self.session_for_guild(guild_id)
        if session is not None and session.intents & intent:
            self.dispatch_to(session, event, data)

    def dispatch_to(self, session: GatewaySession, event: str, data: dict[str, Any]) -> None:
        """Number, buffer (for RESUME) and send a dispatch; buffered only while disconnected."""
        session.seq += 1
        frame = json.dumps({"op": DISPATCH, "t": event, "s": session.seq, "d": data})
        session.buffer.append((session.seq, frame))
        if event not in ("READY", "GUILD_CREATE", "RESUMED"):
            self._log("DISPATCH", session, event)
        if session.connection is not None:
            session.connection.send(frame)

    def request_client_sync(self) -> None:
        """Ask clients with unconfirmed dispatches to heartbeat now (a server op 1).

        A client handles frames in order and its heartbeat carries the last sequence it
        received, so the answer proves it has parsed every earlier dispatch: waiters on the
        bot's own state (its cache) are woken by that heartbeat instead of by polling. One
        request per session and sequence number, to stay far below the client's gateway
        send limit (120 per minute).
        """
        for session in self.live_sessions():
            connection = session.connection
            if connection is None or session.client_seq >= session.seq:
                continue
            if session.sync_requested_for >= session.seq:
                continue
            session.sync_requested_for = session.seq
            connection.send_json({"op": HEARTBEAT, "d": None})

    # ------------------------------------------------------------------ faults

    async def disconnect(self, *, resume: bool) -> list[GatewaySession]:
        """Drop every connection; unless `resume`, also invalidate the sessions."""
        dropped = []
        for session in self.live_sessions():
            if not resume:
                session.invalidated = True
            connection = session.connection
            session.connection = None
            self._log("DISCONNECT", session, "resumable" if resume else "invalidated")
            dropped.append(session)
            if connection is not None:
                await connection.close(CLOSE_UNKNOWN_ERROR, b"emulated disconnect")
        return dropped

    async def close_all(self) -> None:
        for connection in list(self._connections):
            await connection.close(1001, b"emulator stopping")

    # ------------------------------------------------------------------ websocket endpoint

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, compress=False, timeout=2.0)
        await ws.prepare(request)
        connection = Connection(ws)
        self._connections.add(connection)
        session: GatewaySession | None = None
        try:
            connection.send_json(
                {"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}
            )
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    await connection.close(CLOSE_DECODE_ERROR, b"text frames only")
                    break
                try:
                    payload = json.loads(msg.data)
                except ValueError:
                    await connection.close(CLOSE_DECODE_ERROR, b"invalid JSON")
                    break
                session = await self._on_payload(connection, session, payload)
        finally:
            self._connections.discard(connection)
            await connection.close(1000, b"")
            if session is not None and session.connection is connection:
                session.connection = None
            self._notify()
        return ws

    async def _on_payload(
        self, connection: Connection, session: GatewaySession | None, payload: dict[str, Any]
    ) -> GatewaySession | None:
        op = payload.get("op")
        data = payload.get("d")
        if op == HEARTBEAT:
            connection.send_json({"op": HEARTBEAT_ACK})
            if session is not None and isinstance(data, int):
                session.client_seq = max(session.client_seq, data)
                self._notify()
            return session
        if op == IDENTIFY:
            if session is not None:
                await connection.close(CLOSE_ALREADY_AUTHENTICATED, b"already authenticated")
                return session
            return await self._identify(connection, data or {})
        if op == RESUME:
            return self._resume(connection, data or {})
        if session is None:
            await connection.close(CLOSE_NOT_AUTHENTICATED, b"not authenticated")
            return None
        if op == REQUEST_GUILD_MEMBERS:
            self._send_member_chunk(session, data or {})
        # Presence and voice updates are accepted and ignored.
        return session

    async def _identify(
        self, connection: Connection, data: dict[str, Any]
    ) -> GatewaySession | None:
        if data.get("token") != self._state.bot_token:
            await connection.close(CLOSE_AUTHENTICATION_FAILED, b"Authentication failed.")
            return None
        shard_id, shard_count = data.get("shard") or [0, 1]
        if not (isinstance(shard_count, int) and shard_count >= 1 and 0 <= shard_id < shard_count):
            await connection.close(CLOSE_INVALID_SHARD, b"Invalid shard.")
            return None
        session = GatewaySession(
            session_id=new_token("emu-session-"),
            shard_id=shard_id,
            shard_count=shard_count,
            intents=int(data.get("intents") or 0),
            connection=connection,
        )
        # A fresh IDENTIFY on a shard replaces the sessions that shard had before.
        for old in self.sessions.values():
            if old.shard == session.shard:
                old.invalidated = True
        self.sessions[session.session_id] = session
        self._log("IDENTIFY", session)
        guilds = [g for g in self._state.guilds.values() if session.owns_guild(g.id)]
        session.guild_ids = [g.id for g in guilds]
        self.dispatch_to(session, "READY", self._ready_payload(session))
        for guild in guilds:
            self.dispatch_to(session, "GUILD_CREATE", self._state.guild_create_payload(guild))
        self._log("READY", session, f"{len(guilds)} guilds")
        return session

    def _resume(self, connection: Connection, data: dict[str, Any]) -> GatewaySession | None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is not None:
            self._log("RESUME", session, f"from seq {data.get('seq')}")
        if session is None or session.invalidated or data.get("token") != self._state.bot_token:
            shard = session.shard if session else (0, 1)
            self.events.append(GatewayEvent("INVALID_SESSION", shard, data.get("session_id")))
            connection.send_json({"op": INVALID_SESSION, "d": False})
            self._notify()
            return None
        last_seen = int(data.get("seq") or 0)
        session.connection = connection
        for seq, frame in list(session.buffer):
            if seq > last_seen:
                connection.send(frame)
        self.dispatch_to(session, "RESUMED", {})
        session.resumes += 1
        self._log("RESUMED", session)
        return session

    def _send_member_chunk(self, session: GatewaySession, data: dict[str, Any]) -> None:
        guild = self._state.guilds.get(int(data.get("guild_id") or 0))
        if guild is None:
            return
        wanted = {int(u) for u in data.get("user_ids") or []}
        query = (data.get("query") or "").lower()
        limit = int(data.get("limit") or 0)
        members = [
            m
            for m in guild.members.values()
            if (not wanted or m.user.id in wanted) and m.user.username.lower().startswith(query)
        ]
        if limit:
            members = members[:limit]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": [m.to_payload() for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [str(u) for u in wanted - {m.user.id for m in members}],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        self.dispatch_to(session, "GUILD_MEMBERS_CHUNK", chunk)

    def _ready_payload(self, session: GatewaySession) -> dict[str, Any]:
        user = self._state.bot_user.to_payload()
        user.update({"verified": True, "mfa_enabled": False, "email": None})
        return {
            "v": 10,
            "user": user,
            "guilds": [{"id": str(gid), "unavailable": True} for gid in session.guild_ids],
            "session_id": session.session_id,
            "resume_gateway_url": self._url(),
            "shard": [session.shard_id, session.shard_count],
            "application": {"id": str(self._state.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": [],
            "session_type": "normal",
            "auth": {},
            "_trace": ["discord-emulator"],
        }

    def _log(self, kind: str, session: GatewaySession, detail: str = "") -> None:
        self.events.append(GatewayEvent(kind, session.shard, session.session_id, detail))
        self._notify()
