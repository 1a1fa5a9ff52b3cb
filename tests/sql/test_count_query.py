"""The rewrite that counts a query's rows without its output columns."""

from __future__ import annotations

import pytest

from toucan_connectors.sql.query import BoundQuery, count_query


@pytest.mark.parametrize(
    ("sql", "counted"),
    [
        (
            "SELECT * FROM a JOIN b ON a.id = b.id WHERE a.x > :tc_0 ORDER BY a.id",
            "SELECT 1 FROM a JOIN b ON a.id = b.id WHERE a.x > :tc_0",
        ),
        ("SELECT a.*, b.x AS y FROM a, b", "SELECT 1 FROM a, b"),
        ("WITH c AS (SELECT 1 AS x) SELECT x FROM c", "WITH c AS (SELECT 1 AS x) SELECT 1 FROM c"),
    ],
)
def test_plain_selects_are_counted_without_their_columns(sql: str, counted: str) -> None:
    assert count_query(BoundQuery(sql, {"tc_0": 1}), "postgres") == BoundQuery(
        counted, {"tc_0": 1} if ":tc_0" in counted else {}
    )


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count(*) FROM t",
        "SELECT DISTINCT a FROM t",
        "SELECT a FROM t GROUP BY a",
        "SELECT a FROM t LIMIT 2",
        "SELECT unnest(tags) FROM t",
        "SELECT row_number() OVER () FROM t",
        "SELECT a FROM t UNION SELECT b FROM u",
        "SELECT a FROM t ORDER BY count(*)",
    ],
)
def test_queries_whose_output_decides_the_rows_are_not_rewritten(sql: str) -> None:
    assert count_query(BoundQuery(sql), "postgres") is None
