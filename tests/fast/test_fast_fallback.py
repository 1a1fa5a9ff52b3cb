"""When the fast path hands a query to the standard path, and when it does not: never twice."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.fast.conftest import source
from toucan_connectors.errors import InvalidDataSourceError, ProviderError
from toucan_connectors.postgres import PostgresConnector
from toucan_connectors.sql import arrow_reader
from toucan_connectors.sql.sql_connector import SQLConnector

GAVE_UP = "The fast path gave up"


def _forbidden(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("the query ran a second time")


def test_a_type_the_fast_path_lacks_is_found_before_the_query_runs(
    fast: PostgresConnector, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The server describes the result first: the fast path never executes this query.
    monkeypatch.setattr(arrow_reader.ArrowReader, "read_frame", _forbidden)

    with caplog.at_level(logging.DEBUG, logger="toucan_connectors.sql.arrow_reader"):
        df = fast.get_df(source("SELECT '10:30:00+02'::timetz AS t, 1 AS n"))

    assert df["n"].tolist() == [1]
    assert [r.message for r in caplog.records if GAVE_UP in r.message] == [
        "The fast path gave up (column 't' has type 'timetz'); using the standard path"
    ]


@pytest.mark.parametrize(
    ("query", "error", "match"),
    [
        ("SELECT no_such_column FROM generate_series(1, 2)", ProviderError, "does not exist"),
        ("SELECT 1 / 0 AS a", ProviderError, "division by zero. Fix the query"),
        (
            "SELECT set_config('transaction_read_only', 'off', false) AS a",
            ProviderError,
            "read-write mode must be set before any query",
        ),
        (
            "SELECT 1 AS a FROM pg_sleep(3)",
            ProviderError,
            "canceling statement due to statement timeout",
        ),
        (
            "WITH x AS (DELETE FROM pg_temp.none_here RETURNING 1) SELECT * FROM x",
            ProviderError,
            "does not exist",
        ),
    ],
    ids=["unknown-column", "division", "read-write", "timeout", "write"],
)
def test_a_server_error_on_the_fast_path_is_raised_without_a_second_run(
    fast: PostgresConnector,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    query: str,
    error: type[Exception],
    match: str,
) -> None:
    timed = fast.model_copy(update={"query_timeout": 1})
    monkeypatch.setattr(SQLConnector, "_fetch", _forbidden)

    with caplog.at_level(logging.DEBUG, logger="toucan_connectors.sql.arrow_reader"):
        with pytest.raises(error, match=match):
            timed.get_df(source(query))
    timed.close()

    assert [r.message for r in caplog.records if GAVE_UP in r.message] == []


def test_a_write_refused_on_the_fast_path_says_data_sources_are_read_only(
    fast: PostgresConnector, pg_admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pg_admin.cursor() as cursor:
        cursor.execute("CREATE TABLE public.tc_fast_write (a int)")
        cursor.execute("INSERT INTO public.tc_fast_write VALUES (1)")
    monkeypatch.setattr(SQLConnector, "_fetch", _forbidden)
    query = "WITH x AS (DELETE FROM public.tc_fast_write RETURNING a) SELECT a FROM x"

    try:
        with pytest.raises(InvalidDataSourceError, match="run in read-only transactions"):
            fast.get_df(source(query))
    finally:
        with pg_admin.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM public.tc_fast_write")
            assert cursor.fetchone() == (1,)
            cursor.execute("DROP TABLE public.tc_fast_write")
