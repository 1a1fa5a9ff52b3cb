"""Column kinds of SQL results and the frame built from rows of those kinds.

Each SQL connector maps its driver's type codes to a `ColumnType` (see `postgres/types.py`);
the frame is then built from the kinds alone, so an empty result has the same dtypes as a full
one. The kinds and their dtypes:

    integer       Int64 (nullable)
    big_integer   object holding exact Python ints (NUMERIC(p, 0) with p > 18)
    float         float64, missing values are NaN
    decimal       object holding exact decimal.Decimal values
    boolean       boolean (nullable)
    text          str
    datetime      datetime64[us], naive
    datetime_utc  datetime64[us, UTC], whatever the offsets of the rows
    timedelta     timedelta64[us]
    object        object, values as the driver gives them (json, arrays, times, bytes)
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from toucan_connectors.frames import unique_column_names

ColumnKind = Literal[
    "integer",
    "big_integer",
    "float",
    "decimal",
    "boolean",
    "text",
    "datetime",
    "datetime_utc",
    "timedelta",
    "object",
]

_NONE = type(None)


@dataclass(frozen=True)
class ColumnType:
    """A result column: its name, the provider's type name and the kind it converts to."""

    name: str
    db_type: str
    kind: ColumnKind


def numeric_kind(precision: int | None, scale: int | None) -> ColumnKind:
    """Return the kind of a NUMERIC/DECIMAL column under the documented policy.

    Scale 0: Int64 up to 18 digits, exact Python ints above. Scale above 0: float64 up to 15
    digits (each value prints back as stored), exact Decimals above. No precision: float64.
    """
    if precision is None or scale is None or precision <= 0 or precision > 1000:
        return "float"
    if scale == 0:
        return "integer" if precision <= 18 else "big_integer"
    return "float" if precision <= 15 else "decimal"


def build_frame(rows: Sequence[Sequence[Any]], columns: Sequence[ColumnType]) -> pd.DataFrame:
    """Return a DataFrame of `rows` with one column per `ColumnType`, names made unique."""
    names = unique_column_names(column.name for column in columns)
    data = {
        name: convert_values([row[position] for row in rows], column.kind)
        for position, (name, column) in enumerate(zip(names, columns, strict=True))
    }
    return pd.DataFrame(data, columns=names, index=pd.RangeIndex(len(rows)))


def convert_values(values: list[Any], kind: ColumnKind) -> Any:
    """Return `values` as an array of the dtype of `kind`."""
    return _CONVERTERS[kind](values)


# Each converter tries one vectorised numpy or pandas constructor over the whole list first, and
# falls back to converting value by value only when a value needs it (a None, a mixed type), so
# both give the same array.


def _to_integers(values: list[Any]) -> Any:
    try:
        data = np.fromiter(map(int, values), dtype="int64", count=len(values))
    except (TypeError, OverflowError):
        # A missing value (int(None) fails) or a value past int64: convert one value at a time.
        return pd.array([None if v is None else int(v) for v in values], dtype="Int64")
    return pd.arrays.IntegerArray(data, np.zeros(len(data), dtype=bool))


def _to_big_integers(values: list[Any]) -> Any:
    return _object_array([None if v is None else int(v) for v in values])


def _to_floats(values: list[Any]) -> Any:
    try:
        return np.fromiter(map(float, values), dtype="float64", count=len(values))
    except TypeError:
        # float(None) fails: missing values become NaN one value at a time.
        return np.array([np.nan if v is None else float(v) for v in values], dtype="float64")


def _to_decimals(values: list[Any]) -> Any:
    return _object_array(
        [v if v is None or isinstance(v, decimal.Decimal) else decimal.Decimal(v) for v in values]
    )


def _to_booleans(values: list[Any]) -> Any:
    if _types_of(values) <= {bool, _NONE}:
        return pd.array(values, dtype="boolean")
    return pd.array([None if v is None else bool(v) for v in values], dtype="boolean")


def _to_text(values: list[Any]) -> Any:
    if not _types_of(values) <= {str, _NONE}:
        values = [None if v is None else str(v) for v in values]
    return pd.array(values, dtype="str")


def _to_datetimes(values: list[Any]) -> Any:
    # Every date Python holds is a real one: drivers give 'infinity' as None (see
    # postgres/types.py), so 0001-01-01 and 9999-12-31 are kept.
    if _types_of(values) <= {datetime.date, _NONE}:
        return pd.array(values, dtype="datetime64[us]")
    return pd.array(pd.Series(values, dtype="datetime64[us]"))


def _to_utc_datetimes(values: list[Any]) -> Any:
    series = pd.Series(values, dtype=object)
    return pd.array(pd.to_datetime(series, utc=True).astype("datetime64[us, UTC]"))


def _to_timedeltas(values: list[Any]) -> Any:
    return pd.array(pd.Series(values, dtype="timedelta64[us]"))


def _to_objects(values: list[Any]) -> Any:
    return _object_array([bytes(v) if isinstance(v, memoryview) else v for v in values])


def _types_of(values: list[Any]) -> set[type]:
    return set(map(type, values))


def _object_array(values: list[Any]) -> Any:
    # Filled item by item: numpy would turn a list of equal-length lists into a 2-D array.
    array = np.empty(len(values), dtype=object)
    for position, value in enumerate(values):
        array[position] = value
    return array


_CONVERTERS: dict[ColumnKind, Callable[[list[Any]], Any]] = {
    "integer": _to_integers,
    "big_integer": _to_big_integers,
    "float": _to_floats,
    "decimal": _to_decimals,
    "boolean": _to_booleans,
    "text": _to_text,
    "datetime": _to_datetimes,
    "datetime_utc": _to_utc_datetimes,
    "timedelta": _to_timedeltas,
    "object": _to_objects,
}
