"""Translate a permission tree into a MongoDB `$match` document."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from toucan_connectors.dependencies import import_optional
from toucan_connectors.errors import InvalidDataSourceError
from toucan_connectors.permissions.model import (
    RANGE_OPERATORS,
    Condition,
    PermissionNode,
    parse_permissions,
    to_number,
)

_RANGE = {"lt": "$lt", "le": "$lte", "gt": "$gt", "ge": "$gte"}
# The extended ISO 8601 forms only: `fromisoformat` also reads `20200105`, which is a number.
_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)
_OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def build_mongo_match(
    permissions: Mapping[str, Any], parameters: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Return the `$match` document equivalent to the permission tree.

    MongoDB has no column types to coerce by, so a string spelling a number or an ISO 8601
    date is compared as that number or UTC datetime by range operators, and equality operators
    accept either spelling; a 24-digit hex string also matches as an ObjectId. An integer
    outside the signed 64-bit range, which BSON cannot hold, is refused.

    Raises:
        InvalidDataSourceError: the tree is malformed, or compares with an integer out of range.
    """
    return _translate(parse_permissions(permissions, parameters))


def _translate(node: PermissionNode) -> dict[str, Any]:
    if isinstance(node, Condition):
        return {node.column: _operator_document(node)}
    if not node.items:
        # No value is in an empty list, whatever fields the documents have (even no `_id`).
        return {} if node.kind == "and" else {"_id": {"$in": []}}
    return {f"${node.kind}": [_translate(item) for item in node.items]}


def _operator_document(condition: Condition) -> dict[str, Any]:
    value = condition.value
    operator = condition.operator
    if operator in RANGE_OPERATORS:
        bound = _to_date(value) or to_number(value)
        return {_RANGE[operator]: _checked_integer(condition.column, bound)}

    match operator:
        case "eq":
            return {"$in": _all_spellings(condition.column, [value])}
        case "ne":
            return {"$nin": [*_all_spellings(condition.column, [value]), None]}
        case "in":
            return {"$in": _all_spellings(condition.column, value)}
        case "nin":
            return {"$nin": [*_all_spellings(condition.column, value), None]}
        case "matches":
            return {"$regex": value}
        case "notmatches":
            return {"$not": {"$regex": value}, "$ne": None}
        case "isnull":
            return {"$eq": None}
        case _:
            return {"$ne": None}


def _all_spellings(column: str, values: list[Any]) -> list[Any]:
    spelled: list[Any] = []
    for value in values:
        spelled.append(_checked_integer(column, value))
        if not isinstance(value, str):
            continue
        number = to_number(value)
        # A string spelling a huge integer still matches as text, just not as a number.
        if number is not value and not _is_out_of_range(number):
            spelled.append(number)
        date = _to_date(value)
        if date is not None:
            spelled.append(date)
        if _OBJECT_ID.match(value):
            bson = import_optional("bson", connector="MongoDB", extra="mongo", package="pymongo")
            spelled.append(bson.ObjectId(value))
    return spelled


def _to_date(value: Any) -> datetime.datetime | None:
    """Return an ISO 8601 date or datetime string as a UTC datetime (naive ones read as UTC)."""
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.astimezone(datetime.timezone.utc)


def _checked_integer(column: str, value: Any) -> Any:
    if _is_out_of_range(value):
        raise InvalidDataSourceError(
            f'Permission on "{column}" compares with {value}, an integer outside the signed '
            "64-bit range that MongoDB stores: use a smaller bound."
        )
    return value


def _is_out_of_range(value: Any) -> bool:
    return isinstance(value, int) and not _INT64_MIN <= value <= _INT64_MAX
