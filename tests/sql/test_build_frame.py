"""build_frame gives the same dtypes and values on its vectorised and value-by-value paths."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from toucan_connectors.sql.types import ColumnKind, ColumnType, build_frame

DATE = datetime.date(2024, 2, 28)
MOMENT = datetime.datetime(2024, 2, 28, 10, 30, 0, 123456)
LAST_MIDNIGHT = datetime.datetime(9999, 12, 31)


def frame_of(values: list[Any], kind: ColumnKind) -> pd.DataFrame:
    """Build a one-column frame named "v" of `kind` from `values`."""
    return build_frame([(value,) for value in values], [ColumnType("v", "t", kind)])


@pytest.mark.parametrize(
    ("values", "kind", "expected"),
    [
        pytest.param([1, 2**62], "integer", pd.array([1, 2**62], dtype="Int64"), id="ints"),
        pytest.param([1, None], "integer", pd.array([1, None], dtype="Int64"), id="null-ints"),
        pytest.param(
            [decimal.Decimal("7"), 8], "integer", pd.array([7, 8], dtype="Int64"), id="decimal-ints"
        ),
        pytest.param(
            [decimal.Decimal("1.25"), 2], "float", np.array([1.25, 2.0]), id="decimal-floats"
        ),
        pytest.param([0.5, None], "float", np.array([0.5, np.nan]), id="null-floats"),
        pytest.param(["é", None], "text", pd.array(["é", None], dtype="str"), id="null-text"),
        pytest.param([5, "a"], "text", pd.array(["5", "a"], dtype="str"), id="mixed-text"),
        pytest.param(
            [True, None], "boolean", pd.array([True, None], dtype="boolean"), id="null-booleans"
        ),
        pytest.param(
            [1, 0], "boolean", pd.array([True, False], dtype="boolean"), id="int-booleans"
        ),
        pytest.param(
            [DATE, None],
            "datetime",
            pd.array([pd.Timestamp("2024-02-28"), None], dtype="datetime64[us]"),
            id="null-dates",
        ),
        pytest.param(
            [DATE, datetime.date.max, datetime.date.min],
            "datetime",
            pd.array(
                [
                    pd.Timestamp("2024-02-28"),
                    pd.Timestamp("9999-12-31"),
                    pd.Timestamp("0001-01-01"),
                ],
                dtype="datetime64[us]",
            ),
            id="extreme-dates-kept",
        ),
        pytest.param(
            [MOMENT, LAST_MIDNIGHT, datetime.datetime.max],
            "datetime",
            pd.array(
                [
                    pd.Timestamp(MOMENT),
                    pd.Timestamp(LAST_MIDNIGHT),
                    pd.Timestamp(datetime.datetime.max),
                ],
                dtype="datetime64[us]",
            ),
            id="extreme-timestamps-kept",
        ),
        pytest.param(
            [DATE, MOMENT],
            "datetime",
            pd.array([pd.Timestamp("2024-02-28"), pd.Timestamp(MOMENT)], dtype="datetime64[us]"),
            id="dates-and-timestamps",
        ),
    ],
)
def test_build_frame_converts_each_kind(values: list[Any], kind: ColumnKind, expected: Any) -> None:
    """Each kind gives its dtype and exact values, with and without missing or mixed values."""
    pd.testing.assert_frame_equal(frame_of(values, kind), pd.DataFrame({"v": expected}))


def test_build_frame_keeps_integers_past_int64_an_error() -> None:
    """An integer too large for Int64 fails as it did before the vectorised path."""
    with pytest.raises((OverflowError, TypeError)):
        frame_of([2**64], "integer")


def test_build_frame_reads_columns_by_position() -> None:
    """Each column takes its own position of every row, duplicate names made unique."""
    columns = [ColumnType("a", "int4", "integer"), ColumnType("a", "text", "text")]

    df = build_frame([(1, "x"), (2, "y")], columns)

    expected = pd.DataFrame(
        {"a": pd.array([1, 2], dtype="Int64"), "a_1": pd.array(["x", "y"], dtype="str")}
    )
    pd.testing.assert_frame_equal(df, expected)
