"""iter_batches on PostgreSQL (both paths), MariaDB and SQLite: sizes, early stops, Arrow."""

from __future__ import annotations

import contextlib
import decimal
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pymysql
import pytest

from tests.fast.conftest import source
from toucan_connectors.errors import ProviderError
from toucan_connectors.mysql import MySQLConnector, MySQLDataSource
from toucan_connectors.postgres import PostgresConnector
from toucan_connectors.sql import arrow_reader
from toucan_connectors.sqlite import SQLiteConnector, SQLiteDataSource

MYSQL_HOST = os.environ.get("TOUCAN_MYSQL_HOST", "127.0.0.1")
MYSQL_PORT = int(os.environ.get("TOUCAN_MYSQL_PORT", "3306"))
MANY_ROWS = "SELECT g, repeat('x', 100) AS pad FROM generate_series(1, 300000) AS g"


def _sizes(batches: Iterator[pd.DataFrame]) -> list[int]:
    return [len(batch) for batch in batches]


@pytest.mark.parametrize(("rows", "sizes"), [(20, [10, 10]), (10, [10]), (0, [0])])
def test_a_result_of_whole_batches_ends_without_an_empty_batch(
    connector: PostgresConnector, rows: int, sizes: list[int]
) -> None:
    query = f"SELECT g FROM generate_series(1, {rows}) AS g ORDER BY g"
    batches = list(connector.iter_batches(source(query), batch_size=10))
    assert _sizes(iter(batches)) == sizes
    assert [
        b.num_rows for b in connector.iter_batches(source(query), None, 10, as_arrow=True)
    ] == sizes
    expected = pd.DataFrame({"g": pd.array(range(1, rows + 1), dtype="Int64")})
    pd.testing.assert_frame_equal(pd.concat(batches), expected)


def test_stopping_a_fast_stream_cancels_its_query(
    fast: PostgresConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    cancelled: list[Any] = []
    original = arrow_reader._cancel
    monkeypatch.setattr(arrow_reader, "_cancel", lambda cur: cancelled.append(original(cur)))

    with contextlib.closing(fast.iter_batches(source(MANY_ROWS), batch_size=1000)) as batches:
        first = next(batches)

    assert (len(first), len(cancelled)) == (1000, 1)
    pd.testing.assert_frame_equal(
        fast.get_df(source("SELECT 1 AS a")), pd.DataFrame({"a": pd.array([1], dtype="Int64")})
    )


def test_stopping_a_standard_stream_leaves_the_connector_usable(
    standard: PostgresConnector,
) -> None:
    with contextlib.closing(standard.iter_batches(source(MANY_ROWS), batch_size=1000)) as batches:
        assert len(next(batches)) == 1000
    pd.testing.assert_frame_equal(
        standard.get_df(source("SELECT 2 AS a")), pd.DataFrame({"a": pd.array([2], "Int64")})
    )


def test_too_many_open_fast_streams_say_so(
    fast: PostgresConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(arrow_reader, "_POOL_LIMIT", 1)
    monkeypatch.setattr(arrow_reader, "_POOL_TIMEOUT", 0.1)
    with contextlib.closing(fast.iter_batches(source(MANY_ROWS), batch_size=10)) as open_one:
        next(open_one)
        with pytest.raises(ProviderError, match="close the iter_batches iterators you no longer"):
            fast.get_df(source("SELECT 1 AS a"))


def test_a_value_the_fast_stream_cannot_convert_later_names_the_fix(
    fast: PostgresConnector,
) -> None:
    query = "SELECT v::numeric(20,0) AS v FROM (VALUES (1, '1'), (2, 'NaN')) AS t(k, v) ORDER BY k"
    batches = fast.iter_batches(source(query), batch_size=1)
    assert next(batches)["v"].tolist() == [1]
    with pytest.raises(ProviderError, match="after the first 1 rows .* set `fast_path` to false"):
        next(batches)


# One Arrow schema for the whole stream ----------------------------------------------------

ARROW_QUERY = (
    "SELECT g, CASE WHEN g > 2 THEN ('{\"k\": ' || g || '}')::jsonb END AS j, "
    "(CASE WHEN g < 3 THEN '1.5' ELSE '123456789012345678901234.0123456789' END)::numeric(38,10) "
    "AS d, (CASE WHEN g < 3 THEN '1' ELSE '12345678901234567890123' END)::numeric(30,0) AS b "
    "FROM generate_series(1, 4) AS g ORDER BY g"
)


def test_arrow_batches_share_one_schema_from_the_column_types(
    connector: PostgresConnector,
) -> None:
    batches = list(connector.iter_batches(source(ARROW_QUERY), batch_size=2, as_arrow=True))

    schema = pa.schema(
        [
            ("g", pa.int64()),
            ("j", pa.string()),
            ("d", pa.decimal128(38, 10)),
            ("b", pa.decimal128(38, 0)),
        ]
    )
    assert [batch.schema for batch in batches] == [schema, schema]
    big = decimal.Decimal("123456789012345678901234.0123456789")
    assert pa.Table.from_batches(batches).to_pydict() == {
        "g": [1, 2, 3, 4],
        "j": [None, None, '{"k": 3}', '{"k": 4}'],
        "d": [decimal.Decimal("1.5000000000")] * 2 + [big, big],
        "b": [decimal.Decimal(1)] * 2 + [decimal.Decimal(12345678901234567890123)] * 2,
    }


def test_arrow_batch_value_too_wide_names_the_column(connector: PostgresConnector) -> None:
    query = "SELECT (10::numeric(60,0) ^ 45)::numeric(60,0) AS big"
    with pytest.raises(ProviderError, match='Column "big" .* cast the column to text'):
        list(connector.iter_batches(source(query), as_arrow=True))


# MariaDB and SQLite -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mysql_table() -> Iterator[str]:
    """A small MariaDB table, and a connector's worth of settings to read it."""
    try:
        conn = pymysql.connect(
            host=MYSQL_HOST, port=MYSQL_PORT, user="root", database="test", autocommit=True
        )
    except pymysql.err.OperationalError as exc:
        pytest.skip(f"MariaDB is not reachable on {MYSQL_HOST}:{MYSQL_PORT}: {exc}")
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS fast_stream")
        cur.execute("CREATE TABLE fast_stream (k int, name varchar(10), amount decimal(10,2))")
        cur.execute(
            "INSERT INTO fast_stream VALUES (1, 'a', 1.50), (2, NULL, NULL), (3, 'c', 3.25)"
        )
        cur.execute("DROP TABLE IF EXISTS fast_stream_big")
        cur.execute("CREATE TABLE fast_stream_big (k int, pad varchar(100))")
        cur.execute("INSERT INTO fast_stream_big SELECT seq, REPEAT('x', 100) FROM seq_1_to_200000")
    yield "fast_stream"
    with conn.cursor() as cur:
        cur.execute("DROP TABLE fast_stream")
        cur.execute("DROP TABLE fast_stream_big")
    conn.close()


def _mysql() -> MySQLConnector:
    return MySQLConnector(name="my", host=MYSQL_HOST, port=MYSQL_PORT, user="root")


def _mysql_source(query: str) -> MySQLDataSource:
    return MySQLDataSource(domain="s", name="my", database="test", query=query)


def test_mysql_iter_batches_gives_exact_frames(mysql_table: str) -> None:
    connector = _mysql()
    query = f"SELECT k, name, amount FROM {mysql_table} ORDER BY k"
    batches = list(connector.iter_batches(_mysql_source(query), batch_size=2))

    first = pd.DataFrame(
        {
            "k": pd.array([1, 2], dtype="Int64"),
            "name": pd.array(["a", None], dtype="str"),
            "amount": [1.5, np.nan],
        }
    )
    second = pd.DataFrame(
        {"k": pd.array([3], dtype="Int64"), "name": pd.array(["c"], dtype="str"), "amount": [3.25]},
        index=pd.RangeIndex(2, 3),
    )
    assert len(batches) == 2
    pd.testing.assert_frame_equal(batches[0], first)
    pd.testing.assert_frame_equal(batches[1], second)
    connector.close()


def test_stopping_a_mysql_stream_leaves_the_connector_usable(
    mysql_table: str, recwarn: pytest.WarningsRecorder
) -> None:
    connector = _mysql()
    query = "SELECT k, pad FROM fast_stream_big ORDER BY k"
    with contextlib.closing(connector.iter_batches(_mysql_source(query), batch_size=100)) as rows:
        assert next(rows)["k"].tolist() == list(range(1, 101))
    df = connector.get_df(_mysql_source(f"SELECT count(*) AS n FROM {mysql_table}"))
    pd.testing.assert_frame_equal(df, pd.DataFrame({"n": pd.array([3], dtype="Int64")}))
    assert [str(w.message) for w in recwarn if "unbuffered" in str(w.message)] == []
    connector.close()


def test_sqlite_iter_batches_gives_exact_frames(tmp_path: Path) -> None:
    database = tmp_path / "s.db"
    with contextlib.closing(sqlite3.connect(database)) as conn, conn:
        conn.execute("CREATE TABLE t (k INTEGER, name TEXT, amount REAL)")
        conn.executemany("INSERT INTO t VALUES (?, ?, ?)", [(1, "a", 1.5), (2, None, None)])
    connector = SQLiteConnector(name="lite", path=str(database))
    data_source = SQLiteDataSource(
        domain="s", name="lite", query="SELECT k, name, amount FROM t ORDER BY k"
    )

    batches = list(connector.iter_batches(data_source, batch_size=1))

    expected = [
        pd.DataFrame(
            {"k": pd.array([1], "Int64"), "name": pd.array(["a"], "str"), "amount": [1.5]}
        ),
        pd.DataFrame(
            {"k": pd.array([2], "Int64"), "name": pd.array([None], "str"), "amount": [np.nan]},
            index=pd.RangeIndex(1, 2),
        ),
    ]
    assert len(batches) == 2
    for got, want in zip(batches, expected, strict=True):
        pd.testing.assert_frame_equal(got, want)


def test_debug_log_of_the_fallback_is_one_line(
    fast: PostgresConnector, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="toucan_connectors.sql.arrow_reader"):
        list(fast.iter_batches(source("SELECT ARRAY[[1, 2], [3, 4]] AS v"), batch_size=5))
    assert [r.message for r in caplog.records] == [
        "The fast path gave up (column 'v' is an array (_int4): the driver would flatten a "
        "multi-dimensional one); using the standard path"
    ]
