"""The mix-in for connectors that can list their databases, tables and columns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal, TypedDict


class ColumnInfo(TypedDict):
    """A column and its provider type."""

    name: str
    type: str


class TableInfo(TypedDict):
    """A table, view or collection found by `get_model`."""

    database: str
    schema: str | None
    type: Literal["table", "view", "materialized_view", "collection"]
    name: str
    columns: list[ColumnInfo]


class DiscoverableConnector(ABC):
    """A connector that can describe what it reaches."""

    @abstractmethod
    def get_model(
        self,
        db_name: str | None = None,
        schema_name: str | None = None,
        table_name: str | None = None,
        exclude_columns: bool = False,
    ) -> list[TableInfo]:
        """List tables (with their columns unless `exclude_columns`), optionally filtered."""
