"""Turn BSON documents into DataFrame columns, and name their types for `get_model`."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from toucan_connectors.errors import InvalidDataSourceError

logger = logging.getLogger(__name__)

__all__ = ["bson_type_name", "documents_to_frame", "flatten_document", "to_python"]

_INT32_MAX = 2**31 - 1


def documents_to_frame(
    documents: Iterable[Mapping[str, Any]], flatten: bool = False
) -> pd.DataFrame:
    """Build a frame from documents as they stream in, one column per field.

    Columns appear in the order fields are first seen. A field missing from some documents is
    missing there; a field that is null everywhere is kept. Values are converted one document
    at a time, so the documents themselves are never all held in memory.
    """
    columns: dict[str, list[Any]] = {}
    rows = 0
    for document in documents:
        fields = flatten_document(document) if flatten else document
        for key, value in fields.items():
            column = columns.get(key)
            if column is None:
                column = columns[key] = [None] * rows
            column.append(to_python(value))
        rows += 1
        for column in columns.values():
            if len(column) < rows:
                column.append(None)

    data = {key: _to_array(columns.pop(key)) for key in list(columns)}
    return pd.DataFrame(data, index=pd.RangeIndex(rows))


def flatten_document(document: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Return the document with nested documents spread into dotted keys (`address.city`)."""
    flat: dict[str, Any] = {}
    for key, value in document.items():
        name = f"{prefix}{key}"
        spread = flatten_document(value, f"{name}.") if isinstance(value, Mapping) and value else {}
        for column, item in (spread or {name: value}).items():
            if column in flat:
                raise InvalidDataSourceError(
                    f'A document has a nested field and a field both named "{column}", which '
                    "flattening would merge into one column: read it without `flatten`, or "
                    "rename one with a `$project` stage."
                )
            flat[column] = item
    return flat


def to_python(value: Any) -> Any:
    """Return a BSON value as plain Python: ObjectId as its hex string, Decimal128 as Decimal.

    A DBRef becomes a `{"$ref": ..., "$id": ...}` document (with `$db` when it names one).
    """
    if isinstance(value, Mapping):
        return {key: to_python(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_python(item) for item in value]
    kind = type(value).__name__
    if kind == "ObjectId":
        return str(value)
    if kind == "DBRef":
        reference = {"$ref": value.collection, "$id": to_python(value.id)}
        return reference | ({"$db": value.database} if value.database else {})
    if kind == "Decimal128":
        return value.to_decimal()
    return value


def bson_type_name(value: Any) -> str:
    """Return the MongoDB alias of a value's BSON type (`string`, `int`, `objectId`, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if -_INT32_MAX - 1 <= value <= _INT32_MAX else "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, datetime.datetime):
        return "date"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bytes):
        return "binData"
    names = {"ObjectId": "objectId", "Decimal128": "decimal", "Binary": "binData"}
    kind = type(value).__name__
    return names.get(kind, kind[:1].lower() + kind[1:])


def _to_array(values: list[Any]) -> Any:
    # pandas turns integers with a gap into float64, which loses large values: use the nullable
    # integer and boolean dtypes instead, as the SQL connectors do.
    present = [value for value in values if value is not None]
    if present and len(present) < len(values):
        if all(isinstance(value, bool) for value in present):
            return pd.array(values, dtype="boolean")
        if all(isinstance(value, int) and not isinstance(value, bool) for value in present):
            try:
                return pd.array(values, dtype="Int64")
            except (OverflowError, TypeError, ValueError):
                return pd.array(values, dtype=object)
    return pd.Series(values).array
