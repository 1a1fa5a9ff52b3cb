"""The shared base of the SQL connectors: engines, read-only queries, pages, status, discovery.

A dialect subclasses `SQLConnector` and `SQLDataSource` and fills the hooks marked "Dialect
hook" below (engine URL, read-only transaction, cursor types, error classification); the base
does everything else the same way for every database.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import threading
import time
import weakref
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, cast

import pandas as pd
from pydantic import Field, PrivateAttr, model_validator
from typing_extensions import Self

from toucan_connectors.dependencies import import_optional
from toucan_connectors.discovery import DiscoverableConnector, TableInfo
from toucan_connectors.errors import (
    ConnectionFailedError,
    InvalidDataSourceError,
    ProviderError,
    ToucanConnectorError,
)
from toucan_connectors.frames import normalize_frame, unique_column_names
from toucan_connectors.permissions.pandas_filter import apply_permissions
from toucan_connectors.slicing import RetrievedPage
from toucan_connectors.sql.status import CONNECT_STEPS, build_status_checks, try_connect
from toucan_connectors.sql.types import ColumnType, build_frame
from toucan_connectors.status import StatusCheck
from toucan_connectors.templating import SqlDialect
from toucan_connectors.toucan_connector import Permissions, ToucanConnector, ToucanDataSource

# SQLAlchemy, sqlglot and the modules built on them are imported where they are first needed,
# so the models and their JSON schema load without the connector's extra.
if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

    from toucan_connectors.sql.query import BoundQuery

logger = logging.getLogger(__name__)

__all__ = ["CONNECT_STEPS", "SQLConnector", "SQLDataSource"]

_NUMERIC_KINDS = frozenset({"integer", "big_integer", "float", "decimal"})
_DATE_KINDS = frozenset({"datetime", "datetime_utc"})


class SQLDataSource(ToucanDataSource):
    """A query, or a whole table, of one database."""

    # `query` is bound by the SQL templating; `table` is never a template (see below).
    unrendered_fields: ClassVar[frozenset[str]] = frozenset({"query", "table"})

    database: str | None = Field(
        None, description="Database to query; the connector's default database when empty."
    )
    query: str | None = Field(
        None,
        description="One SELECT statement. Its `{{ name }}` and `%(name)s` templates are bound "
        "as values, never pasted into the SQL. Set this or `table`.",
    )
    table: str | None = Field(
        None,
        description="A table or view to read whole, written `name` or `schema.name`; it is "
        "quoted as an identifier, and may not be a template. Set this or `query`.",
    )

    @model_validator(mode="after")
    def _check_query_or_table(self) -> Self:
        has_query = bool(self.query and self.query.strip())
        has_table = bool(self.table and self.table.strip())
        if has_query == has_table:
            found = "both" if has_query else "neither"
            raise ValueError(
                f'Data source "{self.domain}" has {found} of "query" and "table": '
                'set exactly one of them ("query" for SQL, "table" for a whole table).'
            )
        if self.table and any(mark in self.table for mark in ("{{", "{%", "{#")):
            # A parameter that picks the table would let a user read any table (sqlite_master).
            raise ValueError(
                f'The "table" of data source "{self.domain}" is a template: name the table '
                "itself, or write a query whose values are parameters."
            )
        return self


class SQLConnector(ToucanConnector, DiscoverableConnector, data_source_model=SQLDataSource):
    """Base of the connectors that reach a database through SQLAlchemy."""

    driver: ClassVar[str] = ""
    """SQLAlchemy driver name, e.g. ``postgresql+psycopg2``."""
    driver_module: ClassVar[str] = ""
    """Module the driver imports from, checked with the install message of `extra`."""
    driver_package: ClassVar[str | None] = None
    """Distribution name of the driver when it differs from `driver_module`."""
    sql_packages: ClassVar[tuple[str, ...]] = ("sqlalchemy", "sqlglot")
    """Modules every SQL connector needs besides its driver, installed by `extra` too."""
    extra: ClassVar[str] = ""
    """The pip extra that installs the driver."""
    sqlglot_dialect: ClassVar[str] = ""
    """The sqlglot dialect that parses this database's SQL."""
    template_dialect: ClassVar[SqlDialect | None] = None
    """How the templating reads the query's strings, names and comments (`render_sql`)."""
    statement_dialects: ClassVar[tuple[str, ...]] = ()
    """Dialects that must all read a query as one read statement; `sqlglot_dialect` if empty."""
    system_schemas: ClassVar[frozenset[str]] = frozenset({"information_schema"})
    """Schemas `get_model` skips unless asked for by name."""
    fast_driver: ClassVar[str | None] = None
    """Arrow driver of the fast path (see `sql/arrow_reader.py`); None: standard path only."""
    release_locks_sql: ClassVar[str | None] = None
    """SQL that frees a session's locks (GET_LOCK, advisory locks) as a connection returns to
    the pool, so none outlives the data source that took it."""
    transient_errors: ClassVar[tuple[type[BaseException], ...]] = (ConnectionFailedError,)
    status_steps: ClassVar[tuple[str, ...]] = (
        "Host resolved",
        "Port opened",
        *CONNECT_STEPS,
    )

    connect_timeout: int = Field(
        10, ge=1, description="Seconds to wait for a connection before giving up."
    )
    query_timeout: int | None = Field(
        300,
        ge=1,
        description="Seconds a query may run before the server cancels it; empty for no limit.",
    )
    fast_path: bool = Field(
        True,
        description="Read whole results through the Arrow-native driver when the connector has "
        'one and it is installed (`pip install "toucan-connectors[fast]"`); the frame is the '
        "same, built faster and with less memory. Off: always the standard driver.",
    )

    _pools: _Pools = PrivateAttr(default_factory=lambda: _Pools())

    def __copy__(self) -> Self:
        # A copy opens its own engines: sharing them would keep connections made with the
        # original's options after a field changes, and `close()` on either would close both.
        copied = super().__copy__()
        copied._pools = _Pools()
        return copied

    # Dialect hooks ---------------------------------------------------------------------------

    @abstractmethod
    def _engine_url(self, database: str | None) -> sa.URL:
        """Dialect hook: the URL of `database` (None: the default one)."""

    def _connect_args(self) -> dict[str, Any]:
        """Dialect hook: keyword arguments of the driver's `connect`."""
        return {}

    def _configure_engine(self, engine: sa.Engine) -> None:
        """Dialect hook: register engine events (e.g. fresh credentials for each connection)."""

    def _network_address(self) -> tuple[str, int] | None:
        """Dialect hook: the host and port the status checks probe; None for a local file."""
        return None

    def _default_database(self) -> str | None:
        """Dialect hook: the database used when a data source names none."""
        return None

    def _begin_read_only(self, conn: sa.Connection) -> None:
        """Dialect hook: make the connection's transaction read-only and set the query timeout."""

    @abstractmethod
    def _column_types(self, result: sa.CursorResult[Any]) -> list[ColumnType]:
        """Dialect hook: the name, provider type and kind of each column of a result."""

    def _connect_error_step(self, error: BaseException) -> str:
        """Dialect hook: which of `CONNECT_STEPS` a driver's connection error fails."""
        return CONNECT_STEPS[0]

    def _is_read_only_violation(self, error: BaseException) -> bool:
        """Dialect hook: whether a driver error is a write refused by the read-only transaction."""
        return False

    def _is_missing_table(self, error: BaseException) -> bool:
        """Dialect hook: whether a driver error says the query names a table that is not there."""
        return False

    def _exact_permission_predicate(
        self, conn: sa.Connection, predicate: sa.ColumnElement[bool], text_columns: list[str]
    ) -> sa.ColumnElement[bool]:
        """Dialect hook: make the predicate's text comparisons exact (case, trailing spaces)."""
        return predicate

    def _permission_date_operands(
        self, column: sa.ColumnElement[Any], value: Any
    ) -> tuple[sa.ColumnElement[Any], sa.BindParameter[Any]]:
        """Dialect hook: a date column and a permission's parsed datetime(s), ready to compare.

        `value` is a `datetime.datetime` or a list of them (for `in` and `nin`).
        """
        import sqlalchemy as sa

        return column, sa.bindparam(None, value, expanding=isinstance(value, list))

    def _permission_date_column(
        self, column: sa.ColumnElement[Any], kind: str
    ) -> sa.ColumnElement[Any]:
        """Dialect hook: a date column as the frame holds it, NULL where the frame has NaT.

        `kind` is the column's kind (`datetime` or `datetime_utc`). Values the driver reads as
        missing (PostgreSQL's infinity, MySQL's zero dates) must be NULL here too, so that a
        permission pushed into SQL keeps exactly the rows the frame filter keeps.
        """
        return column

    def _list_databases(self) -> list[str]:
        """Dialect hook: the databases `get_model` explores when none is named."""
        return [self._default_database() or ""]

    def _list_tables(
        self,
        conn: sa.Connection,
        database: str,
        schema: str | None,
        table: str | None,
        exclude_columns: bool,
    ) -> list[TableInfo]:
        """Dialect hook: the tables and views of one database, through SQLAlchemy's inspector."""
        from toucan_connectors.sql.discovery import inspect_tables

        return inspect_tables(conn, database, schema, table, exclude_columns, self.system_schemas)

    # Engines ---------------------------------------------------------------------------------

    def _import_sql_packages(self) -> None:
        """Raise MissingDependencyError naming `extra` when a SQL package or the driver is gone."""
        for module in self.sql_packages:
            import_optional(module, connector=self._label(), extra=self.extra)
        import_optional(
            self.driver_module,
            connector=self._label(),
            extra=self.extra,
            package=self.driver_package,
        )

    def get_engine(self, database: str | None = None) -> sa.Engine:
        """Return the pooled engine of `database`, created on first use and then reused.

        An engine serves the options it was made with: after a field of the connector changes,
        the next call disposes of it and makes a new one.
        """
        return cast("sa.Engine", self._pooled("engine", database, self._create_engine))

    def _create_engine(self, database: str | None) -> sa.Engine:
        self._import_sql_packages()
        import sqlalchemy as sa

        engine = sa.create_engine(
            self._engine_url(database), pool_pre_ping=True, connect_args=self._connect_args()
        )
        self._configure_engine(engine)
        if self.release_locks_sql:
            sa.event.listen(engine, "reset", lock_releaser(self.release_locks_sql))
        return engine

    def _pooled(self, kind: str, database: str | None, create: Callable[[str | None], Any]) -> Any:
        """Return the `kind` pool (an engine, a fast reader) of `database`, made for the options.

        Each pool is kept with a digest of the connector's fields; one made for other values is
        disposed of and replaced.
        """
        key = database or self._default_database()
        fingerprint = self._options_fingerprint()
        pools = self._pools
        found = pools.items.get((kind, key))
        if found is not None and found[0] == fingerprint:
            return found[1]

        stale = None
        with pools.lock:
            found = pools.items.get((kind, key))
            if found is None or found[0] != fingerprint:
                stale = found[1] if found is not None else None
                found = (fingerprint, create(key))
                pools.items[(kind, key)] = found
        if stale is not None:
            logger.debug("The connector's options changed: closing the %s made before", kind)
            stale.dispose()
        return found[1]

    def _options_fingerprint(self) -> str:
        """A digest of every field's value (secrets included, so never the values themselves)."""
        values = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if hasattr(value, "get_secret_value"):
                value = ("secret", value.get_secret_value())
            values.append((name, repr(value)))
        return hashlib.sha256(repr(values).encode()).hexdigest()

    def _drop_pool(self, kind: str, database: str | None) -> None:
        """Close the `kind` pool of `database`, if one is open."""
        with self._pools.lock:
            found = self._pools.items.pop((kind, database or self._default_database()), None)
        if found is not None:
            found[1].dispose()

    def close(self) -> None:
        """Close every pooled connection of this connector."""
        with self._pools.lock:
            pools = list(self._pools.items.values())
            self._pools.items.clear()
        for _, pool in pools:
            pool.dispose()

    @contextmanager
    def _connection(self, database: str | None, read_only: bool = True) -> Iterator[sa.Connection]:
        """Yield a pooled connection in a read-only transaction that is always rolled back."""
        engine = self.get_engine(database)
        from sqlalchemy.exc import DBAPIError

        try:
            conn = engine.connect()
        except DBAPIError as exc:
            target = database or self._default_database()
            where = f' to database "{target}"' if target else ""
            # A refused login or a missing database stays so: retrying cannot cure it.
            step = self._connect_error_step(exc.orig or exc)
            raise ConnectionFailedError(
                f'The "{self._label()}" connector could not connect{where}: '
                f"{self._driver_message(exc)}. "
                "Check the host, port, credentials and database name (status checks each step).",
                transient=step == CONNECT_STEPS[0],
            ) from exc
        try:
            if read_only:
                self._begin_read_only(conn)
            yield conn
        finally:
            conn.rollback()
            conn.close()

    # Retrieval -------------------------------------------------------------------------------

    def _retrieve_data(self, data_source: SQLDataSource) -> pd.DataFrame:
        """Run the data source's query and return all its rows."""
        return self._retrieve_page(data_source, None, 0, None, False).df

    def _retrieve_page(
        self,
        data_source: SQLDataSource,
        permissions: Permissions | None,
        offset: int,
        limit: int | None,
        count_rows: bool,
    ) -> RetrievedPage:
        """Return one page, with permissions, LIMIT/OFFSET and COUNT(*) pushed into SQL."""
        with self._missing_table_errors(data_source):
            return self._retrieve_bound_page(data_source, permissions, offset, limit, count_rows)

    def _retrieve_bound_page(
        self,
        data_source: SQLDataSource,
        permissions: Permissions | None,
        offset: int,
        limit: int | None,
        count_rows: bool,
    ) -> RetrievedPage:
        query = self._bound_query(data_source)
        database = data_source.database
        logger.debug(
            "Querying %s database %r for %r (offset %d, limit %s)",
            self._label(),
            database or self._default_database(),
            data_source.domain,
            offset,
            limit,
        )
        if not permissions and offset == 0 and limit is None:
            fast = self._fetch_fast(query, database, data_source.domain)
            if fast is not None:
                return RetrievedPage(fast[0], len(fast[0]), _type_names(fast[1]))
        with self._connection(database) as conn, self._wrap_errors(data_source.domain):
            if permissions:
                return self._filtered_page(
                    conn, query, data_source, permissions, offset, limit, count_rows
                )
            return self._plain_page(conn, query, offset, limit, count_rows)

    def _plain_page(
        self,
        conn: sa.Connection,
        query: BoundQuery,
        offset: int,
        limit: int | None,
        count_rows: bool,
    ) -> RetrievedPage:
        from toucan_connectors.sql.query import (
            SUBQUERY_ALIAS,
            count_query,
            page_query,
            with_unique_names,
        )

        if offset == 0 and limit is None:
            df, columns = self._fetch(conn, query.to_text())
            return RetrievedPage(df, len(df), _type_names(columns))

        paged = page_query(query, self.sqlglot_dialect, offset, limit)
        if paged is None:
            logger.debug("The query cannot be paged in SQL; it is sliced after reading it whole")
            df, columns = self._fetch(conn, query.to_text())
            end = None if limit is None else offset + limit
            return RetrievedPage(df.iloc[offset:end], len(df), _type_names(columns))

        df, columns = self._fetch(conn, paged.to_text())
        total = None
        if count_rows:
            total = _total_from_short_page(len(df), offset, limit)
            if total is None:
                counted = count_query(query, self.sqlglot_dialect)
                if counted is None:
                    counted = with_unique_names(query, self.sqlglot_dialect)
                total = self._count(conn, counted.to_text().columns().subquery(SUBQUERY_ALIAS))
        return RetrievedPage(df, total, _type_names(columns))

    def _filtered_page(
        self,
        conn: sa.Connection,
        query: BoundQuery,
        data_source: SQLDataSource,
        permissions: Permissions,
        offset: int,
        limit: int | None,
        count_rows: bool,
    ) -> RetrievedPage:
        from toucan_connectors.sql.query import with_unique_names

        started = time.perf_counter()
        query = with_unique_names(query, self.sqlglot_dialect)
        built = self._filtered_statement(conn, query, permissions, data_source.parameters)
        filtering_time = time.perf_counter() - started
        if built is None:
            logger.debug("The query cannot be wrapped in SQL; permissions are applied in pandas")
            df, columns = self._fetch(conn, query.to_text())
            df = apply_permissions(df, permissions, data_source.parameters).reset_index(drop=True)
            end = None if limit is None else offset + limit
            return RetrievedPage(df.iloc[offset:end], len(df), _type_names(columns))

        statement, order_by, hidden = built
        paged = statement.order_by(*order_by).offset(offset or None).limit(limit)
        df, columns = self._fetch(conn, paged, hidden)
        total = None
        if count_rows:
            total = _total_from_short_page(len(df), offset, limit)
            if total is None:
                total = self._count(conn, statement.subquery("_toucan_filtered"))
        return RetrievedPage(df, total, _type_names(columns), filtering_time)

    def _filtered_statement(
        self,
        conn: sa.Connection,
        query: BoundQuery,
        permissions: Permissions,
        parameters: Mapping[str, Any] | None,
    ) -> tuple[sa.Select[Any], list[sa.TextClause], int] | None:
        """Wrap the query in a SELECT filtered by the permissions, its order moved outside."""
        import sqlalchemy as sa

        from toucan_connectors.permissions.sql_filter import build_sql_predicate
        from toucan_connectors.sql.query import SUBQUERY_ALIAS, page_query, split_order

        probe = page_query(query, self.sqlglot_dialect, 0, 0)
        if probe is None:
            return None
        result = _returning_rows(conn.execute(probe.to_text()))
        columns = self._column_types(result)
        result.close()

        names = [column.name for column in columns]
        split = split_order(query, self.sqlglot_dialect, names)
        inner, order_by, hidden = query, [], 0
        if split is not None:
            inner, order_by, hidden = split.inner, split.order_by, split.hidden_columns

        numeric = [column.name for column in columns if column.kind in _NUMERIC_KINDS]
        text = [column.name for column in columns if column.kind == "text"]
        boolean = [column.name for column in columns if column.kind == "boolean"]
        predicate = build_sql_predicate(
            permissions,
            parameters,
            numeric_columns=numeric,
            columns=names,
            text_columns=text,
            boolean_columns=boolean,
        )
        predicate = self._exact_permission_predicate(conn, predicate, text)
        dates = {column.name: column.kind for column in columns if column.kind in _DATE_KINDS}
        if dates:
            predicate = _compare_as_dates(predicate, dates, self._permission_date_operands)
            predicate = _missing_dates_as_null(predicate, dates, self._permission_date_column)
        subquery = inner.to_text().columns().subquery(SUBQUERY_ALIAS)
        statement: sa.Select[Any] = (
            sa.select(sa.literal_column("*")).select_from(subquery).where(predicate)
        )
        return statement, [sa.text(key) for key in order_by], hidden

    def iter_batches(
        self,
        data_source: SQLDataSource,
        permissions: Permissions | None = None,
        batch_size: int = 10_000,
        as_arrow: bool = False,
    ) -> Iterator[Any]:
        """Yield the result as frames (or Arrow record batches) of at most `batch_size` rows.

        Rows stream through a server-side cursor, so memory stays bounded by the batch size.
        Each frame's index continues the previous one's, so concatenated they equal `get_df`.
        At least one (possibly empty) batch is yielded.
        """
        batches = self._stream_batches(data_source, permissions, batch_size, as_arrow)
        return self._named_stream(data_source, batches)

    def _stream_batches(
        self,
        data_source: SQLDataSource,
        permissions: Permissions | None,
        batch_size: int,
        as_arrow: bool,
    ) -> Iterator[Any]:
        if batch_size < 1:
            raise InvalidDataSourceError(f"batch_size must be at least 1 (got {batch_size}).")
        rendered = data_source.rendered()
        offset = 0
        stream = None
        for df, columns in self._iter_frames(rendered, permissions, batch_size):
            df = normalize_frame(df).set_axis(pd.RangeIndex(offset, offset + len(df)))
            offset += len(df)
            if not as_arrow:
                yield df
                continue
            from toucan_connectors.sql.arrow_reader import RecordBatchStream

            stream = stream or RecordBatchStream(columns)
            yield stream.to_batch(df)

    def _iter_frames(
        self, data_source: SQLDataSource, permissions: Permissions | None, batch_size: int
    ) -> Iterator[tuple[pd.DataFrame, list[ColumnType]]]:
        query = self._bound_query(data_source)
        database = data_source.database
        if not permissions and self.fast_path and self.fast_driver:
            from toucan_connectors.sql.arrow_reader import iter_fast_frames

            frames = iter_fast_frames(self, query, database, batch_size)
            if frames is not None:
                yield from frames
                return

        with self._connection(database) as conn, self._wrap_errors(data_source.domain):
            statement: sa.Executable = query.to_text()
            hidden = 0
            built = None
            if permissions:
                built = self._filtered_statement(conn, query, permissions, data_source.parameters)
            if built is not None:
                statement, hidden = built[0].order_by(*built[1]), built[2]
            result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(
                statement
            )
            columns = self._column_types(_returning_rows(result))
            if hidden:
                columns = columns[:-hidden]
            empty = True
            try:
                for rows in result.partitions(batch_size):
                    empty = False
                    df = build_frame([row[: len(columns)] for row in rows], columns)
                    if permissions and built is None:
                        df = apply_permissions(df, permissions, data_source.parameters)
                    yield df, columns
            except BaseException:
                # Stopped early or failed part-way: closing an unbuffered cursor would read the
                # rest of the result (PyMySQL drains it); dropping the connection ends it instead.
                unread = getattr(result.cursor, "_result", None)
                if getattr(unread, "unbuffered_active", False):
                    unread.unbuffered_active = False  # type: ignore[union-attr]
                conn.invalidate()
                raise
            if empty:
                yield build_frame([], columns), columns

    def _fetch_fast(
        self, query: BoundQuery, database: str | None, data_source: str
    ) -> tuple[pd.DataFrame, list[ColumnType]] | None:
        """Read a whole result on the Arrow fast path; None when the standard path must."""
        if not (self.fast_path and self.fast_driver):
            return None
        from toucan_connectors.sql.arrow_reader import FastPathQueryError, read_fast

        try:
            return read_fast(self, query, database)
        except FastPathQueryError as exc:
            raise self._query_error(data_source, _error_text(exc).rstrip(". "), exc) from exc

    def _fetch(
        self, conn: sa.Connection, statement: sa.Executable, hidden_columns: int = 0
    ) -> tuple[pd.DataFrame, list[ColumnType]]:
        result = _returning_rows(conn.execute(statement))
        columns = self._column_types(result)
        rows: list[Any] = list(result.fetchall())
        if hidden_columns:
            columns = columns[:-hidden_columns]
            rows = [row[:-hidden_columns] for row in rows]
        return build_frame(rows, columns), columns

    def _count(self, conn: sa.Connection, subquery: sa.Subquery) -> int:
        import sqlalchemy as sa

        logger.debug("Counting the rows of the query")
        return int(conn.execute(sa.select(sa.func.count()).select_from(subquery)).scalar_one())

    def _bound_query(self, data_source: SQLDataSource) -> BoundQuery:
        self._import_sql_packages()
        from toucan_connectors.sql.query import (
            bind_query,
            check_single_statement,
            strip_trailing,
            table_query,
        )

        if data_source.table:
            return table_query(data_source.table, self.get_engine(data_source.database).dialect)
        assert data_source.query is not None  # the data source validator guarantees one
        dialects = self.statement_dialects or (self.sqlglot_dialect,)
        check_single_statement(data_source.query, dialects, data_source.domain)
        bound = bind_query(data_source.query, data_source.parameters, self.template_dialect)
        return bound.with_sql(strip_trailing(bound.sql, self.sqlglot_dialect))

    @contextmanager
    def _wrap_errors(self, data_source: str) -> Iterator[None]:
        """Turn driver errors into our errors, with the data source and the fix in the message."""
        from sqlalchemy.exc import DBAPIError, SQLAlchemyError

        try:
            yield
        except _NoResultError as exc:
            raise InvalidDataSourceError(
                f'Data source "{data_source}" ran a statement that returns no rows: write a '
                "single SELECT (executable comments and INTO clauses are not read queries)."
            ) from exc
        except ToucanConnectorError:
            raise
        except OverflowError as exc:
            # The driver could not bind a parameter, or read a value, of more than 64 bits.
            raise InvalidDataSourceError(
                f'A value of data source "{data_source}" is too large for the driver to send to '
                f"the database or read back ({exc}): use a smaller parameter, or cast the column "
                "in the query (to text, or to a DECIMAL)."
            ) from exc
        except DBAPIError as exc:
            message = self._driver_message(exc)
            if exc.connection_invalidated:
                raise ConnectionFailedError(
                    f'The connection of data source "{data_source}" was lost: {message}.'
                ) from exc
            raise self._query_error(data_source, message, exc.orig or exc) from exc
        except (SQLAlchemyError, ValueError, TypeError, AttributeError, KeyError) as exc:
            # The driver failed on the result itself (a value it cannot read, a closed cursor).
            text = self._driver_message(exc) if isinstance(exc, SQLAlchemyError) else str(exc)
            raise ProviderError(
                f'The "{self._label()}" connector could not read the result of data source '
                f'"{data_source}" ({type(exc).__name__}: {text}): cast the column that holds the '
                "value to text in the query, or leave it out."
            ) from exc

    @contextmanager
    def _missing_table_errors(self, data_source: SQLDataSource) -> Iterator[None]:
        """Make the server's refusal of a data source's missing `table` an input error."""
        try:
            yield
        except ProviderError as exc:
            cause = exc.__cause__
            original = getattr(cause, "orig", None) or cause
            if data_source.table and original is not None and self._is_missing_table(original):
                raise InvalidDataSourceError(
                    f'The table "{data_source.table}" of data source "{data_source.domain}" does '
                    "not exist: fix `table` (discover lists the tables there are)."
                ) from exc
            raise

    def _query_error(
        self, data_source: str, message: str, original: BaseException
    ) -> ToucanConnectorError:
        """The error of a query the server refused, with the driver's `message`."""
        for secret in self._secret_values():
            message = message.replace(secret, "***")
        if self._is_read_only_violation(original):
            return InvalidDataSourceError(
                f'Data source "{data_source}" tried to change the database ({message}): '
                "data sources run in read-only transactions, so write a SELECT."
            )

        return ProviderError(
            f'The "{self._label()}" connector could not run data source "{data_source}": '
            f"{message}. Fix the query (describe shows the columns it returns)."
        )

    def _driver_message(self, exc: SQLAlchemyError) -> str:
        """The driver's own message, first line only and without any secret of the connector."""
        original = getattr(exc, "orig", None) or exc
        text = " ".join(_error_text(original).strip().split("\n")[0:1]) or type(original).__name__
        text = text.rstrip(". ")  # our messages add their own full stop
        for secret in self._secret_values():
            text = text.replace(secret, "***")
        return text

    def _secret_values(self) -> list[str]:
        values = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if hasattr(value, "get_secret_value") and value.get_secret_value():
                values.append(value.get_secret_value())
        return values

    def _label(self) -> str:
        return self.type or type(self).__name__

    # Describe, explain, version --------------------------------------------------------------

    def describe(self, data_source: SQLDataSource) -> dict[str, str]:
        """Return the result's column names and provider types, running the query with LIMIT 0."""
        rendered = data_source.rendered()
        query = self._bound_query(rendered)  # raises MissingDependencyError before the import
        from toucan_connectors.sql.query import page_query

        probe = page_query(query, self.sqlglot_dialect, 0, 0)
        if probe is None:
            return super().describe(data_source)
        with self._connection(rendered.database) as conn, self._wrap_errors(rendered.domain):
            _, columns = self._fetch(conn, probe.to_text())
        return _type_names(columns)

    def explain(
        self, data_source: SQLDataSource, permissions: Permissions | None = None
    ) -> pd.DataFrame:
        """Return the database's plan for the data source's query (its EXPLAIN output)."""
        rendered = data_source.rendered()
        query = self._bound_query(rendered)
        with self._connection(rendered.database) as conn, self._wrap_errors(rendered.domain):
            statement: sa.ClauseElement = query.to_text()
            if permissions:
                built = self._filtered_statement(conn, query, permissions, rendered.parameters)
                if built is not None:
                    statement = built[0]
            compiled: Any = statement.compile(conn, compile_kwargs={"render_postcompile": True})
            params = compiled.construct_params()
            positional = compiled.positiontup
            arguments: Any = tuple(params[name] for name in positional) if positional else params
            result = conn.exec_driver_sql(f"EXPLAIN {compiled}", arguments)
            columns = self._column_types(result)
            return build_frame(result.fetchall(), columns)

    def get_engine_version(self) -> tuple[int, ...]:
        """Return the server's version as a tuple of ints, e.g. ``(15, 4)``."""
        with self._connection(None, read_only=False) as conn:
            info = conn.dialect.server_version_info or ()
        return tuple(part for part in info if isinstance(part, int))

    # Status ----------------------------------------------------------------------------------

    def _status_checks(self) -> list[StatusCheck]:
        """Host resolves, port opens, then one connection attempt decides the last steps."""
        self._import_sql_packages()
        return build_status_checks(self)

    def _try_connect(self) -> None:
        """Open (and close) one new connection to the default database."""
        try_connect(self)

    # Discovery -------------------------------------------------------------------------------

    def get_model(
        self,
        db_name: str | None = None,
        schema_name: str | None = None,
        table_name: str | None = None,
        exclude_columns: bool = False,
    ) -> list[TableInfo]:
        """List tables, views and materialized views with their columns, optionally filtered."""
        tables, _ = self.get_model_with_info(db_name, schema_name, table_name, exclude_columns)
        return tables

    def get_model_with_info(
        self,
        db_name: str | None = None,
        schema_name: str | None = None,
        table_name: str | None = None,
        exclude_columns: bool = False,
    ) -> tuple[list[TableInfo], dict[str, Any]]:
        """Like `get_model`, plus ``{"unreachable_databases": {name: error}}``."""
        self._import_sql_packages()
        from toucan_connectors.sql.discovery import list_model_with_info

        return list_model_with_info(self, db_name, schema_name, table_name, exclude_columns)


class _Pools:
    """The engines and fast-path readers of one connector, with the digest of their options.

    Copies and pickles start empty: connections belong to the connector that opened them.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: dict[tuple[str, str | None], tuple[str, Any]] = {}
        # A connector dropped without close() (a forgotten copy) still closes its connections.
        weakref.finalize(self, _dispose_all, self.items)

    def __deepcopy__(self, memo: dict[int, Any]) -> _Pools:
        return _Pools()

    def __eq__(self, other: object) -> bool:
        # Open connections are no part of a connector's value: connectors compare by fields.
        return isinstance(other, _Pools)

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type[_Pools], tuple[()]]:
        return _Pools, ()


def _dispose_all(items: dict[tuple[str, str | None], tuple[str, Any]]) -> None:
    """Dispose of every pool in `items`."""
    for _, pool in list(items.values()):
        pool.dispose()
    items.clear()


class _NoResultError(Exception):
    """A statement ran but returned no rows to read (it was not a query)."""


def _returning_rows(result: sa.CursorResult[Any]) -> sa.CursorResult[Any]:
    """Return `result`, or raise _NoResultError when the statement returned no rows at all."""
    if not result.returns_rows:
        result.close()
        raise _NoResultError
    return result


def lock_releaser(sql: str) -> Callable[[Any, Any, Any], None]:
    """A pool `reset` listener running `sql` on each connection that comes back to the pool.

    If it fails, the pool closes the connection instead of reusing it: the server then frees
    the session's locks itself.
    """

    def _release(dbapi_connection: Any, record: Any, state: Any) -> None:
        if dbapi_connection is None or state.terminate_only:
            return
        dbapi_connection.rollback()  # a failed transaction would refuse the statement
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(sql)
            cursor.fetchall()
        finally:
            cursor.close()
        dbapi_connection.rollback()

    return _release


def _compare_as_dates(
    predicate: sa.ColumnElement[bool],
    dates: Mapping[str, str],
    operands: Callable[[Any, Any], tuple[Any, Any]],
) -> sa.ColumnElement[bool]:
    """Compare date columns with the permission's values parsed as datetimes, as the frame does.

    `dates` maps each date column to its kind. A value is parsed by the frame filter's rule
    (`pd.Timestamp`), so `2015-1-1` and `2015-01-01T00:00:00` mean the same day on every
    database, and a value that is no date is refused instead of compared as text.
    """
    from sqlalchemy.sql import visitors
    from sqlalchemy.sql.elements import BinaryExpression, BindParameter, ColumnClause

    def _replace(element: Any, **kw: Any) -> Any:
        if not isinstance(element, BinaryExpression):
            return None
        left, right = element.left, element.right
        if not (
            isinstance(left, ColumnClause)
            and left.name in dates
            and isinstance(right, BindParameter)
        ):
            return None
        utc = dates[left.name] == "datetime_utc"
        raw = right.value
        value = (
            [_permission_datetime(left.name, item, utc) for item in raw]
            if isinstance(raw, list)
            else _permission_datetime(left.name, raw, utc)
        )
        new_left, new_right = operands(left, value)
        replaced = element._clone()
        replaced.left, replaced.right = new_left, new_right
        return replaced

    result: sa.ColumnElement[bool] = visitors.replacement_traverse(predicate, {}, _replace)
    return result


def _missing_dates_as_null(
    predicate: sa.ColumnElement[bool],
    dates: Mapping[str, str],
    as_frame: Callable[[Any, str], Any],
) -> sa.ColumnElement[bool]:
    """Replace each date column of `predicate` by `as_frame(column, kind)`, NULL where NaT."""
    from sqlalchemy.sql import visitors
    from sqlalchemy.sql.elements import ColumnClause

    def _replace(element: Any, **kw: Any) -> Any:
        if isinstance(element, ColumnClause) and element.name in dates:
            return as_frame(element, dates[element.name])
        return None

    result: sa.ColumnElement[bool] = visitors.replacement_traverse(predicate, {}, _replace)
    return result


def _permission_datetime(column: str, value: Any, utc: bool) -> Any:
    """Parse a permission's value compared with date `column`; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | datetime.date):
        raise InvalidDataSourceError(
            f'Permission on date column "{column}" compares it with {value!r}, which is not a '
            "date: write an ISO 8601 date such as 2024-01-31."
        )
    try:
        timestamp = pd.Timestamp(value)
    except ValueError as exc:
        raise InvalidDataSourceError(
            f'Permission on date column "{column}" compares it with {value!r}, which is not a '
            "date: write an ISO 8601 date such as 2024-01-31."
        ) from exc
    if utc and timestamp.tzinfo is None:
        timestamp = timestamp.tz_localize("UTC")
    elif utc:
        timestamp = timestamp.tz_convert("UTC")
    elif timestamp.tzinfo is not None:
        raise InvalidDataSourceError(
            f'Permission on date column "{column}" compares it with {value!r}, which has a time '
            "zone offset while the column's dates have none: write the date without an offset."
        )
    return timestamp.to_pydatetime(warn=False)


def _error_text(error: BaseException) -> str:
    """A driver error's own words: PyMySQL's (code, text) pairs give their text alone."""
    args = error.args
    if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
        return args[1]
    return str(error)


def _total_from_short_page(fetched: int, offset: int, limit: int | None) -> int | None:
    """The total when a page is shorter than asked (and so the last), else None."""
    if limit is not None and fetched >= limit:
        return None
    if fetched == 0 and offset > 0:
        return None
    return offset + fetched


def _type_names(columns: Sequence[ColumnType]) -> dict[str, str]:
    names = unique_column_names(column.name for column in columns)
    return {name: column.db_type for name, column in zip(names, columns, strict=True)}
