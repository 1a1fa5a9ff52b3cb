"""The MySQL and MariaDB connector, on the shared SQL base, through PyMySQL."""

from __future__ import annotations

import contextlib
import logging
import os
import ssl
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from typing_extensions import Self

from toucan_connectors.discovery import ColumnInfo, TableInfo
from toucan_connectors.errors import InvalidDataSourceError, ProviderError, ToucanConnectorError
from toucan_connectors.mysql.types import FieldType, column_type, decoders, read_field_types
from toucan_connectors.slicing import RetrievedPage
from toucan_connectors.sql.sql_connector import CONNECT_STEPS, SQLConnector, SQLDataSource
from toucan_connectors.sql.types import ColumnType
from toucan_connectors.templating import SqlDialect
from toucan_connectors.toucan_connector import Permissions

if TYPE_CHECKING:
    import sqlalchemy as sa

logger = logging.getLogger(__name__)

__all__ = ["MySQLConnector", "MySQLDataSource"]

SSLMode = Literal["DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"]

_SYSTEM_DATABASES = ("information_schema", "mysql", "performance_schema", "sys")
_ACCESS_DENIED = 1045
_UNKNOWN_DATABASE = 1049
_DATABASE_ACCESS_DENIED = 1044
_READ_ONLY_TRANSACTION = 1792
_DUPLICATE_COLUMN = 1060
_NO_SUCH_TABLE = 1146
# MariaDB's max_statement_time and MySQL's max_execution_time.
_STATEMENT_TIMEOUTS = (1969, 3024)
# MySQL has no OFFSET without LIMIT; its manual's answer is the largest LIMIT there is.
_NO_LIMIT = 18446744073709551615
# Double-quoted text must stay a string literal: drop ANSI_QUOTES (and ANSI, which implies it).
# A backslash must stay an escape, as the read-statement check reads strings: drop
# NO_BACKSLASH_ESCAPES, else `'\'` would end a string the check thinks still open.
_SESSION_SETUP = (
    "SET SESSION time_zone = '+00:00', SESSION sql_mode = TRIM(BOTH ',' FROM "
    "REPLACE(REPLACE(REPLACE(CONCAT(',', @@sql_mode, ','), ',ANSI_QUOTES,', ','), ',ANSI,', "
    "','), ',NO_BACKSLASH_ESCAPES,', ','))"
)
_TABLES_SQL = (
    "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES "
    "WHERE TABLE_SCHEMA = :database ORDER BY TABLE_NAME"
)
_COLUMNS_SQL = (
    "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
    "WHERE TABLE_SCHEMA = :database ORDER BY TABLE_NAME, ORDINAL_POSITION"
)


class MySQLDataSource(SQLDataSource):
    """A query, or a whole table, of one MySQL or MariaDB database."""


class MySQLConnector(SQLConnector, data_source_model=MySQLDataSource):
    """Reads MySQL and MariaDB databases in read-only sessions."""

    driver: ClassVar[str] = "mysql+pymysql"
    driver_module: ClassVar[str] = "pymysql"
    driver_package: ClassVar[str | None] = "PyMySQL"
    extra: ClassVar[str] = "mysql"
    sqlglot_dialect: ClassVar[str] = "mysql"
    release_locks_sql: ClassVar[str | None] = "SELECT RELEASE_ALL_LOCKS()"
    template_dialect: ClassVar[SqlDialect | None] = "mysql"
    fast_driver: ClassVar[str | None] = "connectorx_mysql"  # see mysql/fast_reader.py
    limitations: ClassVar[tuple[str, ...]] = (
        "A query whose own LIMIT or OFFSET is not a plain number (LIMIT ALL, LIMIT 2 + 3, "
        "FETCH ... WITH TIES), or that the SQL parser cannot read, is read whole and paged in "
        "Python: a preview of it costs a full read; write plain numbers in LIMIT and OFFSET.",
        "Rows that tie on the query's ORDER BY may come in any order, so pages of such a query "
        "can overlap: order by a unique key.",
        "Functions a SELECT may call that read server files (LOAD_FILE) are not blocked: "
        "connect with a user that lacks the FILE privilege.",
        "BOOLEAN columns come back as Int64 holding 0 and 1: the server stores them as "
        'TINYINT(1) and reports no boolean type; permissions compare them with 1 and 0 ("true" '
        "is refused as no number), or CAST in the query.",
        "Zero and partial dates (0000-00-00, 2016-00-00) come back as missing values: pandas "
        "has no such dates.",
        "The SSL modes VERIFY_CA and VERIFY_IDENTITY are not tested against a server here (the "
        "local MariaDB has no certificate); their certificate checks are unit-tested.",
        "Permissions on a query whose output repeats a name (SELECT * over a join sharing a "
        "column) are refused: MySQL cannot wrap it; alias the columns apart.",
        "get_model reports columns with their MySQL COLUMN_TYPE text (`int(11)`, "
        "`varchar(10)`); a database is its own only schema, so `schema` is empty and a "
        "schema_name other than the database's name finds no table.",
    )

    host: str = Field(description="Server host name or IP address.")
    port: int = Field(3306, ge=1, le=65535, description="Server TCP port.")
    user: str = Field(description="User name to log in with.")
    password: SecretStr | None = Field(None, description="Password of `user`; empty for none.")
    default_database: str | None = Field(
        None, description="Database used when a data source names none."
    )
    charset: str = Field(
        "utf8mb4", description="Character set of the connection (`utf8mb4` keeps every character)."
    )
    collation: str | None = Field(
        None,
        description="Collation of the connection, e.g. `utf8mb4_unicode_ci`; the server's "
        "default for `charset` when empty.",
    )
    ssl_mode: SSLMode = Field(
        "PREFERRED",
        description="DISABLED: never encrypt. PREFERRED: encrypt when the server offers it. "
        "REQUIRED: always encrypt, without checking the certificate. VERIFY_CA: also check the "
        "certificate against `ssl_ca`. VERIFY_IDENTITY: also check it names `host`.",
    )
    ssl_ca: str | None = Field(
        None,
        description="PEM text of the certificate authority for VERIFY_CA and VERIFY_IDENTITY; "
        "the system's authorities when empty.",
    )
    ssl_cert: str | None = Field(
        None, description="PEM text of the client certificate, for servers that ask for one."
    )
    ssl_key: SecretStr | None = Field(
        None, description="PEM text of the client certificate's private key."
    )

    @model_validator(mode="after")
    def _check_client_certificate(self) -> Self:
        if (self.ssl_cert is None) != (self.ssl_key is None):
            raise ValueError(
                'Set both "ssl_cert" and "ssl_key" (a client certificate needs its key), '
                "or neither."
            )
        return self

    # Dialect hooks ---------------------------------------------------------------------------

    def _engine_url(self, database: str | None) -> sa.URL:
        import sqlalchemy as sa

        return sa.URL.create(
            self.driver,
            username=self.user,
            password=self.password.get_secret_value() if self.password else None,
            host=self.host,
            port=self.port,
            database=database,
        )

    def _connect_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {
            "connect_timeout": self.connect_timeout,
            "read_timeout": self._read_timeout(),
            "charset": self.charset,
            "init_command": _SESSION_SETUP,
            "conv": decoders(),
        }
        if self.collation:
            args["collation"] = self.collation
        if self.ssl_mode == "DISABLED":
            args["ssl_disabled"] = True
        context = self._ssl_context()
        if context is not None:
            args["ssl"] = context
        return args

    def _network_address(self) -> tuple[str, int] | None:
        return self.host, self.port

    def _default_database(self) -> str | None:
        return self.default_database

    def _begin_read_only(self, conn: sa.Connection) -> None:
        # Session-wide, so the transaction a DDL statement's implicit commit starts is read-only
        # too; no transaction is open yet when a connection leaves the pool.
        conn.exec_driver_sql("SET SESSION TRANSACTION READ ONLY")
        if self.query_timeout:
            # MySQLDialect defines is_mariadb; the sa.Dialect it is typed as does not.
            if conn.dialect.is_mariadb:  # type: ignore[attr-defined]
                conn.exec_driver_sql(f"SET SESSION max_statement_time = {int(self.query_timeout)}")
            else:
                milliseconds = int(self.query_timeout) * 1000
                conn.exec_driver_sql(f"SET SESSION max_execution_time = {milliseconds}")

    def _column_types(self, result: sa.CursorResult[Any]) -> list[ColumnType]:
        cursor = result.cursor
        names = [str(column[0]) for column in cursor.description or ()]
        fields = read_field_types(cursor) or [FieldType(type_code=6)] * len(names)
        return [column_type(name, field) for name, field in zip(names, fields, strict=True)]

    def _connect_error_step(self, error: BaseException) -> str:
        code = error.args[0] if error.args and isinstance(error.args[0], int) else None
        if code == _ACCESS_DENIED:
            return CONNECT_STEPS[1]
        if code in (_UNKNOWN_DATABASE, _DATABASE_ACCESS_DENIED):
            return CONNECT_STEPS[2]
        return CONNECT_STEPS[0]

    def _is_missing_table(self, error: BaseException) -> bool:
        return bool(error.args) and error.args[0] == _NO_SUCH_TABLE

    def _is_read_only_violation(self, error: BaseException) -> bool:
        return bool(error.args) and error.args[0] == _READ_ONLY_TRANSACTION

    def _query_error(
        self, data_source: str, message: str, original: BaseException
    ) -> ToucanConnectorError:
        if original.args and original.args[0] == _DUPLICATE_COLUMN:
            # Wrapping the query (for a permission filter) needs unique names; MySQL says so.
            return InvalidDataSourceError(
                f'Data source "{data_source}" returns two columns of one name ({message}), '
                "which MySQL cannot filter: give them distinct aliases in the query "
                "(SELECT a.id AS a_id, b.id AS b_id ...) instead of SELECT *."
            )
        if original.args and original.args[0] in _STATEMENT_TIMEOUTS:
            return ProviderError(
                f'Data source "{data_source}" ran longer than the connector\'s query_timeout '
                f"({self.query_timeout} s) and the server stopped it ({message}): make the query "
                "faster, or raise query_timeout."
            )
        return super()._query_error(data_source, message, original)

    def _exact_permission_predicate(
        self, conn: sa.Connection, predicate: sa.ColumnElement[bool], text_columns: list[str]
    ) -> sa.ColumnElement[bool]:
        """Compare permission text by code point: the usual collations ignore case and accents.

        Under `utf8mb4_general_ci`, `country = 'fr'` holds for 'FR' and `REGEXP 'fr'` matches
        it too, which would widen a permission. Text columns and the text of matched columns
        are compared under a binary collation that also keeps trailing spaces ('FR ' <> 'FR').
        """
        import sqlalchemy as sa
        from sqlalchemy.dialects import mysql
        from sqlalchemy.sql import visitors
        from sqlalchemy.sql.elements import Cast, ColumnClause

        collation = _exact_collation(conn)
        names = set(text_columns)

        def _exact(element: Any) -> Any:
            return sa.collate(sa.cast(element, mysql.CHAR(charset="utf8mb4")), collation)

        def _replace(element: Any, **kw: Any) -> Any:
            if isinstance(element, Cast) and isinstance(element.clause, ColumnClause):
                return _exact(element.clause)  # the text a regular expression matches
            if isinstance(element, ColumnClause) and element.name in names:
                return _exact(element)
            return None

        replaced: sa.ColumnElement[bool] = visitors.replacement_traverse(predicate, {}, _replace)
        return replaced

    def _permission_date_column(
        self, column: sa.ColumnElement[Any], kind: str
    ) -> sa.ColumnElement[Any]:
        """NULL where the frame has NaT: zero and partial dates (0000-00-00, 2016-00-00).

        The server takes such a date for NULL in some places only (`d IS NULL` holds for
        0000-00-00 in a NOT NULL column's WHERE); DATE_ADD gives NULL for each of them.
        """
        import sqlalchemy as sa

        real = sa.func.date_add(column, sa.literal_column("INTERVAL 0 DAY")).is_not(None)
        return sa.case((real, column))

    def _list_databases(self) -> list[str]:
        with self._connection(None) as conn:
            names = conn.exec_driver_sql("SHOW DATABASES").scalars().all()
        return [str(name) for name in names if str(name).lower() not in _SYSTEM_DATABASES]

    def _list_tables(
        self,
        conn: sa.Connection,
        database: str,
        schema: str | None,
        table: str | None,
        exclude_columns: bool,
    ) -> list[TableInfo]:
        import sqlalchemy as sa

        if schema is not None and schema != database:
            # A MySQL database is its own only schema.
            return []
        columns: dict[str, list[ColumnInfo]] = {}
        if not exclude_columns:
            for table_name, name, column_type_name in conn.execute(
                sa.text(_COLUMNS_SQL), {"database": database}
            ):
                columns.setdefault(table_name, []).append(
                    ColumnInfo(name=name, type=column_type_name)
                )

        found: list[TableInfo] = []
        for name, table_type in conn.execute(sa.text(_TABLES_SQL), {"database": database}):
            if table is not None and name != table:
                continue
            kind: Literal["view", "table"] = "view" if table_type == "VIEW" else "table"
            found.append(
                TableInfo(
                    database=database,
                    schema=None,
                    type=kind,
                    name=name,
                    columns=columns.get(name, []),
                )
            )
        return found

    def _retrieve_page(
        self,
        data_source: SQLDataSource,
        permissions: Permissions | None,
        offset: int,
        limit: int | None,
        count_rows: bool,
    ) -> RetrievedPage:
        if offset and limit is None:
            limit = _NO_LIMIT
        return super()._retrieve_page(data_source, permissions, offset, limit, count_rows)

    def _try_connect(self) -> None:
        import sqlalchemy as sa

        # The handshake must fail within the connect timeout, not the (longer) query timeout.
        args = {**self._connect_args(), "read_timeout": self.connect_timeout}
        engine = sa.create_engine(
            self._engine_url(self._default_database()), poolclass=sa.NullPool, connect_args=args
        )
        try:
            with engine.connect():
                pass
        finally:
            engine.dispose()

    # SSL -------------------------------------------------------------------------------------

    def _read_timeout(self) -> int | None:
        if self.query_timeout is None:
            return None
        return self.query_timeout + self.connect_timeout

    def _ssl_context(self) -> ssl.SSLContext | None:
        """Return the TLS context of `ssl_mode`, or None when PyMySQL's default applies."""
        if self.ssl_mode in ("DISABLED", "PREFERRED"):
            return None
        context = ssl.create_default_context(cadata=self.ssl_ca or None)
        context.check_hostname = self.ssl_mode == "VERIFY_IDENTITY"
        if self.ssl_mode == "REQUIRED":
            context.verify_mode = ssl.CERT_NONE
        if self.ssl_cert is not None and self.ssl_key is not None:
            with (
                _private_file(self.ssl_cert) as cert,
                _private_file(self.ssl_key.get_secret_value()) as key,
            ):
                context.load_cert_chain(cert, key)
        return context


def _exact_collation(conn: sa.Connection) -> str:
    """The binary utf8mb4 collation without trailing-space padding, where the server has one."""
    if conn.dialect.is_mariadb:  # type: ignore[attr-defined]
        return "utf8mb4_nopad_bin"
    version = conn.dialect.server_version_info or ()
    return "utf8mb4_0900_bin" if tuple(version[:1]) >= (8,) else "utf8mb4_bin"


@contextlib.contextmanager
def _private_file(text: str) -> Iterator[str]:
    """Write `text` to a file only the current user can read, and remove it afterwards."""
    descriptor, path = tempfile.mkstemp(prefix="toucan-mysql-", suffix=".pem")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        yield path
    finally:
        os.unlink(path)
