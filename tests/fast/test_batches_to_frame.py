"""Results read batch by batch: the frame of the whole table, and the usual error mid-stream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from tests.fast.conftest import PG_DATABASE, PG_HOST, PG_PORT, PG_USER, source
from tests.fast.test_fast_path import TYPE_SUITE, _suite_query
from toucan_connectors.errors import ProviderError
from toucan_connectors.postgres import PostgresConnector
from toucan_connectors.sql import arrow_reader

adbc = pytest.importorskip("adbc_driver_postgresql.dbapi")


@pytest.fixture(scope="module")
def adbc_conn() -> Iterator[Any]:
    """A raw ADBC connection to the local server."""
    uri = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}"
    try:
        conn = adbc.connect(uri)
    except adbc.Error as exc:
        pytest.skip(f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT}: {exc}")
    yield conn
    conn.close()


def _read(conn: Any, query: str) -> Any:
    with conn.cursor() as cur:
        cur.execute(query)
        return cur.fetch_arrow_table()


# The second of the three rows is NULL, so a one-row batch in the middle starts the null mask.
@pytest.mark.parametrize("expression", TYPE_SUITE.values(), ids=TYPE_SUITE.keys())
def test_one_row_batches_give_the_whole_table_frame(adbc_conn: Any, expression: str) -> None:
    table = _read(adbc_conn, _suite_query(expression))
    kinds = [column.kind for column in arrow_reader.postgres_column_types(table.schema)]

    built = arrow_reader.batches_to_frame(table.to_batches(max_chunksize=1), table.schema, kinds)
    pd.testing.assert_frame_equal(built, arrow_reader.arrow_to_frame(table, kinds))


def test_batches_growing_past_the_first_allocation_keep_every_row(adbc_conn: Any) -> None:
    query = (
        "SELECT g::bigint AS i, g * 0.5 AS f, date '2024-01-01' + g AS d, "
        "CASE WHEN g % 1000 = 0 THEN NULL ELSE g % 2 = 0 END AS b, 'r' || g AS t "
        "FROM generate_series(1, 5000) AS g ORDER BY g"
    )
    table = _read(adbc_conn, query)
    kinds = [column.kind for column in arrow_reader.postgres_column_types(table.schema)]

    built = arrow_reader.batches_to_frame(table.to_batches(max_chunksize=700), table.schema, kinds)
    pd.testing.assert_frame_equal(built, arrow_reader.arrow_to_frame(table, kinds))


# The error happens once rows are streamed, after the query has started on the fast path.
FAILS_WHILE_STREAMING = "SELECT 1 / (3 - g) AS x FROM generate_series(1, 3) AS g"


def test_error_while_streaming_raises_the_usual_error(connector: PostgresConnector) -> None:
    with pytest.raises(ProviderError, match="division by zero. Fix the query"):
        connector.get_df(source(FAILS_WHILE_STREAMING))


def test_error_while_streaming_batches_raises_the_usual_error(
    connector: PostgresConnector,
) -> None:
    with pytest.raises(ProviderError, match="division by zero"):
        list(connector.iter_batches(source(FAILS_WHILE_STREAMING), batch_size=10))
