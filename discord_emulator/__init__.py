"""A Discord emulator on loopback for end-to-end tests of discord.py bots, and a sandbox (a
terminal prompt or a browser page) to try a bot against it; corpus-bot's `sandbox` uses both.

The real discord.py client logs into it (REST v10 + gateway); tests drive it as users would
and assert that every request the bot sent is one production Discord would accept.
"""

from discord_emulator.attachments import Upload
from discord_emulator.driver import DiscordEmulator
from discord_emulator.errors import (
    CommandNotSyncedError,
    CommandUnavailableError,
    DiscordAPIError,
    EmulatorError,
    OptionError,
)
from discord_emulator.faults import FaultRule
from discord_emulator.interactions import EmulatedInteraction, ResponseRecord
from discord_emulator.messages import Ping
from discord_emulator.models import Channel, Guild, Member, Role, User
from discord_emulator.ratelimits import DEFAULT_ROUTE_LIMITS, RateLimitEmulator, RouteLimit

__all__ = [
    "DEFAULT_ROUTE_LIMITS",
    "Channel",
    "CommandNotSyncedError",
    "CommandUnavailableError",
    "DiscordAPIError",
    "DiscordEmulator",
    "EmulatedInteraction",
    "EmulatorError",
    "FaultRule",
    "Guild",
    "Member",
    "OptionError",
    "Ping",
    "RateLimitEmulator",
    "ResponseRecord",
    "Role",
    "RouteLimit",
    "Upload",
    "User",
]
