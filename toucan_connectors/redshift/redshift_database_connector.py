"""The Amazon Redshift connector: the PostgreSQL connector with Redshift's logins and catalogue."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from typing_extensions import Self

from toucan_connectors.dependencies import import_optional
from toucan_connectors.discovery import TableInfo
from toucan_connectors.postgres.postgresql_connector import (
    PostgresConnector,
    PostgresDataSource,
    group_catalog_rows,
)
from toucan_connectors.templating import SqlDialect

# redshift/catalog.py builds its queries with SQLAlchemy: it is imported where they run.
if TYPE_CHECKING:
    import sqlalchemy as sa

logger = logging.getLogger(__name__)

__all__ = ["RedshiftConnector", "RedshiftDataSource"]

AuthenticationMethod = Literal["db_credentials", "aws_iam"]


class RedshiftDataSource(PostgresDataSource):
    """A query, or a whole table, of one Redshift database."""


class RedshiftConnector(PostgresConnector, data_source_model=RedshiftDataSource):
    """Reads Amazon Redshift through psycopg2, with a password or AWS IAM credentials."""

    extra: ClassVar[str] = "redshift"
    sqlglot_dialect: ClassVar[str] = "redshift"
    release_locks_sql: ClassVar[str | None] = None  # Redshift has no advisory locks
    template_dialect: ClassVar[SqlDialect | None] = "postgres"
    # Redshift reads a backslash in a string as an escape, PostgreSQL (tested here) does not:
    # a query is run only when both readings see the same single statement.
    statement_dialects: ClassVar[tuple[str, ...]] = ("redshift", "postgres")
    limitations: ClassVar[tuple[str, ...]] = (
        *PostgresConnector.limitations,
        "Tested against PostgreSQL, which speaks Redshift's protocol, not against a cluster: "
        "the Redshift catalogue queries and IAM logins are checked without one.",
        "IAM logins ask AWS for temporary credentials for each new pooled connection; they need "
        "boto3 and the redshift:GetClusterCredentials permission.",
    )

    port: int = Field(5439, ge=1, le=65535, description="TCP port of the cluster.")
    # Optional here, unlike PostgreSQL: `aws_iam` logins name `db_user` instead.
    user: str | None = Field(  # type: ignore[assignment]
        None, description="Database user for `db_credentials` logins."
    )
    default_database: str = Field(
        "dev", description="Database used when a data source names none, and by get_status."
    )
    authentication_method: AuthenticationMethod = Field(
        "db_credentials",
        description="`db_credentials`: user and password; `aws_iam`: temporary credentials "
        "from AWS for `db_user`.",
    )
    cluster_identifier: str | None = Field(
        None, description="Cluster identifier, for `aws_iam` logins."
    )
    region: str | None = Field(None, description="AWS region of the cluster, for `aws_iam`.")
    db_user: str | None = Field(None, description="Database user to log in as with `aws_iam`.")
    access_key_id: str | None = Field(
        None, description="AWS access key id; the default AWS credential chain when empty."
    )
    secret_access_key: SecretStr | None = Field(None, description="AWS secret access key.")
    session_token: SecretStr | None = Field(None, description="AWS session token, if any.")
    auto_create_user: bool = Field(
        False, description="Whether AWS creates `db_user` when it does not exist (`aws_iam`)."
    )

    @model_validator(mode="after")
    def _check_login(self) -> Self:
        if self.authentication_method == "db_credentials" and not self.user:
            raise ValueError('A "db_credentials" login needs "user" (and usually "password").')
        if self.authentication_method == "aws_iam":
            missing = [
                name
                for name in ("cluster_identifier", "region", "db_user")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(f'An "aws_iam" login needs {", ".join(missing)}.')
        return self

    def _configure_engine(self, engine: sa.Engine) -> None:
        """With IAM, give each new connection fresh temporary credentials."""
        super()._configure_engine(engine)
        if self.authentication_method != "aws_iam":
            return

        import sqlalchemy as sa

        @sa.event.listens_for(engine, "do_connect")
        def _use_temporary_credentials(
            dialect: Any, conn_rec: Any, cargs: Any, cparams: dict[str, Any]
        ) -> None:
            cparams["user"], cparams["password"] = self.get_iam_credentials(cparams["dbname"])

    def get_iam_credentials(self, database: str) -> tuple[str, str]:
        """Return a temporary (user, password) from AWS for `db_user` on `database`."""
        boto3 = import_optional("boto3", connector=self._label(), extra="redshift")
        session = boto3.session.Session(
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=_reveal(self.secret_access_key),
            aws_session_token=_reveal(self.session_token),
            region_name=self.region,
        )
        logger.debug("Asking AWS for credentials of %r on %r", self.db_user, database)
        answer = session.client("redshift").get_cluster_credentials(
            DbUser=self.db_user,
            DbName=database,
            ClusterIdentifier=self.cluster_identifier,
            AutoCreate=self.auto_create_user,
        )
        return answer["DbUser"], answer["DbPassword"]

    def _list_databases(self) -> list[str]:
        """Return the cluster's databases from svv_redshift_databases."""
        from toucan_connectors.redshift.catalog import DATABASES_QUERY

        with self._connection(None) as conn:
            return list(conn.execute(DATABASES_QUERY).scalars())

    def _list_tables(
        self,
        conn: sa.Connection,
        database: str,
        schema: str | None,
        table: str | None,
        exclude_columns: bool,
    ) -> list[TableInfo]:
        """List tables, views and materialized views from Redshift's system views."""
        from toucan_connectors.redshift.catalog import CATALOG_QUERY, KINDS, catalog_parameters

        params = catalog_parameters(
            database, schema, table, self.include_materialized_views, exclude_columns
        )
        return group_catalog_rows(database, conn.execute(CATALOG_QUERY, params), KINDS)

    def get_engine_version(self) -> tuple[int, ...]:
        """Return the Redshift release, or the server's version when it is not Redshift."""
        from toucan_connectors.redshift.catalog import parse_redshift_version

        with self._connection(None, read_only=False) as conn:
            version = str(conn.exec_driver_sql("SELECT version()").scalar_one())
        return parse_redshift_version(version) or super().get_engine_version()


def _reveal(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None
