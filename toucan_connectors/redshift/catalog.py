"""Redshift-only catalogue queries: system views PostgreSQL does not have.

Kept apart from the connector so they can be checked without a cluster: the queries bind every
name they filter on, and the row handling is plain Python.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

# svv_tables lists local, external and late-binding objects; svv_columns their columns.
# stv_mv_info names the materialized views, which svv_tables reports as views.
CATALOG_QUERY = sa.text(
    """
    SELECT t.table_schema AS schema_name, t.table_name AS table_name,
           CASE WHEN mv.name IS NOT NULL THEN 'materialized_view'
                WHEN t.table_type = 'VIEW' THEN 'view' ELSE 'table' END AS kind,
           c.column_name AS column_name, c.data_type AS column_type
    FROM svv_tables AS t
    LEFT JOIN (SELECT DISTINCT schema, name FROM stv_mv_info) AS mv
      ON mv.schema = t.table_schema AND mv.name = t.table_name
    LEFT JOIN svv_columns AS c
      ON c.table_catalog = t.table_catalog AND c.table_schema = t.table_schema
     AND c.table_name = t.table_name AND NOT :exclude_columns
    WHERE t.table_catalog = :database
      AND t.table_schema NOT IN ('pg_catalog', 'information_schema', 'pg_internal')
      AND t.table_schema NOT LIKE 'pg_temp%'
      AND (CAST(:schema AS varchar) IS NULL OR t.table_schema = :schema)
      AND (CAST(:table AS varchar) IS NULL OR t.table_name = :table)
      AND (:include_materialized_views OR mv.name IS NULL)
    ORDER BY t.table_schema, t.table_name, c.ordinal_position
    """
)
"""Tables, views and materialized views of one database with their columns."""

DATABASES_QUERY = sa.text("SELECT database_name FROM svv_redshift_databases ORDER BY 1")
"""The databases of the cluster (svv_redshift_databases also lists datashare consumers)."""

KINDS = {"table": "table", "view": "view", "materialized_view": "materialized_view"}
"""Catalogue kinds to `TableInfo` types: the query already names them."""

_REDSHIFT_VERSION = re.compile(r"Redshift (\d+(?:\.\d+)*)")


def catalog_parameters(
    database: str,
    schema: str | None,
    table: str | None,
    include_materialized_views: bool,
    exclude_columns: bool,
) -> dict[str, Any]:
    """Return the bound values of `CATALOG_QUERY`."""
    return {
        "database": database,
        "schema": schema,
        "table": table,
        "include_materialized_views": include_materialized_views,
        "exclude_columns": exclude_columns,
    }


def parse_redshift_version(version: str) -> tuple[int, ...] | None:
    """Return the Redshift release from `SELECT version()`, or None for another server.

    Redshift answers ``PostgreSQL 8.0.2 on i686-pc-linux-gnu, ..., Redshift 1.0.77467``.
    """
    found = _REDSHIFT_VERSION.search(version)
    if found is None:
        return None
    return tuple(int(part) for part in found.group(1).split("."))
