"""The MariaDB fast path (connectorx) gives exactly the standard path's frames, or steps aside."""

from __future__ import annotations

import datetime
import decimal
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import connectorx
import numpy as np
import pandas as pd
import pymysql
import pytest
from pandas.testing import assert_frame_equal
from pydantic import SecretStr

from tests.mysql import conftest as mysql_fixtures
from tests.mysql.conftest import MYSQL_DATABASE, MYSQL_HOST, MYSQL_PORT, CreateTable
from toucan_connectors.errors import (
    ConnectionFailedError,
    InvalidDataSourceError,
    ProviderError,
    ToucanConnectorError,
)
from toucan_connectors.mysql import MySQLConnector, MySQLDataSource

# The MariaDB fixtures of tests/mysql (a read-write admin connection, tables dropped after).
admin = mysql_fixtures.admin
create_table = mysql_fixtures.create_table

NOT_USED = "The fast path does not apply"
GAVE_UP = "The fast path gave up"


def make(fast_path: bool, **fields: Any) -> MySQLConnector:
    """A connector to the local MariaDB on one path."""
    return MySQLConnector(
        name="maria", host=MYSQL_HOST, port=MYSQL_PORT, user="root", fast_path=fast_path, **fields
    )


@pytest.fixture
def fast() -> Iterator[MySQLConnector]:
    built = make(True)
    yield built
    built.close()


@pytest.fixture
def standard() -> Iterator[MySQLConnector]:
    built = make(False)
    yield built
    built.close()


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The queries connectorx is asked to run."""
    seen: list[str] = []
    original = connectorx.read_sql

    def spy(uri: str, query: str, **options: Any) -> Any:
        seen.append(query)
        return original(uri, query, **options)

    monkeypatch.setattr(connectorx, "read_sql", spy)
    return seen


def source(query: str, **parameters: Any) -> MySQLDataSource:
    return MySQLDataSource(
        domain="fast",
        name="maria",
        database=MYSQL_DATABASE,
        query=query,
        parameters=parameters or None,
    )


# The MySQL type rules (doc/connectors/mysql.md), one column each, a NULL in the second row.
TYPES = {
    "ti": ("tinyint", -128),
    "si": ("smallint", 32767),
    "mi": ("mediumint", -8388608),
    "i": ("int", -2147483648),
    "iu": ("int unsigned", 4294967295),
    "bi": ("bigint", -9223372036854775808),
    "bu": ("bigint unsigned", 18446744073709551615),
    "bo": ("boolean", True),
    "yr": ("year", 2024),
    "bt": ("bit(10)", 513),
    "d152": ("decimal(15,2)", "1234567890123.45"),
    "d100": ("decimal(10,0)", "9999999999"),
    "d180": ("decimal(18,0)", "-999999999999999999"),
    "d184": ("decimal(18,4)", "12345678901234.5678"),
    "d2810": ("decimal(28,10)", "123456789012345678.0123456789"),
    "dbl": ("double", 1e300),
    "dbl2": ("double", 0.1),
    "dt": ("date", "9999-12-31"),
    "dt2": ("date", "1000-01-01"),
    "dtm": ("datetime(6)", "2024-02-29 23:59:59.999999"),
    "ts": ("timestamp(6) NULL", "2024-03-31 01:30:00.5"),
    "vc": ("varchar(20)", "é🚀 'x'"),
    "ch": ("char(4)", "ab"),
    "tx": ("text", "héllo\nworld"),
    "en": ("enum('a','b')", "b"),
    "st": ("set('x','y')", "x,y"),
    "js": ("json", '{"k": [1, 2]}'),
    "bl": ("blob", b"\x00\xff"),
    "vb": ("varbinary(5)", b"\x01"),
    "bn": ("binary(3)", b"ab"),
    "bc": ("varchar(5) COLLATE utf8mb4_bin", "Ab"),
}

# Read on the standard path by a fast connector (connectorx would read them otherwise).
FALLBACK = {
    "flt": ("float", 3.14159274),
    "tm": ("time(6)", "-838:59:59"),
    "tm-long": ("time", "100:00:00"),
    "d1412": ("decimal(14,12)", "1.123456789012"),
    "d200": ("decimal(20,0)", "12345678901234567890"),
    "d3010": ("decimal(30,10)", "12345678901234567890.0123456789"),
    "geo": ("geometry", None),
}


def _type_table(create_table: CreateTable, name: str, sql_type: str, value: Any) -> str:
    return create_table(name, f"id int, v {sql_type}", [(1, value), (2, None)])


@pytest.mark.parametrize(("sql_type", "value"), TYPES.values(), ids=TYPES.keys())
def test_each_type_reads_as_on_the_standard_path(
    fast: MySQLConnector,
    standard: MySQLConnector,
    create_table: CreateTable,
    reads: list[str],
    caplog: pytest.LogCaptureFixture,
    sql_type: str,
    value: Any,
) -> None:
    table = _type_table(create_table, "t", sql_type, value)
    query = f"SELECT id, v, v AS w FROM {table} ORDER BY id"
    with caplog.at_level(logging.DEBUG, "toucan_connectors.mysql.fast_reader"):
        df = fast.get_df(source(query))
    assert reads == [query]
    assert caplog.messages == []
    assert_frame_equal(df, standard.get_df(source(query)))


@pytest.mark.parametrize(("sql_type", "value"), FALLBACK.values(), ids=FALLBACK.keys())
def test_types_connectorx_reads_apart_take_the_standard_path(
    fast: MySQLConnector,
    standard: MySQLConnector,
    create_table: CreateTable,
    reads: list[str],
    caplog: pytest.LogCaptureFixture,
    sql_type: str,
    value: Any,
) -> None:
    table = _type_table(create_table, "t", sql_type, value)
    query = f"SELECT id, v FROM {table} ORDER BY id"
    with caplog.at_level(logging.DEBUG, "toucan_connectors.mysql.fast_reader"):
        df = fast.get_df(source(query))
    assert reads == []  # typed by the probe, never run by connectorx
    assert [m for m in caplog.messages if m.startswith(NOT_USED)]
    assert_frame_equal(df, standard.get_df(source(query)))


def test_exact_values_on_the_fast_path(fast: MySQLConnector, create_table: CreateTable) -> None:
    table = create_table(
        "exact",
        "id int, amount decimal(12,2), wide decimal(18,4), big bigint unsigned, bits bit(10), "
        "at timestamp(6) NULL",
        [
            (1, "1.10", "12345678901234.5600", 18446744073709551615, 513, "2024-01-02 03:04:05.5"),
            (2, None, None, None, None, None),
        ],
    )
    df = fast.get_df(source(f"SELECT * FROM {table} ORDER BY id"))
    expected = pd.DataFrame(
        {
            "id": pd.array([1, 2], dtype="Int64"),
            "amount": [1.10, np.nan],
            "wide": np.array([decimal.Decimal("12345678901234.5600"), None], dtype=object),
            "big": np.array([18446744073709551615, None], dtype=object),
            "bits": pd.array([513, None], dtype="Int64"),
            "at": pd.Series(
                [datetime.datetime(2024, 1, 2, 3, 4, 5, 500000), None], dtype="datetime64[us]"
            ).dt.tz_localize("UTC"),
        }
    )
    assert_frame_equal(df, expected)
    assert str(df["wide"][0]) == "12345678901234.5600"  # the declared places, as PyMySQL


def test_c04_large_numbers_on_both_paths(
    fast: MySQLConnector, standard: MySQLConnector, create_table: CreateTable
) -> None:
    table = create_table(
        "acc",
        "id decimal(20,0), amount decimal(12,2), big bigint unsigned",
        [(305184080441754059, "1.10", 18446744073709551615), (305184080441754060, "2.25", None)],
    )
    expected = pd.DataFrame(
        {
            "id": np.array([305184080441754059, 305184080441754060], dtype=object),
            "amount": [1.10, 2.25],
            "big": np.array([18446744073709551615, None], dtype=object),
        }
    )
    query = f"SELECT * FROM {table} ORDER BY id"
    assert_frame_equal(fast.get_df(source(query)), expected)
    assert_frame_equal(standard.get_df(source(query)), expected)
    # Without the DECIMAL(20,0) column the read stays on the fast path, still exact.
    only_big = fast.get_df(source(f"SELECT amount, big FROM {table} ORDER BY id"))
    assert_frame_equal(only_big, expected[["amount", "big"]])


def test_a_bit_64_above_the_int64_range_takes_the_standard_path(
    fast: MySQLConnector,
    standard: MySQLConnector,
    create_table: CreateTable,
    caplog: pytest.LogCaptureFixture,
) -> None:
    table = create_table("bits", "id int, v bit(64)", [(1, 2**63 - 1), (2, None)])
    query = f"SELECT v FROM {table} ORDER BY id"
    expected = pd.DataFrame({"v": pd.array([2**63 - 1, None], dtype="Int64")})
    assert_frame_equal(fast.get_df(source(query)), expected)

    # With its top bit set, the value leaves the fast path: its error is the standard path's.
    update = f"UPDATE {table} SET v = 18446744073709551615 WHERE id = 1"
    with (
        pymysql.connect(
            host=MYSQL_HOST, port=MYSQL_PORT, user="root", database=MYSQL_DATABASE, autocommit=True
        ) as conn,
        conn.cursor() as cursor,
    ):
        cursor.execute(update)
    with pytest.raises(ToucanConnectorError) as on_standard:
        standard.get_df(source(query))
    with caplog.at_level(logging.DEBUG, "toucan_connectors.mysql.fast_reader"):
        with pytest.raises(ToucanConnectorError) as on_fast:
            fast.get_df(source(query))
        with pytest.raises(ToucanConnectorError) as streamed:
            list(fast.iter_batches(source(query)))
    assert str(on_fast.value) == str(on_standard.value)
    assert type(on_fast.value) is type(on_standard.value)
    assert type(streamed.value) is type(on_standard.value)
    gave_up = [m for m in caplog.messages if m.startswith(GAVE_UP)]
    assert (
        gave_up
        == [
            "The fast path gave up (a BIT value does not fit in a 64-bit integer); "
            "using the standard path"
        ]
        * 2
    )


def test_c08_zero_dates_fall_back_and_are_missing(
    fast: MySQLConnector,
    create_table: CreateTable,
    reads: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    table = create_table(
        "ev",
        "id int, d date, ts datetime",
        [
            (1, "2024-05-01", "2024-05-01 10:00:00"),
            (2, "0000-00-00", "0000-00-00 00:00:00"),
            (3, "2016-00-00", "2016-01-00 12:00:00"),
            (4, "9999-12-31", "9999-12-31 23:59:59"),
            (5, None, None),
        ],
    )
    query = f"SELECT * FROM {table} ORDER BY id"
    with caplog.at_level(logging.DEBUG, "toucan_connectors.mysql.fast_reader"):
        df = fast.get_df(source(query))
    assert reads == [query]  # connectorx failed on the zero date; the standard path read it
    assert [m for m in caplog.messages if m.startswith(GAVE_UP)]
    expected = pd.DataFrame(
        {
            "id": pd.array([1, 2, 3, 4, 5], dtype="Int64"),
            "d": pd.Series(
                [datetime.datetime(2024, 5, 1), None, None, datetime.datetime(9999, 12, 31), None],
                dtype="datetime64[us]",
            ),
            "ts": pd.Series(
                [
                    datetime.datetime(2024, 5, 1, 10),
                    None,
                    None,
                    datetime.datetime(9999, 12, 31, 23, 59, 59),
                    None,
                ],
                dtype="datetime64[us]",
            ),
        }
    )
    assert_frame_equal(df, expected)


def test_empty_result_keeps_the_dtypes(
    fast: MySQLConnector, standard: MySQLConnector, create_table: CreateTable, reads: list[str]
) -> None:
    columns = ", ".join(f"{name} {sql_type}" for name, (sql_type, _) in TYPES.items())
    table = create_table("empty", columns)
    query = f"SELECT * FROM {table}"
    df = fast.get_df(source(query))
    assert reads == [query]
    assert len(df) == 0
    assert_frame_equal(df, standard.get_df(source(query)))


def test_duplicate_names_and_unaliased_expressions(
    fast: MySQLConnector, create_table: CreateTable, reads: list[str]
) -> None:
    table = create_table("t", "a int, b double", [(1, 0.5), (2, 1.5)])
    query = f"SELECT a, b, a + 1 AS a, a+1, 'x' FROM {table} ORDER BY a"
    df = fast.get_df(source(query))
    assert reads == [query]
    expected = pd.DataFrame(
        {
            "a": pd.array([1, 2], dtype="Int64"),
            "b": [0.5, 1.5],
            "a_1": pd.array([2, 3], dtype="Int64"),
            "a+1": pd.array([2, 3], dtype="Int64"),  # the server's name, not a rewrite's
            "x": pd.array(["x", "x"], dtype="str"),
        }
    )
    assert_frame_equal(df, expected)


def test_bound_parameters_take_the_standard_path(
    fast: MySQLConnector,
    create_table: CreateTable,
    reads: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    table = create_table("city", "name text, pop int", [("Paris", 2), ("Lyon", 3)])
    query = f"SELECT name FROM {table} WHERE pop > {{{{ low }}}} ORDER BY name"
    with caplog.at_level(logging.DEBUG, "toucan_connectors.mysql.fast_reader"):
        df = fast.get_df(source(query, low=2))
    assert reads == []
    assert f"{NOT_USED} (the query has bound parameters); using the standard path" in (
        caplog.messages
    )
    assert_frame_equal(df, pd.DataFrame({"name": pd.array(["Lyon"], dtype="str")}))


def test_literal_percent_and_colon_reach_the_server_unchanged(
    fast: MySQLConnector, create_table: CreateTable, reads: list[str]
) -> None:
    table = create_table("city", "name text", [("50% off",), ("a:b",), ("Paris",)])
    query = f"SELECT name FROM {table} WHERE name LIKE '%\\% off' OR name = 'a:b' ORDER BY name"
    df = fast.get_df(source(query))
    assert reads == [query]
    assert_frame_equal(df, pd.DataFrame({"name": pd.array(["50% off", "a:b"], dtype="str")}))


def test_iter_batches_on_the_fast_path(
    fast: MySQLConnector, create_table: CreateTable, reads: list[str]
) -> None:
    rows = [(i, f"n{i}", "1.25" if i % 2 else None) for i in range(1, 26)]
    table = create_table("many", "id int, name varchar(10), x decimal(10,2)", rows)
    query = f"SELECT * FROM {table} ORDER BY id"
    batches = list(fast.iter_batches(source(query), batch_size=10))
    assert reads == [query]
    assert [len(batch) for batch in batches] == [10, 10, 5]
    expected = pd.DataFrame(
        {
            "id": pd.array(range(1, 26), dtype="Int64"),
            "name": pd.array([f"n{i}" for i in range(1, 26)], dtype="str"),
            "x": [1.25 if i % 2 else np.nan for i in range(1, 26)],
        }
    )
    assert_frame_equal(pd.concat(batches), expected)
    empty = list(fast.iter_batches(source(f"SELECT * FROM {table} WHERE id < 0")))
    assert len(empty) == 1
    assert_frame_equal(empty[0], expected.iloc[:0])


@pytest.fixture
def writing_function(admin: pymysql.connections.Connection) -> Iterator[tuple[str, str]]:
    """A table and a stored function that inserts into it."""
    suffix = uuid.uuid4().hex[:8]
    table, function = f"tc_fast_w_{suffix}", f"tc_fast_f_{suffix}"
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {table} (x int)")
        cursor.execute(
            f"CREATE FUNCTION {function}() RETURNS INT MODIFIES SQL DATA "
            f"BEGIN INSERT INTO {table} VALUES (1); RETURN 1; END"
        )
    yield table, function
    with admin.cursor() as cursor:
        cursor.execute(f"DROP FUNCTION {function}")
        cursor.execute(f"DROP TABLE {table}")


def test_a_write_in_a_function_is_refused_once_and_writes_nothing(
    fast: MySQLConnector,
    admin: pymysql.connections.Connection,
    writing_function: tuple[str, str],
    reads: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    table, function = writing_function
    query = f"SELECT {function}() AS v"
    with (
        caplog.at_level(logging.DEBUG, "toucan_connectors.mysql.fast_reader"),
        pytest.raises(InvalidDataSourceError, match="read-only transactions, so write a SELECT"),
    ):
        fast.get_df(source(query))
    # The LIMIT 0 probe already meets the refusal: raised at once, run by neither reader.
    assert reads == []
    assert not [m for m in caplog.messages if m.startswith(GAVE_UP)]
    with admin.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        assert cursor.fetchone() == (0,)


def test_query_timeout_holds_on_the_fast_path(reads: list[str]) -> None:
    connector = make(True, query_timeout=1)
    query = "SELECT count(*) AS n FROM seq_1_to_100000 AS a, seq_1_to_100000 AS b"
    started = time.perf_counter()
    with pytest.raises(ProviderError, match=r"max_statement_time exceeded.*raise query_timeout"):
        connector.get_df(source(query))
    assert time.perf_counter() - started < 3  # raised once, not met again on the other path
    assert reads == [query]
    connector.close()


def test_session_is_read_only_in_utc_on_the_fast_path(
    fast: MySQLConnector, reads: list[str]
) -> None:
    query = "SELECT @@session.tx_read_only AS ro, @@session.time_zone AS tz"
    df = fast.get_df(source(query))
    assert reads == [query]
    expected = pd.DataFrame({"ro": pd.array([1], dtype="Int64"), "tz": ["+00:00"]})
    assert_frame_equal(df, expected.astype({"tz": "str"}))


def test_executable_comments_are_still_refused(fast: MySQLConnector, reads: list[str]) -> None:
    with pytest.raises(InvalidDataSourceError, match="executable comment"):
        fast.get_df(source("SELECT 1 /*! , 2 */"))
    assert reads == []


@pytest.fixture
def password_user(admin: pymysql.connections.Connection) -> Iterator[tuple[str, str]]:
    """A user whose password needs quoting in a URI."""
    user, password = f"tc_fast_{uuid.uuid4().hex[:6]}", "p@ss:w/rd%?#&="
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (password,))
        cursor.execute(f"GRANT SELECT ON {MYSQL_DATABASE}.* TO '{user}'@'%'")
    yield user, password
    with admin.cursor() as cursor:
        cursor.execute(f"DROP USER '{user}'@'%'")


def test_a_password_to_quote_reads_on_the_fast_path(
    password_user: tuple[str, str], reads: list[str]
) -> None:
    user, password = password_user
    connector = MySQLConnector(
        name="maria", host=MYSQL_HOST, port=MYSQL_PORT, user=user, password=SecretStr(password)
    )
    df = connector.get_df(source("SELECT CURRENT_USER() AS u"))
    assert reads == ["SELECT CURRENT_USER() AS u"]
    assert_frame_equal(df, pd.DataFrame({"u": pd.array([f"{user}@%"], dtype="str")}))
    connector.close()


def test_a_refused_login_shows_no_password(
    password_user: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    user, password = password_user
    wrong = password + "x"
    connector = MySQLConnector(
        name="maria", host=MYSQL_HOST, port=MYSQL_PORT, user=user, password=SecretStr(wrong)
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(ToucanConnectorError) as raised:
        connector.get_df(source("SELECT 1 AS one"))
    assert isinstance(raised.value, ConnectionFailedError | InvalidDataSourceError | ProviderError)
    assert "Access denied" in str(raised.value)
    captured = capfd.readouterr()
    for secret in (wrong, password, "p%40ss"):
        assert secret not in str(raised.value)
        assert secret not in caplog.text
        assert secret not in captured.out + captured.err
    connector.close()
