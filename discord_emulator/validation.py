"""Validation of request bodies against Discord's published OpenAPI description.

The spec (discord_emulator/spec/openapi.json, provenance in spec/README.md) is the contract
Discord publishes; checking every body the bot sends against it catches, in tests, the
requests production Discord would reject with 400 50035.

Only the documented relaxations are applied:

* `SnowflakeType` accepts an integer as well as a digit string (discord.py sends
  `allowed_mentions` ids as integers, and Discord accepts them).
* `ChannelTypes` also holds 16 (GUILD_MEDIA), which the pinned spec predates.
* The interaction callback is a union of seven schemas; the branch is chosen by the body's
  `type`, so an error names the offending field instead of "not valid under any of". Every
  other union discriminated the same way is dispatched the same way (an equivalent rewrite,
  for speed: see `_dispatch_unions_by_type`).

Compiled validators are cached per operation (compiling costs far more than validating; a
body then takes about a millisecond).
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from discord_emulator.problems import FieldError, short_repr

_TYPE_ERRORS = {
    "integer": ("NUMBER_TYPE_COERCE", 'Value "{v}" is not int.'),
    "number": ("NUMBER_TYPE_COERCE", 'Value "{v}" is not a valid number.'),
    "boolean": ("BOOLEAN_TYPE_CONVERT", 'Value "{v}" is not a valid boolean.'),
    "string": ("STRING_TYPE_CONVERT", 'Could not interpret "{v}" as string.'),
    "array": ("LIST_TYPE_CONVERT", "Only iterables may be used in a ListType"),
    "object": ("DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"),
}


def default_spec_path() -> Path:
    return Path(str(resources.files("discord_emulator").joinpath("spec", "openapi.json")))


@functools.lru_cache(maxsize=4)
def load_validator(spec_path: str | None = None) -> SpecValidator:
    """A validator for the packaged spec (or another file), shared by all emulators.

    Loading parses 1.2 MB of JSON: call it from a worker thread in async code.
    """
    path = Path(spec_path) if spec_path else default_spec_path()
    with path.open(encoding="utf-8") as fh:
        spec = json.load(fh)
    return SpecValidator(spec)


class SpecValidator:
    """Checks request bodies of named operations (Discord's `operationId`s)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self._request_schemas = _request_schemas(spec)
        self._components = _relaxed_components(spec["components"])
        self._format_checker = _format_checker()
        self._compiled: dict[str, Draft202012Validator] = {}

    @property
    def format_checker(self) -> FormatChecker:
        """The formats checked (URLs, timestamps): shared so other validators agree."""
        return self._format_checker

    @property
    def operations(self) -> frozenset[str]:
        return frozenset(self._request_schemas)

    def warm(self, operation_ids: Iterable[str]) -> None:
        """Compile validators ahead of time."""
        for op in operation_ids:
            self._validator(op)

    def check(self, operation_id: str, body: Any) -> list[FieldError]:
        """Every problem of `body` as a request of `operation_id` (empty if valid)."""
        return _field_errors(self._validator(operation_id).iter_errors(body))

    # -------------------------------------------------------------- internals

    def _schema(self, operation_id: str) -> dict[str, Any]:
        try:
            return self._request_schemas[operation_id]
        except KeyError:
            raise KeyError(f"the spec has no JSON request body for {operation_id!r}") from None

    def _validator(self, operation_id: str) -> Draft202012Validator:
        validator = self._compiled.get(operation_id)
        if validator is None:
            schema = _dispatch_unions_by_type(self._schema(operation_id), self._components)
            validator = _EmulatorValidator(
                {**schema, "components": self._components}, format_checker=self._format_checker
            )
            self._compiled[operation_id] = validator
        return validator


def _request_schemas(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """operationId -> JSON request schema, for every operation that takes a JSON body."""
    out: dict[str, dict[str, Any]] = {}
    for item in spec["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                out[operation["operationId"]] = content["application/json"]["schema"]
    return out


def _relaxed_components(components: dict[str, Any]) -> dict[str, Any]:
    """The spec's components with the one documented type relaxation (SnowflakeType), and
    type-discriminated unions rewritten for speed (see `_dispatch_unions_by_type`)."""
    relaxed = copy.deepcopy(components)
    _add_media_channel_type(relaxed["schemas"]["ChannelTypes"])
    snowflake = relaxed["schemas"]["SnowflakeType"]
    relaxed["schemas"]["SnowflakeType"] = {
        "type": ["string", "integer"],
        "pattern": snowflake["pattern"],
        "minimum": 0,
    }
    relaxed["schemas"] = {
        name: _dispatch_unions_by_type(schema, relaxed)
        for name, schema in relaxed["schemas"].items()
    }
    return relaxed


def _add_media_channel_type(channel_types: dict[str, Any]) -> None:
    """The pinned spec lists channel types up to GUILD_FORUM (15); Discord also has
    GUILD_MEDIA (16), which discord.py offers with forums (`channel_types: [15, 16]` for a
    `ForumChannel` option). Added here so such a command syncs as it does on Discord."""
    branches = channel_types.get("oneOf", [])
    if not any(branch.get("const") == 16 for branch in branches):
        branches.append(
            {
                "title": "GUILD_MEDIA",
                "description": "Channel that can only contain threads, similar to GUILD_FORUM channels",
                "const": 16,
            }
        )


NULLABLE_KEYWORD = "x-emulator-nullable"
DISPATCH_KEYWORD = "x-emulator-dispatch-by-type"


def _dispatch_unions_by_type(node: Any, components: dict[str, Any]) -> Any:
    """Rewrite unions so that validating them costs one branch, not all of them.

    Discord's unions (message components, callback bodies...) are `oneOf`/`anyOf` lists of
    object schemas, each *requiring* `type` with its own values. A plain `oneOf` validates the
    body against every branch: slow (about 3 ms for a message with buttons) and its errors
    describe the wrong branches. When the branches' `type` values are disjoint and required,
    "exactly one branch is valid" is equivalent to "type is one of the known values and the
    branch for that type is valid", which the `x-emulator-dispatch-by-type` keyword checks.
    Likewise `[null, X]` where X rejects null becomes "null, or valid against X"
    (`x-emulator-nullable`), and a union of constants (how the spec writes enums) becomes an
    `enum`. Each rewrite accepts and rejects exactly the same bodies; other unions are kept.
    """
    if isinstance(node, list):
        return [_dispatch_unions_by_type(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _dispatch_unions_by_type(value, components) for key, value in node.items()}
    for keyword in ("oneOf", "anyOf"):
        branches = out.get(keyword)
        if not isinstance(branches, list):
            continue
        replacement: tuple[str, Any] | None = None
        nullable = _nullable_reference(branches, components)
        constants = _enumerated_constants(branches)
        discriminants = _branch_types(branches, components)
        if nullable is not None:
            replacement = (NULLABLE_KEYWORD, nullable)
        elif constants is not None:
            replacement = ("enum", constants)
        elif discriminants is not None:
            replacement = (
                DISPATCH_KEYWORD,
                [[values, branch] for values, branch in zip(discriminants, branches, strict=True)],
            )
        if replacement is not None and replacement[0] not in out:
            del out[keyword]
            out[replacement[0]] = replacement[1]
    return out


def _nullable_keyword(
    validator: Draft202012Validator, schema: dict[str, Any], instance: Any, _: dict[str, Any]
) -> Iterator[ValidationError]:
    if instance is not None:
        yield from validator.descend(instance, schema)


def _dispatch_keyword(
    validator: Draft202012Validator, table: list[list[Any]], instance: Any, _: dict[str, Any]
) -> Iterator[ValidationError]:
    if not isinstance(instance, dict):
        yield from validator.descend(instance, {"type": "object"})
        return
    if "type" not in instance:
        yield from validator.descend(instance, {"required": ["type"]})
        return
    for values, branch in table:
        if any(_same_json(instance["type"], v) for v in values):
            yield from validator.descend(instance, branch)
            return
    every = [v for values, _branch in table for v in values]
    yield from validator.descend(instance["type"], {"enum": every}, path="type")


def _same_json(a: Any, b: Any) -> bool:
    """JSON equality: 1 and True are different values."""
    return (
        type(a) is type(b)
        and a == b
        or (
            isinstance(a, int | float)
            and isinstance(b, int | float)
            and not isinstance(a, bool)
            and not isinstance(b, bool)
            and a == b
        )
    )


_EmulatorValidator = validators.extend(
    Draft202012Validator,
    {NULLABLE_KEYWORD: _nullable_keyword, DISPATCH_KEYWORD: _dispatch_keyword},
)


def _nullable_reference(branches: list[Any], components: dict[str, Any]) -> dict[str, Any] | None:
    """X for a `[{"type": "null"}, {"$ref": X}]` union whose X never accepts null."""
    if len(branches) != 2 or branches[0] != {"type": "null"}:
        return None
    ref = branches[1].get("$ref") if isinstance(branches[1], dict) else None
    if (
        set(branches[1]) != {"$ref"}
        or not isinstance(ref, str)
        or not ref.startswith("#/components/schemas/")
    ):
        return None
    declared = components["schemas"].get(ref.rsplit("/", 1)[-1], {}).get("type")
    types = [declared] if isinstance(declared, str) else declared
    if not types or "null" in types:
        return None
    return branches[1]


def _enumerated_constants(branches: list[Any]) -> list[Any] | None:
    """The values of a union of `{"const": ...}` branches (titles and descriptions aside)."""
    values: list[Any] = []
    for branch in branches:
        if not isinstance(branch, dict) or "const" not in branch:
            return None
        if set(branch) - {"const", "title", "description"}:
            return None
        values.append(branch["const"])
    if len({json.dumps(v) for v in values}) != len(values):
        return None
    return values


def _branch_types(branches: list[Any], components: dict[str, Any]) -> list[list[Any]] | None:
    """The `type` values of each union branch, or None if the union is not discriminated."""
    seen: set[Any] = set()
    result: list[list[Any]] = []
    for branch in branches:
        ref = branch.get("$ref") if isinstance(branch, dict) else None
        if not isinstance(ref, str) or not ref.startswith("#/components/schemas/"):
            return None
        schema = components["schemas"].get(ref.rsplit("/", 1)[-1], {})
        type_schema = schema.get("properties", {}).get("type", {})
        if "const" in type_schema:
            values = [type_schema["const"]]
        else:
            values = list(type_schema.get("enum") or [])
        if not values or "type" not in schema.get("required", []) or seen & set(values):
            return None
        seen.update(values)
        result.append(values)
    return result


def _format_checker() -> FormatChecker:
    """The formats Discord really enforces: URLs in embeds/buttons and ISO timestamps."""
    checker = FormatChecker(formats=())

    @checker.checks("uri", raises=ValueError)
    def _uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https", "attachment"):
            raise ValueError(f"scheme {parts.scheme!r}")
        return bool(parts.netloc)

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if isinstance(value, str):
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True

    return checker


def _field_errors(errors: Iterable[ValidationError]) -> list[FieldError]:
    out: list[FieldError] = []
    for error in errors:
        _collect(error, out)
    return out


def _collect(error: ValidationError, out: list[FieldError]) -> None:
    if error.validator in ("oneOf", "anyOf") and error.context:
        for sub in _best_branch(error):
            _collect(sub, out)
        return
    path = tuple(error.absolute_path)
    if error.validator == "required":
        instance = error.instance if isinstance(error.instance, dict) else {}
        required = error.validator_value if isinstance(error.validator_value, list) else []
        for name in required:
            if name not in instance:
                out.append(
                    FieldError((*path, name), "BASE_TYPE_REQUIRED", "This field is required")
                )
        return
    out.append(_to_field_error(error, path))


def _best_branch(error: ValidationError) -> list[ValidationError]:
    """The errors of the union branch the body most plausibly meant.

    A branch that rejects the value's very type (`null` when an object was sent) explains
    nothing; among the others the one with the fewest problems is the intended shape.
    """
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context or []:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    here = list(error.absolute_path)

    def score(errs: list[ValidationError]) -> tuple[bool, int, int]:
        wrong_type = any(e.validator == "type" and list(e.absolute_path) == here for e in errs)
        return (wrong_type, len(errs), -max(len(e.absolute_path) for e in errs))

    return min(branches.values(), key=score)


def _to_field_error(error: ValidationError, path: tuple[Any, ...]) -> FieldError:
    # jsonschema types a keyword and its value as possibly unset (an error made by hand has
    # neither); the errors a validator yields carry both, so the checks below only narrow them.
    kind = error.validator
    value = error.validator_value
    detail = f"got {short_repr(error.instance)}"
    if kind in ("maxLength", "maxItems"):
        return FieldError(
            path,
            "BASE_TYPE_MAX_LENGTH",
            f"Must be {value} or fewer in length.",
            _size(error.instance),
        )
    if kind in ("minLength", "minItems"):
        return FieldError(
            path,
            "BASE_TYPE_MIN_LENGTH",
            f"Must be {value} or more in length.",
            _size(error.instance),
        )
    if kind == "type":
        named = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        expected = [t for t in named if t != "null"]
        code, template = _TYPE_ERRORS.get(
            expected[0] if expected else "", ("BASE_TYPE_INVALID", "Invalid value.")
        )
        return FieldError(path, code, template.format(v=short_repr(error.instance)), detail)
    if kind in ("enum", "const"):
        choices = tuple(value) if kind == "enum" and isinstance(value, list) else (value,)
        return FieldError(path, "BASE_TYPE_CHOICES", f"Value must be one of {choices}.", detail)
    if kind in ("minimum", "exclusiveMinimum"):
        return FieldError(
            path,
            "NUMBER_TYPE_MIN",
            f"int value should be greater than or equal to {value}.",
            detail,
        )
    if kind in ("maximum", "exclusiveMaximum"):
        return FieldError(
            path, "NUMBER_TYPE_MAX", f"int value should be less than or equal to {value}.", detail
        )
    if kind == "format" and value == "uri":
        return FieldError(path, "URL_TYPE_INVALID_URL", "Not a well formed URL.", detail)
    if kind == "format" and value == "date-time":
        return FieldError(
            path, "DATE_TIME_TYPE_PARSE", "Could not parse date. Should be ISO8601.", detail
        )
    if kind == "pattern":
        return FieldError(
            path, "STRING_TYPE_REGEX", "String value did not match validation regex.", detail
        )
    if kind == "uniqueItems":
        return FieldError(path, "BASE_TYPE_DUPLICATE", "Values must be unique.", detail)
    return FieldError(path, f"SCHEMA_{str(kind).upper()}", error.message, detail)


def _size(instance: Any) -> str:
    return f"got {len(instance)}" if isinstance(instance, str | list) else ""
