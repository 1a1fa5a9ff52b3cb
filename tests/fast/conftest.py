"""Fixtures for the fast-path tests: the local PostgreSQL and one connector per path."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest

from toucan_connectors.postgres import PostgresConnector, PostgresDataSource

PG_HOST = os.environ.get("TOUCAN_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("TOUCAN_PG_PORT", "5432"))
PG_USER = os.environ.get("TOUCAN_PG_USER", "postgres")
PG_DATABASE = os.environ.get("TOUCAN_PG_DATABASE", "test")
WIDE_UUID = "6f1a2b3c-0000-4000-8000-000000000001"


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Any]:
    """A read-write connection for the whole run, to create test data."""
    try:
        conn = psycopg2.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=PG_DATABASE, connect_timeout=5
        )
    except psycopg2.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT}: {exc}")
    conn.autocommit = True
    yield conn
    conn.close()


def make_connector(fast_path: bool) -> PostgresConnector:
    """A connector to the local server on the fast or the standard path."""
    return PostgresConnector(
        name="pg", host=PG_HOST, port=PG_PORT, user=PG_USER, fast_path=fast_path
    )


@pytest.fixture(params=[True, False], ids=["fast", "standard"])
def connector(request: pytest.FixtureRequest) -> Iterator[PostgresConnector]:
    """The connector on each path in turn."""
    built = make_connector(request.param)
    yield built
    built.close()


@pytest.fixture
def fast() -> Iterator[PostgresConnector]:
    """A connector on the fast path."""
    built = make_connector(True)
    yield built
    built.close()


@pytest.fixture
def standard() -> Iterator[PostgresConnector]:
    """A connector on the standard path."""
    built = make_connector(False)
    yield built
    built.close()


def source(query: str, **parameters: Any) -> PostgresDataSource:
    """A data source of the test database."""
    return PostgresDataSource(
        domain="fast", name="pg", database=PG_DATABASE, query=query, parameters=parameters or None
    )


@pytest.fixture
def wide_table(pg_admin: Any) -> Iterator[str]:
    """The table of case C05."""
    with pg_admin.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS fast_wide")
        cur.execute(
            "CREATE TABLE fast_wide (k int, n numeric(10,4), tags text[], u uuid, j jsonb, "
            "iv interval, ts timestamp)"
        )
        cur.execute(
            "INSERT INTO fast_wide VALUES "
            "(1, 0, '{a,b}', %s, '{\"k\": 1}', '1 day 02:00', '2024-01-01'), "
            "(2, 1.0123, '{}', NULL, NULL, NULL, 'infinity'), "
            "(3, 10.08, NULL, NULL, NULL, NULL, NULL), "
            "(4, 10005, NULL, NULL, NULL, NULL, NULL)",
            (WIDE_UUID,),
        )
    yield "fast_wide"
    with pg_admin.cursor() as cur:
        cur.execute("DROP TABLE fast_wide")
