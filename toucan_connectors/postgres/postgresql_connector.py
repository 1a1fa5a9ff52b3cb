"""The PostgreSQL connector, on the shared SQL base, through psycopg2."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, SecretStr

from toucan_connectors.discovery import TableInfo
from toucan_connectors.errors import ProviderError, ToucanConnectorError
from toucan_connectors.postgres.types import postgres_column_types, register_date_casters
from toucan_connectors.sql.sql_connector import CONNECT_STEPS, SQLConnector, SQLDataSource
from toucan_connectors.sql.types import ColumnType
from toucan_connectors.templating import SqlDialect

if TYPE_CHECKING:
    import sqlalchemy as sa

logger = logging.getLogger(__name__)

__all__ = ["PostgresConnector", "PostgresDataSource"]

SSLMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

# SQLSTATE 25006: read_only_sql_transaction.
_READ_ONLY_SQLSTATE = "25006"
_UNDEFINED_TABLE = "42P01"
_QUERY_CANCELED = "57014"  # a statement timeout, or a cancel request
_AUTH_MESSAGES = (
    "password authentication failed",
    "no password supplied",
    "authentication failed",
    "pg_hba.conf rejects",
    "role ",
)

# libpq's text for a missing database; a role may be named `database_reader`, hence the quotes.
_MISSING_DATABASE = re.compile(r'FATAL:\s+database ".*" does not exist')

_CATALOG_SQL = """
    SELECT n.nspname AS schema_name, c.relname AS table_name, c.relkind AS kind,
           a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS column_type
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    LEFT JOIN pg_catalog.pg_attribute AS a
      ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND NOT :exclude_columns
    WHERE c.relkind = ANY(:kinds)
      AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
      AND (CAST(:schema AS text) IS NULL OR n.nspname = :schema)
      AND (CAST(:table AS text) IS NULL OR c.relname = :table)
    ORDER BY n.nspname, c.relname, a.attnum
"""
_RELKINDS = {"r": "table", "p": "table", "f": "table", "v": "view", "m": "materialized_view"}
_DATABASES_SQL = (
    "SELECT datname FROM pg_catalog.pg_database "
    "WHERE datallowconn AND NOT datistemplate ORDER BY datname"
)


class PostgresDataSource(SQLDataSource):
    """A query, or a whole table, of one PostgreSQL database."""


class PostgresConnector(SQLConnector, data_source_model=PostgresDataSource):
    """Reads PostgreSQL (and protocol-compatible servers) through psycopg2."""

    driver: ClassVar[str] = "postgresql+psycopg2"
    driver_module: ClassVar[str] = "psycopg2"
    driver_package: ClassVar[str | None] = "psycopg2-binary"
    extra: ClassVar[str] = "postgres"
    sqlglot_dialect: ClassVar[str] = "postgres"
    release_locks_sql: ClassVar[str | None] = "SELECT pg_advisory_unlock_all()"
    template_dialect: ClassVar[SqlDialect | None] = "postgres"
    fast_driver: ClassVar[str | None] = "adbc_postgresql"
    limitations: ClassVar[tuple[str, ...]] = (
        "A query whose own LIMIT or OFFSET is not a plain number (LIMIT ALL, LIMIT 2 + 3, "
        "FETCH ... WITH TIES), or that the SQL parser cannot read, is read whole and paged in "
        "Python: a preview of it costs a full read; write plain numbers in LIMIT and OFFSET.",
        "Functions a SELECT may call that read server files or change settings (pg_read_file, "
        "set_config) are not blocked: connect with a role that lacks those privileges.",
        "Rows that tie on the query's ORDER BY may come in any order, so pages of such a query "
        "can overlap: order by a unique key.",
        "A query sqlglot cannot parse is read whole and then sliced (and filtered by "
        "permissions) in pandas: correct, but slower on large results.",
        "When a query has both DISTINCT or UNION and an ORDER BY on a non-output expression, "
        "a permission filter wraps it with the ORDER BY inside, where the server may drop it.",
        "A `SELECT *` whose output repeats a column name (a join of tables sharing a column) "
        "cannot be wrapped for permission filters or counts: name the columns, repeated names "
        "are then aliased for you.",
        "`time` and `timetz` columns come back as Python time objects (object dtype).",
        "NUMERIC without a precision (`numeric`, `sum()` of bigints) comes back as float64, "
        "exact up to 2**53 only: cast it to numeric(p,0) or numeric(p,s) in the query to keep "
        "larger values exact.",
    )

    host: str = Field(description="Host name or IP address of the server.")
    port: int = Field(5432, ge=1, le=65535, description="TCP port of the server.")
    user: str = Field(description="User name to log in as.")
    password: SecretStr | None = Field(None, description="Password of the user.")
    default_database: str = Field(
        "postgres", description="Database used when a data source names none, and by get_status."
    )
    sslmode: SSLMode | None = Field(
        None, description="libpq SSL mode (disable, prefer, require, verify-ca, verify-full)."
    )
    charset: str | None = Field(
        None, description="Client encoding, e.g. UTF8; the server's default when empty."
    )
    include_materialized_views: bool = Field(
        False, description="Whether get_model lists materialized views too."
    )

    def _engine_url(self, database: str | None) -> sa.URL:
        """Return the psycopg2 URL of `database`."""
        import sqlalchemy as sa

        return sa.URL.create(
            self.driver,
            username=self.user,
            password=self.password.get_secret_value() if self.password else None,
            host=self.host,
            port=self.port,
            database=database or self.default_database,
        )

    def _connect_args(self) -> dict[str, Any]:
        """Return libpq's connection options."""
        # Read-only for the whole session, not only the transaction _begin_read_only starts: a
        # COMMIT that slipped into a query could otherwise start a writable one.
        args: dict[str, Any] = {
            "connect_timeout": self.connect_timeout,
            "options": "-c default_transaction_read_only=on",
        }
        if self.sslmode:
            args["sslmode"] = self.sslmode
        if self.charset:
            args["client_encoding"] = self.charset
        return args

    def _configure_engine(self, engine: sa.Engine) -> None:
        """Read the dates of each new connection by the documented rule (see postgres/types.py)."""
        import sqlalchemy as sa

        @sa.event.listens_for(engine, "connect")
        def _register_casters(dbapi_connection: Any, connection_record: Any) -> None:
            register_date_casters(dbapi_connection)

    def _network_address(self) -> tuple[str, int]:
        """Return the server's host and port."""
        return self.host, self.port

    def _default_database(self) -> str:
        """Return `default_database`."""
        return self.default_database

    def _begin_read_only(self, conn: sa.Connection) -> None:
        """Start a read-only transaction with the query timeout as its statement timeout."""
        timeout_ms = (self.query_timeout or 0) * 1000
        conn.exec_driver_sql(
            f"SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = {int(timeout_ms)}"
        )

    def _column_types(self, result: sa.CursorResult[Any]) -> list[ColumnType]:
        """Map the cursor's type OIDs to column types."""
        return postgres_column_types(result.cursor.description or ())

    def _connect_error_step(self, error: BaseException) -> str:
        """Tell a login or missing-database failure from a failure to connect at all."""
        message = str(error)
        if _MISSING_DATABASE.search(message):
            return CONNECT_STEPS[2]
        if any(marker in message for marker in _AUTH_MESSAGES) and "FATAL" in message:
            return CONNECT_STEPS[1]
        return CONNECT_STEPS[0]

    def _is_missing_table(self, error: BaseException) -> bool:
        return getattr(error, "pgcode", None) == _UNDEFINED_TABLE

    def _query_error(
        self, data_source: str, message: str, original: BaseException
    ) -> ToucanConnectorError:
        """Name `query_timeout` when the server cancelled the query for running too long."""
        if getattr(original, "pgcode", None) == _QUERY_CANCELED and "statement timeout" in message:
            return ProviderError(
                f'Data source "{data_source}" ran longer than the connector\'s query_timeout '
                f"({self.query_timeout} s) and the server stopped it ({message}): make the query "
                "faster, or raise query_timeout."
            )
        return super()._query_error(data_source, message, original)

    def _is_read_only_violation(self, error: BaseException) -> bool:
        """Whether the server refused a write because the transaction is read-only."""
        return getattr(error, "pgcode", None) == _READ_ONLY_SQLSTATE

    def _permission_date_column(
        self, column: sa.ColumnElement[Any], kind: str
    ) -> sa.ColumnElement[Any]:
        """NULL where the frame has NaT: infinity, -infinity, BC dates and years past 9999.

        The bounds are checked on the local wall time psycopg2 reads (the session's time zone
        for timestamptz); infinity and -infinity lie outside them.
        """
        import sqlalchemy as sa

        local: sa.ColumnElement[Any] = column
        if kind == "datetime_utc":
            local = column.op("AT TIME ZONE")(sa.func.current_setting("TimeZone"))
        lowest: sa.ColumnElement[Any] = sa.literal_column("TIMESTAMP '0001-01-01'")
        beyond: sa.ColumnElement[Any] = sa.literal_column("TIMESTAMP '10000-01-01'")
        kept = sa.and_(local >= lowest, local < beyond)
        return sa.case((kept, column))

    def _list_databases(self) -> list[str]:
        """Return the databases that accept connections."""
        import sqlalchemy as sa

        with self._connection(None) as conn:
            return list(conn.execute(sa.text(_DATABASES_SQL)).scalars())

    def _list_tables(
        self,
        conn: sa.Connection,
        database: str,
        schema: str | None,
        table: str | None,
        exclude_columns: bool,
    ) -> list[TableInfo]:
        """List tables, views and (if asked) materialized views with one catalogue query."""
        import sqlalchemy as sa

        kinds = ["r", "p", "f", "v"] + (["m"] if self.include_materialized_views else [])
        rows = conn.execute(
            sa.text(_CATALOG_SQL),
            {"kinds": kinds, "schema": schema, "table": table, "exclude_columns": exclude_columns},
        )
        return group_catalog_rows(database, rows, _RELKINDS)


def group_catalog_rows(database: str, rows: Any, kinds: dict[str, str]) -> list[TableInfo]:
    """Group (schema, table, kind, column, type) rows into one `TableInfo` per table."""
    tables: dict[tuple[str, str], TableInfo] = {}
    for schema_name, table_name, kind, column_name, column_type in rows:
        info = tables.get((schema_name, table_name))
        if info is None:
            info = TableInfo(
                database=database,
                schema=schema_name,
                # `kinds` maps catalogue kinds to TableInfo type names only.
                type=kinds.get(kind, "table"),  # type: ignore[typeddict-item]
                name=table_name,
                columns=[],
            )
            tables[(schema_name, table_name)] = info
        if column_name is not None:
            info["columns"].append({"name": column_name, "type": column_type})
    return list(tables.values())
