"""SQLite result columns typed from declared column types rather than from the rows.

SQLite cursors carry no types, and a value's storage class says nothing about an empty result.
The query is parsed with sqlglot, its tables' declared types (``PRAGMA table_xinfo``) are
reduced by SQLite's own affinity rules, and sqlglot infers the type of each output column
(plain columns, ``a + 1``, ``count(*)``, ``max(at)``, joins, subqueries and CTEs). Then:

* INTEGER affinity -> ``Int64``; a declared ``BOOLEAN`` -> ``boolean``;
* REAL and NUMERIC affinity (``NUMERIC(10,2)``, ``DECIMAL``) -> ``float64``: SQLite stores them
  as floating-point numbers, so there is nothing more exact to keep;
* TEXT affinity -> ``str``; ``BLOB`` -> ``object`` holding ``bytes``;
* a declared ``DATE``, ``DATETIME`` or ``TIMESTAMP`` -> ``datetime64[us]``, parsed from ISO 8601
  text without an offset;
* a column whose type is unknown (no declared type, ``NULL``, a parameter, a function sqlglot
  does not know) gets its dtype from its values: ``Int64``, ``float64``, ``str`` or ``object``.

SQLite lets a row hold a value of another type than the declared one; when a column's values do
not fit its declared dtype, the column falls back to the dtype of its values and a warning says
which column.
"""

from __future__ import annotations

import datetime
import logging
import sqlite3
from collections.abc import Sequence
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from toucan_connectors.sql.types import ColumnKind, ColumnType

logger = logging.getLogger(__name__)

_T = exp.DataType.Type
_KINDS: dict[exp.DType, ColumnKind] = {
    **dict.fromkeys(
        (_T.TINYINT, _T.SMALLINT, _T.MEDIUMINT, _T.INT, _T.BIGINT, _T.UINT, _T.UBIGINT),
        "integer",
    ),
    _T.BOOLEAN: "boolean",
    **dict.fromkeys((_T.FLOAT, _T.DOUBLE, _T.DECIMAL), "float"),
    **dict.fromkeys((_T.TEXT, _T.VARCHAR, _T.CHAR, _T.NCHAR, _T.NVARCHAR), "text"),
    **dict.fromkeys((_T.DATE, _T.DATETIME, _T.TIMESTAMP), "datetime"),
    **dict.fromkeys((_T.BLOB, _T.VARBINARY, _T.BINARY), "object"),
}


def affinity_type(declared: str) -> str:
    """Reduce a declared column type to the SQL type sqlglot should assume for it.

    Follows SQLite's affinity rules (https://www.sqlite.org/datatype3.html#determination_of_column_affinity),
    with dates and booleans told apart because users declare them to mean something.
    """
    upper = declared.upper()
    if "BOOL" in upper:
        return "BOOLEAN"
    if "INT" in upper:
        return "BIGINT"
    if "DATE" in upper or "TIME" in upper:
        return "TIMESTAMP"
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in upper or not upper.strip():
        return "BLOB" if upper.strip() else "UNKNOWN"
    return "DOUBLE"


def declared_types(conn: sqlite3.Connection, sql: str, width: int) -> list[str | None]:
    """Return the SQL type of each of a query's `width` output columns, None where unknown."""
    unknown: list[str | None] = [None] * width
    try:
        tree = sqlglot.parse_one(sql, read="sqlite")
    except SqlglotError:
        logger.debug("sqlglot could not parse the query; column types come from the rows")
        return unknown
    if not isinstance(tree, exp.Query):
        return unknown

    names = {table.name for table in tree.find_all(exp.Table)}
    tables = {name: _table_schema(conn, name) for name in names}
    schema: dict[str, object] = {name: columns for name, columns in tables.items() if columns}
    try:
        typed = annotate_types(
            qualify(tree, schema=schema, dialect="sqlite", validate_qualify_columns=False),
            schema=schema,
            dialect="sqlite",
        )
    except (SqlglotError, KeyError, ValueError):
        logger.debug("sqlglot could not type the query; column types come from the rows")
        return unknown

    selects = typed.selects if isinstance(typed, exp.Query) else []
    if len(selects) != width:
        return unknown
    return [_type_name(select.type) for select in selects]


def column_type(name: str, db_type: str | None, values: Sequence[Any]) -> ColumnType:
    """Return the column type of `db_type`, or of the values when they do not fit it."""
    kind = _KINDS.get(exp.DataType.Type[db_type]) if db_type else None
    if kind is not None and not _fits(values, kind):
        logger.warning(
            "Column %r holds values that are not %s; it keeps the type of its values. "
            "Cast the column in the query to choose its type.",
            name,
            db_type,
        )
        kind = None
    if kind is None:
        return ColumnType(name, db_type or "UNKNOWN", _kind_of_values(values))
    return ColumnType(name, db_type or "UNKNOWN", kind)


def _type_name(data_type: exp.DataType | None) -> str | None:
    kind = data_type.this if data_type is not None else None
    if not isinstance(kind, exp.DataType.Type) or kind not in _KINDS:
        return None
    return kind.name


def _table_schema(conn: sqlite3.Connection, name: str) -> dict[str, str]:
    rows = conn.execute("SELECT name, type FROM pragma_table_xinfo(?)", (name,)).fetchall()
    return {str(column): affinity_type(str(declared or "")) for column, declared in rows}


def _fits(values: Sequence[Any], kind: ColumnKind) -> bool:
    present = [value for value in values if value is not None]
    if kind == "integer":
        return all(isinstance(v, int) and not isinstance(v, bool) for v in present)
    if kind == "boolean":
        return all(isinstance(v, int) and v in (0, 1) for v in present)
    if kind == "float":
        return all(isinstance(v, int | float) for v in present)
    if kind == "text":
        return all(isinstance(v, str) for v in present)
    if kind == "datetime":
        return all(isinstance(v, str) and _is_naive_datetime(v) for v in present)
    return True


def _is_naive_datetime(text: str) -> bool:
    try:
        return datetime.datetime.fromisoformat(text).tzinfo is None
    except ValueError:
        return False


def _kind_of_values(values: Sequence[Any]) -> ColumnKind:
    present = [value for value in values if value is not None]
    for kind in ("integer", "float", "text"):
        if present and _fits(present, kind):
            return kind
    return "object"
