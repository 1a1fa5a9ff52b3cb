"""Discovery of the SQL connectors: the tables and views of each reachable database."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from toucan_connectors.discovery import ColumnInfo, TableInfo
from toucan_connectors.errors import ConnectionFailedError

if TYPE_CHECKING:
    from toucan_connectors.sql.sql_connector import SQLConnector

logger = logging.getLogger(__name__)

__all__ = ["inspect_tables", "list_model_with_info"]


def list_model_with_info(
    connector: SQLConnector,
    db_name: str | None,
    schema_name: str | None,
    table_name: str | None,
    exclude_columns: bool,
) -> tuple[list[TableInfo], dict[str, Any]]:
    """Return the tables of each database, plus ``{"unreachable_databases": {name: error}}``."""
    databases = [db_name] if db_name else connector._list_databases()
    tables: list[TableInfo] = []
    unreachable: dict[str, str] = {}
    for database in databases:
        logger.debug("Listing the tables of %s database %r", connector._label(), database)
        try:
            with connector._connection(database or None) as conn:
                tables += connector._list_tables(
                    conn, database, schema_name, table_name, exclude_columns
                )
        except (ConnectionFailedError, SQLAlchemyError) as exc:
            message = (
                str(exc)
                if isinstance(exc, ConnectionFailedError)
                else (connector._driver_message(exc))
            )
            logger.warning(
                "Database %r was skipped: %s. Grant the connector's user access to it, or "
                "pass db_name to explore another one.",
                database,
                message,
            )
            unreachable[database] = message
        finally:
            if (database or None) != connector._default_database():
                # Explored once: its pool would keep idle connections to every database.
                connector._drop_pool("engine", database or None)
    return tables, {"unreachable_databases": unreachable}


def inspect_tables(
    conn: sa.Connection,
    database: str,
    schema: str | None,
    table: str | None,
    exclude_columns: bool,
    system_schemas: frozenset[str],
) -> list[TableInfo]:
    """List tables and views through SQLAlchemy's inspector, which binds the names it asks for."""
    inspector = sa.inspect(conn)
    schemas = (
        [schema]
        if schema
        else [name for name in inspector.get_schema_names() if name not in system_schemas]
    )
    found: list[TableInfo] = []
    for schema_name in schemas:
        listed = [("table", name) for name in inspector.get_table_names(schema_name)]
        listed += [("view", name) for name in inspector.get_view_names(schema_name)]
        for kind, name in sorted(listed, key=lambda item: item[1]):
            if table is not None and name != table:
                continue
            columns: list[ColumnInfo] = []
            if not exclude_columns:
                columns = [
                    ColumnInfo(name=column["name"], type=str(column["type"]))
                    for column in inspector.get_columns(name, schema_name)
                ]
            found.append(
                TableInfo(
                    database=database,
                    schema=schema_name,
                    type=kind,  # type: ignore[typeddict-item]
                    name=name,
                    columns=columns,
                )
            )
    return found
