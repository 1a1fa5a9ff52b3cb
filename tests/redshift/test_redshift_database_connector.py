"""What is specific to Redshift: IAM logins, its catalogue queries and its version string."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pandas as pd
import pytest
from moto import mock_aws
from pandas.testing import assert_frame_equal
from sqlalchemy.dialects import postgresql

from toucan_connectors.errors import InvalidDataSourceError
from toucan_connectors.redshift import RedshiftConnector, RedshiftDataSource
from toucan_connectors.redshift.catalog import (
    CATALOG_QUERY,
    catalog_parameters,
    parse_redshift_version,
)

from .conftest import PG_DATABASE, PG_HOST, PG_PORT

REGION = "eu-west-1"


def iam_connector(**fields: Any) -> RedshiftConnector:
    return RedshiftConnector(
        name="rs",
        host=PG_HOST,
        port=PG_PORT,
        default_database=PG_DATABASE,
        authentication_method="aws_iam",
        cluster_identifier="tc-cluster",
        region=REGION,
        db_user="ann",
        access_key_id="testing",
        secret_access_key="testing",
        connect_timeout=2,
        **fields,
    )


@pytest.fixture
def aws() -> Iterator[None]:
    """Moto's Redshift API, holding the cluster the IAM connector names."""
    with mock_aws():
        client = boto3.client(
            "redshift",
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_cluster(
            ClusterIdentifier="tc-cluster",
            NodeType="dc2.large",
            MasterUsername="admin",
            MasterUserPassword="Passw0rd1",
            ClusterType="single-node",
        )
        yield


# Logins --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"authentication_method": "db_credentials"}, 'needs "user"'),
        (
            {"authentication_method": "aws_iam", "db_user": "ann"},
            'An "aws_iam" login needs cluster_identifier, region.',
        ),
    ],
    ids=["password-without-user", "iam-without-cluster"],
)
def test_login_fields_are_checked(fields, message):
    with pytest.raises(ValueError, match=message):
        RedshiftConnector(name="rs", host="127.0.0.1", **fields)


def test_iam_credentials_come_from_aws(aws):
    user, password = iam_connector().get_iam_credentials("dev")

    assert (user, len(password) > 0) == ("IAM:ann", True)


def test_iam_login_connects_with_the_temporary_user(aws):
    status = iam_connector().get_status()

    assert [ok for _, ok in status.details] == [True, True, True, False, None]
    assert 'role "IAM:ann" does not exist' in status.error


# Catalogue -----------------------------------------------------------------------------------


def test_catalog_query_binds_every_name():
    compiled = CATALOG_QUERY.compile(dialect=postgresql.dialect())

    assert sorted(compiled.params) == [
        "database",
        "exclude_columns",
        "include_materialized_views",
        "schema",
        "table",
    ]


def test_catalog_parameters_carry_the_filters():
    assert catalog_parameters("dev", "sales", "orders", True, False) == {
        "database": "dev",
        "schema": "sales",
        "table": "orders",
        "include_materialized_views": True,
        "exclude_columns": False,
    }


class RecordingConnection:
    """Stands in for a connection to a cluster: returns catalogue rows, records the call."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows
        self.calls: list[tuple[Any, dict[str, Any]]] = []

    def execute(self, query: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        self.calls.append((query, params))
        return self.rows


def test_list_tables_groups_catalogue_rows():
    conn = RecordingConnection(
        [
            ("sales", "orders", "table", "id", "integer"),
            ("sales", "orders", "table", "amount", "numeric(12,2)"),
            ("sales", "orders_mv", "materialized_view", "total", "bigint"),
            ("sales", "recent", "view", None, None),
        ]
    )
    connector = RedshiftConnector(
        name="rs", host="127.0.0.1", user="u", include_materialized_views=True
    )

    tables = connector._list_tables(conn, "dev", "sales", None, False)  # type: ignore[arg-type]

    assert tables == [
        {
            "database": "dev",
            "schema": "sales",
            "type": "table",
            "name": "orders",
            "columns": [
                {"name": "id", "type": "integer"},
                {"name": "amount", "type": "numeric(12,2)"},
            ],
        },
        {
            "database": "dev",
            "schema": "sales",
            "type": "materialized_view",
            "name": "orders_mv",
            "columns": [{"name": "total", "type": "bigint"}],
        },
        {"database": "dev", "schema": "sales", "type": "view", "name": "recent", "columns": []},
    ]
    assert conn.calls == [(CATALOG_QUERY, catalog_parameters("dev", "sales", None, True, False))]


# Version -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (
            "PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 "
            "(Red Hat 3.4.2-6.fc3), Redshift 1.0.77467",
            (1, 0, 77467),
        ),
        ("PostgreSQL 15.4 (Debian 15.4-1) on x86_64-pc-linux-gnu", None),
    ],
    ids=["redshift", "postgres"],
)
def test_parse_redshift_version(version, expected):
    assert parse_redshift_version(version) == expected


def test_engine_version_falls_back_to_the_server_version(connector, pg_admin):
    with pg_admin.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        number = int(cursor.fetchone()[0])

    assert connector.get_engine_version() == (number // 10000, number % 10000)


def test_a_backslash_that_hides_statements_is_refused(connector, create_table, pg_admin):
    table = create_table("victim", "a int", [(1,)])
    # Redshift's reading: one string; PostgreSQL's: a string, then COMMIT and DROP.
    query = f"SELECT '\\' AS x; COMMIT; DROP TABLE {table}; --'"

    with pytest.raises(InvalidDataSourceError, match=r"write the backslash as chr\(92\)"):
        connector.get_df(RedshiftDataSource(domain="d", name="rs", query=query))
    with pg_admin.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
        assert cursor.fetchone() == (True,)


def test_strings_both_dialects_read_alike_still_run(connector):
    query = "SELECT 'it''s' AS a, E'\\\\' AS b, $$x;y$$ AS c"

    df = connector.get_df(RedshiftDataSource(domain="d", name="rs", query=query))

    assert_frame_equal(df, pd.DataFrame({"a": ["it's"], "b": ["\\"], "c": ["x;y"]}, dtype="str"))
