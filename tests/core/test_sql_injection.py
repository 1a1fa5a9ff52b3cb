"""Templates inside SQL literals and comments, through real connectors (SQLite, PostgreSQL)."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from toucan_connectors.errors import TemplateError
from toucan_connectors.sqlite.sqlite_connector import SQLiteConnector, SQLiteDataSource

ROWS = [("Paris", "alice"), ("Parma", "alice"), ("Lyon", "bob")]
LIKE_INSIDE = "SELECT name FROM city WHERE owner = {{ me }} AND name LIKE '%{{ v }}%' ORDER BY name"
LIKE_JOINED = (
    "SELECT name FROM city WHERE owner = {{ me }} AND name LIKE '%' || {{ v }} || '%' ORDER BY name"
)
IN_COMMENT = "SELECT name FROM city WHERE owner = {{ me }}\n-- AND name = {{ v }}\nORDER BY name"


@pytest.fixture
def sqlite_city(tmp_path: Path) -> SQLiteConnector:
    path = tmp_path / "city.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE city (name text, owner text)")
        conn.executemany("INSERT INTO city VALUES (?, ?)", ROWS)
    conn.close()
    return SQLiteConnector(name="local", path=str(path))


def _source(query: str, v: str) -> SQLiteDataSource:
    parameters = {"me": "alice", "v": v}
    return SQLiteDataSource(domain="d", name="local", query=query, parameters=parameters)


@pytest.mark.parametrize("query", [LIKE_INSIDE, IN_COMMENT], ids=["literal", "comment"])
@pytest.mark.parametrize("value", ["ar", "' OR 1=1 --", "x\nOR 1=1 --"])
def test_sqlite_template_in_literal_or_comment_is_refused(sqlite_city, query, value):
    data_source = _source(query, value)

    with pytest.raises(TemplateError, match="inside an SQL (string literal|comment)"):
        sqlite_city.get_df(data_source)
    with pytest.raises(TemplateError, match="inside an SQL (string literal|comment)"):
        sqlite_city.get_slice(data_source, limit=10)


@pytest.mark.parametrize(
    ("value", "expected"), [("ar", ["Paris", "Parma"]), ("' OR 1=1 --", []), ("x\nOR 1=1 --", [])]
)
def test_sqlite_like_pattern_joined_in_sql_returns_own_rows(sqlite_city, value, expected):
    data_source = _source(LIKE_JOINED, value)

    expected_df = pd.DataFrame({"name": pd.Series(expected, dtype="str")})
    pd.testing.assert_frame_equal(sqlite_city.get_df(data_source), expected_df)
    pd.testing.assert_frame_equal(sqlite_city.get_slice(data_source, limit=10).df, expected_df)


PG_HOST = os.environ.get("TOUCAN_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("TOUCAN_PG_PORT", "5432"))
PG_USER = os.environ.get("TOUCAN_PG_USER", "postgres")
PG_DATABASE = os.environ.get("TOUCAN_PG_DATABASE", "test")


@pytest.fixture
def pg_city() -> Iterator[tuple[Any, str]]:
    psycopg2 = pytest.importorskip("psycopg2")
    from toucan_connectors.postgres import PostgresConnector

    try:
        admin = psycopg2.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=PG_DATABASE, connect_timeout=5
        )
    except psycopg2.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT}: {exc}")
    admin.autocommit = True
    schema = f"tc_core_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {schema}")
        cursor.execute(f"CREATE TABLE {schema}.city (name text, owner text)")
        cursor.executemany(f"INSERT INTO {schema}.city VALUES (%s, %s)", ROWS)
    connector = PostgresConnector(
        name="pg", host=PG_HOST, port=PG_PORT, user=PG_USER, default_database=PG_DATABASE
    )
    yield connector, schema
    with admin.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA {schema} CASCADE")
    admin.close()


@pytest.mark.parametrize("query", [LIKE_INSIDE, IN_COMMENT], ids=["literal", "comment"])
def test_postgres_template_in_literal_or_comment_is_refused(pg_city, query):
    from toucan_connectors.postgres.postgresql_connector import PostgresDataSource

    connector, schema = pg_city
    data_source = PostgresDataSource(
        domain="d",
        name="pg",
        query=query.replace("FROM city", f"FROM {schema}.city"),
        parameters={"me": "alice", "v": "' OR 1=1 --"},
    )

    with pytest.raises(TemplateError, match="inside an SQL (string literal|comment)"):
        connector.get_df(data_source)
    with pytest.raises(TemplateError, match="inside an SQL (string literal|comment)"):
        connector.get_slice(data_source, limit=10)


@pytest.mark.parametrize(("value", "expected"), [("ar", ["Paris", "Parma"]), ("' OR 1=1 --", [])])
def test_postgres_like_pattern_joined_in_sql_returns_own_rows(pg_city, value, expected):
    from toucan_connectors.postgres.postgresql_connector import PostgresDataSource

    connector, schema = pg_city
    data_source = PostgresDataSource(
        domain="d",
        name="pg",
        query=LIKE_JOINED.replace("FROM city", f"FROM {schema}.city"),
        parameters={"me": "alice", "v": value},
    )

    expected_df = pd.DataFrame({"name": pd.Series(expected, dtype="str")})
    pd.testing.assert_frame_equal(connector.get_df(data_source), expected_df)
    pd.testing.assert_frame_equal(connector.get_slice(data_source, limit=10).df, expected_df)
