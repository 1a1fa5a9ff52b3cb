"""The shared base of the SQL connectors."""

from toucan_connectors.sql.sql_connector import CONNECT_STEPS, SQLConnector, SQLDataSource
from toucan_connectors.sql.types import ColumnKind, ColumnType, numeric_kind

__all__ = [
    "CONNECT_STEPS",
    "ColumnKind",
    "ColumnType",
    "SQLConnector",
    "SQLDataSource",
    "numeric_kind",
]
