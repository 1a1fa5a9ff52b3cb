"""Apply a permission tree to a DataFrame."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from toucan_connectors.errors import InvalidDataSourceError
from toucan_connectors.permissions.model import (
    ColumnKind,
    Condition,
    PermissionNode,
    coerce_for_column,
    parse_permissions,
)

_COMPARISONS: dict[str, Callable[[pd.Series, Any], pd.Series]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


def apply_permissions(
    df: pd.DataFrame,
    permissions: Mapping[str, Any] | None,
    parameters: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Return the rows of `df` that the permission tree allows, with a fresh 0..n-1 index."""
    if not permissions:
        return df
    mask = build_mask(df, parse_permissions(permissions, parameters))
    return df[mask.to_numpy(dtype=bool)].reset_index(drop=True)


def build_mask(df: pd.DataFrame, node: PermissionNode) -> pd.Series:
    """Return a boolean Series telling which rows of `df` match `node`."""
    if isinstance(node, Condition):
        return _condition_mask(df, node)

    masks = [build_mask(df, item) for item in node.items]
    if not masks:
        return pd.Series(node.kind == "and", index=df.index)
    result = masks[0]
    for mask in masks[1:]:
        result = (result & mask) if node.kind == "and" else (result | mask)
    return result


def _condition_mask(df: pd.DataFrame, condition: Condition) -> pd.Series:
    if condition.column not in df.columns:
        raise InvalidDataSourceError(
            f'Permission column "{condition.column}" is not in the result: '
            f"use one of {', '.join(map(str, df.columns))}."
        )
    series = df[condition.column]
    present = series.notna()
    kind = condition.operator
    if kind == "isnull":
        return ~present
    if kind == "notnull":
        return present
    if kind in ("matches", "notmatches"):
        matched = series.astype("string").str.contains(condition.value, regex=True).fillna(False)
        return (matched if kind == "matches" else ~matched) & present

    value = _to_timestamps(series, condition, coerce_for_column(condition, column_kind(series)))
    try:
        if kind in ("in", "nin"):
            found = series.isin(value) & present
            return found if kind == "in" else present & ~found
        compared = _COMPARISONS[kind](series, value)
    except TypeError as exc:
        raise InvalidDataSourceError(
            f'Permission on column "{condition.column}" ({series.dtype}) compares it with '
            f"{condition.value!r}, a value of another type ({exc}): fix the permission's value "
            "or the parameter it comes from."
        ) from exc
    return compared.fillna(False).astype(bool) & present


def column_kind(series: pd.Series) -> ColumnKind:
    """Tell how `coerce_for_column` should treat values compared with this column."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if isinstance(dtype, pd.StringDtype):
        return "text"
    if pd.api.types.is_object_dtype(dtype) and pd.api.types.infer_dtype(series) in (
        "string",
        "empty",
    ):
        return "text"
    if pd.api.types.is_object_dtype(dtype) and pd.api.types.infer_dtype(series) == "boolean":
        return "bool"
    return "other"


def _to_timestamps(series: pd.Series, condition: Condition, value: Any) -> Any:
    if isinstance(value, list):
        return [_to_timestamps(series, condition, item) for item in value]
    if not pd.api.types.is_datetime64_any_dtype(series.dtype) or not isinstance(value, str):
        return value
    try:
        timestamp = pd.Timestamp(value)
    except ValueError as exc:
        raise InvalidDataSourceError(
            f'Permission on date column "{condition.column}" compares it with {value!r}, '
            "which is not a date: write an ISO 8601 date such as 2024-01-31."
        ) from exc
    tz = getattr(series.dtype, "tz", None)
    if tz is not None and timestamp.tzinfo is None:
        return timestamp.tz_localize(tz)
    return timestamp
