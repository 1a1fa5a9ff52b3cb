"""The permission tree: parsing, validation and value rendering shared by every translator."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
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
SCALAR_OPERATORS = ("eq", "ne", "lt", "le", "gt", "ge")
ColumnKind = Literal["number", "text", "bool", "other"]
_BOOLEAN_WORDS = {"true": True, "false": False}
_NUMBER = re.compile(r"^\s*[-+]?\d+(\.\d+)?([eE][-+]?\d+)?\s*$")


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
    if value.strip().lstrip("-+").isdigit():
        return int(value)
    return float(value)


def coerce_for_column(condition: Condition, kind: ColumnKind) -> Any:
    """Return the condition's value as the column's kind compares it; the rule every backend uses.

    * a number column compares numbers: a string spelling one (``"2020"``, ``"+2020"``) becomes
      that number, a boolean becomes 1 or 0, anything else is refused;
    * a text column compares text: a number becomes its text (``75001`` -> ``"75001"``);
    * a boolean column takes booleans and the words ``"true"`` and ``"false"`` (any case);
    * `matches`, `notmatches`, `isnull` and `notnull` keep their value; other columns too.

    Raises:
        InvalidDataSourceError: the value cannot be compared with the column's kind.
    """
    if condition.operator not in (*SCALAR_OPERATORS, *LIST_OPERATORS) or kind == "other":
        return condition.value
    if isinstance(condition.value, list):
        return [_coerce_one(condition, kind, item) for item in condition.value]
    return _coerce_one(condition, kind, condition.value)


def _coerce_one(condition: Condition, kind: ColumnKind, value: Any) -> Any:
    if value is None:
        return None
    if kind == "text":
        is_number = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
        return str(value) if is_number else value
    if kind == "number":
        number = int(value) if isinstance(value, bool) else to_number(value)
        if isinstance(number, int | float | Decimal):
            return number
        raise InvalidDataSourceError(
            f'Permission on number column "{condition.column}" compares it with {value!r}, '
            "which is not a number: fix the permission's value or the parameter it comes from."
        )
    if isinstance(value, bool):
        result = value
    elif isinstance(value, str) and value.strip().lower() in _BOOLEAN_WORDS:
        result = _BOOLEAN_WORDS[value.strip().lower()]
    else:
        raise InvalidDataSourceError(
            f'Permission on boolean column "{condition.column}" compares it with {value!r}: '
            'use true or false (or the text "true" or "false").'
        )
    if condition.operator in RANGE_OPERATORS:
        raise InvalidDataSourceError(
            f'Permission on boolean column "{condition.column}" uses "{condition.operator}", '
            'which cannot order booleans: use "eq" or "ne".'
        )
    return result


def _parse_condition(tree: Mapping[str, Any], parameters: Mapping[str, Any] | None) -> Condition:
    unknown = set(tree) - {"column", "operator", "value"}
    if unknown or "column" not in tree or "operator" not in tree:
        raise _malformed(tree, 'a condition has exactly "column", "operator" and "value"')

    operator = tree["operator"]
    if operator not in OPERATORS:
        raise _malformed(tree, f'operator "{operator}" is not one of {", ".join(OPERATORS)}')

    column = render(tree["column"], parameters)
    value = _unquote(render(tree.get("value"), parameters))
    if operator in SCALAR_OPERATORS and isinstance(value, list | tuple | set | dict):
        raise _malformed(
            tree,
            f'"{operator}" compares with one value, not a {type(value).__name__}: '
            'use "in" or "nin" for a list',
        )
    if value is None and operator in ("eq", "ne"):
        raise _malformed(tree, f'"{operator}" needs a value: use "isnull" or "notnull" for nulls')
    if isinstance(value, bool) and operator in RANGE_OPERATORS:
        raise _malformed(tree, f'"{operator}" cannot order a boolean')
    if operator in LIST_OPERATORS:
        if not isinstance(value, list | tuple):
            raise _malformed(tree, f'"{operator}" needs a list value')
        value = [_unquote(item) for item in value]
        if any(isinstance(item, list | tuple | set | dict) for item in value):
            raise _malformed(tree, f'"{operator}" needs a flat list of values')
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
