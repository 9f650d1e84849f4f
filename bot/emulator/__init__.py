"""A Discord emulator on loopback for end-to-end tests and the `corpus-bot sandbox` command.

The real discord.py client logs into it (REST v10 + gateway); tests drive it as users would
and assert that every request the bot sent is one production Discord would accept.
"""

from bot.emulator.driver import DiscordEmulator
from bot.emulator.errors import (
    CommandNotSyncedError,
    CommandUnavailableError,
    DiscordAPIError,
    EmulatorError,
    OptionError,
)
from bot.emulator.faults import FaultRule
from bot.emulator.interactions import EmulatedInteraction, ResponseRecord
from bot.emulator.messages import Ping
from bot.emulator.models import Channel, Guild, Member, Role, User
from bot.emulator.ratelimits import DEFAULT_ROUTE_LIMITS, RateLimitEmulator, RouteLimit

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
    "User",
]
