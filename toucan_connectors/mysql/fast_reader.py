"""The MySQL and MariaDB fast path: connectorx reads a query into Arrow, we build the frame.

connectorx binds no parameters, so only queries without bound values take this path: values are
never written into SQL text. The column kinds come from the standard path's own typing, read by
a pooled PyMySQL probe of the query with LIMIT 0 (connectorx reports every DECIMAL as
decimal128(38, 10) and cannot tell a BIT from a blob). Types connectorx reads differently from
PyMySQL take the standard path without running the query:

* FLOAT: connectorx gives the stored float32 (3.1415927), PyMySQL the server's text (3.14159);
* TIME: connectorx fails on negative durations and on those of 24 hours or more;
* DECIMAL with a scale above 10 (connectorx rounds it to 10 places without a word) or with more
  than 18 digits before the point (connectorx's 28-digit decimals overflow at scale 10);
* GEOMETRY, the NULL type, and any type code not listed below.

Zero and partial dates ('0000-00-00', '2016-00-00') cannot be seen in the schema: connectorx
panics on them, and the query is then read again on the standard path (logged at DEBUG; the
panic's message also reaches stderr, printed by the Rust runtime). An error of the server
(a syntax error, a timeout, a write refused in the read-only session) is raised once, as the
standard path words it.
"""

from __future__ import annotations

import dataclasses
import decimal
import logging
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from toucan_connectors.mysql.types import FieldType, read_field_types
from toucan_connectors.sql.arrow_reader import (
    FastPathQueryError,
    FastPathUnsupportedError,
    arrow_to_frame,
    batches_to_frame,
)
from toucan_connectors.sql.types import ColumnKind, ColumnType

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from toucan_connectors.sql.query import BoundQuery
    from toucan_connectors.sql.sql_connector import SQLConnector

logger = logging.getLogger(__name__)

__all__ = ["MySQLFastQueryError", "has_connectorx", "iter_fast_frames", "read_fast"]

DRIVER = "connectorx_mysql"
"""The `fast_driver` value of the MySQL connector."""

_SERVER_ERROR = re.compile(r"MySqlError \{ ERROR (\d+) \((\w+)\): (.*?) \}", re.DOTALL)
_COLLATION = re.compile(r"^[A-Za-z0-9_]+$")
# Modes that change how the text of a query reads; the standard path drops them from its
# session, but connectorx prepares the statement before its session statements run.
_PARSING_MODES = {"ANSI", "ANSI_QUOTES", "NO_BACKSLASH_ESCAPES"}
_MAX_SCALE = 10  # connectorx's decimals have 10 places ...
_MAX_WHOLE_DIGITS = 18  # ... of 28 digits in all
# Type codes read exactly (see mysql/types.py): integers, YEAR, DECIMAL, DOUBLE, dates,
# TIMESTAMP, BIT, text and binary strings, ENUM, SET, JSON.
_READ_EXACTLY = {0, 1, 2, 3, 5, 7, 8, 9, 10, 12, 13, 14, 15, 16, 245, 246, 247, 248}
_READ_EXACTLY |= {249, 250, 251, 252, 253, 254}
_DECIMALS = {0, 246}
_BIT = 16
_REFUSALS = {1792, 1969, 3024}  # read-only transaction; MariaDB's and MySQL's timeouts
_REFUSED = {4: "FLOAT", 6: "NULL", 11: "TIME", 255: "GEOMETRY"}


class MySQLFastQueryError(FastPathQueryError):
    """The server refused a query on the fast path; `args` are (code, message) as in PyMySQL."""

    def __init__(self, code: int, text: str) -> None:
        # PyMySQL's errors print as their (code, message) pair: the standard path's wording.
        super().__init__(str((code, text)), None)
        self.args = (code, text)


def has_connectorx() -> bool:
    """Tell whether connectorx and pyarrow are installed."""
    try:
        import connectorx  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


@dataclasses.dataclass
class _Reader:
    """One database's connectorx URI (it holds the password: never logged) and server facts."""

    uri: str
    session: list[str]
    parsing_modes: set[str] | None = None

    def dispose(self) -> None:
        """Nothing to close: connectorx opens a connection per read."""


@dataclasses.dataclass(frozen=True)
class _Plan:
    """What a read needs: the columns as the standard path types them, and their fields."""

    reader: _Reader
    columns: list[ColumnType]
    fields: list[FieldType]


def read_fast(
    connector: SQLConnector, query: BoundQuery, database: str | None
) -> tuple[pd.DataFrame, list[ColumnType]] | None:
    """Read a whole query through connectorx; None when the standard path must read it.

    Raises:
        MySQLFastQueryError: the server refused the query (it is not run again).
    """
    plan = _plan(connector, query, database)
    if plan is None:
        return None

    import connectorx

    try:
        table = connectorx.read_sql(
            plan.reader.uri, query.sql, return_type="arrow", pre_execution_query=plan.reader.session
        )
    except RuntimeError as exc:
        _raise_server_error(connector, exc)
        _give_up(connector, exc)
        return None
    except BaseException as exc:
        if not _is_panic(exc):
            raise
        _give_up(connector, exc)
        return None

    try:
        columns = _named_columns(plan, table.schema)
        prepared = _prepare_table(table, plan.fields)
        del table
        kinds = [column.kind for column in columns]
        return batches_to_frame(prepared.to_batches(), prepared.schema, kinds), columns
    except FastPathUnsupportedError as exc:
        _give_up(connector, exc)
        return None


def iter_fast_frames(
    connector: SQLConnector, query: BoundQuery, database: str | None, batch_size: int
) -> Iterator[tuple[pd.DataFrame, list[ColumnType]]] | None:
    """Stream a query through connectorx as frames of `batch_size` rows; None: standard path.

    The first batch is read before returning, so an error there still leaves the standard path
    to the caller. A failure after it is a ProviderError: rows were already handed out.
    """
    plan = _plan(connector, query, database)
    if plan is None:
        return None

    import connectorx

    try:
        stream = connectorx.read_sql(
            plan.reader.uri,
            query.sql,
            return_type="arrow_stream",
            pre_execution_query=plan.reader.session,
            batch_size=batch_size,
        )
        batches = _exact_batches(stream, batch_size)
        first = next(batches)
        columns = _named_columns(plan, first.schema)
        kinds = [column.kind for column in columns]
        first_frame = _batch_frame(first, plan.fields, kinds)
    except (RuntimeError, FastPathUnsupportedError) as exc:
        _give_up(connector, exc)
        return None
    except BaseException as exc:
        if not _is_panic(exc):
            raise
        _give_up(connector, exc)
        return None

    def _frames() -> Iterator[tuple[pd.DataFrame, list[ColumnType]]]:
        from toucan_connectors.errors import ProviderError

        yield first_frame, columns
        rows = first.num_rows
        label = connector.type or type(connector).__name__
        try:
            for batch in batches:
                frame = _batch_frame(batch, plan.fields, kinds)
                rows += batch.num_rows
                yield frame, columns
        except GeneratorExit:
            raise
        except BaseException as exc:
            if not isinstance(exc, RuntimeError | FastPathUnsupportedError) and not _is_panic(exc):
                raise
            raise ProviderError(
                f'The "{label}" connector lost the stream after its first {rows} rows '
                f"({_scrubbed(connector, exc)}): fix the query if the database refused it, or "
                "set `fast_path` to false on the connector to stream it on the standard path."
            ) from None

    return _frames()


def _plan(connector: SQLConnector, query: BoundQuery, database: str | None) -> _Plan | None:
    """Check that the fast path applies and type the columns; None (logged) when it does not."""
    reason = _unsupported_setting(connector, query)
    if reason is None and not has_connectorx():
        reason = "connectorx is not installed"
    if reason is not None:
        logger.debug("The fast path does not apply (%s); using the standard path", reason)
        return None

    reader: _Reader = connector._pooled(
        "connectorx reader", database, lambda key: _new_reader(connector, key)
    )
    probed = _probe(connector, reader, query, database)
    if probed is None:
        return None
    columns, fields = probed
    reason = _unsupported_columns(reader, columns, fields)
    if reason is not None:
        logger.debug("The fast path does not apply (%s); using the standard path", reason)
        return None
    return _Plan(reader, columns, fields)


def _unsupported_setting(connector: Any, query: BoundQuery) -> str | None:
    if query.params:
        # connectorx cannot bind values, and values are never written into the SQL text.
        return "the query has bound parameters"
    if str(connector.charset).lower() != "utf8mb4":
        return f"the connection's character set is {connector.charset}"
    if connector.collation and not _COLLATION.match(connector.collation):
        return "the collation is not a plain name"
    if connector.ssl_mode not in ("DISABLED", "PREFERRED"):
        return f"ssl_mode {connector.ssl_mode} is only set up on the standard path"
    return None


def _new_reader(connector: Any, database: str | None) -> _Reader:
    from toucan_connectors.mysql.mysql_connector import _SESSION_SETUP

    password = connector.password.get_secret_value() if connector.password else ""
    host = f"[{connector.host}]" if ":" in connector.host else connector.host
    uri = f"mysql://{quote(connector.user, safe='')}:{quote(password, safe='')}@{host}:"
    uri += f"{connector.port}/{quote(database or '', safe='')}"
    # Without prefer_socket=false the driver moves to the server's Unix socket, where the
    # user may be another account (root@localhost instead of root@127.0.0.1).
    uri += f"?prefer_socket=false&tcp_connect_timeout_ms={int(connector.connect_timeout) * 1000}"
    session = ["SET SESSION TRANSACTION READ ONLY", _SESSION_SETUP]
    if connector.collation:
        session.append(f"SET NAMES utf8mb4 COLLATE {connector.collation}")
    return _Reader(uri, session)


def _probe(
    connector: Any, reader: _Reader, query: BoundQuery, database: str | None
) -> tuple[list[ColumnType], list[FieldType]] | None:
    """Type the result with the standard path's rules, on a pooled PyMySQL connection."""
    from sqlalchemy.exc import SQLAlchemyError

    from toucan_connectors.sql.query import page_query

    empty = page_query(query, connector.sqlglot_dialect, 0, 0)
    if empty is None:
        logger.debug("The fast path does not apply (no LIMIT 0 form); using the standard path")
        return None

    # A refused connection raises the standard path's own error here.
    with connector._connection(database) as conn:
        try:
            result = conn.execute(empty.to_text())
            fields = read_field_types(result.cursor)
            columns = connector._column_types(result)
            result.close()
            if reader.parsing_modes is None:
                _learn_server(connector, reader, conn)
        except SQLAlchemyError as exc:
            _raise_refusal(connector, exc)
            # Another error (of the rewritten text, say): the standard path meets it at once.
            _give_up(connector, exc)
            return None
    return columns, fields


def _raise_refusal(connector: Any, exc: Exception) -> None:
    """Raise a write refused or a timeout met by the probe, as the standard path words it.

    LIMIT 0 still opens the tables a function writes to, and still evaluates a derived table of
    one row: running the query again would only meet the same refusal.
    """
    original = getattr(exc, "orig", None)
    if getattr(exc, "connection_invalidated", False) or original is None:
        return
    code = original.args[0] if original.args else None
    if code in _REFUSALS and len(original.args) > 1:
        raise MySQLFastQueryError(code, _scrub(connector, str(original.args[1]))) from None


def _learn_server(connector: Any, reader: _Reader, conn: Any) -> None:
    modes = str(conn.exec_driver_sql("SELECT @@GLOBAL.sql_mode").scalar() or "")
    if connector.query_timeout:
        if conn.dialect.is_mariadb:
            timeout = f"SET SESSION max_statement_time = {int(connector.query_timeout)}"
        else:
            timeout = f"SET SESSION max_execution_time = {int(connector.query_timeout) * 1000}"
        reader.session.append(timeout)
    reader.parsing_modes = {mode for mode in modes.upper().split(",") if mode in _PARSING_MODES}


def _unsupported_columns(
    reader: _Reader, columns: Sequence[ColumnType], fields: Sequence[FieldType]
) -> str | None:
    if reader.parsing_modes:
        return f"the server's sql_mode has {', '.join(sorted(reader.parsing_modes))}"
    if len(fields) != len(columns):
        return "the result's fields are not described"
    for column, field in zip(columns, fields, strict=True):
        code = field.type_code
        if code in _REFUSED:
            return f"column {column.name!r} is {_REFUSED[code]}"
        if code not in _READ_EXACTLY:
            return f"column {column.name!r} has type {column.db_type}"
        if code in _DECIMALS and field.scale > _MAX_SCALE:
            return f"column {column.name!r} ({column.db_type}) has more than 10 decimal places"
        if code in _DECIMALS and field.digits - field.scale > _MAX_WHOLE_DIGITS:
            return f"column {column.name!r} ({column.db_type}) has more than 18 whole digits"
    return None


# Which Arrow types connectorx gives for each kind; anything else is a surprise.
_EXPECTED: dict[ColumnKind, tuple[str, ...]] = {
    "integer": ("int", "uint", "decimal", "large_binary"),
    "big_integer": ("uint64", "int64", "decimal"),
    "float": ("double", "decimal"),
    "decimal": ("decimal",),
    "datetime": ("date32", "timestamp[us]"),
    "datetime_utc": ("timestamp[us]",),
    "text": ("string",),
    "object": ("large_binary", "binary"),
}


def _named_columns(plan: _Plan, schema: pa.Schema) -> list[ColumnType]:
    """The probe's columns under the names the server gave the query itself.

    The probe ran a rewritten text, where an expression without an alias may be spelt apart.
    """
    if len(schema) != len(plan.columns):
        raise FastPathUnsupportedError("connectorx returned another number of columns")
    named = []
    for field, column in zip(schema, plan.columns, strict=True):
        if not str(field.type).startswith(_EXPECTED.get(column.kind, ())):
            raise FastPathUnsupportedError(
                f"column {field.name!r} ({column.db_type}) came as Arrow {field.type}"
            )
        named.append(dataclasses.replace(column, name=field.name))
    return named


def _prepare_table(table: pa.Table, fields: Sequence[FieldType]) -> pa.Table:
    import pyarrow as pa

    columns = [
        pa.chunked_array(
            [_prepare_array(chunk, field) for chunk in column.chunks],
            type=_prepared_type(column.type, field),
        )
        for column, field in zip(table.columns, fields, strict=True)
    ]
    return pa.Table.from_arrays(columns, names=table.column_names)


def _prepared_type(arrow_type: pa.DataType, field: FieldType) -> pa.DataType:
    import pyarrow as pa

    return _prepare_array(pa.array([], type=arrow_type), field).type


def _prepare_array(array: pa.Array, field: FieldType) -> pa.Array:
    """Give a connectorx array the form the shared conversion reads as PyMySQL's values."""
    import pyarrow as pa

    if field.type_code == _BIT:  # big-endian bytes, read as an unsigned number
        numbers = [None if v is None else int.from_bytes(v, "big") for v in array.to_pylist()]
        if any(number is not None and number >= 2**63 for number in numbers):
            # A BIT(64) with its top bit set: the standard path words what it does with it.
            raise FastPathUnsupportedError("a BIT value does not fit in a 64-bit integer")
        return pa.array(numbers, type=pa.int64())
    if field.type_code in _DECIMALS and pa.types.is_decimal(array.type):
        if field.scale == 0:
            return array.cast(pa.int64()) if field.digits <= 18 else array
        if field.digits <= 15:
            # Through the exact text: the float nearest the decimal, as float(Decimal) gives.
            return array.cast(pa.string())
        # The declared number of places, as the server prints them (12.30, not 12.3000000000).
        quantum = decimal.Decimal(1).scaleb(-field.scale)
        return pa.array(
            [None if v is None else v.quantize(quantum) for v in array.to_pylist()],
            type=pa.decimal128(38, field.scale),
        )
    return array


def _batch_frame(
    batch: pa.RecordBatch, fields: Sequence[FieldType], kinds: Sequence[ColumnKind]
) -> pd.DataFrame:
    import pyarrow as pa

    table = _prepare_table(pa.Table.from_batches([batch]), fields)
    return arrow_to_frame(table, kinds)


def _exact_batches(stream: pa.RecordBatchReader, batch_size: int) -> Iterator[pa.RecordBatch]:
    """Yield the stream as batches of exactly `batch_size` rows (the last one fewer)."""
    import pyarrow as pa

    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    yielded = False
    for batch in stream:
        pending.append(batch)
        pending_rows += batch.num_rows
        while pending_rows >= batch_size:
            merged = pa.Table.from_batches(pending, stream.schema).combine_chunks()
            yield from merged.slice(0, batch_size).to_batches()
            yielded = True
            rest = merged.slice(batch_size)
            pending, pending_rows = rest.to_batches(), rest.num_rows
    if pending_rows:
        yield from pa.Table.from_batches(pending, stream.schema).combine_chunks().to_batches()
    elif not yielded:
        yield pa.RecordBatch.from_pylist([], stream.schema)


def _raise_server_error(connector: Any, exc: RuntimeError) -> None:
    """Raise the server's refusal of the query, in PyMySQL's (code, message) form."""
    text = str(exc)
    found = _SERVER_ERROR.search(text)
    if found is None or text.startswith("timed out waiting for connection"):
        return
    raise MySQLFastQueryError(int(found.group(1)), _scrub(connector, found.group(3))) from None


def _is_panic(exc: BaseException) -> bool:
    """Whether `exc` is pyo3's PanicException (a BaseException no module exports)."""
    kind = type(exc)
    return kind.__module__ == "pyo3_runtime" and kind.__name__ == "PanicException"


def _give_up(connector: Any, exc: BaseException) -> None:
    logger.debug("The fast path gave up (%s); using the standard path", _scrubbed(connector, exc))


def _scrubbed(connector: Any, exc: BaseException) -> str:
    """The first line of an error, without the connector's secrets."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return _scrub(connector, text)


def _scrub(connector: Any, text: str) -> str:
    for secret in connector._secret_values():
        text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
    return text
