"""Translate a permission tree into a MongoDB `$match` document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from toucan_connectors.permissions.model import (
    RANGE_OPERATORS,
    Condition,
    PermissionNode,
    parse_permissions,
    to_number,
)

_RANGE = {"lt": "$lt", "le": "$lte", "gt": "$gt", "ge": "$gte"}


def build_mongo_match(
    permissions: Mapping[str, Any], parameters: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Return the `$match` document equivalent to the permission tree.

    MongoDB has no column types to coerce by, so a string spelling a number is compared as a
    number by range operators, and equality operators accept either the string or the number.
    """
    return _translate(parse_permissions(permissions, parameters))


def _translate(node: PermissionNode) -> dict[str, Any]:
    if isinstance(node, Condition):
        return {node.column: _operator_document(node)}
    if not node.items:
        return {} if node.kind == "and" else {"_id": {"$exists": False, "$eq": None}}
    return {f"${node.kind}": [_translate(item) for item in node.items]}


def _operator_document(condition: Condition) -> dict[str, Any]:
    value = condition.value
    operator = condition.operator
    if operator in RANGE_OPERATORS:
        return {_RANGE[operator]: to_number(value)}

    match operator:
        case "eq":
            return {"$in": _both_spellings([value])}
        case "ne":
            return {"$nin": [*_both_spellings([value]), None]}
        case "in":
            return {"$in": _both_spellings(value)}
        case "nin":
            return {"$nin": [*_both_spellings(value), None]}
        case "matches":
            return {"$regex": value}
        case "notmatches":
            return {"$not": {"$regex": value}, "$ne": None}
        case "isnull":
            return {"$eq": None}
        case _:
            return {"$ne": None}


def _both_spellings(values: list[Any]) -> list[Any]:
    spelled: list[Any] = []
    for value in values:
        spelled.append(value)
        number = to_number(value)
        if number is not value:
            spelled.append(number)
    return spelled
