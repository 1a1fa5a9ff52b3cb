"""Translate a permission tree into a MongoDB `$match` document."""

from __future__ import annotations

import datetime
import decimal
import re
from collections.abc import Callable, Mapping
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
_BOOLEAN_WORDS = {"true": True, "false": False}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def build_mongo_match(
    permissions: Mapping[str, Any], parameters: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Return the `$match` document equivalent to the permission tree.

    MongoDB fields have no type to coerce the value by (`coerce_for_column`), so the document
    matches every spelling the value has under that rule: equality operators take a number and
    its text, a string spelling a number, an ISO 8601 date (as a UTC datetime), `true`/`false`
    or a 24-digit hex ObjectId and that value; range operators compare each spelling of the
    bound with the fields of its type (numbers first, then dates, then text); `matches` and
    `notmatches` also read number fields as their text. An integer outside the signed 64-bit
    range, which BSON cannot hold, is refused.

    Raises:
        InvalidDataSourceError: the tree is malformed, or compares with an integer out of range.
    """
    return _translate(parse_permissions(permissions, parameters))


def to_bson_value(value: Any, subject: Callable[[Any], str]) -> Any:
    """Return `value` in types BSON stores, converting nested values too.

    A date becomes its UTC midnight, a `Decimal` a `Decimal128`, a NumPy scalar its Python value
    and a tuple a list; `None`, booleans, numbers, strings, bytes, datetimes and BSON's own
    types are kept. `subject(bad)` names where an unstorable value was found, for the error.

    Raises:
        InvalidDataSourceError: a value has a type BSON cannot store (a set, a UUID...).
    """
    if value is None or isinstance(value, bool | int | float | str | bytes | datetime.datetime):
        return value
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.timezone.utc)
    if isinstance(value, Mapping):
        return {key: to_bson_value(item, subject) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_bson_value(item, subject) for item in value]
    if isinstance(value, decimal.Decimal):
        return _to_decimal128(value, subject)
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return _from_numpy(value, subject)
    if type(value).__module__.startswith("bson") or isinstance(value, re.Pattern):
        return value
    raise InvalidDataSourceError(
        f"{subject(value)} is a {type(value).__name__} ({value!r}), which MongoDB cannot store: "
        "give a string, a number, a boolean, a date, a list or a document instead."
    )


def _to_decimal128(value: decimal.Decimal, subject: Callable[[Any], str]) -> Any:
    bson = import_optional("bson", connector="MongoDB", extra="mongo", package="pymongo")
    try:
        return bson.Decimal128(value)
    except decimal.DecimalException as exc:
        raise InvalidDataSourceError(
            f"{subject(value)} is the decimal {value}, which has more digits than MongoDB's "
            "Decimal128 keeps (34): round it first."
        ) from exc


def _from_numpy(value: Any, subject: Callable[[Any], str]) -> Any:
    if type(value).__name__ == "datetime64":
        pd = import_optional("pandas", connector="MongoDB", extra="mongo")
        return to_bson_value(pd.Timestamp(value).to_pydatetime(), subject)
    return to_bson_value(value.item(), subject)


def _translate(node: PermissionNode) -> dict[str, Any]:
    if isinstance(node, Condition):
        return _condition_document(node)
    if not node.items:
        # No value is in an empty list, whatever fields the documents have (even no `_id`).
        return {} if node.kind == "and" else {"_id": {"$in": []}}
    return {f"${node.kind}": [_translate(item) for item in node.items]}


def _condition_document(condition: Condition) -> dict[str, Any]:
    column = condition.column
    value = to_bson_value(condition.value, lambda _: f'The value of the permission on "{column}"')
    operator = condition.operator
    if operator in RANGE_OPERATORS:
        return _range_document(column, _RANGE[operator], value)

    match operator:
        case "eq":
            return {column: {"$in": _all_spellings(column, [value])}}
        case "ne":
            return {column: {"$nin": [*_all_spellings(column, [value]), None]}}
        case "in":
            return {column: {"$in": _all_spellings(column, value)}}
        case "nin":
            return {column: {"$nin": [*_all_spellings(column, value), None]}}
        case "matches":
            return _matches_document(column, value)
        case "notmatches":
            return {column: {"$ne": None}, "$nor": [_matches_document(column, value)]}
        case "isnull":
            return {column: {"$eq": None}}
        case _:
            return {column: {"$ne": None}}


def _range_document(column: str, operator: str, value: Any) -> dict[str, Any]:
    """Compare with every spelling of the bound, each against the fields of its own type."""
    bounds = _range_bounds(column, value)
    if len(bounds) == 1:
        return {column: {operator: bounds[0][0]}}
    # The number comes first: it is the bound a number field (C13's `year`) is compared with.
    return {"$or": [{column: {operator: bound, "$type": kind}} for bound, kind in bounds]}


def _range_bounds(column: str, value: Any) -> list[tuple[Any, str]]:
    if _is_number(value):
        return [(_checked_integer(column, value), "number"), (str(value), "string")]
    if not isinstance(value, str):
        return [(value, "")]

    bounds: list[tuple[Any, str]] = []
    number = to_number(value)
    if number is not value:
        bounds.append((_checked_integer(column, number), "number"))
    date = _to_date(value)
    if date is not None:
        bounds.append((date, "date"))
    bounds.append((value, "string"))
    return bounds


def _matches_document(column: str, pattern: str) -> dict[str, Any]:
    """Match text fields with the pattern, and number fields by their text (as on a frame)."""
    # `$cond` rather than `$and`: the stand-in's `$and` does not stop at the first false item,
    # and `$toString` of a document or an array is an error on the server.
    number_text = {
        "$cond": [
            {"$isNumber": f"${column}"},
            {"$regexMatch": {"input": {"$toString": f"${column}"}, "regex": pattern}},
            False,
        ]
    }
    return {"$or": [{column: {"$regex": pattern}}, {"$expr": number_text}]}


def _all_spellings(column: str, values: list[Any]) -> list[Any]:
    spelled: list[Any] = []
    for value in values:
        spelled.append(_checked_integer(column, value))
        if _is_number(value):
            spelled.append(str(value))
        if not isinstance(value, str):
            continue
        number = to_number(value)
        # A string spelling a huge integer still matches as text, just not as a number.
        if number is not value and not _is_out_of_range(number):
            spelled.append(number)
        if value.strip().lower() in _BOOLEAN_WORDS:
            spelled.append(_BOOLEAN_WORDS[value.strip().lower()])
        date = _to_date(value)
        if date is not None:
            spelled.append(date)
        if _OBJECT_ID.match(value):
            bson = import_optional("bson", connector="MongoDB", extra="mongo", package="pymongo")
            spelled.append(bson.ObjectId(value))
    return spelled


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float) or type(value).__name__ == "Decimal128"


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
