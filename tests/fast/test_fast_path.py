"""The Arrow fast path gives exactly the standard path's frames, streams, and shares safely."""

from __future__ import annotations

import datetime
import logging
import threading
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tests.fast.conftest import WIDE_UUID, source
from toucan_connectors.errors import ProviderError, ToucanConnectorError
from toucan_connectors.postgres import PostgresConnector
from toucan_connectors.sql import arrow_reader

GAVE_UP = "The fast path gave up"

# Each expression is read as three rows, the second one NULL.
TYPE_SUITE = {
    "smallint": "(g * 7)::smallint",
    "integer": "(g * 100000)::integer",
    "bigint": "9007199254740993::bigint + g",
    "numeric-10-2": "(g * 1.25)::numeric(10,2)",
    "numeric-unbounded": "(g / 3.0)::numeric",
    "numeric-20-0": "305184080441754059::numeric(20,0) + g",
    "numeric-18-4": "(g * 12345678901.2345)::numeric(18,4)",
    "real": "(g * 1.1)::real",
    "double": "(g * 1.1)::double precision",
    "boolean": "g > 1",
    "text": "repeat('é', g)",
    "varchar": "('v' || g)::varchar(5)",
    "char": "('c' || g)::char(4)",
    "uuid": f"'{WIDE_UUID}'::uuid",
    "date": "date '2024-02-28' + g",
    "date-infinity": "CASE WHEN g = 3 THEN 'infinity'::date ELSE date '2024-01-01' END",
    "timestamp": "timestamp '2024-01-01 10:00:00.123456' + g * interval '1 hour'",
    "timestamp-minus-infinity": "'-infinity'::timestamp",
    "timestamptz": "timestamptz '2024-03-31 01:30:00+02' + g * interval '1 day'",
    "interval": "g * interval '1 month 2 days 03:04:05.000006'",
    "interval-years": "g * interval '1 year 1 month'",
    "interval-negative-months": "g * interval '-14 months 3 days'",
    "json": """('{"k": ' || g || ', "l": [1, "x"]}')::json""",
    "jsonb": """('{"k": ' || g || '}')::jsonb""",
    "bytea": "decode('00ff0' || g, 'hex')",
    "time": "time '10:30:00' + g * interval '1 minute'",
}

# Read on the standard path by a fast connector (the driver cannot give the same values).
FALLBACK_SUITE = {
    "text-array": "ARRAY['a', NULL, 'b' || g]",
    "int-array": "ARRAY[g, g + 1]::int[]",
    "empty-array": "'{}'::bigint[]",
    "int-2d-array": "ARRAY[[g, 2], [3, 4]]",
    "oid": "(4294967295 - g)::oid",
}


def _suite_query(expression: str) -> str:
    return (
        f"SELECT g AS id, CASE WHEN g = 2 THEN NULL ELSE {expression} END AS v "
        "FROM generate_series(1, 3) AS g ORDER BY g"
    )


def _frame_or_error(connector: PostgresConnector, query: str) -> Any:
    try:
        return connector.get_df(source(query))
    except ProviderError as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize(
    "expression",
    [*TYPE_SUITE.values(), *FALLBACK_SUITE.values()],
    ids=[*TYPE_SUITE.keys(), *FALLBACK_SUITE.keys()],
)
def test_fast_path_frame_equals_standard_frame(
    fast: PostgresConnector, standard: PostgresConnector, expression: str
) -> None:
    fast_result = _frame_or_error(fast, _suite_query(expression))
    standard_result = _frame_or_error(standard, _suite_query(expression))
    if isinstance(standard_result, str):
        assert fast_result == standard_result
    else:
        pd.testing.assert_frame_equal(fast_result, standard_result)


@pytest.mark.parametrize("expression", FALLBACK_SUITE.values(), ids=FALLBACK_SUITE.keys())
def test_fast_path_falls_back_where_the_driver_differs(
    fast: PostgresConnector, expression: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="toucan_connectors.sql.arrow_reader"):
        _frame_or_error(fast, _suite_query(expression))
    assert len([r for r in caplog.records if GAVE_UP in r.message]) == 1


def test_intervals_count_365_day_years_and_30_day_months(connector: PostgresConnector) -> None:
    query = (
        "SELECT v::interval AS v FROM (VALUES (1, '1 year'), (2, '-14 months 3 days'), "
        "(3, '1 year 1 month'), (4, '-1 year'), (5, '100 years 00:00:01')) AS t(k, v) ORDER BY k"
    )
    days = [365, -422, 395, -365]
    values = [pd.Timedelta(days=d) for d in days] + [pd.Timedelta(days=36500, seconds=1)]
    expected = pd.DataFrame({"v": pd.array(values, dtype="timedelta64[us]")})
    pd.testing.assert_frame_equal(connector.get_df(source(query)), expected)


def test_two_dimensional_arrays_keep_their_shape(connector: PostgresConnector) -> None:
    df = connector.get_df(source("SELECT ARRAY[[1, 2], [3, 4]] AS v, ARRAY['a'] AS w"))
    column = np.empty(1, dtype=object)
    column[0] = [[1, 2], [3, 4]]
    pd.testing.assert_frame_equal(df, pd.DataFrame({"v": column, "w": [["a"]]}))


def test_oid_above_two_to_the_31_stays_unsigned(connector: PostgresConnector) -> None:
    df = connector.get_df(source("SELECT 4294967295::oid AS v"))
    pd.testing.assert_frame_equal(df, pd.DataFrame({"v": pd.array([4294967295], dtype="Int64")}))


@pytest.mark.parametrize("precision", [10, 20], ids=["int64", "exact-int"])
def test_nan_in_integer_numeric_gives_the_standard_result(
    fast: PostgresConnector,
    standard: PostgresConnector,
    precision: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    query = f"SELECT v::numeric({precision},0) AS v FROM (VALUES ('1'), ('NaN')) AS t(v)"
    with caplog.at_level(logging.DEBUG, logger="toucan_connectors.sql.arrow_reader"):
        fast_result = _frame_or_error(fast, query)
    assert fast_result == _frame_or_error(standard, query)
    assert len([r for r in caplog.records if GAVE_UP in r.message]) == 1


def test_interval_beyond_pandas_range_falls_back(
    fast: PostgresConnector, standard: PostgresConnector, caplog: pytest.LogCaptureFixture
) -> None:
    query = "SELECT '178000000 years'::interval AS v"
    with caplog.at_level(logging.DEBUG, logger="toucan_connectors.sql.arrow_reader"):
        with pytest.raises(ToucanConnectorError) as on_fast:
            fast.get_df(source(query))
    with pytest.raises(ToucanConnectorError) as on_standard:
        standard.get_df(source(query))
    assert (type(on_fast.value), str(on_fast.value)) == (
        type(on_standard.value),
        str(on_standard.value),
    )
    assert [r.message for r in caplog.records if GAVE_UP in r.message] == [
        "The fast path gave up (an interval is beyond pandas' range "
        "(Python int too large to convert to C long)); using the standard path"
    ]


@pytest.mark.parametrize("expression", TYPE_SUITE.values(), ids=TYPE_SUITE.keys())
def test_fast_path_reads_type_without_falling_back(
    fast: PostgresConnector, expression: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="toucan_connectors.sql.arrow_reader"):
        fast.get_df(source(_suite_query(expression)))
    assert [r.message for r in caplog.records if GAVE_UP in r.message] == []


def test_fast_path_equals_standard_on_empty_result(
    fast: PostgresConnector, standard: PostgresConnector
) -> None:
    query = "SELECT 1::bigint AS a, 1.5::numeric(10,2) AS b, 'x'::text AS c, now() AS d LIMIT 0"
    data_source = source(query)
    pd.testing.assert_frame_equal(fast.get_df(data_source), standard.get_df(data_source))


def test_fast_path_equals_standard_with_bound_parameters(
    fast: PostgresConnector, standard: PostgresConnector
) -> None:
    query = (
        "SELECT g FROM generate_series(1, 10) AS g "
        "WHERE g >= {{ low }} AND CAST(g AS text) IN {{ names }} ORDER BY g"
    )
    data_source = source(query, low=3, names=["2", "4", "9"])
    pd.testing.assert_frame_equal(fast.get_df(data_source), standard.get_df(data_source))


def test_fast_path_keeps_duplicate_and_unnamed_columns(fast: PostgresConnector) -> None:
    df = fast.get_df(source("SELECT 1 AS a, 2 AS a, 3, 4"))
    assert list(df.columns) == ["a", "a_1", "?column?", "?column?_1"]


def test_c05_wide_types_on_both_paths(connector: PostgresConnector, wide_table: str) -> None:
    df = connector.get_df(source(f"SELECT n, tags, u, j, iv, ts FROM {wide_table} ORDER BY k"))
    expected = pd.DataFrame(
        {
            "n": [0.0, 1.0123, 10.08, 10005.0],
            "tags": np.array([["a", "b"], [], None, None], dtype=object),
            "u": pd.array([WIDE_UUID, None, None, None], dtype="str"),
            "j": np.array([{"k": 1}, None, None, None], dtype=object),
            "iv": pd.array(
                [pd.Timedelta(days=1, hours=2), pd.NaT, pd.NaT, pd.NaT], dtype="timedelta64[us]"
            ),
            "ts": pd.array(
                [datetime.datetime(2024, 1, 1), pd.NaT, pd.NaT, pd.NaT], dtype="datetime64[us]"
            ),
        }
    )
    pd.testing.assert_frame_equal(df, expected)


def test_c05_sum_of_bigints_is_numeric(connector: PostgresConnector) -> None:
    df = connector.get_df(source("SELECT sum(x) FROM (VALUES (1::bigint), (2::bigint)) AS t(x)"))
    pd.testing.assert_frame_equal(df, pd.DataFrame({"sum": [3.0]}))


def test_unsupported_type_falls_back_to_standard_path(
    fast: PostgresConnector, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="toucan_connectors.sql.arrow_reader"):
        df = fast.get_df(source("SELECT '10.0.0.1'::inet AS ip"))
    pd.testing.assert_frame_equal(df, pd.DataFrame({"ip": pd.array(["10.0.0.1"], dtype="str")}))
    assert [r.message for r in caplog.records] == [
        "The fast path gave up (column 'ip' has type 'inet'); using the standard path"
    ]


def test_failing_query_raises_the_standard_error(fast: PostgresConnector) -> None:
    with pytest.raises(ProviderError, match="Fix the query"):
        fast.get_df(source("SELECT no_such_column FROM generate_series(1, 2)"))


def test_error_when_the_query_starts_raises_the_standard_error(fast: PostgresConnector) -> None:
    query = "SELECT set_config('transaction_read_only', 'off', false) AS a"

    with pytest.raises(ProviderError, match="read-write mode must be set before any query"):
        fast.get_df(source(query))


def test_missing_driver_uses_standard_path(
    fast: PostgresConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(arrow_reader, "has_fast_driver", lambda dialect: False)
    fast.get_df(source("SELECT 1 AS a"))
    assert [kind for kind, _ in fast._pools.items] == ["engine"]


# Streaming ---------------------------------------------------------------------------------

STREAM_QUERY = "SELECT g, (g * 0.5)::numeric(6,1) AS half FROM generate_series(1, 25) AS g"


def test_iter_batches_yields_batches_of_the_asked_size(connector: PostgresConnector) -> None:
    batches = list(connector.iter_batches(source(STREAM_QUERY + " ORDER BY g"), batch_size=10))
    assert [len(batch) for batch in batches] == [10, 10, 5]


def test_iter_batches_concatenate_to_get_df(connector: PostgresConnector) -> None:
    data_source = source(STREAM_QUERY + " ORDER BY g")
    batches = list(connector.iter_batches(data_source, batch_size=7))
    pd.testing.assert_frame_equal(pd.concat(batches), connector.get_df(data_source))


def test_iter_batches_of_empty_result_yields_one_typed_batch(connector: PostgresConnector) -> None:
    batches = list(connector.iter_batches(source(STREAM_QUERY + " LIMIT 0"), batch_size=10))
    expected = pd.DataFrame({"g": pd.array([], dtype="Int64"), "half": np.array([], "float64")})
    pd.testing.assert_frame_equal(batches[0], expected)


def test_iter_batches_as_arrow_yields_record_batches(connector: PostgresConnector) -> None:
    batches = list(
        connector.iter_batches(source(STREAM_QUERY + " ORDER BY g"), batch_size=20, as_arrow=True)
    )
    assert [(type(b), b.num_rows) for b in batches] == [(pa.RecordBatch, 20), (pa.RecordBatch, 5)]


def test_iter_batches_applies_permissions(connector: PostgresConnector) -> None:
    permissions = {"column": "g", "operator": "gt", "value": "22"}
    batches = connector.iter_batches(
        source(STREAM_QUERY + " ORDER BY g"), permissions=permissions, batch_size=2
    )
    expected = pd.DataFrame({"g": pd.array([23, 24, 25], dtype="Int64"), "half": [11.5, 12, 12.5]})
    pd.testing.assert_frame_equal(pd.concat(list(batches)), expected)


# Return types ------------------------------------------------------------------------------


def test_get_df_returns_arrow_table(connector: PostgresConnector) -> None:
    table = connector.get_df(source("SELECT 1::bigint AS a, 'x' AS b"), return_type="arrow")
    assert table.to_pylist() == [{"a": 1, "b": "x"}]


def test_get_df_returns_polars_frame(connector: PostgresConnector) -> None:
    polars = pytest.importorskip("polars")
    df = connector.get_df(source("SELECT 1::bigint AS a, 'x' AS b"), return_type="polars")
    assert (type(df), df.to_dicts()) == (polars.DataFrame, [{"a": 1, "b": "x"}])


# Threads -----------------------------------------------------------------------------------


def test_threads_sharing_a_connector_get_their_own_results(fast: PostgresConnector) -> None:
    results: dict[int, Any] = {}

    def run(worker: int) -> None:
        for round_ in range(10):
            key = worker * 100 + round_
            df = fast.get_df(source("SELECT CAST({{ key }} AS int) AS k", key=key))
            results[key] = df["k"].tolist()

    threads = [threading.Thread(target=run, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {w * 100 + r: [w * 100 + r] for w in range(8) for r in range(10)}


def test_threads_reuse_pooled_connections(
    fast: PostgresConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[int] = []
    original = arrow_reader.ArrowReader._connect

    def counting_connect(self: arrow_reader.ArrowReader) -> Any:
        opened.append(1)
        return original(self)

    monkeypatch.setattr(arrow_reader.ArrowReader, "_connect", counting_connect)

    def run() -> None:
        for _ in range(10):
            fast.get_df(source("SELECT 1 AS a"))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(opened) <= 4
