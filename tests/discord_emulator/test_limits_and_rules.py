"""Pure rules: message and command limits, permissions, pings, option typing, rate limits."""

from __future__ import annotations

from typing import Any

import pytest

from discord_emulator import permissions
from discord_emulator.commands import Resolver, build_options, find_command
from discord_emulator.errors import CommandNotSyncedError, OptionError
from discord_emulator.faults import FaultInjector
from discord_emulator.limits import check_commands, check_message, embed_length
from discord_emulator.messages import compute_pings
from discord_emulator.permissions import MEMBER_OVERWRITE, ROLE_OVERWRITE, Overwrite
from discord_emulator.ratelimits import RateLimitEmulator, RouteLimit


def codes(problems: list[Any]) -> list[tuple[str, str]]:
    return [(p.dotted_path(), p.code) for p in problems]


# ---------------------------------------------------------------------- message limits


LONG_URL = "https://example.org/" + "a" * 2030  # 2,049 characters: one over Discord's limit


def test_content_limit_is_2000_for_bots() -> None:
    assert check_message({"content": "x" * 2000}) == []
    assert codes(check_message({"content": "x" * 2001})) == [("content", "BASE_TYPE_MAX_LENGTH")]


@pytest.mark.parametrize(
    ("embed", "where"),
    [
        ({"title": "t" * 257}, "embeds.0.title"),
        ({"description": "d" * 4097}, "embeds.0.description"),
        ({"fields": [{"name": "n", "value": "v"}] * 26}, "embeds.0.fields"),
        ({"fields": [{"name": "n" * 257, "value": "v"}]}, "embeds.0.fields.0.name"),
        ({"fields": [{"name": "n", "value": "v" * 1025}]}, "embeds.0.fields.0.value"),
        ({"footer": {"text": "f" * 2049}}, "embeds.0.footer.text"),
        ({"author": {"name": "a" * 257}}, "embeds.0.author.name"),
        ({"url": LONG_URL}, "embeds.0.url"),
        ({"author": {"name": "a", "url": LONG_URL}}, "embeds.0.author.url"),
        ({"author": {"name": "a", "icon_url": LONG_URL}}, "embeds.0.author.icon_url"),
        ({"footer": {"text": "f", "icon_url": LONG_URL}}, "embeds.0.footer.icon_url"),
        ({"image": {"url": LONG_URL}}, "embeds.0.image.url"),
        ({"thumbnail": {"url": LONG_URL}}, "embeds.0.thumbnail.url"),
    ],
)
def test_each_embed_limit(embed: dict[str, Any], where: str) -> None:
    assert codes(check_message({"embeds": [embed]})) == [(where, "BASE_TYPE_MAX_LENGTH")]


def test_at_most_ten_embeds_and_6000_characters_in_total() -> None:
    assert codes(check_message({"embeds": [{"title": "t"}] * 11})) == [
        ("embeds", "BASE_TYPE_MAX_LENGTH")
    ]
    full = {"title": "t" * 256, "description": "d" * 4096, "footer": {"text": "f" * 1648}}
    assert embed_length(full) == 6000
    assert check_message({"embeds": [full]}) == []
    assert codes(check_message({"embeds": [full, {"title": "x"}]})) == [
        ("embeds", "MAX_EMBED_SIZE_EXCEEDED")
    ]


def test_limits_under_a_prefix() -> None:
    assert codes(check_message({"content": "x" * 2001}, prefix=("data",))) == [
        ("data.content", "BASE_TYPE_MAX_LENGTH")
    ]


def test_command_sync_rules() -> None:
    def option(name: str, *, required: bool = False, **extra: Any) -> dict[str, Any]:
        return {"type": 3, "name": name, "description": "d", "required": required, **extra}

    good = {
        "name": "summarize",
        "description": "d",
        "options": [option("post", required=True), option("length")],
    }
    assert check_commands([good]) == []
    bad = [
        {"name": "Summarize", "description": "d"},
        {"name": "dup", "description": "d"},
        {"name": "dup", "description": "d"},
        {"name": "nodesc"},
        {"name": "order", "description": "d", "options": [option("a"), option("b", required=True)]},
        {"name": "same", "description": "d", "options": [option("a"), option("a")]},
        {
            "name": "both",
            "description": "d",
            "options": [option("a", autocomplete=True, choices=[{"name": "x", "value": "x"}])],
        },
        {
            "name": "huge",
            "description": "d" * 100,
            "options": [option(f"o{i}", description="d" * 100) for i in range(25)] * 2,
        },
    ]
    assert set(codes(check_commands(bad))) == {
        ("0.name", "APPLICATION_COMMAND_INVALID_NAME"),
        ("2.name", "APPLICATION_COMMANDS_DUPLICATE_NAME"),
        ("3.description", "BASE_TYPE_REQUIRED"),
        ("4.options.1.required", "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID"),
        ("5.options.1.name", "APPLICATION_COMMAND_OPTIONS_DUPLICATE_NAME"),
        ("6.options.0.autocomplete", "APPLICATION_COMMAND_OPTION_CHOICES_AUTOCOMPLETE"),
        ("7", "APPLICATION_COMMAND_TOO_LARGE"),
        *{
            (f"7.options.{i}.name", "APPLICATION_COMMAND_OPTIONS_DUPLICATE_NAME")
            for i in range(25, 50)
        },
    }


# ---------------------------------------------------------------------- permissions


def test_permission_computation_follows_discords_order() -> None:
    guild_id, role_id, member_id = 1, 2, 3
    base = permissions.base_permissions(
        is_owner=False,
        everyone_permissions=permissions.DEFAULT_EVERYONE_PERMISSIONS,
        role_permissions=[0],
    )
    overwrites = [
        Overwrite(guild_id, ROLE_OVERWRITE, deny=permissions.SEND_MESSAGES),
        Overwrite(role_id, ROLE_OVERWRITE, allow=permissions.SEND_MESSAGES),
        Overwrite(member_id, MEMBER_OVERWRITE, deny=permissions.EMBED_LINKS),
    ]
    perms = permissions.apply_overwrites(
        base,
        guild_id=guild_id,
        member_id=member_id,
        member_role_ids=[role_id],
        overwrites=overwrites,
    )
    assert perms & permissions.SEND_MESSAGES and not perms & permissions.EMBED_LINKS
    hidden = permissions.apply_overwrites(
        base,
        guild_id=guild_id,
        member_id=member_id,
        member_role_ids=[],
        overwrites=[Overwrite(guild_id, ROLE_OVERWRITE, deny=permissions.VIEW_CHANNEL)],
    )
    assert hidden == 0
    admin = permissions.base_permissions(
        is_owner=False, everyone_permissions=0, role_permissions=[permissions.ADMINISTRATOR]
    )
    assert (
        permissions.apply_overwrites(
            admin, guild_id=guild_id, member_id=member_id, member_role_ids=[], overwrites=overwrites
        )
        == permissions.ALL_PERMISSIONS
    )
    assert (
        permissions.base_permissions(is_owner=True, everyone_permissions=0, role_permissions=[])
        == permissions.ALL_PERMISSIONS
    )


# ---------------------------------------------------------------------- pings


@pytest.mark.parametrize(
    ("allowed", "expected"),
    [
        (None, ([5], [7], True)),
        ({"parse": []}, ([], [], False)),
        ({"parse": ["users"]}, ([5], [], False)),
        ({"parse": [], "users": ["5"], "roles": [7]}, ([5], [7], False)),
        ({"parse": ["everyone", "roles"]}, ([], [7], True)),
    ],
)
def test_pings_follow_allowed_mentions(
    allowed: dict[str, Any] | None, expected: tuple[Any, ...]
) -> None:
    assert compute_pings("hi <@5> <@!5> <@&7> @everyone", allowed) == expected


# ---------------------------------------------------------------------- option typing

COMMANDS = [
    {
        "id": "1",
        "name": "summarize",
        "type": 1,
        "options": [
            {"type": 3, "name": "post", "description": "d", "required": True, "max_length": 20},
            {"type": 4, "name": "length", "description": "d", "min_value": 1, "max_value": 10},
            {"type": 5, "name": "public", "description": "d"},
            {
                "type": 3,
                "name": "style",
                "description": "d",
                "choices": [{"name": "Short", "value": "short"}],
            },
            {"type": 6, "name": "for", "description": "d"},
        ],
    },
    {
        "id": "2",
        "name": "feed",
        "type": 1,
        "options": [
            {
                "type": 2,
                "name": "sources",
                "description": "d",
                "options": [
                    {
                        "type": 1,
                        "name": "add",
                        "description": "d",
                        "options": [
                            {"type": 3, "name": "url", "description": "d", "required": True}
                        ],
                    },
                ],
            },
            {"type": 1, "name": "status", "description": "d"},
        ],
    },
]

RESOLVER = Resolver(
    user=lambda uid: {"id": str(uid), "username": "alice"} if uid == 42 else None,
    member=lambda uid: {"user": {"id": str(uid)}, "roles": []} if uid == 42 else None,
    channel=lambda _: None,
    role=lambda _: None,
)


def test_options_are_typed_from_the_definition() -> None:
    target = find_command("summarize", guild_commands=COMMANDS, global_commands=[])
    resolver = Resolver(RESOLVER.user, RESOLVER.member, RESOLVER.channel, RESOLVER.role)
    options = build_options(
        target,
        {"post": "meltdown", "length": "3", "public": "yes", "style": "Short", "for": 42},
        resolver,
    )
    assert [(o["name"], o["value"]) for o in options] == [
        ("post", "meltdown"),
        ("length", 3),
        ("public", True),
        ("style", "short"),
        ("for", "42"),
    ]
    assert resolver.resolved == {
        "users": {"42": {"id": "42", "username": "alice"}},
        "members": {"42": {"roles": []}},
    }


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"post": 5}, "expects a string"),
        ({"post": "x" * 21}, "at most 20 characters"),
        ({"post": "x", "length": 11}, "at most 10"),
        ({"post": "x", "length": True}, "expects an integer"),
        ({"post": "x", "public": "maybe"}, "expects true or false"),
        ({"post": "x", "style": "long"}, "not one of the choices"),
        ({"post": "x", "for": 7}, "no user with id 7"),
        ({"length": 2}, "requires option 'post'"),
    ],
)
def test_option_errors(values: dict[str, Any], message: str) -> None:
    target = find_command("summarize", guild_commands=COMMANDS, global_commands=[])
    with pytest.raises(OptionError, match=message):
        build_options(target, values, RESOLVER)


def test_subcommand_groups_nest_options() -> None:
    target = find_command("feed sources add", guild_commands=[], global_commands=COMMANDS)
    assert target.full_name == "feed sources add"
    assert build_options(target, {"url": "https://x"}, RESOLVER) == [
        {
            "name": "sources",
            "type": 2,
            "options": [
                {
                    "name": "add",
                    "type": 1,
                    "options": [{"name": "url", "type": 3, "value": "https://x"}],
                }
            ],
        }
    ]
    with pytest.raises(CommandNotSyncedError, match="has no subcommand 'remove'"):
        find_command("feed sources remove", guild_commands=[], global_commands=COMMANDS)


def test_autocomplete_sends_the_focused_text_raw() -> None:
    target = find_command("summarize", guild_commands=COMMANDS, global_commands=[])
    with pytest.raises(OptionError, match="does not use autocomplete"):
        build_options(target, {"post": "me"}, RESOLVER, focused="post")
    target.leaf_options[0]["autocomplete"] = True
    try:
        assert build_options(target, {"post": "me"}, RESOLVER, focused="post") == [
            {"name": "post", "type": 3, "value": "me", "focused": True}
        ]
    finally:
        del target.leaf_options[0]["autocomplete"]


# ---------------------------------------------------------------------- faults and rate limits


def test_fault_rules_match_patterns_and_count_down() -> None:
    faults = FaultInjector()
    rule = faults.add("POST", "/channels/{channel_id}/messages", status=502, times=2)
    assert faults.take("GET", "/channels/1/messages") is None
    assert faults.take("POST", "/channels/1/messages/2") is None
    first = faults.take("POST", "/channels/1/messages")
    assert first is not None and first.status == 502
    assert faults.take("POST", "/api/v10/channels/9/messages".removeprefix("/api/v10")) is not None
    assert faults.take("POST", "/channels/1/messages") is None and rule.exhausted and rule.hits == 2
    with pytest.raises(ValueError):
        faults.add("GET", "/x", status=404)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rate_limit_windows_reset_and_global_limit() -> None:
    clock = FakeClock()
    limiter = RateLimitEmulator(
        (RouteLimit("POST", "/channels/{channel_id}/messages", 2, 5.0, "channel_id"),),
        global_limit=3,
        global_window=1.0,
        clock=clock,
    )
    first = limiter.check("POST", "/channels/1/messages", counts_globally=True)
    assert first.rejection is None and first.headers["X-RateLimit-Remaining"] == "1"
    assert limiter.check("POST", "/channels/1/messages", counts_globally=True).rejection is None
    clock.now = 0.5
    over = limiter.check("POST", "/channels/1/messages", counts_globally=True)
    assert over.rejection is not None and over.rejection.body["retry_after"] == pytest.approx(4.5)
    # The global limit (3/s) is now spent as well, whatever the route.
    global_hit = limiter.check("GET", "/users/@me", counts_globally=True)
    assert global_hit.rejection is not None and global_hit.rejection.body["global"] is True
    assert global_hit.rejection.headers["X-RateLimit-Global"] == "true"
    assert (
        limiter.check("POST", "/interactions/1/t/callback", counts_globally=False).rejection is None
    )
    clock.now = 5.0
    assert limiter.check("POST", "/channels/1/messages", counts_globally=True).rejection is None
    assert [h.scope for h in limiter.hits] == ["user", "global"]
