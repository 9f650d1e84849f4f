"""A channel picked in a command option is resolved with the invoking member's permissions there.

Discord documents the resolved channel's `permissions` as the invoking user's in that channel,
overwrites included (`app_permissions` is the app's); the emulator sent the bot's, so a bot that
trusted it to check a member in the target channel was checking itself.
"""

from __future__ import annotations

from discord_emulator import invocations, permissions
from discord_emulator.permissions import MEMBER_OVERWRITE, ROLE_OVERWRITE
from discord_emulator.state import EmulatorState


def test_a_resolved_channel_carries_the_members_permissions_and_the_apps() -> None:
    state = EmulatorState()
    guild = state.add_guild("g")
    general = state.add_channel(guild.id, "general")
    staff = state.add_channel(guild.id, "staff")
    member = state.add_user("member")
    state.add_member(guild.id, member.id)
    state.set_overwrite(staff.id, guild.id, kind=ROLE_OVERWRITE, deny=permissions.VIEW_CHANNEL)
    state.set_overwrite(
        staff.id, state.bot_user.id, kind=MEMBER_OVERWRITE, allow=permissions.VIEW_CHANNEL
    )

    resolved = invocations.resolver_for(state, general, member.id).channel(staff.id)

    assert resolved is not None
    assert int(resolved["permissions"]) == 0, "the member cannot see #staff"
    assert int(resolved["app_permissions"]) & permissions.VIEW_CHANNEL, "the bot was let in"
