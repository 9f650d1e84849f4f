"""What a user's action becomes before it is sent: which command and channel, whether
Discord's client would allow it, and the interaction `data` (options, resolved entities,
component and modal values).

Kept apart from the driver so the rules ("guild commands shadow global ones", "a guild-only
command cannot be used in DMs") read in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from discord_emulator import errors, permissions
from discord_emulator.attachments import AttachmentStore, Upload
from discord_emulator.commands import CommandTarget, Resolver, find_command
from discord_emulator.core import EmulatorConfig
from discord_emulator.interactions import ATTACHMENT_SIZE_LIMIT
from discord_emulator.models import Channel
from discord_emulator.state import EmulatorState

ACTION_ROW, BUTTON, STRING_SELECT, TEXT_INPUT, LABEL = 1, 2, 3, 4, 18
CHAT_INPUT, USER_COMMAND, MESSAGE_COMMAND = 1, 2, 3
GUILD_INSTALL, USER_INSTALL = 0, 1

CONTEXT_HINT = (
    "Discord would not deliver this interaction; "
    "pass enforce_command_contexts=False to test the bot's own guard"
)


def command_target(
    state: EmulatorState,
    config: EmulatorConfig,
    name: str,
    *,
    user: int,
    guild: int | None,
    channel: int | None,
    user_install: bool = False,
    command_type: int = CHAT_INPUT,
    private_with: int | None = None,
    dm: Channel | None = None,
) -> tuple[CommandTarget, Channel]:
    """The synced command to invoke and the channel it is invoked in (a DM if no guild).

    `user_install`: the user installed the app to their account, so the command is used as a
    user-installed one (integration type 1) rather than through the server's install;
    `private_with`: in the user's DM with that other user (context 2), not the bot's DM; `dm`:
    in that DM channel (a message command on a message of it)."""
    if private_with is not None or dm is not None:
        where = dm if dm is not None else state.private_channel(user, private_with or 0)
        target = find_command(
            name, guild_commands=[], global_commands=state.global_commands, kind=command_type
        )
    elif guild is None:
        where = state.dm_channel(user)
        target = find_command(
            name, guild_commands=[], global_commands=state.global_commands, kind=command_type
        )
    else:
        state.member(guild, user)
        where = guild_channel(state, guild, channel)
        target = find_command(
            name,
            guild_commands=state.commands_for(guild),
            global_commands=state.global_commands,
            kind=command_type,
        )
    check_command_allowed(state, config, target, where, user, user_install=user_install)
    return target, where


def guild_channel(state: EmulatorState, guild_id: int, channel_id: int | None) -> Channel:
    """The given channel of the guild (checked), or its first channel."""
    guild = state.guild(guild_id)
    if channel_id is None:
        if not guild.channel_ids:
            raise errors.EmulatorError(f"guild {guild_id} has no channel: add_channel() first")
        channel_id = guild.channel_ids[0]
    channel = state.channels.get(int(channel_id))
    if channel is None or channel.guild_id != guild.id:
        raise errors.EmulatorError(
            f"channel {channel_id} is not a live channel of guild {guild_id}"
        )
    return channel


def check_command_allowed(
    state: EmulatorState,
    config: EmulatorConfig,
    target: CommandTarget,
    channel: Channel,
    user_id: int,
    *,
    user_install: bool = False,
) -> None:
    """Discord's client only offers a command where it may be used, to whom may use it.

    A command is offered through an installation only when its `integration_types` list that
    installation's type (0 guild, 1 user; missing means guild only), and only in the contexts
    its `contexts` list (0 guild, 1 the bot's DM, 2 other DMs and group DMs)."""
    command = target.command
    contexts = command.get("contexts")
    if config.enforce_command_contexts:
        wanted = USER_INSTALL if user_install else GUILD_INSTALL
        if wanted not in (command.get("integration_types") or [GUILD_INSTALL]):
            how = "user-installed" if user_install else "server-installed"
            raise errors.CommandUnavailableError(
                f"/{command['name']} cannot be used {how}: its integration_types are "
                f"{command.get('integration_types')} ({CONTEXT_HINT})"
            )
    if channel.guild_id is None:
        if not config.enforce_command_contexts:
            return
        if command.get("dm_permission") is False or (contexts is not None and 1 not in contexts):
            if not channel.private:
                raise errors.CommandUnavailableError(
                    f"/{command['name']} cannot be used in DMs ({CONTEXT_HINT})"
                )
        if channel.private and (not user_install or contexts is None or 2 not in contexts):
            raise errors.CommandUnavailableError(
                f"/{command['name']} cannot be used in DMs between users: only commands of an "
                f"app the user installed, with context 2, are ({CONTEXT_HINT})"
            )
        return
    if config.enforce_command_contexts and contexts is not None and 0 not in contexts:
        raise errors.CommandUnavailableError(
            f"/{command['name']} cannot be used in servers ({CONTEXT_HINT})"
        )
    required = command.get("default_member_permissions")
    if required is None or not config.enforce_command_permissions:
        return
    perms = state.channel_permissions(channel, user_id)
    if perms & permissions.ADMINISTRATOR or (
        int(required) and permissions.has(perms, int(required))
    ):
        return
    raise errors.CommandUnavailableError(
        f"/{command['name']} requires permissions {required} (default_member_permissions); "
        f"user {user_id} has {perms}"
    )


def resolver_for(
    state: EmulatorState,
    channel: Channel,
    user_id: int,
    *,
    attachments: AttachmentStore | None = None,
) -> Resolver:
    """Entity lookups for USER/CHANNEL/ROLE options, as seen from `channel`'s guild by `user_id`,
    and, given the `attachments` store, the files of ATTACHMENT options: stored under a new id
    (served by the CDN route) and described as Discord does for a file attached to a command
    (`ephemeral`: it belongs to no message).

    A resolved channel carries, as Discord documents it, `permissions`: what the invoking user may
    do there (overwrites included), and `app_permissions`: what the app may do there. A bot that
    checks the member in the channel it acts on (not the one the command was typed in) reads the
    first, or computes the same from its cache."""
    guild = state.guilds.get(channel.guild_id) if channel.guild_id else None

    def user(uid: int) -> dict[str, Any] | None:
        found = state.users.get(uid)
        return found.to_payload() if found else None

    def member(uid: int) -> dict[str, Any] | None:
        found = guild.members.get(uid) if guild else None
        if found is None:
            return None
        return found.to_payload(permissions=state.channel_permissions(channel, uid))

    def channel_of(cid: int) -> dict[str, Any] | None:
        found = state.channels.get(cid)
        if found is None:
            return None
        resolved = {
            "id": str(found.id),
            "name": found.name,
            "type": found.type,
            "permissions": str(state.channel_permissions(found, user_id)),
            "app_permissions": str(state.channel_permissions(found, state.bot_user.id)),
        }
        if found.thread is not None:  # Discord resolves a thread with its parent and metadata
            payload = found.to_payload()
            for key in ("parent_id", "owner_id", "thread_metadata", "message_count"):
                resolved[key] = payload[key]
            resolved.update(
                member_count=payload["member_count"], applied_tags=payload["applied_tags"]
            )
        return resolved

    def role(rid: int) -> dict[str, Any] | None:
        found = guild.roles.get(rid) if guild else None
        return found.to_payload() if found else None

    def attachment(upload: Upload) -> dict[str, Any]:
        assert attachments is not None
        if len(upload.data) > ATTACHMENT_SIZE_LIMIT:
            raise errors.OptionError(
                f"{upload.filename} is over the {ATTACHMENT_SIZE_LIMIT:,}-byte upload limit "
                "(attachment_size_limit): Discord's client would not send it"
            )
        stored = attachments.add(
            channel_id=channel.id,
            attachment_id=state.ids.next(),
            filename=upload.filename,
            data=upload.data,
            content_type=upload.content_type,
            size=upload.size,
        )
        return {**stored, "ephemeral": True}

    return Resolver(
        user=user,
        member=member,
        channel=channel_of,
        role=role,
        attachment=attachment if attachments is not None else None,
    )


def command_data(
    target: CommandTarget, options: list[dict[str, Any]], resolver: Resolver
) -> dict[str, Any]:
    """The `data` of an APPLICATION_COMMAND (or autocomplete) interaction."""
    data: dict[str, Any] = {
        "id": target.command["id"],
        "name": target.command["name"],
        "type": int(target.command.get("type") or CHAT_INPUT),
    }
    if options:
        data["options"] = options
    if target.guild_id is not None:
        data["guild_id"] = str(target.guild_id)
    if resolver.resolved:
        data["resolved"] = resolver.resolved
    return data


def find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    """A component anywhere in a message's component tree (rows, sections, containers)."""
    for component in components:
        if component.get("custom_id") == custom_id:
            return component
        children = list(component.get("components") or [])
        if isinstance(component.get("accessory"), dict):
            children.append(component["accessory"])
        found = find_component(children, custom_id)
        if found is not None:
            return found
    return None


def modal_submission(modal: dict[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """The `data` of a MODAL_SUBMIT: each text input of the modal with the typed value,
    in the modal's own layout (action rows, or labels wrapping one input)."""
    rows: list[dict[str, Any]] = []
    for row in modal.get("components") or []:
        if row.get("type") == LABEL and isinstance(row.get("component"), dict):
            inner = row["component"]
            filled = {
                "type": inner["type"],
                "custom_id": inner["custom_id"],
                "value": values.get(inner["custom_id"], ""),
            }
            rows.append({"type": LABEL, "component": filled})
            continue
        inputs = [c for c in row.get("components") or [] if c.get("type") == TEXT_INPUT]
        rows.append(
            {
                "type": ACTION_ROW,
                "components": [
                    {
                        "type": TEXT_INPUT,
                        "custom_id": c["custom_id"],
                        "value": values.get(c["custom_id"], ""),
                    }
                    for c in inputs
                ],
            }
        )
    return {"custom_id": modal["custom_id"], "components": rows}
