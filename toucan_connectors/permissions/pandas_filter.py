"""Apply a permission tree to a DataFrame."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from toucan_connectors.errors import InvalidDataSourceError
from toucan_connectors.permissions.model import (
    Condition,
    PermissionNode,
    parse_permissions,
    to_number,
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
    value = _coerce(series, condition.value)
    kind = condition.operator

    if kind == "isnull":
        return ~present
    if kind == "notnull":
        return present
    if kind in ("in", "nin"):
        found = series.isin(value) & present
        return found if kind == "in" else present & ~found
    if kind in ("matches", "notmatches"):
        matched = series.astype("string").str.contains(value, regex=True).fillna(False)
        return (matched if kind == "matches" else ~matched) & present

    compared = _COMPARISONS[kind](series, value)
    return compared.fillna(False).astype(bool) & present


def _coerce(series: pd.Series, value: Any) -> Any:
    if isinstance(value, list):
        return [_coerce(series, item) for item in value]
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return to_number(value)
    if pd.api.types.is_datetime64_any_dtype(series.dtype) and isinstance(value, str):
        timestamp = pd.Timestamp(value)
        tz = getattr(series.dtype, "tz", None)
        if tz is not None and timestamp.tzinfo is None:
            return timestamp.tz_localize(tz)
        return timestamp
    return value
