"""The rewrite that pushes a page's LIMIT and OFFSET into the user's query."""

from __future__ import annotations

import pytest

from toucan_connectors.sql.query import BoundQuery, page_query


@pytest.mark.parametrize(
    ("sql", "paged"),
    [
        ("SELECT a FROM t ORDER BY a", "SELECT a FROM t ORDER BY a LIMIT 5 OFFSET 10"),
        ("SELECT a FROM t LIMIT 12", "SELECT a FROM t LIMIT 2 OFFSET 10"),
        ("SELECT a FROM t LIMIT 30 OFFSET 3", "SELECT a FROM t LIMIT 5 OFFSET 13"),
    ],
    ids=["no-bounds", "own-limit-cuts-the-page", "own-limit-and-offset"],
)
def test_plain_bounds_are_combined_with_the_page(sql: str, paged: str) -> None:
    assert page_query(BoundQuery(sql), "postgres", 10, 5) == BoundQuery(paged)


# The Limitations line of the SQL connectors: these queries are read whole and paged in Python.
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a FROM t LIMIT ALL",
        "SELECT a FROM t LIMIT 2 + 3",
        "SELECT a FROM t ORDER BY a FETCH FIRST 3 ROWS WITH TIES",
    ],
    ids=["limit-all", "limit-expression", "fetch-with-ties"],
)
def test_bounds_that_are_not_plain_numbers_are_not_rewritten(sql: str) -> None:
    assert page_query(BoundQuery(sql), "postgres", 10, 5) is None
