"""Normalisation applied to every DataFrame a connector returns.

Rules (documented in doc/core.md):

* column labels are strings; a missing label becomes ``column_<position>``;
* duplicate labels get a ``_<n>`` suffix on their second and later occurrences
  (``a, a, a`` -> ``a, a_1, a_2``), skipping names the result already has;
* timezone-aware datetimes are converted to UTC, keeping their unit; naive ones are kept;
* the index runs 0..n-1.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import pandas as pd

from toucan_connectors.dependencies import import_optional
from toucan_connectors.errors import UnsupportedFeatureError

ReturnType = Literal["pandas", "arrow", "polars"]


def unique_column_names(names: Iterable[object]) -> list[str]:
    """Return string names, suffixing duplicates with `_1`, `_2`, ... deterministically."""
    labels = [
        f"column_{position}" if _is_missing_label(name) else str(name)
        for position, name in enumerate(names)
    ]
    taken = set(labels)
    seen: set[str] = set()
    unique: list[str] = []
    for label in labels:
        candidate = label
        counter = 0
        while candidate in seen or (counter and candidate in taken):
            counter += 1
            candidate = f"{label}_{counter}"
        seen.add(candidate)
        unique.append(candidate)
    return unique


def normalize_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Apply the normalisation rules above and return the (possibly new) frame."""
    names = unique_column_names(df.columns)
    if list(df.columns) != names:
        df = df.set_axis(names, axis=1)

    converted: dict[int, pd.Series] = {}
    for position, dtype in enumerate(df.dtypes):
        if isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) != "UTC":
            converted[position] = df.iloc[:, position].dt.tz_convert("UTC")
        elif pd.api.types.is_object_dtype(dtype) and _holds_aware_datetimes(df.iloc[:, position]):
            converted[position] = pd.to_datetime(df.iloc[:, position], utc=True)
    if converted:
        # A shallow copy first: the connector's own frame must not change under it.
        df = df.copy(deep=False)
        for position, series in converted.items():
            df.isetitem(position, series.array)

    if not isinstance(df.index, pd.RangeIndex) or df.index.start != 0 or df.index.step != 1:
        df = df.reset_index(drop=True)
    return df


def _is_missing_label(name: object) -> bool:
    if name is None or name == "":
        return True
    return isinstance(name, float) and name != name  # NaN, which pandas puts for a None label


def _holds_aware_datetimes(values: Sequence[object] | pd.Series) -> bool:
    present = [value for value in values if value is not None and value is not pd.NaT]
    return bool(present) and all(
        isinstance(value, datetime.datetime) and value.tzinfo is not None for value in present
    )


def convert_frame(df: pd.DataFrame, return_type: ReturnType, connector: str) -> Any:
    """Return `df` as a pandas DataFrame, a pyarrow Table or a polars DataFrame.

    Raises:
        MissingDependencyError: pyarrow (the `fast` extra) or polars is not installed.
        UnsupportedFeatureError: a column holds values Arrow cannot type (mixed objects).
    """
    if return_type == "pandas":
        return df
    if return_type not in ("arrow", "polars"):
        raise ValueError(f'return_type must be "pandas", "arrow" or "polars", not {return_type!r}')
    pa = import_optional("pyarrow", connector=connector, extra="fast")
    try:
        table = pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        raise UnsupportedFeatureError(
            f'The "{connector}" connector cannot return this result as Arrow ({exc}): '
            'use return_type="pandas"; see doc/fast_path.md.'
        ) from exc
    if return_type == "arrow":
        return table
    polars = import_optional("polars", connector=connector, extra="polars")
    return polars.from_arrow(table)
