"""The permission tree: parsing, validation and value rendering shared by every translator."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from toucan_connectors.errors import InvalidDataSourceError
from toucan_connectors.templating import render

Operator = Literal[
    "eq", "ne", "lt", "le", "gt", "ge", "in", "nin", "matches", "notmatches", "isnull", "notnull"
]
OPERATORS: tuple[str, ...] = (
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "in",
    "nin",
    "matches",
    "notmatches",
    "isnull",
    "notnull",
)
LIST_OPERATORS = ("in", "nin")
RANGE_OPERATORS = ("lt", "le", "gt", "ge")
_NUMBER = re.compile(r"^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$")


@dataclass(frozen=True)
class Condition:
    """One leaf of the tree: a column compared with a rendered value."""

    column: str
    operator: str
    value: Any = None


@dataclass(frozen=True)
class Group:
    """Conditions joined by `and` or `or`."""

    kind: Literal["and", "or"]
    items: tuple[PermissionNode, ...]


PermissionNode = Condition | Group


def parse_permissions(
    tree: Mapping[str, Any], parameters: Mapping[str, Any] | None = None
) -> PermissionNode:
    """Validate a permission tree and render its templated values with `parameters`.

    A rendered string holding a JSON-quoted value (``'"2020"'``) is unquoted.

    Raises:
        InvalidDataSourceError: the tree is malformed; the message says which part.
        TemplateError: a value's template needs a variable that was not given.
    """
    if not isinstance(tree, Mapping):
        raise _malformed(tree, "a permission must be a dict")

    for kind in ("and", "or"):
        if kind in tree:
            items = tree[kind]
            if len(tree) != 1 or not isinstance(items, list):
                raise _malformed(tree, f'"{kind}" must be the only key and hold a list')
            parsed = tuple(parse_permissions(item, parameters) for item in items)
            return Group(kind, parsed)

    return _parse_condition(tree, parameters)


def to_number(value: Any) -> Any:
    """Return `value` as an int or float when it is a string that spells a number."""
    if not isinstance(value, str) or not _NUMBER.match(value):
        return value
    if value.strip().lstrip("-").isdigit():
        return int(value)
    return float(value)


def _parse_condition(tree: Mapping[str, Any], parameters: Mapping[str, Any] | None) -> Condition:
    unknown = set(tree) - {"column", "operator", "value"}
    if unknown or "column" not in tree or "operator" not in tree:
        raise _malformed(tree, 'a condition has exactly "column", "operator" and "value"')

    operator = tree["operator"]
    if operator not in OPERATORS:
        raise _malformed(tree, f'operator "{operator}" is not one of {", ".join(OPERATORS)}')

    column = render(tree["column"], parameters)
    value = _unquote(render(tree.get("value"), parameters))
    if value is None and operator in ("eq", "ne"):
        raise _malformed(tree, f'"{operator}" needs a value: use "isnull" or "notnull" for nulls')
    if isinstance(value, bool) and operator in RANGE_OPERATORS:
        raise _malformed(tree, f'"{operator}" cannot order a boolean')
    if operator in LIST_OPERATORS:
        if not isinstance(value, list | tuple):
            raise _malformed(tree, f'"{operator}" needs a list value')
        value = [_unquote(item) for item in value]
    elif operator in ("matches", "notmatches"):
        if not isinstance(value, str):
            raise _malformed(tree, f'"{operator}" needs a regular expression string')
        try:
            re.compile(value)
        except re.error as exc:
            raise _malformed(tree, f"its regular expression does not compile ({exc})") from exc
    return Condition(str(column), operator, value)


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _malformed(tree: Any, reason: str) -> InvalidDataSourceError:
    return InvalidDataSourceError(f"Invalid permission {tree!r}: {reason}.")
