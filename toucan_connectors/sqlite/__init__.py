"""The SQLite connector."""

from __future__ import annotations

from toucan_connectors.sqlite.sqlite_connector import SQLiteConnector, SQLiteDataSource

__all__ = ["SQLiteConnector", "SQLiteDataSource"]
