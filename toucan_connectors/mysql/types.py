"""MySQL and MariaDB result field types mapped to pandas dtypes.

PyMySQL describes each result field with a type code, flags (UNSIGNED, BINARY) and a character
set, even when the result has no rows, so the dtypes below never depend on the data:

* integer types and ``BIT`` -> ``Int64``; ``BIGINT UNSIGNED`` -> exact Python ints (``object``),
  so 18446744073709551615 stays exact; ``BOOLEAN`` is ``TINYINT(1)`` on the server, so it comes
  back as ``Int64`` holding 0 and 1;
* ``DECIMAL`` follows the shared NUMERIC policy (`toucan_connectors.sql.types.numeric_kind`):
  ``DECIMAL(p, 0)`` -> ``Int64`` up to 18 digits, exact Python ints beyond; ``DECIMAL(p, s)``
  -> ``float64`` up to 15 digits, exact ``decimal.Decimal`` beyond;
* ``FLOAT``, ``DOUBLE`` -> ``float64``;
* ``DATE``, ``DATETIME`` -> ``datetime64[us]`` (naive); ``TIMESTAMP`` -> ``datetime64[us, UTC]``
  (the session time zone is UTC); zero and partial dates (``0000-00-00``, ``2016-00-00``) are
  missing values; ``9999-12-31`` (``DATE`` or ``DATETIME``) is kept, as every real date;
* ``TIME`` -> ``timedelta64[us]``; ``YEAR`` -> ``Int64``;
* text types, ``ENUM``, ``SET`` and ``JSON`` -> ``str``; binary strings and blobs -> ``object``
  holding ``bytes``; ``GEOMETRY`` and ``NULL`` -> ``object``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from toucan_connectors.sql.types import ColumnKind, ColumnType, numeric_kind

BINARY_CHARSET = 63
UNSIGNED_FLAG = 32

_INTEGERS = {1, 2, 3, 8, 9, 13}  # TINY, SHORT, LONG, LONGLONG, INT24, YEAR
_FLOATS = {4, 5}  # FLOAT, DOUBLE
_DECIMALS = {0, 246}  # DECIMAL, NEWDECIMAL
_DATES = {10, 12, 14}  # DATE, DATETIME, NEWDATE
_TIMESTAMP = 7
_TIME = 11
_BIT = 16
_LONGLONG = 8
_STRINGS = {15, 245, 247, 248, 249, 250, 251, 252, 253, 254}  # VARCHAR .. STRING, JSON

TYPE_NAMES: dict[int, str] = {
    0: "DECIMAL",
    1: "TINYINT",
    2: "SMALLINT",
    3: "INT",
    4: "FLOAT",
    5: "DOUBLE",
    6: "NULL",
    7: "TIMESTAMP",
    8: "BIGINT",
    9: "MEDIUMINT",
    10: "DATE",
    11: "TIME",
    12: "DATETIME",
    13: "YEAR",
    14: "DATE",
    15: "VARCHAR",
    16: "BIT",
    245: "JSON",
    246: "DECIMAL",
    247: "ENUM",
    248: "SET",
    249: "TINYBLOB",
    250: "MEDIUMBLOB",
    251: "LONGBLOB",
    252: "BLOB",
    253: "VARCHAR",
    254: "CHAR",
    255: "GEOMETRY",
}
"""Readable names of the type codes, for a slice's column types."""

_TEXTS = {249: "TINYTEXT", 250: "MEDIUMTEXT", 251: "LONGTEXT", 252: "TEXT"}


@dataclass(frozen=True)
class FieldType:
    """What the server says about one result field."""

    type_code: int
    flags: int = 0
    charset: int = BINARY_CHARSET
    length: int = 0
    scale: int = 0

    @property
    def is_unsigned(self) -> bool:
        """Tell whether the field carries the UNSIGNED flag."""
        return bool(self.flags & UNSIGNED_FLAG)

    @property
    def digits(self) -> int:
        """Return a DECIMAL field's precision (its length counts the sign and the point)."""
        sign = 0 if self.is_unsigned else 1
        point = 1 if self.scale else 0
        return max(self.length - sign - point, 0)

    @property
    def type_name(self) -> str:
        """Return the SQL type name, with UNSIGNED and the DECIMAL precision where relevant."""
        name = TYPE_NAMES.get(self.type_code, f"TYPE_{self.type_code}")
        if self.type_code in _DECIMALS:
            name = f"{name}({self.digits},{self.scale})"
        if self.type_code in _STRINGS and self.charset == BINARY_CHARSET:
            name = "VARBINARY" if self.type_code in (15, 253) else name
        elif self.type_code in _TEXTS:
            # The server sends TEXT as a BLOB with a character set.
            name = _TEXTS[self.type_code]
        if self.is_unsigned and self.type_code in _INTEGERS | _DECIMALS:
            name += " UNSIGNED"
        return name


def read_field_types(cursor: Any) -> list[FieldType]:
    """Return the field types of a PyMySQL cursor's last result, rows or no rows."""
    # The flags and character sets are not in the DB-API `description`; PyMySQL keeps the
    # full field packets on the cursor's result.
    fields = getattr(getattr(cursor, "_result", None), "fields", None) or []
    return [
        FieldType(
            type_code=field.type_code,
            flags=field.flags,
            charset=field.charsetnr,
            length=field.length,
            scale=field.scale,
        )
        for field in fields
    ]


def column_type(name: str, field: FieldType) -> ColumnType:
    """Return the shared SQL column type a MySQL result field converts to."""
    return ColumnType(name, field.type_name, _kind(field))


def decoders() -> dict[int, Any]:
    """Return PyMySQL's conversions, with zero dates as None and ``BIT`` values as ints."""
    # PyMySQL hands back dates it cannot represent ('0000-00-00', '2016-00-00') as strings,
    # which would mix strings and dates in one column.
    from pymysql import converters

    def date_or_none(text: Any) -> datetime.date | None:
        value = converters.convert_date(text)
        return value if isinstance(value, datetime.date) else None

    def datetime_or_none(text: Any) -> datetime.date | None:
        value = converters.convert_datetime(text)
        return value if isinstance(value, datetime.date) else None

    def bits_to_int(data: bytes) -> int:
        return int.from_bytes(data, "big")

    conversions: dict[int, Any] = dict(converters.conversions)
    conversions.update(
        {10: date_or_none, 14: date_or_none, 12: datetime_or_none, 7: datetime_or_none}
    )
    conversions[_BIT] = bits_to_int
    return conversions


def _kind(field: FieldType) -> ColumnKind:
    code = field.type_code
    if code == _LONGLONG and field.is_unsigned:
        return "big_integer"
    if code in _INTEGERS or code == _BIT:
        return "integer"
    if code in _DECIMALS:
        return numeric_kind(field.digits, field.scale)
    if code in _FLOATS:
        return "float"
    if code in _DATES:
        return "datetime"
    if code == _TIMESTAMP:
        return "datetime_utc"
    if code == _TIME:
        return "timedelta"
    if code in _STRINGS and field.charset != BINARY_CHARSET:
        return "text"
    return "object"
