"""Fixtures for the SQLite connector: a database file each test fills with its own tables."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from toucan_connectors.sqlite import SQLiteConnector

MakeDatabase = Callable[..., SQLiteConnector]

CITY_ROWS = [
    ("Paris", 2),
    ("Parma", 1),
    ("Lyon", 3),
    ("Lyon (2e)", 4),
    ("50% off", 0),
    ("L'Haÿ", 4),
]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where this test's database file lives (created by `make_database`)."""
    return tmp_path / "test.db"


@pytest.fixture
def make_database(db_path: Path) -> MakeDatabase:
    """Create the database file from SQL statements and return a connector reading it."""

    def make(
        *statements: str, rows: dict[str, list[tuple[object, ...]]] | None = None
    ) -> SQLiteConnector:
        conn = sqlite3.connect(db_path)
        with conn:
            for statement in statements:
                conn.execute(statement)
            for table, values in (rows or {}).items():
                marks = ", ".join("?" * len(values[0]))
                conn.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
        conn.close()
        return SQLiteConnector(name="lite", path=str(db_path))

    return make


@pytest.fixture
def city(make_database: MakeDatabase) -> SQLiteConnector:
    """The `city(name, pop)` table of cases C01 and C06."""
    return make_database("CREATE TABLE city (name text, pop int)", rows={"city": CITY_ROWS})
