"""One date rule on both paths and in slices: real dates kept, infinity and out of range missing."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.fast.conftest import source
from toucan_connectors.postgres import PostgresConnector

QUERY = (
    "SELECT d, d::timestamp AS ts, d::timestamptz AS tz FROM (VALUES "
    "(1, '9999-12-31'::date), (2, '0001-01-01'::date), (3, '2024-01-01'::date), "
    "(4, 'infinity'::date), (5, '-infinity'::date), (6, '0044-03-15 BC'::date), "
    "(7, '12000-01-01'::date), (8, NULL)) AS v(k, d) ORDER BY k"
)


def _expected() -> pd.DataFrame:
    days = ["9999-12-31", "0001-01-01", "2024-01-01"] + [None] * 5
    naive = pd.array([None if d is None else pd.Timestamp(d) for d in days], "datetime64[us]")
    aware = pd.Series(naive).dt.tz_localize("UTC").array
    return pd.DataFrame({"d": naive, "ts": naive, "tz": aware})


@pytest.mark.parametrize("read", ["get_df", "get_slice"])
def test_extreme_dates_follow_one_rule(connector: PostgresConnector, pg_admin: object, read: str):
    ds = source(QUERY)

    df = connector.get_df(ds) if read == "get_df" else connector.get_slice(ds, limit=20).df

    pd.testing.assert_frame_equal(df, _expected())
