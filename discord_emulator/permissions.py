"""Discord permission bits and the permission computation Discord performs.

The algorithm is Discord's documented one (base permissions from @everyone and the member's
roles, ADMINISTRATOR and ownership grant everything, then channel overwrites in the order
@everyone, roles, member). It lets a test take one permission away from the bot in one
channel and see the same 403 the bot would get in production.
"""

from __future__ import annotations

from dataclasses import dataclass

CREATE_INSTANT_INVITE = 1 << 0
KICK_MEMBERS = 1 << 1
BAN_MEMBERS = 1 << 2
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_AUDIT_LOG = 1 << 7
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
SEND_TTS_MESSAGES = 1 << 12
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
MANAGE_ROLES = 1 << 28
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38

ALL_PERMISSIONS = (1 << 51) - 1

#: What Discord gives @everyone in a new server (text-related subset that matters here).
DEFAULT_EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
)

#: What a bot typically requests in its invite link: enough to answer with embeds.
DEFAULT_BOT_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | USE_EXTERNAL_EMOJIS
    | SEND_MESSAGES_IN_THREADS
    | USE_APPLICATION_COMMANDS
)

#: Everything a user may do in a DM (no roles, no overwrites there).
DM_PERMISSIONS = (
    ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | USE_APPLICATION_COMMANDS
)

ROLE_OVERWRITE = 0
MEMBER_OVERWRITE = 1


@dataclass
class Overwrite:
    """A channel permission overwrite for a role (type 0) or a member (type 1)."""

    target_id: int
    type: int
    allow: int = 0
    deny: int = 0

    def to_payload(self) -> dict[str, object]:
        return {
            "id": str(self.target_id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


def base_permissions(
    *, is_owner: bool, everyone_permissions: int, role_permissions: list[int]
) -> int:
    """Guild-level permissions of a member."""
    if is_owner:
        return ALL_PERMISSIONS
    perms = everyone_permissions
    for role_perms in role_permissions:
        perms |= role_perms
    if perms & ADMINISTRATOR:
        return ALL_PERMISSIONS
    return perms


def apply_overwrites(
    base: int,
    *,
    guild_id: int,
    member_id: int,
    member_role_ids: list[int],
    overwrites: list[Overwrite],
) -> int:
    """Channel-level permissions: overwrites for @everyone, then roles, then the member."""
    if base & ADMINISTRATOR:
        return ALL_PERMISSIONS
    perms = base
    by_target = {(ow.type, ow.target_id): ow for ow in overwrites}
    everyone = by_target.get((ROLE_OVERWRITE, guild_id))
    if everyone is not None:
        perms = (perms & ~everyone.deny) | everyone.allow
    allow = deny = 0
    for role_id in member_role_ids:
        ow = by_target.get((ROLE_OVERWRITE, role_id))
        if ow is not None:
            allow |= ow.allow
            deny |= ow.deny
    perms = (perms & ~deny) | allow
    member = by_target.get((MEMBER_OVERWRITE, member_id))
    if member is not None:
        perms = (perms & ~member.deny) | member.allow
    if not perms & VIEW_CHANNEL:
        # Discord: without View Channel, no other channel permission applies.
        return 0
    return perms


def has(perms: int, required: int) -> bool:
    return perms & required == required
