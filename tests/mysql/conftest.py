"""Fixtures for the MySQL connector: the local MariaDB, and tables each test creates."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence

import pymysql
import pytest

MYSQL_HOST = os.environ.get("TOUCAN_MYSQL_HOST", "127.0.0.1")
MYSQL_PORT = int(os.environ.get("TOUCAN_MYSQL_PORT", "3306"))
MYSQL_DATABASE = "test"

CreateTable = Callable[[str, str, Sequence[Sequence[object]]], str]


@pytest.fixture(scope="session")
def admin() -> Iterator[pymysql.connections.Connection]:
    """A read-write connection that lives for the whole run, to set up test data."""
    try:
        conn = pymysql.connect(
            host=MYSQL_HOST,
            port=MYSQL_PORT,
            user="root",
            password="",
            database=MYSQL_DATABASE,
            autocommit=True,
        )
    except pymysql.err.OperationalError as exc:
        pytest.skip(f"MariaDB is not reachable on {MYSQL_HOST}:{MYSQL_PORT}: {exc}")
    # C08 inserts zero and partial dates, which the default strict mode refuses.
    with conn.cursor() as cursor:
        cursor.execute("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'")
    yield conn
    conn.close()


@pytest.fixture
def create_table(admin: pymysql.connections.Connection) -> Iterator[CreateTable]:
    """Create tables with a unique prefix for one test and drop them afterwards.

    ``create_table("city", "name text, pop int", rows)`` returns the real table name.
    """
    prefix = f"tc_mysql_{uuid.uuid4().hex[:8]}_"
    created: list[str] = []

    def create(name: str, columns: str, rows: Sequence[Sequence[object]] = ()) -> str:
        table = prefix + name
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE TABLE `{table}` ({columns})")
            created.append(table)
            if rows:
                marks = ", ".join(["%s"] * len(rows[0]))
                cursor.executemany(f"INSERT INTO `{table}` VALUES ({marks})", rows)
        return table

    yield create

    with admin.cursor() as cursor:
        for table in reversed(created):
            cursor.execute(f"DROP TABLE IF EXISTS `{table}`")
