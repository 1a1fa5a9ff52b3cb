"""The SQLite fast path: ADBC's SQLite driver reads the rows into Arrow, we build the frame.

The column types follow the standard path's rule (`sqlite/types.py`): the declared type of
each output column, unless a value of another storage class makes the column keep the type of
its values. To apply it the same way, the query is first described by the standard path's own
connection (its column names and declared types; SQLite runs it up to its first row), then read
by ADBC wrapped as

    WITH <name>(c0, c1, ...) AS (<query>) SELECT c0, c1, ..., <storage flags> FROM <name>

where the flags hold one bit per column that ADBC could misread: a column read as text (or as
blobs, for a BLOB column) whose value in that row has another storage class. ADBC types a column
from the values of its first batch and then converts later values into that type (1 into '1',
a blob into text), so the Arrow type alone does not say what SQLite held:

* int64 means integers (or only NULLs), float64 integers and reals, both read exactly;
* text and binary columns are kept only when their flags show no other storage class;
* a value ADBC cannot put into the first batch's type makes it fail: the query goes to the
  standard path.

Whatever the fast path cannot give exactly as the standard path does (text in an INTEGER
column, a REAL in a BLOB column, a parameter other than the bound values, a value of another
Python type than str, int, float, bool or None) makes the query run on the standard path, logged
at DEBUG. The database is opened read-only (`mode=ro`) with `PRAGMA query_only`, as on the
standard path; the statement checks ran before, when the query was bound.
"""

from __future__ import annotations

import logging
import os
import threading
import urllib.parse
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from toucan_connectors.sql.arrow_reader import FastPathUnsupportedError, batches_to_frame
from toucan_connectors.sql.types import ColumnKind, ColumnType

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from toucan_connectors.sql.query import BoundQuery
    from toucan_connectors.sqlite.sqlite_connector import SQLiteConnector

logger = logging.getLogger(__name__)

__all__ = ["DRIVER", "SQLiteFastReader", "has_adbc_sqlite", "iter_fast_frames", "read_fast"]

DRIVER = "adbc_sqlite"
"""The `fast_driver` value of the SQLite connector."""

_BATCH_ROWS = 65_536  # rows per ADBC batch: also the rows ADBC infers each column's type from
_POOL_SIZE = 5
# A result that ends within these rows is built from the description's own rows, as the
# standard path builds it: for one-row lookups, ADBC's statement would cost more than it saves.
_SMALL_RESULT = 1_000
_FLAG_BITS = 62  # flag bits per int64 flag column
_WRAPPER = "toucan_fast_rows"
_MEMORY = ":memory:"
_KINDS_WITHOUT_FLAG = ("integer", "float", "boolean")  # read exactly from int64 and float64


def has_adbc_sqlite() -> bool:
    """Tell whether ADBC's SQLite driver (and pyarrow) is installed."""
    try:
        import adbc_driver_sqlite.dbapi  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


class SQLiteFastReader:
    """A pool of read-only ADBC connections to one database file; safe to share between threads."""

    def __init__(self, path: str, busy_timeout_ms: int) -> None:
        self._uri = f"file:{urllib.parse.quote(os.path.abspath(path))}?mode=ro"
        self._busy_timeout_ms = busy_timeout_ms
        self._idle: list[Any] = []
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        import adbc_driver_sqlite.dbapi as adbc

        conn = adbc.connect(self._uri, autocommit=True)
        cur = conn.cursor()
        try:
            # mode=ro refuses writes to the file; query_only also covers attached databases.
            cur.execute("PRAGMA query_only = ON")
            cur.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            cur.fetchall()
        finally:
            cur.close()
        return conn

    def _take(self) -> Any:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _give_back(self, conn: Any) -> None:
        with self._lock:
            if len(self._idle) < _POOL_SIZE:
                self._idle.append(conn)
                return
        conn.close()

    def stream(self, sql: str, values: Sequence[Any]) -> Generator[pa.RecordBatch, None, None]:
        """Run `sql` with its `?N` values bound in order and yield its record batches.

        Closing the iterator early stops the query and returns the connection to the pool.
        """
        conn = self._take()
        healthy = False
        try:
            cur = conn.cursor()
            try:
                cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(_BATCH_ROWS)})
                cur.execute(sql, list(values) or None)
                batches = cur.fetch_record_batch()
                try:
                    yield from batches
                except GeneratorExit:
                    healthy = True  # stopped early: the connection itself is fine
                    raise
                finally:
                    batches.close()
            finally:
                cur.close()
            healthy = True
        finally:
            if healthy:
                self._give_back(conn)
            else:
                conn.close()

    def parameter_names(self, sql: str) -> list[str]:
        """Return the names SQLite gives the parameters of `sql`, in binding order."""
        conn = self._take()
        try:
            cur = conn.cursor()
            try:
                return [field.name for field in cur.adbc_prepare(sql) or ()]
            finally:
                cur.close()
        finally:
            self._give_back(conn)

    def dispose(self) -> None:
        """Close every pooled connection."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


@dataclass(frozen=True)
class _Described:
    """The standard path's description of a query: its column names and declared types."""

    names: list[str]
    declared: list[str | None]
    # The storage class each flagged column must hold (besides NULL), by column position.
    expected: dict[int, str]
    # Every row of the result, when it ended within `_SMALL_RESULT` rows; else None.
    rows: list[Any] | None


@dataclass
class _Stats:
    """What a column's batches held: the values that decide its type on the standard path."""

    present: bool = False
    impure: bool = False
    low: int | None = None
    high: int | None = None


def read_fast(
    connector: SQLiteConnector, query: BoundQuery
) -> tuple[pd.DataFrame, list[ColumnType]] | None:
    """Read a whole bound query on the fast path; None when the standard path must read it."""
    from toucan_connectors.sql.types import build_frame
    from toucan_connectors.sqlite.types import column_type

    prepared = _prepare(connector, query)
    if prepared is None:
        return None
    reader, described, sql, values = prepared
    if described.rows is not None:  # a small result, built as SQLiteConnector._fetch builds it
        rows = described.rows
        columns = [
            column_type(name, db_type, [row[position] for row in rows])
            for position, (name, db_type) in enumerate(
                zip(described.names, described.declared, strict=True)
            )
        ]
        return build_frame(rows, columns), columns
    try:
        return _read_frame(reader, described, sql, values)
    except FastPathUnsupportedError as exc:
        _give_up(exc)
        return None
    except _driver_errors() as exc:
        _give_up(exc)
        return None


def iter_fast_frames(
    connector: SQLiteConnector, query: BoundQuery, batch_size: int
) -> Iterator[tuple[pd.DataFrame, list[ColumnType]]] | None:
    """Stream a small result from the rows its description fetched; None for the standard path.

    A larger result streams on the standard path: ADBC fixes each column's Arrow type from its
    first batch, so a later row of another storage class (SQLite allows one in any column)
    would end a fast stream part-way, after frames were handed out, where the standard path
    streams it whole.
    """
    from toucan_connectors.sqlite.types import column_type

    prepared = _prepare(connector, query)
    if prepared is None:
        return None
    described = prepared[1]
    if described.rows is None:
        logger.debug("A result of more than %d rows streams on the standard path", _SMALL_RESULT)
        return None
    # The standard path streams with the declared kinds: a column of unknown type is object.
    columns = [
        column_type(name, db_type, [])
        for name, db_type in zip(described.names, described.declared, strict=True)
    ]
    try:
        small = list(_small_frames(described.rows, columns, batch_size))
    except Exception as exc:  # noqa: BLE001  (the standard path runs it next, to word it)
        _give_up(exc)
        return None
    return iter(small)


def _small_frames(
    rows: list[Any], columns: list[ColumnType], batch_size: int
) -> Iterator[tuple[pd.DataFrame, list[ColumnType]]]:
    """The frames the standard path streams for `rows`: at least one, maybe empty."""
    from toucan_connectors.sql.types import build_frame

    for start in range(0, len(rows), batch_size):
        yield build_frame(rows[start : start + batch_size], columns), columns
    if not rows:
        yield build_frame([], columns), columns


# Preparing ------------------------------------------------------------------------------------


def _prepare(
    connector: SQLiteConnector, query: BoundQuery
) -> tuple[SQLiteFastReader, _Described, str, list[Any]] | None:
    """Describe the query, wrap it with its storage flags and order its values for binding."""
    if connector.path == _MEMORY:
        logger.debug("The fast path does not read :memory: databases; using the standard path")
        return None
    if not has_adbc_sqlite():
        logger.debug("adbc-driver-sqlite is not installed; using the standard path")
        return None
    if _WRAPPER in query.sql.lower():
        _give_up(FastPathUnsupportedError(f"the query names {_WRAPPER}"))
        return None
    described = _describe(connector, query)
    if described is None:
        return None
    reader = _reader_for(connector)
    if described.rows is not None:
        return reader, described, "", []  # read already: nothing to bind

    sql = _wrapped_sql(query.sql, described)
    try:
        names = reader.parameter_names(sql)
    except _driver_errors() as exc:
        _give_up(exc)
        return None
    values = []
    for name in names:
        key = name[1:] if name.startswith(":") else None
        if key is None or key not in query.params:
            _give_up(FastPathUnsupportedError(f"parameter {name!r} is not a bound value"))
            return None
        value = _bindable(query.params[key])
        if value is _UNBINDABLE:
            _give_up(FastPathUnsupportedError(f"parameter {name!r} is not bound as on sqlite3"))
            return None
        values.append(value)
    return reader, described, sql, values


_UNBINDABLE = object()


def _bindable(value: Any) -> Any:
    """The value ADBC binds as sqlite3 does, or _UNBINDABLE."""
    if isinstance(value, bool):
        return int(value)  # sqlite3 binds True as 1
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else _UNBINDABLE
    if value is None or isinstance(value, float | str):
        return value
    return _UNBINDABLE


def _describe(connector: SQLiteConnector, query: BoundQuery) -> _Described | None:
    """The standard path's column names and declared types, from its own connection."""
    from toucan_connectors.errors import ToucanConnectorError
    from toucan_connectors.sqlite.types import column_type

    try:
        with connector._connection(None) as conn:
            result = conn.execute(query.to_text())
            try:
                description = result.cursor.description
                if description is None:
                    _give_up(FastPathUnsupportedError("the statement returns no rows"))
                    return None
                names = [str(column[0]) for column in description]
                declared = connector._declared_types(result, len(names))
                head = list(result.fetchmany(_SMALL_RESULT + 1))
            finally:
                result.close()
    except ToucanConnectorError:
        raise  # a missing file, say: the standard path would raise the same
    except Exception as exc:  # noqa: BLE001  (the standard path runs it next, to word the error)
        _give_up(exc)
        return None

    expected: dict[int, str] = {}
    for position, (name, db_type) in enumerate(zip(names, declared, strict=True)):
        kind = column_type(name, db_type, []).kind if db_type else None
        if kind not in _KINDS_WITHOUT_FLAG:
            expected[position] = "blob" if kind == "object" else "text"
    small = bool(_SMALL_RESULT) and len(head) <= _SMALL_RESULT
    return _Described(names, declared, expected, head if small else None)


def _wrapped_sql(sql: str, described: _Described) -> str:
    """The query renamed column by column, followed by its storage flags."""
    width = len(described.names)
    renamed = ", ".join(f"c{position}" for position in range(width))
    flagged = list(described.expected.items())
    flags = []
    for start in range(0, len(flagged), _FLAG_BITS):
        bits = [
            f"((typeof(c{position}) NOT IN ('null', '{storage}')) << {bit})"
            for bit, (position, storage) in enumerate(flagged[start : start + _FLAG_BITS])
        ]
        flags.append(" | ".join(bits))
    selected = ", ".join([renamed, *flags])
    # The query stands on lines of its own: a trailing `--` comment ends before the `)`.
    return f"WITH {_WRAPPER}({renamed}) AS (\n{sql}\n) SELECT {selected} FROM {_WRAPPER}"


def _reader_for(connector: SQLiteConnector) -> SQLiteFastReader:
    def _create(key: str | None) -> SQLiteFastReader:
        return SQLiteFastReader(connector.path, int(connector.connect_timeout * 1000))

    reader: SQLiteFastReader = connector._pooled("fast reader", None, _create)
    return reader


# Whole results ---------------------------------------------------------------------------------


def _read_frame(
    reader: SQLiteFastReader, described: _Described, sql: str, values: list[Any]
) -> tuple[pd.DataFrame, list[ColumnType]]:
    """Read every batch, settle the column types as the standard path does, build the frame."""
    import pyarrow as pa

    width = len(described.names)
    batches: list[pa.RecordBatch] = []
    stats = [_Stats() for _ in range(width)]
    schema: pa.Schema | None = None
    for batch in reader.stream(sql, values):
        schema = batch.schema
        _gather(batch, described, stats)
        batches.append(batch)
    arrow_types = [None if schema is None else schema.field(i).type for i in range(width)]

    columns: list[ColumnType] = []
    converters: list[Callable[[pa.Array], pa.Array]] = []
    for position in range(width):
        column, converter = _settle(position, described, arrow_types[position], stats, batches)
        columns.append(column)
        converters.append(converter)
    kinds = [column.kind for column in columns]
    target = _target_schema(described.names, kinds)

    def _converted() -> Iterator[pa.RecordBatch]:
        while batches:
            batch = batches.pop(0)
            arrays = [converters[i](batch.column(i)) for i in range(width)]
            del batch
            yield pa.RecordBatch.from_arrays(arrays, schema=target)

    return batches_to_frame(_converted(), target, kinds), columns


def _gather(batch: pa.RecordBatch, described: _Described, stats: list[_Stats]) -> None:
    """Add a batch's nulls, integer range and storage flags to the columns' statistics."""
    import pyarrow as pa
    import pyarrow.compute as pc

    width = len(described.names)
    for position in range(width):
        array = batch.column(position)
        column = stats[position]
        if array.null_count < len(array):
            column.present = True
        if pa.types.is_int64(array.type) and array.null_count < len(array):
            low, high = pc.min_max(array).values()
            low_value, high_value = low.as_py(), high.as_py()
            column.low = low_value if column.low is None else min(column.low, low_value)
            column.high = high_value if column.high is None else max(column.high, high_value)
    flagged = list(described.expected)
    for chunk, start in enumerate(range(0, len(flagged), _FLAG_BITS)):
        flags = batch.column(width + chunk).to_numpy(zero_copy_only=False)
        mask = int(np.bitwise_or.reduce(flags)) if len(flags) else 0
        for bit, position in enumerate(flagged[start : start + _FLAG_BITS]):
            if mask >> bit & 1:
                stats[position].impure = True


def _settle(
    position: int,
    described: _Described,
    arrow_type: pa.DataType | None,
    stats: list[_Stats],
    batches: list[pa.RecordBatch],
) -> tuple[ColumnType, Callable[[pa.Array], pa.Array]]:
    """The standard path's column type, and how to turn ADBC's arrays into its values.

    Raises:
        FastPathUnsupportedError: ADBC's values cannot be told apart as the standard path's are.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from toucan_connectors.sqlite.types import column_type

    name, db_type = described.names[position], described.declared[position]
    column = stats[position]
    uniques: pa.Array | None = None
    # Values standing for what the column held, judged by the standard path's own rule.
    witnesses: list[Any] = []
    if not column.present or arrow_type is None:
        witnesses = []
    elif pa.types.is_int64(arrow_type):
        witnesses = [column.low, column.high]
    elif pa.types.is_float64(arrow_type):
        witnesses = [0.5]  # a float64 column holds at least one REAL
    elif pa.types.is_string(arrow_type) and _pure(position, described, column, "text"):
        kind = column_type(name, db_type, []).kind if db_type else None
        if kind == "datetime":
            uniques = pc.unique(pa.chunked_array([b.column(position) for b in batches]))
            witnesses = [value for value in uniques.to_pylist() if value is not None]
        else:
            witnesses = ["text"]
    elif pa.types.is_binary(arrow_type) and _pure(position, described, column, "blob"):
        witnesses = [b"blob"]
    else:
        raise FastPathUnsupportedError(f"column {name!r} mixes storage classes ({arrow_type})")

    settled = column_type(name, db_type, witnesses)
    kind = settled.kind
    if not column.present:
        return settled, _nulls(kind)
    if kind == "integer" and pa.types.is_int64(arrow_type):
        return settled, _same
    if kind == "float" and (pa.types.is_int64(arrow_type) or pa.types.is_float64(arrow_type)):
        return settled, _to_float64
    if kind == "boolean" and pa.types.is_int64(arrow_type):
        return settled, _to_bool
    if kind == "text" and pa.types.is_string(arrow_type):
        return settled, _checked_text
    if kind == "datetime" and uniques is not None:
        return settled, _date_parser(uniques)
    if kind == "object" and pa.types.is_binary(arrow_type):
        return settled, _same
    raise FastPathUnsupportedError(f"column {name!r} of kind {kind} is read as {arrow_type}")


def _pure(position: int, described: _Described, column: _Stats, storage: str) -> bool:
    """Whether the column's flags show only `storage` values (and NULLs)."""
    return described.expected.get(position) == storage and not column.impure


# Streams ----------------------------------------------------------------------------------------


# Conversions ------------------------------------------------------------------------------------


def _same(array: pa.Array) -> pa.Array:
    return array


def _to_float64(array: pa.Array) -> pa.Array:
    import pyarrow as pa

    # A safe cast: an integer float64 cannot hold exactly fails, and the query goes to the
    # standard path.
    return array.cast(pa.float64())


def _to_bool(array: pa.Array) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.not_equal(array, pa.scalar(0, pa.int64()))


def _checked_text(array: pa.Array) -> pa.Array:
    import pyarrow as pa

    try:
        array.validate(full=True)
    except pa.ArrowInvalid as exc:  # sqlite3 refuses text that is not UTF-8
        raise FastPathUnsupportedError(f"text that is not UTF-8 ({exc})") from exc
    return array


def _nulls(kind: ColumnKind) -> Callable[[pa.Array], pa.Array]:
    def _convert(array: pa.Array) -> pa.Array:
        import pyarrow as pa

        return pa.nulls(len(array), _arrow_type(kind))

    return _convert


def _date_parser(uniques: pa.Array) -> Callable[[pa.Array], pa.Array]:
    """Parse dates as the standard path does (pandas, value by value), each distinct one once."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    _checked_text(uniques)
    present = uniques.drop_null()
    try:
        parsed = pd.array(pd.Series(present.to_pylist(), dtype=object), dtype="datetime64[us]")
    except (ValueError, TypeError, OverflowError) as exc:
        # Mixed offsets or text that is no date: the standard path words the error.
        raise FastPathUnsupportedError(f"a date pandas cannot parse ({_first_line(exc)})") from exc
    instants = pa.array(np.asarray(parsed), type=pa.timestamp("us"))

    def _convert(array: pa.Array) -> pa.Array:
        return pc.take(instants, pc.index_in(array, value_set=present))

    return _convert


def _target_schema(names: Sequence[str], kinds: Sequence[ColumnKind]) -> pa.Schema:
    """The schema of converted batches: each column in the Arrow type of its kind."""
    import pyarrow as pa

    return pa.schema(
        [pa.field(name, _arrow_type(kind)) for name, kind in zip(names, kinds, strict=True)]
    )


def _arrow_type(kind: ColumnKind) -> pa.DataType:
    """The Arrow type `batches_to_frame` turns into the dtype of `kind`."""
    import pyarrow as pa

    types = {
        "integer": pa.int64(),
        "float": pa.float64(),
        "boolean": pa.bool_(),
        "text": pa.string(),
        "datetime": pa.timestamp("us"),
        "object": pa.binary(),
    }
    if kind not in types:
        raise FastPathUnsupportedError(f"no SQLite column is of kind {kind}")
    return types[kind]


def _driver_errors() -> tuple[type[Exception], ...]:
    import adbc_driver_manager
    import pyarrow as pa

    # pyarrow raises an error met while streaming as an OSError ("Type mismatch in column").
    return (adbc_driver_manager.Error, OSError, pa.ArrowInvalid, pa.ArrowTypeError)


def _give_up(exc: BaseException) -> None:
    logger.debug("The fast path gave up (%s); using the standard path", _first_line(exc))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
