"""The shared SQL behaviour, run on a SQLite file."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest
from sql.behaviour import SQLBackend, SQLConnectorBehaviour

from toucan_connectors.sqlite import SQLiteConnector, SQLiteDataSource


class TestSQLiteBehaviour(SQLConnectorBehaviour):
    @pytest.fixture
    def backend(self, db_path: Path) -> SQLBackend:
        sqlite3.connect(db_path).close()  # an empty file is an empty database

        def create_table(name: str, columns: str, rows: Sequence[Sequence[object]] = ()) -> str:
            conn = sqlite3.connect(db_path)
            with conn:
                conn.execute(f"CREATE TABLE {name} ({columns})")
                if rows:
                    marks = ", ".join("?" * len(rows[0]))
                    conn.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
            conn.close()
            return name

        return SQLBackend(
            connector=SQLiteConnector(name="lite", path=str(db_path)),
            data_source_model=SQLiteDataSource,
            create_table=create_table,
            supports_parenthesised_query=False,
        )
