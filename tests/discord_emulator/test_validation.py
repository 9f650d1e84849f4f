"""The OpenAPI validator: documented relaxations only, Discord's error shape, and union
rewrites that accept and reject exactly what the spec's own unions do."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from discord_emulator.errors import invalid_form_body
from discord_emulator.problems import FieldError, errors_tree
from discord_emulator.validation import SpecValidator, default_spec_path, load_validator

BUTTON_ROW = {
    "type": 1,
    "components": [{"type": 2, "style": 1, "label": "Next", "custom_id": "next"}],
}
SELECT_ROW = {
    "type": 1,
    "components": [
        {
            "type": 3,
            "custom_id": "pick",
            "options": [{"label": "A", "value": "a"}],
            "placeholder": "Pick",
        }
    ],
}
EMBED = {
    "title": "Summary",
    "url": "https://example.org/post",
    "description": "text",
    "color": 0x5865F2,
    "timestamp": "2021-02-26T00:00:00+00:00",
    "fields": [{"name": "Authors", "value": "A, B", "inline": True}],
    "footer": {"text": "corpus-bot"},
    "author": {"name": "Alice"},
}
MESSAGE = {
    "content": "hello",
    "embeds": [EMBED],
    "components": [BUTTON_ROW, SELECT_ROW],
    "allowed_mentions": {"parse": [], "users": [123, "456"], "replied_user": False},
    "flags": 64,
    "tts": False,
}
COMMAND = {
    "name": "summarize",
    "description": "Summarize a post",
    "type": 1,
    "options": [
        {
            "type": 3,
            "name": "post",
            "description": "Which post",
            "required": True,
            "autocomplete": True,
        },
        {"type": 4, "name": "length", "description": "Sentences", "min_value": 1, "max_value": 10},
    ],
    "default_member_permissions": None,
    "contexts": [0, 1],
}
GROUP = {
    "name": "feed",
    "description": "Feeds",
    "options": [
        {
            "type": 1,
            "name": "status",
            "description": "Status",
            "options": [{"type": 5, "name": "v", "description": "d"}],
        }
    ],
}

VALID: list[tuple[str, Any]] = [
    ("create_message", MESSAGE),
    ("create_message", {"content": "x", "nonce": "123", "enforce_nonce": True}),
    ("execute_webhook", MESSAGE),
    ("update_message", {"content": None, "embeds": [], "components": []}),
    (
        "update_original_webhook_message",
        {"content": "edited", "embeds": [EMBED], "components": [BUTTON_ROW]},
    ),
    ("create_interaction_response", {"type": 4, "data": MESSAGE}),
    ("create_interaction_response", {"type": 5, "data": {"flags": 64}}),
    ("create_interaction_response", {"type": 5}),
    ("create_interaction_response", {"type": 6}),
    (
        "create_interaction_response",
        {"type": 7, "data": {"content": "page 2", "components": [BUTTON_ROW]}},
    ),
    (
        "create_interaction_response",
        {"type": 8, "data": {"choices": [{"name": "Meltdown", "value": "meltdown"}]}},
    ),
    (
        "create_interaction_response",
        {"type": 8, "data": {"choices": [{"name": "Three", "value": 3}]}},
    ),
    (
        "create_interaction_response",
        {
            "type": 9,
            "data": {
                "custom_id": "m",
                "title": "Feedback",
                "components": [
                    {
                        "type": 1,
                        "components": [{"type": 4, "custom_id": "t", "style": 1, "label": "Text"}],
                    }
                ],
            },
        },
    ),
    ("bulk_set_application_commands", [COMMAND, GROUP]),
    ("bulk_set_guild_application_commands", []),
]


def _mutations() -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []

    def mutate(op: str, body: Any, path: list[Any], value: Any) -> None:
        changed = copy.deepcopy(body)
        node = changed
        for key in path[:-1]:
            node = node[key]
        if value is KeyError:
            del node[path[-1]]
        else:
            node[path[-1]] = value
        out.append((op, changed))

    message = {"type": 4, "data": MESSAGE}
    mutate("create_interaction_response", message, ["type"], 99)
    mutate("create_interaction_response", message, ["type"], True)
    mutate("create_interaction_response", message, ["type"], KeyError)
    mutate("create_interaction_response", message, ["data", "embeds", 0, "title"], "t" * 257)
    mutate("create_interaction_response", message, ["data", "embeds", 0, "url"], "not a url")
    mutate("create_interaction_response", message, ["data", "components", 0, "type"], 42)
    mutate(
        "create_interaction_response",
        message,
        ["data", "components", 0, "components", 0, "type"],
        1,
    )
    mutate(
        "create_interaction_response",
        message,
        ["data", "components", 0, "components", 0, "style"],
        9,
    )
    mutate(
        "create_interaction_response",
        message,
        ["data", "components", 0, "components", 0, "label"],
        "L" * 81,
    )
    mutate(
        "create_interaction_response",
        message,
        ["data", "components", 1, "components", 0, "options"],
        [],
    )
    mutate("create_interaction_response", message, ["data", "allowed_mentions"], 5)
    mutate("create_interaction_response", message, ["data", "allowed_mentions", "users", 0], "abc")
    mutate("create_interaction_response", message, ["data", "content"], "c" * 2001)
    mutate("create_message", MESSAGE, ["embeds", 0, "fields", 0], {"name": "n"})
    mutate("create_message", MESSAGE, ["components", 0], None)
    mutate("create_message", MESSAGE, ["components", 0, "components"], KeyError)
    mutate("create_message", MESSAGE, ["embeds"], [EMBED] * 11)
    mutate("execute_webhook", MESSAGE, ["content"], 5)
    mutate("bulk_set_application_commands", [COMMAND], [0, "options", 0, "type"], 99)
    mutate("bulk_set_application_commands", [COMMAND], [0, "name"], "n" * 33)
    mutate(
        "bulk_set_application_commands", [GROUP], [0, "options", 0, "options", 0, "type"], "five"
    )
    out.append(
        (
            "create_interaction_response",
            {"type": 8, "data": {"choices": [{"name": "c", "value": "v"}] * 26}},
        )
    )
    out.append(("create_interaction_response", []))
    return out


@pytest.fixture(scope="module")
def validator() -> SpecValidator:
    return load_validator()


@pytest.fixture(scope="module")
def reference() -> dict[str, Draft202012Validator]:
    """The spec's schemas as published, with only the SnowflakeType relaxation: the oracle."""
    spec = json.loads(default_spec_path().read_text(encoding="utf-8"))
    components = copy.deepcopy(spec["components"])
    components["schemas"]["SnowflakeType"] = {
        "type": ["string", "integer"],
        "pattern": "^(0|[1-9][0-9]*)$",
        "minimum": 0,
    }
    out = {}
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and "application/json" in operation.get(
                "requestBody", {}
            ).get("content", {}):
                schema = operation["requestBody"]["content"]["application/json"]["schema"]
                out[operation["operationId"]] = Draft202012Validator(
                    {**schema, "components": components},
                    format_checker=load_validator().format_checker,
                )
    return out


@pytest.mark.parametrize(("operation", "body"), VALID)
def test_valid_bodies_pass(validator: SpecValidator, operation: str, body: Any) -> None:
    assert validator.check(operation, body) == []


@pytest.mark.parametrize(("operation", "body"), VALID + _mutations())
def test_rewritten_unions_decide_like_the_spec(
    validator: SpecValidator, reference: dict[str, Draft202012Validator], operation: str, body: Any
) -> None:
    assert bool(validator.check(operation, body)) == (not reference[operation].is_valid(body))


def test_integer_snowflakes_are_accepted_but_not_garbage(validator: SpecValidator) -> None:
    assert (
        validator.check("create_message", {"content": "x", "allowed_mentions": {"users": [1, "2"]}})
        == []
    )
    (problem,) = validator.check(
        "create_message", {"content": "x", "allowed_mentions": {"users": ["x1"]}}
    )
    assert problem.path == ("allowed_mentions", "users", 0)


def test_errors_name_the_field_in_discords_shape(validator: SpecValidator) -> None:
    body = {
        "type": 4,
        "data": {
            "embeds": [{"title": "t" * 300, "fields": [{"name": "n"}]}],
            "components": [{"type": 1}],
        },
    }
    problems = validator.check("create_interaction_response", body)
    assert sorted(p.describe() for p in problems) == [
        "data.components.0.components: This field is required [BASE_TYPE_REQUIRED]",
        "data.embeds.0.fields.0.value: This field is required [BASE_TYPE_REQUIRED]",
        "data.embeds.0.title: Must be 256 or fewer in length. [BASE_TYPE_MAX_LENGTH] (got 300)",
    ]
    error = invalid_form_body(problems)
    assert error.status == 400 and error.code == 50035 and error.message == "Invalid Form Body"
    assert error.body()["errors"]["data"]["embeds"]["0"]["title"] == {
        "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 256 or fewer in length."}]
    }


def test_unknown_callback_type(validator: SpecValidator) -> None:
    (problem,) = validator.check("create_interaction_response", {"type": 3})
    assert problem.path == ("type",) and problem.code == "BASE_TYPE_CHOICES"


def test_errors_tree_nests_by_path() -> None:
    tree = errors_tree(
        [
            FieldError(("a", 0, "b"), "X", "x"),
            FieldError(("a", 0, "b"), "Y", "y"),
            FieldError((), "Z", "z"),
        ]
    )
    assert tree == {
        "a": {
            "0": {"b": {"_errors": [{"code": "X", "message": "x"}, {"code": "Y", "message": "y"}]}}
        },
        "_errors": [{"code": "Z", "message": "z"}],
    }


def test_the_packaged_spec_keeps_its_provenance_note() -> None:
    readme = default_spec_path().with_name("README.md").read_text(encoding="utf-8")
    assert "74fda0fad044407ea280043a03ffc9bc64c4e49e" in readme and "MIT" in readme
