"""The SQLite connector: a database file read through the shared SQL base, read-only."""

from __future__ import annotations

import datetime
import logging
import os
import sqlite3
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, cast

import pandas as pd
from pydantic import Field

from toucan_connectors.discovery import ColumnInfo, TableInfo
from toucan_connectors.errors import (
    InvalidConfigurationError,
    InvalidDataSourceError,
    ToucanConnectorError,
)
from toucan_connectors.sql.sql_connector import SQLConnector, SQLDataSource
from toucan_connectors.sql.types import ColumnType, build_frame
from toucan_connectors.status import CheckFailedError, StatusCheck
from toucan_connectors.templating import SqlDialect

# sqlite/types.py parses queries with sqlglot: it is imported where column types are needed.
if TYPE_CHECKING:
    from collections.abc import Sequence

    import sqlalchemy as sa

logger = logging.getLogger(__name__)

__all__ = ["SQLiteConnector", "SQLiteDataSource"]

MEMORY = ":memory:"
_OBJECTS_SQL = (
    "SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view') "
    "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
)
_COLUMNS_SQL = "SELECT name, type FROM pragma_table_xinfo(:name) ORDER BY cid"


_SQLITE_HEADER = b"SQLite format 3\x00"
# Registered on each connection: a stored date's text in one spelling, as the frame reads it.
_DATETIME_FUNCTION = "toucan_datetime"


def _datetime_text(value: datetime.datetime) -> str:
    return value.isoformat(sep=" ", timespec="microseconds")


def _normal_datetime(value: object) -> str | None:
    """The text of a stored date as `_datetime_text` spells it; None when it is no naive date."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return None if parsed.tzinfo is not None else _datetime_text(parsed)


class SQLiteDataSource(SQLDataSource):
    """A query, or a whole table, of the SQLite database."""

    database: str | None = Field(
        None, description="Ignored: the connector reads the one file its `path` names."
    )


class SQLiteConnector(SQLConnector, data_source_model=SQLiteDataSource):
    """Reads a SQLite database file, opened read-only."""

    driver: ClassVar[str] = "sqlite+pysqlite"
    driver_module: ClassVar[str] = "sqlite3"
    extra: ClassVar[str] = "sqlite"
    sqlglot_dialect: ClassVar[str] = "sqlite"
    template_dialect: ClassVar[SqlDialect | None] = "sqlite"
    fast_driver: ClassVar[str | None] = "adbc_sqlite"  # see sqlite/fast_reader.py
    status_steps: ClassVar[tuple[str, ...]] = ("File exists", "File opened", "File is a database")
    limitations: ClassVar[tuple[str, ...]] = (
        "A query whose own LIMIT or OFFSET is not a plain number (LIMIT ALL, LIMIT 2 + 3, "
        "FETCH ... WITH TIES), or that the SQL parser cannot read, is read whole and paged in "
        "Python: a preview of it costs a full read; write plain numbers in LIMIT and OFFSET.",
        "Rows that tie on the query's ORDER BY may come in any order, so pages of such a query "
        "can overlap: order by a unique key.",
        "Reading a database in WAL mode may leave its -wal and -shm files beside it, as SQLite "
        "needs them to read; the database file itself is never changed.",
        "NUMERIC and DECIMAL columns come back as float64: SQLite stores them as floating-point "
        "numbers, so no exact decimal exists to keep.",
        "A column's dtype comes from its declared type; a value of another type in it (SQLite "
        "allows that) makes the column keep the type of its values, with a warning. CAST the "
        "column in the query to choose its type.",
        "A column whose type cannot be worked out (no declared type, NULL, a parameter, an "
        "unknown function) gets its dtype from its values, so an empty result has it as object.",
        "`database` in a data source is ignored: a connector reads one file; the query timeout "
        "is not enforced.",
        "`:memory:` opens a new, empty database on each connection: useful for queries that "
        "read no table.",
    )

    path: str = Field(
        min_length=1,
        description="Path of the database file, opened read-only; `:memory:` for an empty "
        "in-memory database.",
    )

    # Dialect hooks ---------------------------------------------------------------------------

    def _engine_url(self, database: str | None) -> sa.URL:
        import sqlalchemy as sa

        if self.path == MEMORY:
            return sa.URL.create(self.driver, database=MEMORY)
        # A `file:` URI with mode=ro: writes are refused and the file is never created.
        location = urllib.parse.quote(os.path.abspath(self.path))
        return sa.URL.create(
            self.driver, database=f"file:{location}", query={"mode": "ro", "uri": "true"}
        )

    def _connect_args(self) -> dict[str, Any]:
        return {"timeout": self.connect_timeout}

    def _begin_read_only(self, conn: sa.Connection) -> None:
        # mode=ro covers files; query_only also covers `:memory:`.
        conn.exec_driver_sql("PRAGMA query_only = ON")

    def _column_types(self, result: sa.CursorResult[Any]) -> list[ColumnType]:
        from toucan_connectors.sqlite.types import column_type

        names = [str(column[0]) for column in result.cursor.description or ()]
        types = self._declared_types(result, len(names))
        return [column_type(name, db_type, []) for name, db_type in zip(names, types, strict=True)]

    def _configure_engine(self, engine: sa.Engine) -> None:
        import sqlalchemy as sa

        @sa.event.listens_for(engine, "connect")
        def _register_functions(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection.create_function(
                _DATETIME_FUNCTION, 1, _normal_datetime, deterministic=True
            )

    def _permission_date_operands(
        self, column: sa.ColumnElement[Any], value: Any
    ) -> tuple[sa.ColumnElement[Any], sa.BindParameter[Any]]:
        """Compare dates in one spelling: SQLite holds them as text ('2015-01-01', '... 00:00')."""
        import sqlalchemy as sa

        if isinstance(value, list):
            text: Any = [None if item is None else _datetime_text(item) for item in value]
        else:
            text = None if value is None else _datetime_text(value)
        normal = getattr(sa.func, _DATETIME_FUNCTION)(column)
        return normal, sa.bindparam(None, text, expanding=isinstance(value, list))

    def _is_read_only_violation(self, error: BaseException) -> bool:
        return isinstance(error, sqlite3.OperationalError) and "readonly database" in str(error)

    @contextmanager
    def _connection(self, database: str | None, read_only: bool = True) -> Iterator[sa.Connection]:
        self._check_database_file()
        with super()._connection(database, read_only) as conn:
            yield conn

    def _check_database_file(self) -> None:
        """Refuse a path that names no file, or a file that is no SQLite database.

        Raises:
            InvalidConfigurationError: the file is missing, unreadable or not a database.
        """
        if self.path == MEMORY:
            return
        if not os.path.isfile(self.path):
            raise InvalidConfigurationError(
                f'The database file "{self.path}" of SQLite connector "{self.name}" does not '
                "exist: fix `path` (a relative path starts from the current directory)."
            )
        try:
            with open(self.path, "rb") as handle:
                header = handle.read(len(_SQLITE_HEADER))
        except OSError as exc:
            raise InvalidConfigurationError(
                f'The database file "{self.path}" of SQLite connector "{self.name}" cannot be '
                f"read ({exc.strerror}): give the user running the connector read access."
            ) from exc
        if header and header != _SQLITE_HEADER:
            raise self._not_a_database_error()

    def _not_a_database_error(self) -> InvalidConfigurationError:
        return InvalidConfigurationError(
            f'The file "{self.path}" of SQLite connector "{self.name}" is not a SQLite '
            "database: point `path` at a database file."
        )

    def _query_error(
        self, data_source: str, message: str, original: BaseException
    ) -> ToucanConnectorError:
        text = str(original)
        if isinstance(original, sqlite3.DatabaseError) and "file is not a database" in text:
            return self._not_a_database_error()
        if isinstance(original, sqlite3.OperationalError) and text == "not authorized":
            # load_extension() is the one function SQLite refuses with this bare message.
            return InvalidDataSourceError(
                f'Data source "{data_source}" was refused by SQLite ({text}): the connector '
                "cannot load extensions (load_extension); write the query without them."
            )
        if isinstance(original, sqlite3.OperationalError) and text == "row value misused":
            return InvalidDataSourceError(
                f'Data source "{data_source}" compares a list with a single value ({text}): a '
                "list parameter only goes after IN (`col IN {{ names }}`); pass one value "
                "otherwise."
            )
        return super()._query_error(data_source, message, original)

    def _is_missing_table(self, error: BaseException) -> bool:
        return isinstance(error, sqlite3.OperationalError) and str(error).startswith(
            "no such table:"
        )

    def _list_databases(self) -> list[str]:
        return ["main"]

    def _list_tables(
        self,
        conn: sa.Connection,
        database: str,
        schema: str | None,
        table: str | None,
        exclude_columns: bool,
    ) -> list[TableInfo]:
        import sqlalchemy as sa

        found: list[TableInfo] = []
        for name, kind in conn.execute(sa.text(_OBJECTS_SQL)):
            if table is not None and name != table:
                continue
            columns: list[ColumnInfo] = []
            if not exclude_columns:
                columns = [
                    ColumnInfo(name=column, type=(declared or "").upper())
                    for column, declared in conn.execute(sa.text(_COLUMNS_SQL), {"name": name})
                ]
            found.append(
                TableInfo(database="main", schema=None, type=kind, name=name, columns=columns)
            )
        return found

    def _fetch(
        self, conn: sa.Connection, statement: sa.Executable, hidden_columns: int = 0
    ) -> tuple[pd.DataFrame, list[ColumnType]]:
        # SQLite's types are settled with the rows in hand: a value of another type than the
        # declared one makes its column fall back to the type of its values.
        from toucan_connectors.sqlite.types import column_type

        result = conn.execute(statement)
        names = [str(column[0]) for column in result.cursor.description or ()]
        types = self._declared_types(result, len(names))
        rows: Sequence[Sequence[Any]] = result.fetchall()
        if hidden_columns:
            names, types = names[:-hidden_columns], types[:-hidden_columns]
            rows = [row[:-hidden_columns] for row in rows]

        columns = [
            column_type(name, db_type, [row[position] for row in rows])
            for position, (name, db_type) in enumerate(zip(names, types, strict=True))
        ]
        return build_frame(rows, columns), columns

    def _declared_types(self, result: sa.CursorResult[Any], width: int) -> list[str | None]:
        from toucan_connectors.sqlite.types import declared_types

        raw = result.context.root_connection.connection.dbapi_connection
        sql = str(result.context.statement)
        # The pysqlite driver hands back its sqlite3 connection, typed as a generic DBAPI one.
        return declared_types(cast("sqlite3.Connection", raw), sql, width)

    # Status ----------------------------------------------------------------------------------

    def _status_checks(self) -> list[StatusCheck]:
        self._import_sql_packages()
        return [
            StatusCheck("File exists", self._check_file_exists),
            StatusCheck("File opened", self._check_file_opens),
            StatusCheck("File is a database", self._check_is_database),
        ]

    def _check_file_exists(self) -> None:
        if self.path != MEMORY and not os.path.isfile(self.path):
            raise CheckFailedError(
                f'File "{self.path}" does not exist: check the path (relative paths start '
                "from the current directory)."
            )

    def _check_file_opens(self) -> None:
        try:
            self._open_raw().close()
        except sqlite3.Error as exc:
            raise CheckFailedError(f'File "{self.path}" could not be opened: {exc}.') from exc

    def _check_is_database(self) -> None:
        conn = self._open_raw()
        try:
            conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        except sqlite3.DatabaseError as exc:
            raise CheckFailedError(
                f'File "{self.path}" is not a SQLite database ({exc}): point `path` at one.'
            ) from exc
        finally:
            conn.close()

    def _open_raw(self) -> sqlite3.Connection:
        url = self._engine_url(None)
        if self.path == MEMORY:
            return sqlite3.connect(MEMORY)
        return sqlite3.connect(f"{url.database}?mode=ro", uri=True)
