"""PostgreSQL type OIDs mapped to provider type names and column kinds.

psycopg2 reports each result column's type OID (and, for NUMERIC, its precision and scale), so
the kinds come from the query's types, never from the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from toucan_connectors.sql.types import ColumnKind, ColumnType, numeric_kind

NUMERIC_OID = 1700

# OID: (type name, kind). Arrays, json and unknown types keep the driver's Python values.
POSTGRES_TYPES: dict[int, tuple[str, ColumnKind]] = {
    16: ("boolean", "boolean"),
    17: ("bytea", "object"),
    18: ("char", "text"),
    19: ("name", "text"),
    20: ("bigint", "integer"),
    21: ("smallint", "integer"),
    23: ("integer", "integer"),
    25: ("text", "text"),
    26: ("oid", "integer"),
    114: ("json", "object"),
    142: ("xml", "text"),
    700: ("real", "float"),
    701: ("double precision", "float"),
    790: ("money", "text"),
    869: ("inet", "text"),
    650: ("cidr", "text"),
    829: ("macaddr", "text"),
    1042: ("character", "text"),
    1043: ("character varying", "text"),
    1082: ("date", "datetime"),
    1083: ("time without time zone", "object"),
    1114: ("timestamp without time zone", "datetime"),
    1184: ("timestamp with time zone", "datetime_utc"),
    1186: ("interval", "timedelta"),
    1266: ("time with time zone", "object"),
    1560: ("bit", "text"),
    1562: ("bit varying", "text"),
    2950: ("uuid", "text"),
    3802: ("jsonb", "object"),
    # Arrays: lists of the element's Python values.
    1000: ("boolean[]", "object"),
    1005: ("smallint[]", "object"),
    1007: ("integer[]", "object"),
    1009: ("text[]", "object"),
    1014: ("character[]", "object"),
    1015: ("character varying[]", "object"),
    1016: ("bigint[]", "object"),
    1021: ("real[]", "object"),
    1022: ("double precision[]", "object"),
    1115: ("timestamp without time zone[]", "object"),
    1182: ("date[]", "object"),
    1185: ("timestamp with time zone[]", "object"),
    1231: ("numeric[]", "object"),
    2951: ("uuid[]", "object"),
    199: ("json[]", "object"),
    3807: ("jsonb[]", "object"),
}


_DATE_OIDS = {1082: "DATE", 1114: "PYDATETIME", 1184: "PYDATETIMETZ"}


def register_date_casters(connection: Any) -> None:
    """Read dates and timestamps of `connection` by the rule the fast path follows too.

    'infinity' and '-infinity' and the dates Python cannot hold (BC, years past 9999) become
    missing values (None); every other date is kept, 0001-01-01 and 9999-12-31 included.
    psycopg2 would give 'infinity' as date.max, telling it apart from a real 9999-12-31 no more.
    """
    import psycopg2.extensions as extensions

    for oid, name in _DATE_OIDS.items():
        default = extensions.PYDATE if name == "DATE" else getattr(extensions, name)
        caster = extensions.new_type((oid,), f"TOUCAN_{name}", _bounded(default))
        extensions.register_type(caster, connection)


def _bounded(default: Any) -> Any:
    def _cast(value: str | None, cursor: Any) -> Any:
        if value is None or value in ("infinity", "-infinity") or value.endswith(" BC"):
            return None
        try:
            return default(value, cursor)
        except ValueError:  # a year past 9999
            return None

    return _cast


def postgres_column_types(description: Sequence[Any]) -> list[ColumnType]:
    """Return the column types of a psycopg2 cursor description."""
    return [_column_type(column) for column in description]


def _column_type(column: Any) -> ColumnType:
    oid = column.type_code
    if oid == NUMERIC_OID:
        precision, scale = column.precision, column.scale
        if precision is None or precision > 1000:  # 65535: declared without precision
            return ColumnType(column.name, "numeric", numeric_kind(None, None))
        return ColumnType(
            column.name, f"numeric({precision},{scale})", numeric_kind(precision, scale)
        )
    name, kind = POSTGRES_TYPES.get(oid, (f"oid {oid}", "object"))
    return ColumnType(column.name, name, kind)
