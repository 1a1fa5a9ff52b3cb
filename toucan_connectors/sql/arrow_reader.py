"""The Arrow-native fast path: SQL results read as Arrow and turned into pandas frames.

PostgreSQL is read through ADBC (`adbc-driver-postgresql`): it streams binary COPY into Arrow,
binds parameters server-side, and maps more types than connectorx (which panics on `interval`
and cannot bind parameters). On 1,000,000 lineitem rows, connectorx is faster than ADBC's own
conversion to pandas, and our batch-wise conversion of ADBC's stream is about as fast as
connectorx (0.87x to 1.13x of its time, see benchmarks/README.md). A whole result is built
batch by batch while a thread decodes the next batch, so the Arrow table never exists whole:
numbers and dates are written into arrays grown in place, text stays in Arrow chunks. Columns
follow the same type policy as the standard path (`sql/types.py`), so both paths give identical
frames. What ADBC maps badly is fixed up:

* NUMERIC arrives as text: cast in Arrow to Int64 / float64, or to exact ints and Decimals;
* `real` arrives as float32: widened through its shortest text, as psycopg2 reads it;
* 'infinity' timestamps and dates arrive as wrapped-around integers: they become missing values,
  as on the standard path;
* intervals arrive as (months, days, nanoseconds): counted as psycopg2 counts them, whole
  years (months / 12, rounded toward zero) as 365 days and the remaining months as 30 days;
* json becomes Python objects, uuid its canonical text.

Any other type (arrays included: the driver flattens multi-dimensional ones, and nothing in the
schema tells them apart; `oid`, which it reads as a signed 32-bit integer), a value the fast
path cannot convert exactly (NaN in NUMERIC(p, 0), an interval beyond pandas' range), or a
parameter ADBC cannot bind raises `FastPathUnsupportedError`; the connector then runs the query
on the standard path (logged at DEBUG).
"""

from __future__ import annotations

import contextlib
import decimal
import itertools
import json
import logging
import queue
import re
import threading
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

import numpy as np
import pandas as pd

from toucan_connectors.errors import ProviderError
from toucan_connectors.frames import unique_column_names
from toucan_connectors.sql.types import ColumnKind, ColumnType

if TYPE_CHECKING:
    import pyarrow as pa
    import sqlalchemy as sa

    from toucan_connectors.sql.query import BoundQuery
    from toucan_connectors.sql.sql_connector import SQLConnector

logger = logging.getLogger(__name__)

__all__ = [
    "ArrowReader",
    "FastPathQueryError",
    "FastPathUnsupportedError",
    "arrow_to_frame",
    "batches_to_frame",
    "has_fast_driver",
    "RecordBatchStream",
    "iter_fast_frames",
    "read_fast",
    "postgres_column_types",
    "to_dollar_placeholders",
]

# PostgreSQL keeps timestamps as microseconds since 2000-01-01 and dates as days since then; ADBC
# shifts them to the Unix epoch in 64/32-bit arithmetic, so 'infinity' (the type's maximum) and
# '-infinity' (its minimum) wrap around to values far below anything PostgreSQL can store. They,
# and the dates Python cannot hold (BC, years past 9999), become missing values as on the
# standard path (postgres/types.py): the kept range is 0001-01-01 to 9999-12-31 23:59:59.999999.
_MIN_DAYS, _MAX_DAYS = -719_162, 2_932_896  # in days since 1970-01-01
_MIN_MICROSECONDS, _MAX_MICROSECONDS = -62_135_596_800_000_000, 253_402_300_799_999_999
_DAYS_PER_MONTH = 30  # psycopg2 counts a month as 30 days ...
_DAYS_PER_YEAR = 365  # ... and a whole year (12 months) as 365
_MICROSECONDS_PER_DAY = 86_400_000_000

_READ_AHEAD = 2  # batches decoded ahead of the conversion
_POOL_LIMIT = 15  # ADBC connections open at once, per connector and database
_POOL_TIMEOUT = 30  # seconds a read waits for one of them to be freed
_END = object()
_TEXT_BIND = re.compile(r"(?<![:\w\x5c]):(\w+)(?![:\w])")

# ADBC names each column's type (`typname`); the standard path maps OIDs. Only the types whose
# Arrow form is converted to exactly the standard path's values are listed: any other type takes
# the standard path. Not listed on purpose: arrays (ADBC reads {{1,2},{3,4}} as [1, 2, 3, 4] and
# the schema does not say how many dimensions a column has) and `oid` (read as a signed int32,
# so 4294967295 would become -1).
_PG_TYPE_OIDS: dict[str, int] = {
    "bool": 16,
    "bytea": 17,
    "char": 18,
    "name": 19,
    "int8": 20,
    "int2": 21,
    "int4": 23,
    "text": 25,
    "json": 114,
    "float4": 700,
    "float8": 701,
    "bpchar": 1042,
    "varchar": 1043,
    "date": 1082,
    "time": 1083,
    "timestamp": 1114,
    "timestamptz": 1184,
    "interval": 1186,
    "uuid": 2950,
    "jsonb": 3802,
    "numeric": 1700,
}


class FastPathUnsupportedError(Exception):
    """The fast path cannot give the standard path's frame for this query; use the standard one."""


class FastPathQueryError(Exception):
    """The server refused the query on the fast path: the standard path would refuse it too.

    `pgcode` is the SQLSTATE, as on psycopg2's errors; `message` the server's own words.
    """

    def __init__(self, message: str, pgcode: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.pgcode = pgcode


def has_fast_driver(dialect: str) -> bool:
    """Tell whether the Arrow driver for `dialect` is installed (PostgreSQL only for now)."""
    if dialect != "postgresql":
        return False
    try:
        import adbc_driver_postgresql.dbapi  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def to_dollar_placeholders(sql: str, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """Turn `:name` placeholders of bound values into PostgreSQL's `$1`, `$2`, ... and a list."""
    positions: dict[str, int] = {}
    values: list[Any] = []

    def _replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in params:
            return match.group(0)
        if name not in positions:
            values.append(params[name])
            positions[name] = len(values)
        return f"${positions[name]}"

    return _TEXT_BIND.sub(_replace, sql), values


def postgres_column_types(schema: pa.Schema) -> list[ColumnType]:
    """Return the standard path's column types of an ADBC PostgreSQL result, from its schema.

    Raises:
        FastPathUnsupportedError: a column's type is not converted exactly on the fast path.
    """
    from toucan_connectors.postgres.types import postgres_column_types as from_description

    description = []
    for field in schema:
        metadata = field.metadata or {}
        type_name = metadata.get(b"POSTGRESQL:type", b"").decode()
        if type_name.startswith("_"):
            raise FastPathUnsupportedError(
                f"column {field.name!r} is an array ({type_name}): the driver would flatten "
                "a multi-dimensional one"
            )
        if type_name not in _PG_TYPE_OIDS:
            raise FastPathUnsupportedError(f"column {field.name!r} has type {type_name!r}")
        precision, scale = _numeric_precision(metadata)
        description.append(_Described(field.name, _PG_TYPE_OIDS[type_name], precision, scale))
    return from_description(description)


class _Described(NamedTuple):
    """The fields of a psycopg2 cursor description that the type mapping reads."""

    name: str
    type_code: int
    precision: int | None
    scale: int | None


def _numeric_precision(metadata: Mapping[bytes, bytes]) -> tuple[int | None, int | None]:
    typmod = int(metadata.get(b"POSTGRESQL:typmod", b"-1"))
    if typmod < 4:
        return None, None
    return (typmod - 4) >> 16, (typmod - 4) & 0xFFFF


def arrow_to_frame(table: pa.Table, kinds: Sequence[ColumnKind]) -> pd.DataFrame:
    """Build the DataFrame of `table` under the SQL type policy, one column of each kind."""
    names = unique_column_names(table.column_names)
    data = {
        name: _convert_column(table.column(position), kind)
        for position, (name, kind) in enumerate(zip(names, kinds, strict=True))
    }
    # copy=False keeps one block per column instead of copying them into consolidated blocks.
    return pd.DataFrame(data, columns=names, index=pd.RangeIndex(table.num_rows), copy=False)


def batches_to_frame(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema, kinds: Sequence[ColumnKind]
) -> pd.DataFrame:
    """Build the DataFrame of a stream of record batches, converting each batch as it arrives.

    Only one Arrow batch is held at a time and fixed-width columns are written into arrays grown
    in place, so the peak memory stays close to the finished frame's (the whole Arrow table
    plus pieces of columns to concatenate would double it).
    """
    sinks = [_sink_for(field.type, kind) for field, kind in zip(schema, kinds, strict=True)]
    rows = 0
    seen = False
    for batch in batches:
        for sink, array in zip(sinks, batch.columns, strict=True):
            sink.append(array)
        rows += batch.num_rows
        seen = True
        del batch, array
    if not seen:
        for sink, column in zip(sinks, schema.empty_table().columns, strict=True):
            sink.append(column.chunk(0))

    names = unique_column_names(schema.names)
    data = {name: sink.finish(rows) for name, sink in zip(names, sinks, strict=True)}
    return pd.DataFrame(data, columns=names, index=pd.RangeIndex(rows), copy=False)


class _PieceSink:
    """Builds a column from each batch's converted piece, concatenated at the end."""

    def __init__(self, kind: ColumnKind) -> None:
        self._kind = kind
        self._pieces: list[Any] = []

    def append(self, array: pa.Array) -> None:
        """Convert a batch's array and keep it."""
        self._pieces.append(_convert_array(array, self._kind))

    def finish(self, rows: int) -> Any:
        """Return the whole column."""
        pieces, self._pieces = self._pieces, []
        if len(pieces) == 1:
            return pieces[0]
        if isinstance(pieces[0], np.ndarray):
            return np.concatenate(pieces)
        return type(pieces[0])._concat_same_type(pieces)


class _TextSink(_PieceSink):
    """Keeps text as Arrow chunks: the column is a chunked array, the text is never joined."""

    def append(self, array: pa.Array) -> None:
        """Keep a copy of a batch's text."""
        import pyarrow as pa

        # The driver frees a batch as a whole: text kept without a copy would keep all of the
        # batch's columns alive.
        self._pieces.append(pa.concat_arrays([array]))

    def finish(self, rows: int) -> Any:
        """Return the whole column as Arrow-backed strings."""
        import pyarrow as pa

        chunks, self._pieces = pa.chunked_array(self._pieces, type=pa.string()), []
        return pd.array(chunks, dtype=pd.StringDtype("pyarrow", na_value=np.nan))


class _NumpySink:
    """Writes a fixed-width column into one numpy array (and mask) grown in place."""

    def __init__(self, kind: ColumnKind) -> None:
        self._kind = kind
        self._split = _SPLITTERS[kind]
        self._values: np.ndarray[Any, Any] | None = None
        self._mask: np.ndarray[Any, Any] | None = None
        self._rows = 0

    def append(self, array: pa.Array) -> None:
        """Convert a batch's array and write it after the previous rows."""
        values, mask = self._split(array)
        start, end = self._rows, self._rows + len(values)
        self._values = _reserve(self._values, end, values.dtype)
        self._values[start:end] = values
        if mask is not None or self._mask is not None:
            self._mask = _reserve(self._mask, end, np.dtype(bool))
            self._mask[start:end] = False if mask is None else mask
        self._rows = end

    def finish(self, rows: int) -> Any:
        """Return the whole column in the dtype of its kind."""
        values, mask = self._values, self._mask
        self._values = self._mask = None
        assert values is not None
        values.resize(rows, refcheck=False)  # shrinks in place, without a copy
        if self._kind in ("integer", "boolean"):
            if mask is None:
                mask = np.zeros(rows, dtype=bool)
            mask.resize(rows, refcheck=False)
            if self._kind == "integer":
                return pd.arrays.IntegerArray(values, mask)
            return pd.arrays.BooleanArray(values, mask)
        if self._kind == "datetime":
            return pd.array(values, dtype="datetime64[us]", copy=False)
        if self._kind == "datetime_utc":
            return pd.array(values, dtype=pd.DatetimeTZDtype("us", "UTC"), copy=False)
        return values


def _reserve(array: np.ndarray[Any, Any] | None, size: int, dtype: Any) -> np.ndarray[Any, Any]:
    """Return `array` with room for `size` items, grown by doubling; new room is zeroed."""
    if array is None:
        return np.zeros(max(size, 1024), dtype=dtype)
    if size > len(array):
        # realloc: large arrays are remapped rather than copied, leaving no hole behind.
        array.resize(max(size, 2 * len(array)), refcheck=False)
    return array


def _sink_for(arrow_type: pa.DataType, kind: ColumnKind) -> _PieceSink | _NumpySink:
    import pyarrow as pa

    if kind == "text" and pa.types.is_string(arrow_type):
        return _TextSink(kind)
    if kind in _SPLITTERS:
        return _NumpySink(kind)
    return _PieceSink(kind)


def _split_integers(array: pa.Array) -> tuple[Any, Any]:
    import pyarrow as pa

    if isinstance(array.type, pa.BaseExtensionType):  # NUMERIC(p, 0) as text
        array = array.storage
    integers = array.cast(pa.int64())
    if not integers.null_count:
        return integers.to_numpy(), None
    return integers.fill_null(0).to_numpy(), integers.is_null().to_numpy(zero_copy_only=False)


def _split_floats(array: pa.Array) -> tuple[Any, Any]:
    import pyarrow as pa

    if isinstance(array.type, pa.BaseExtensionType):  # NUMERIC as text
        array = array.storage
    return _to_floats(array), None


def _split_booleans(array: pa.Array) -> tuple[Any, Any]:
    values = array.fill_null(False).to_numpy(zero_copy_only=False)
    return values, (array.is_null().to_numpy(zero_copy_only=False) if array.null_count else None)


def _split_datetimes(array: pa.Array) -> tuple[Any, Any]:
    return _naive_timestamps(array).to_numpy(zero_copy_only=False), None


_SPLITTERS: dict[ColumnKind, Callable[[pa.Array], tuple[Any, Any]]] = {
    "integer": _split_integers,
    "float": _split_floats,
    "boolean": _split_booleans,
    "datetime": _split_datetimes,
    "datetime_utc": _split_datetimes,
}


def _convert_column(column: pa.ChunkedArray, kind: ColumnKind) -> Any:
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return _convert_array(array, kind)


def _convert_array(array: pa.Array, kind: ColumnKind) -> Any:
    import pyarrow as pa

    if isinstance(array.type, pa.BaseExtensionType) and not _is_uuid(array.type):
        array = array.storage
    converter = _CONVERTERS.get(kind)
    if converter is None:
        raise FastPathUnsupportedError(f"no conversion for kind {kind!r}")
    return converter(array)


def _to_integers(array: pa.Array) -> Any:
    import pyarrow as pa

    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        array = array.cast(pa.int64())
    return array.cast(pa.int64()).to_pandas(types_mapper=_nullable_int64).array


def _nullable_int64(arrow_type: pa.DataType) -> Any:
    return pd.Int64Dtype()


def _to_big_integers(array: pa.Array) -> Any:
    try:
        return _object_array([None if v is None else int(v) for v in array.to_pylist()])
    except ValueError as exc:  # 'NaN' or 'Infinity' in a NUMERIC(p, 0) column
        raise FastPathUnsupportedError(f"a NUMERIC(p, 0) value is not an integer ({exc})") from exc


def _to_floats(array: pa.Array) -> Any:
    import pyarrow as pa

    if pa.types.is_float32(array.type):
        # psycopg2 reads `real` from its shortest text (1.1), not from the binary (1.100000024).
        array = array.cast(pa.string())
    if not pa.types.is_float64(array.type):
        array = array.cast(pa.float64())
    return array.to_numpy(zero_copy_only=False)


def _to_decimals(array: pa.Array) -> Any:
    return _object_array([None if v is None else decimal.Decimal(v) for v in array.to_pylist()])


def _to_booleans(array: pa.Array) -> Any:
    return array.to_pandas(types_mapper=lambda _: pd.BooleanDtype()).array


def _to_text(array: pa.Array) -> Any:

    if _is_uuid(array.type):
        text = [None if v is None else str(uuid.UUID(bytes=v)) for v in array.storage.to_pylist()]
        return pd.array(text, dtype="str")
    return pd.array(array, dtype=pd.StringDtype("pyarrow", na_value=np.nan))


def _is_uuid(arrow_type: pa.DataType) -> bool:
    return getattr(arrow_type, "extension_name", None) == "arrow.uuid"


def _to_datetimes(array: pa.Array) -> Any:
    values = _naive_timestamps(array).to_numpy(zero_copy_only=False)
    return pd.array(values, dtype="datetime64[us]")


def _to_utc_datetimes(array: pa.Array) -> Any:
    values = pd.array(_naive_timestamps(array).to_numpy(zero_copy_only=False), "datetime64[us]")
    return pd.Series(values).dt.tz_localize("UTC").array


def _naive_timestamps(array: pa.Array) -> pa.Array:
    """Return dates and timestamps as naive microseconds; 'infinity' and dates out of range null."""
    import pyarrow as pa

    if pa.types.is_date32(array.type):
        days = array.view(pa.int32())
        return _mask(array, days, _MIN_DAYS, _MAX_DAYS).cast(pa.timestamp("us"))
    micros = array.view(pa.int64())
    return _mask(array, micros, _MIN_MICROSECONDS, _MAX_MICROSECONDS).cast(pa.timestamp("us"))


def _mask(array: pa.Array, raw: pa.Array, lowest: int, highest: int) -> pa.Array:
    """Return `array` with the values whose `raw` lies outside lowest..highest as nulls."""
    import pyarrow.compute as pc

    outside = pc.or_(pc.less(raw, lowest), pc.greater(raw, highest))
    if not pc.any(outside).as_py():
        return array
    return pc.if_else(outside, None, array)


def _to_timedeltas(array: pa.Array) -> Any:
    micros = [
        None
        if value is None
        else _interval_microseconds(value.months, value.days, value.nanoseconds)
        for value in array.to_pylist()
    ]
    try:
        series = pd.Series(pd.array(micros, dtype="Int64"))
        return pd.to_timedelta(series, unit="us").astype("timedelta64[us]").array
    except (OverflowError, ValueError) as exc:
        raise FastPathUnsupportedError(f"an interval is beyond pandas' range ({exc})") from exc


def _interval_microseconds(months: int, days: int, nanoseconds: int) -> int:
    """Return an interval's length as psycopg2 counts it: 365-day years and 30-day months."""
    # psycopg2 parses the text form, '-1 years -2 mons': whole years rounded toward zero.
    years = abs(months) // 12 * (-1 if months < 0 else 1)
    rest = months - years * 12
    whole_days = years * _DAYS_PER_YEAR + rest * _DAYS_PER_MONTH + days
    return whole_days * _MICROSECONDS_PER_DAY + nanoseconds // 1000


def _to_objects(array: pa.Array) -> Any:
    import pyarrow as pa

    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):  # json and jsonb
        return _object_array([None if v is None else json.loads(v) for v in array.to_pylist()])
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_time(kind):
        return _object_array(array.to_pylist())
    raise FastPathUnsupportedError(f"Arrow type {kind} is not converted")


def _object_array(values: list[Any]) -> Any:
    # Filled item by item: numpy would turn a list of equal-length lists into a 2-D array.
    array = np.empty(len(values), dtype=object)
    for position, value in enumerate(values):
        array[position] = value
    return array


_CONVERTERS: dict[ColumnKind, Callable[[pa.Array], Any]] = {
    "integer": _to_integers,
    "big_integer": _to_big_integers,
    "float": _to_floats,
    "decimal": _to_decimals,
    "boolean": _to_booleans,
    "text": _to_text,
    "datetime": _to_datetimes,
    "datetime_utc": _to_utc_datetimes,
    "timedelta": _to_timedeltas,
    "object": _to_objects,
}


class ArrowReader:
    """Reads queries into Arrow over a pool of ADBC connections; safe to share between threads.

    Session settings (read-only transactions, statement timeout) are passed to every connection
    as libpq `options`, so they hold for each query without an extra round trip.
    """

    def __init__(
        self,
        url: sa.URL,
        session_settings: Mapping[str, str] | None = None,
        pool_size: int = 5,
        on_reset: Callable[[Any, Any, Any], None] | None = None,
    ) -> None:
        import sqlalchemy as sa

        self._uri = _libpq_uri(url, session_settings or {})
        self._pool = sa.pool.QueuePool(
            self._connect,
            pool_size=min(pool_size, _POOL_LIMIT),
            max_overflow=max(_POOL_LIMIT - pool_size, 0),
            timeout=_POOL_TIMEOUT,
            reset_on_return="rollback",
        )
        if on_reset is not None:
            sa.event.listen(self._pool, "reset", on_reset)

    def _connect(self) -> Any:
        import adbc_driver_postgresql.dbapi as adbc

        return adbc.connect(self._uri)

    def read_table(self, sql: str, params: Mapping[str, Any]) -> pa.Table:
        """Run a query with `:name` placeholders and return the whole result as an Arrow table."""
        with self._cursor(sql, params) as cur:
            return cur.fetch_arrow_table()

    def read_frame(
        self, sql: str, params: Mapping[str, Any]
    ) -> tuple[pd.DataFrame, list[ColumnType]]:
        """Run a query and build its frame batch by batch, with the standard path's types.

        Raises:
            FastPathUnsupportedError: a column's type is not converted exactly on the fast path.
        """
        with self._cursor(sql, params) as cur:
            stream = cur.fetch_record_batch()
            columns = postgres_column_types(stream.schema)
            kinds = [column.kind for column in columns]
            with _read_ahead(stream) as batches:
                return batches_to_frame(batches, stream.schema, kinds), columns

    def iter_batches(
        self, sql: str, params: Mapping[str, Any], batch_size: int
    ) -> Generator[pa.RecordBatch, None, None]:
        """Yield the result as record batches of exactly `batch_size` rows (the last one fewer).

        The driver streams the COPY output, so memory stays bounded by a few batches.
        """
        import pyarrow as pa

        with self._cursor(sql, params) as cur:
            reader = cur.fetch_record_batch()
            pending: list[pa.RecordBatch] = []
            pending_rows = 0
            yielded = False
            try:
                for batch in reader:
                    pending.append(batch)
                    pending_rows += batch.num_rows
                    while pending_rows >= batch_size:
                        merged = pa.Table.from_batches(pending, reader.schema).combine_chunks()
                        yield from merged.slice(0, batch_size).to_batches()
                        yielded = True
                        rest = merged.slice(batch_size)
                        pending, pending_rows = rest.to_batches(), rest.num_rows
                if pending_rows:
                    rest = pa.Table.from_batches(pending, reader.schema).combine_chunks()
                    yield from rest.to_batches()
                elif not yielded:
                    yield pa.RecordBatch.from_pylist([], reader.schema)
            except GeneratorExit:
                # Stopped early: without a cancel, handing the connection back to the pool
                # would read (and throw away) the rest of the COPY stream.
                _cancel(cur)
                raise

    def _cursor(self, sql: str, params: Mapping[str, Any]) -> _PooledCursor:
        text, values = to_dollar_placeholders(sql, params)
        for value in values:
            if isinstance(value, int) and not -(2**63) <= value < 2**63:
                raise FastPathUnsupportedError("an integer parameter does not fit in 64 bits")
            if isinstance(value, decimal.Decimal):
                raise FastPathUnsupportedError("Decimal parameters are bound as text")
        return _PooledCursor(self._pool, text, values)

    def result_columns(self, sql: str, params: Mapping[str, Any]) -> list[ColumnType]:
        """Return the result's column types as the server describes the query, without running it.

        Raises:
            FastPathUnsupportedError: no connection could be made, a value cannot be bound, or a
                column's type is not converted exactly on the fast path.
            adbc_driver_manager.Error: the server refused the query (a syntax error, say).
        """
        import adbc_driver_manager
        from sqlalchemy.exc import TimeoutError as PoolTimeoutError

        pending = self._cursor(sql, params)  # refuses values ADBC cannot bind
        try:
            conn = self._pool.connect()
        except adbc_driver_manager.Error as exc:  # the standard path reports it in its words
            raise FastPathUnsupportedError(f"no connection ({_first_line(exc)})") from exc
        except PoolTimeoutError as exc:
            raise ProviderError(
                f"No connection of the fast path was free in time ({_first_line(exc)}): finish "
                "or close the iter_batches iterators you no longer read (call their `close()`)."
            ) from exc
        try:
            cursor = conn.cursor()
            try:
                schema = cursor.adbc_execute_schema(pending._sql, pending._values or None)
            finally:
                cursor.close()
        finally:
            conn.close()
        return postgres_column_types(schema)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self._pool.dispose()


class _PooledCursor:
    """A cursor on a pooled connection, executed on entry and returned to the pool on exit."""

    def __init__(self, pool: Any, sql: str, values: list[Any]) -> None:
        self._pool = pool
        self._sql = sql
        self._values = values

    def __enter__(self) -> Any:
        from sqlalchemy.exc import TimeoutError as PoolTimeoutError

        try:
            self._conn = self._pool.connect()
        except PoolTimeoutError as exc:
            raise ProviderError(
                f"Too many results are open at once on this connector ({_POOL_LIMIT} "
                f"connections in use, none freed within {_POOL_TIMEOUT} s): finish or close "
                "the iter_batches iterators you no longer read (call their `close()`)."
            ) from exc
        self._cur = self._conn.cursor()
        try:
            self._cur.execute(self._sql, self._values or None)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self._cur

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._cur.close()
        finally:
            self._conn.close()


_DECLARED_NUMERIC = re.compile(r"\((\d+)\s*,\s*(\d+)\)")
_BINARY_TYPES = ("bytea", "blob", "binary", "varbinary", "geometry", "tinyblob", "mediumblob")


class RecordBatchStream:
    """Turns a stream's frames into record batches of one Arrow schema, set by the column kinds.

    Building each batch's schema from its own values would change it between batches (a JSON
    column that is all null in the first one, Decimals that grow wider). Instead the kinds decide:
    Int64 -> int64, exact big integers -> decimal128(38, 0), Decimals -> decimal of the declared
    precision and scale (text when the driver does not report them), json, arrays and other
    objects -> their JSON text, binary types -> binary.
    """

    def __init__(self, columns: Sequence[ColumnType]) -> None:
        import pyarrow as pa

        self._columns = list(columns)
        names = unique_column_names(column.name for column in self._columns)
        self.schema = pa.schema(
            [
                pa.field(name, _arrow_type(column))
                for name, column in zip(names, columns, strict=True)
            ]
        )
        self._rows = 0

    def to_batch(self, df: pd.DataFrame) -> pa.RecordBatch:
        """Return one frame of the stream as a record batch of the stream's schema."""
        import pyarrow as pa

        arrays = []
        for position, (field, column) in enumerate(zip(self.schema, self._columns, strict=True)):
            series = df.iloc[:, position]
            if pd.api.types.is_object_dtype(series.dtype) and pa.types.is_string(field.type):
                series = series.map(_as_json_text, na_action="ignore")
            try:
                arrays.append(pa.Array.from_pandas(series, type=field.type))
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError) as exc:
                raise ProviderError(
                    f'Column "{field.name}" ({column.db_type}) has a value after row '
                    f"{self._rows} that does not fit Arrow's {field.type} ({_first_line(exc)}): "
                    "cast the column to text in the query, or read frames (as_arrow=False)."
                ) from exc
        self._rows += len(df)
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)


def _arrow_type(column: ColumnType) -> pa.DataType:
    import pyarrow as pa

    kind = column.kind
    if kind == "decimal":
        declared = _DECLARED_NUMERIC.search(column.db_type)
        if declared is None:
            return pa.string()
        precision, scale = int(declared.group(1)), int(declared.group(2))
        if precision <= 38:
            return pa.decimal128(precision, scale)
        return pa.decimal256(precision, scale) if precision <= 76 else pa.string()
    if kind == "object":
        base = column.db_type.lower().split("(")[0].strip()
        return pa.binary() if base in _BINARY_TYPES else pa.string()
    simple: dict[ColumnKind, pa.DataType] = {
        "integer": pa.int64(),
        "big_integer": pa.decimal128(38, 0),
        "float": pa.float64(),
        "boolean": pa.bool_(),
        "text": pa.string(),
        "datetime": pa.timestamp("us"),
        "datetime_utc": pa.timestamp("us", "UTC"),
        "timedelta": pa.duration("us"),
    }
    return simple[kind]


def _as_json_text(value: Any) -> str:
    """Return an object column's value as JSON text (text stays as is, other scalars as str)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list | tuple | bool | int | float) or value is None:
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _cancel(cursor: Any) -> None:
    """Ask the server to stop the cursor's query; failing only means it had already ended."""
    try:
        cursor.adbc_cancel()
    except Exception as exc:  # noqa: BLE001  (best effort: the rollback ends the query anyway)
        logger.debug("Cancelling the fast path's query failed: %s", _first_line(exc))


@contextlib.contextmanager
def _read_ahead(stream: pa.RecordBatchReader) -> Iterator[Iterator[pa.RecordBatch]]:
    """Yield the stream's batches while a thread decodes the next ones.

    The driver decodes COPY data without holding the GIL, so reading the next batch overlaps
    with converting the current one; at most `_READ_AHEAD` batches wait, to bound memory.
    """
    # Small results (the common one-row lookup) end within two batches: read them here and
    # spare the thread, whose start costs more than such a query's conversion.
    batches = iter(stream)
    head = list(itertools.islice(batches, 2))
    if len(head) < 2:
        yield iter(head)
        return

    waiting: queue.Queue[Any] = queue.Queue(maxsize=_READ_AHEAD)
    stopped = threading.Event()

    def _hand_over(item: Any) -> bool:
        # A consumer that stopped early (a conversion error) no longer takes items.
        while not stopped.is_set():
            try:
                waiting.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _read() -> None:
        try:
            for batch in batches:
                if not _hand_over(batch):
                    return
            _hand_over(_END)
        except BaseException as exc:  # noqa: BLE001  (handed to the consuming thread)
            _hand_over(exc)

    def _batches() -> Iterator[pa.RecordBatch]:
        while (item := waiting.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item

    reader = threading.Thread(target=_read, name="fast-path-read-ahead", daemon=True)
    reader.start()
    try:
        yield itertools.chain(head, _batches())
    finally:
        stopped.set()
        reader.join()


def _libpq_uri(url: sa.URL, session_settings: Mapping[str, str]) -> str:
    """Return a libpq URI for `url`; the settings go into its `options` as `-c name=value`."""
    query = {
        key: value
        for key, value in url.query.items()
        if key in ("sslmode", "connect_timeout", "application_name") and isinstance(value, str)
    }
    options = " ".join(f"-c {name}={value}" for name, value in session_settings.items())
    if options:
        query["options"] = options
    plain = url.set(drivername="postgresql", query={})
    rendered = plain.render_as_string(hide_password=False)
    if query:
        rendered += "?" + "&".join(f"{key}={quote(value, safe='')}" for key, value in query.items())
    return rendered


def read_fast(
    connector: SQLConnector, query: BoundQuery, database: str | None
) -> tuple[pd.DataFrame, list[ColumnType]] | None:
    """Read a whole bound query on the fast path; None when the standard path must read it.

    The result's types are checked from the server's description of the query before it runs,
    so a type the fast path does not convert hands the query to the standard path without
    running it twice. An error of the server raises FastPathQueryError at once: the standard
    path would only meet it again (after as long again, for a statement timeout). Only a value
    the fast path cannot convert (found while reading) makes the query run a second time.
    """
    if connector.fast_path and connector.fast_driver == "connectorx_mysql":
        from toucan_connectors.mysql import fast_reader

        return fast_reader.read_fast(connector, query, database)
    if connector.fast_path and connector.fast_driver == "adbc_sqlite":
        from toucan_connectors.sqlite import fast_reader as sqlite_fast

        return sqlite_fast.read_fast(connector, query)  # type: ignore[arg-type]
    reader = _reader_for(connector, database)
    if reader is None:
        return None
    try:
        reader.result_columns(query.sql, query.params)
        df, columns = reader.read_frame(query.sql, query.params)
    except FastPathUnsupportedError as exc:
        logger.debug("The fast path gave up (%s); using the standard path", _first_line(exc))
        return None
    except _driver_errors() as exc:
        if not _from_server(exc):
            # pyarrow could not convert a value (text 'NaN' to an integer, say).
            logger.debug("The fast path gave up (%s); using the standard path", _first_line(exc))
            return None
        raise FastPathQueryError(_server_message(exc), getattr(exc, "sqlstate", None)) from exc
    return df, columns


def _from_server(exc: BaseException) -> bool:
    """Whether a driver error comes from the server, not from converting a value in Arrow."""
    import adbc_driver_manager

    # Errors met while streaming reach us through pyarrow, with libpq's text.
    text = str(exc)
    return isinstance(exc, adbc_driver_manager.Error) or "[libpq]" in text or "SQLSTATE" in text


def _server_message(exc: BaseException) -> str:
    """The server's own message in a driver error (the text after `ERROR:`), first line only."""
    text = str(exc)
    marker = text.find("ERROR:")
    if marker >= 0:
        text = text[marker + len("ERROR:") :]
    return (text.strip().splitlines() or [type(exc).__name__])[0].strip().rstrip(". ")


def iter_fast_frames(
    connector: SQLConnector, query: BoundQuery, database: str | None, batch_size: int
) -> Iterator[tuple[pd.DataFrame, list[ColumnType]]] | None:
    """Stream the query as frames of `batch_size` rows, each with the result's column types.

    None when the fast path does not apply.
    The first batch is read before returning, so a type the fast path cannot convert, or a
    driver error, still leaves the choice of the standard path to the caller.
    """
    if connector.fast_path and connector.fast_driver == "connectorx_mysql":
        from toucan_connectors.mysql import fast_reader

        return fast_reader.iter_fast_frames(connector, query, database, batch_size)
    if connector.fast_path and connector.fast_driver == "adbc_sqlite":
        from toucan_connectors.sqlite import fast_reader as sqlite_fast

        return sqlite_fast.iter_fast_frames(connector, query, batch_size)  # type: ignore[arg-type]
    reader = _reader_for(connector, database)
    if reader is None:
        return None
    import pyarrow as pa

    stream = reader.iter_batches(query.sql, query.params, batch_size)
    try:
        first = next(stream)
        columns = postgres_column_types(first.schema)
        kinds = [column.kind for column in columns]
        first_frame = arrow_to_frame(pa.Table.from_batches([first]), kinds)
    except _driver_errors(FastPathUnsupportedError) as exc:
        stream.close()
        logger.debug("The fast path gave up (%s); using the standard path", _first_line(exc))
        return None

    def _frames() -> Iterator[tuple[pd.DataFrame, list[ColumnType]]]:
        yield first_frame, columns
        rows = first.num_rows
        label = connector.type or type(connector).__name__
        try:
            for batch in stream:
                frame = arrow_to_frame(pa.Table.from_batches([batch]), kinds)
                rows += batch.num_rows
                yield frame, columns
        except FastPathUnsupportedError as exc:
            raise ProviderError(
                f'The "{label}" connector could not convert a value after the first {rows} rows '
                f"of a stream on the fast path ({exc}): set `fast_path` to false on the "
                "connector to stream this query on the standard path."
            ) from exc
        except _driver_errors() as exc:
            raise ProviderError(
                f'The "{label}" connector lost the stream after its first {rows} rows: '
                f"{_first_line(exc)}. Fix the query if the database refused it, else read "
                "it again."
            ) from exc
        finally:
            stream.close()

    return _frames()


def _reader_for(connector: SQLConnector, database: str | None) -> ArrowReader | None:
    if not (connector.fast_path and connector.fast_driver == "adbc_postgresql"):
        return None
    if not has_fast_driver("postgresql"):
        logger.debug("No Arrow driver installed; using the standard path")
        return None

    from toucan_connectors.sql.sql_connector import lock_releaser

    def _create(key: str | None) -> ArrowReader:
        settings = {"default_transaction_read_only": "on"}
        settings["statement_timeout"] = str((connector.query_timeout or 0) * 1000)
        libpq = {
            name: str(value)
            for name, value in connector._connect_args().items()
            if name in ("connect_timeout", "sslmode")
        }
        url = connector._engine_url(key).update_query_dict(libpq)
        release = connector.release_locks_sql
        return ArrowReader(url, settings, on_reset=lock_releaser(release) if release else None)

    reader: ArrowReader = connector._pooled("fast reader", database, _create)
    return reader


def _driver_errors(*others: type[Exception]) -> tuple[type[Exception], ...]:
    import adbc_driver_manager
    import pyarrow as pa

    # pyarrow raises an error the driver meets while streaming batches as an OSError, and one
    # met when the query starts (a server error) as ArrowInvalid.
    return (adbc_driver_manager.Error, OSError, pa.ArrowInvalid, *others)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
