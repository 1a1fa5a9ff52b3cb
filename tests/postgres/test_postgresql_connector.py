"""What is specific to PostgreSQL: its types, status steps, catalogue, version and plans."""

from __future__ import annotations

import datetime
import decimal
import logging
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from pandas.testing import assert_frame_equal
from pydantic import SecretStr

from toucan_connectors.errors import ConnectionFailedError, InvalidDataSourceError, ProviderError
from toucan_connectors.permissions.pandas_filter import apply_permissions
from toucan_connectors.postgres import PostgresConnector, PostgresDataSource

from .conftest import PG_DATABASE, PG_HOST, PG_PORT

STEPS = ["Host resolved", "Port opened", "Connected", "Authenticated", "Database exists"]
UTC = datetime.timezone.utc


def data_source(query: str | None = None, **fields: Any) -> PostgresDataSource:
    return PostgresDataSource(
        domain="sales", name="pg", database=PG_DATABASE, query=query, **fields
    )


def objects(*values: Any) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    for position, value in enumerate(values):
        array[position] = value
    return array


# Types ---------------------------------------------------------------------------------------

WIDE_COLUMNS = (
    "i int, bi bigint, n18 numeric(18,0), n20 numeric(20,0), n12 numeric(12,2), "
    "n30 numeric(30,10), nfree numeric, f real, d double precision, b boolean, t text, "
    "ch char(3), dt date, ts timestamp, tstz timestamptz, iv interval, j json, jb jsonb, "
    "u uuid, arr int[], tags text[], raw bytea, tm time"
)
WIDE_ROW = (
    1,
    9007199254740993,
    123456789012345678,
    98765432109876543210,
    "1.10",
    "12345678901234567890.0123456789",
    "2.5",
    1.5,
    0.1,
    True,
    "é",
    "ab",
    "2024-02-29",
    "2024-01-01 10:00:00.123456",
    "2024-01-01 10:00:00+02",
    "1 day 02:00:00",
    '{"k": [1, 2]}',
    '{"k": 1}',
    "12345678-1234-5678-1234-567812345678",
    [1, 2],
    ["a", "b"],
    b"\x00\x01",
    "10:30:00",
)


@pytest.fixture
def wide(create_table) -> str:
    return create_table("wide", WIDE_COLUMNS, [WIDE_ROW, (None,) * len(WIDE_ROW)])


def expected_wide() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "i": pd.array([1, None], dtype="Int64"),
            "bi": pd.array([9007199254740993, None], dtype="Int64"),
            "n18": pd.array([123456789012345678, None], dtype="Int64"),
            "n20": objects(98765432109876543210, None),
            "n12": [1.1, np.nan],
            "n30": objects(decimal.Decimal("12345678901234567890.0123456789"), None),
            "nfree": [2.5, np.nan],
            "f": [1.5, np.nan],
            "d": [0.1, np.nan],
            "b": pd.array([True, None], dtype="boolean"),
            "t": pd.array(["é", None], dtype="str"),
            "ch": pd.array(["ab ", None], dtype="str"),
            "dt": pd.Series([datetime.datetime(2024, 2, 29), None], dtype="datetime64[us]"),
            "ts": pd.Series(
                [datetime.datetime(2024, 1, 1, 10, 0, 0, 123456), None], dtype="datetime64[us]"
            ),
            "tstz": pd.Series(
                [datetime.datetime(2024, 1, 1, 8, tzinfo=UTC), None], dtype="datetime64[us, UTC]"
            ),
            "iv": pd.Series([datetime.timedelta(days=1, hours=2), None], dtype="timedelta64[us]"),
            "j": objects({"k": [1, 2]}, None),
            "jb": objects({"k": 1}, None),
            "u": pd.array(["12345678-1234-5678-1234-567812345678", None], dtype="str"),
            "arr": objects([1, 2], None),
            "tags": objects(["a", "b"], None),
            "raw": objects(b"\x00\x01", None),
            "tm": objects(datetime.time(10, 30), None),
        }
    )


def test_every_type_maps_to_its_documented_dtype(connector, wide):
    df = connector.get_df(data_source(f"SELECT * FROM {wide} ORDER BY i"))

    assert_frame_equal(df, expected_wide())


def test_empty_result_keeps_every_dtype(connector, wide):
    df = connector.get_df(data_source(f"SELECT * FROM {wide} WHERE false"))

    assert df.dtypes.to_dict() == expected_wide().dtypes.to_dict()


def test_bigint_stays_exact(connector, create_table):
    table = create_table("big", "id bigint", [(9007199254740993,), (None,)])

    df = connector.get_df(data_source(f"SELECT id FROM {table} ORDER BY id"))

    assert_frame_equal(df, pd.DataFrame({"id": pd.array([9007199254740993, None], "Int64")}))


def test_numeric_20_0_ids_stay_exact_and_amounts_follow_the_policy(connector, create_table):
    table = create_table(
        "acc",
        "id numeric(20,0), amount numeric(12,2)",
        [(305184080441754059, "1.10"), (305184080441754060, "2.25")],
    )

    df = connector.get_df(data_source(f"SELECT id, amount FROM {table} ORDER BY id"))

    expected = pd.DataFrame(
        {"id": objects(305184080441754059, 305184080441754060), "amount": [1.1, 2.25]}
    )
    assert_frame_equal(df, expected)


def test_timestamptz_with_mixed_offsets_is_one_utc_column(connector, create_table):
    table = create_table(
        "events", "at timestamptz", [("2024-03-31 01:30:00+00",), ("2024-03-31 05:30:00+04",)]
    )

    df = connector.get_df(data_source(f"SELECT at FROM {table}"))

    expected = pd.Series([datetime.datetime(2024, 3, 31, 1, 30, tzinfo=UTC)] * 2, name="at")
    assert_frame_equal(df, expected.astype("datetime64[us, UTC]").to_frame())


@pytest.mark.parametrize(
    ("expression", "dtype"),
    [("'infinity'::timestamp", "datetime64[us]"), ("'-infinity'::date", "datetime64[us]")],
    ids=["infinity-timestamp", "minus-infinity-date"],
)
def test_infinite_dates_become_missing_values(connector, expression, dtype):
    df = connector.get_df(data_source(f"SELECT {expression} AS at"))

    assert_frame_equal(df, pd.DataFrame({"at": pd.Series([None], dtype=dtype)}))


def test_unnamed_columns_are_kept(connector):
    df = connector.get_df(data_source("SELECT 1, 2"))

    expected = pd.DataFrame(
        {"?column?": pd.array([1], "Int64"), "?column?_1": pd.array([2], "Int64")}
    )
    assert_frame_equal(df, expected)


def test_sum_of_bigints_is_numeric(connector):
    df = connector.get_df(data_source("SELECT sum(x) AS s FROM (VALUES (1::bigint), (2)) AS v(x)"))

    assert_frame_equal(df, pd.DataFrame({"s": [3.0]}))


@pytest.mark.parametrize("fast_path", [True, False])
def test_unsized_numeric_is_float_and_a_cast_keeps_it_exact(connector, fast_path):
    values = "(VALUES (9007199254740992::bigint), (1)) AS v(x)"
    query = f"SELECT sum(x) AS s, sum(x)::numeric(20,0) AS exact FROM {values}"

    df = connector.model_copy(update={"fast_path": fast_path}).get_df(data_source(query))

    expected = pd.DataFrame({"s": [9007199254740992.0], "exact": objects(9007199254740993)})
    assert_frame_equal(df, expected)


def test_describe_gives_provider_types(connector, wide):
    described = connector.describe(data_source(f"SELECT i, n12, tstz, tags FROM {wide}"))

    assert described == {
        "i": "integer",
        "n12": "numeric(12,2)",
        "tstz": "timestamp with time zone",
        "tags": "text[]",
    }


# Retrieval details ---------------------------------------------------------------------------


@pytest.fixture
def statements(connector) -> list[str]:
    """The SQL the connector sends to the test database."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    sa.event.listen(connector.get_engine(PG_DATABASE), "before_cursor_execute", record)
    return sent


def test_preview_of_ten_million_rows_puts_the_limit_in_sql(connector, statements):
    query = "SELECT n FROM generate_series(1, 10000000) AS n"

    page = connector.get_slice(data_source(query), limit=100)

    assert statements == [
        "SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = 300000",
        "SELECT n FROM GENERATE_SERIES(1, 10000000) AS n LIMIT 101",
    ]
    assert (len(page.df), page.pagination_info.is_last_page) == (100, False)


def test_count_runs_only_for_a_full_page(connector, create_table, statements):
    table = create_table("n", "n int", [(n,) for n in range(1, 11)])

    connector.get_slice(data_source(f"SELECT n FROM {table}"), limit=5, get_row_count=True)

    assert statements[-1] == (
        f"SELECT count(*) AS count_1 \nFROM (SELECT 1 FROM {table}) AS _toucan_q"
    )


def test_table_name_is_quoted(connector, pg_schema, pg_execute, request):
    pg_execute(f'CREATE TABLE {pg_schema}."Odd Name" (a int)')
    request.addfinalizer(lambda: pg_execute(f'DROP TABLE {pg_schema}."Odd Name"'))
    pg_execute(f'INSERT INTO {pg_schema}."Odd Name" VALUES (7)')

    df = connector.get_df(data_source(table=f"{pg_schema}.Odd Name"))

    assert_frame_equal(df, pd.DataFrame({"a": pd.array([7], "Int64")}))


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "standard"])
def test_query_timeout_cancels_a_slow_query(connector, fast_path):
    slow = connector.model_copy(update={"query_timeout": 1, "fast_path": fast_path})

    with pytest.raises(ProviderError) as raised:
        slow.get_df(data_source("SELECT pg_sleep(5)"))

    assert str(raised.value).endswith(
        "ran longer than the connector's query_timeout (1 s) and the server stopped it "
        "(canceling statement due to statement timeout): make the query faster, or raise "
        "query_timeout."
    )
    slow.close()


def test_a_write_inside_a_select_is_refused(connector, create_table):
    table = create_table("n", "n int", [(1,), (2,)])
    query = f"WITH gone AS (DELETE FROM {table} RETURNING n) SELECT n FROM gone"

    with pytest.raises(InvalidDataSourceError, match="read-only transactions"):
        connector.get_df(data_source(query))
    assert len(connector.get_df(data_source(table=table))) == 2


def test_syntax_error_names_the_data_source(connector):
    with pytest.raises(ProviderError, match='data source "sales": syntax error'):
        connector.get_df(data_source("SELECT 1 +"))


def test_engine_is_created_once_per_database(connector):
    engines: list[sa.Engine] = []

    def get() -> None:
        engines.append(connector.get_engine(PG_DATABASE))

    threads = [threading.Thread(target=get) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({id(engine) for engine in engines}) == 1
    assert connector.get_engine("postgres") is not engines[0]


def test_retrieval_logs(connector, caplog):
    caplog.set_level(logging.DEBUG, logger="toucan_connectors")

    connector.get_df(data_source("SELECT 1 AS a"))

    records = [(r.name, r.levelname, r.msg, r.args[:2]) for r in caplog.records]
    assert records == [
        (
            "toucan_connectors.sql.sql_connector",
            "DEBUG",
            "Querying %s database %r for %r (offset %d, limit %s)",
            ("PostgresConnector", "test"),
        ),
        (
            "toucan_connectors.toucan_connector",
            "INFO",
            "Data source %r returned %d rows in %.3fs",
            ("sales", 1),
        ),
    ]


# Engine version and plans --------------------------------------------------------------------


def test_engine_version_is_a_tuple_of_ints(connector, pg_admin):
    with pg_admin.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        number = int(cursor.fetchone()[0])

    assert connector.get_engine_version() == (number // 10000, number % 10000)


def test_explain_returns_the_plan(connector):
    plan = connector.explain(data_source("SELECT 1 AS a"))

    assert (list(plan.columns), plan.iloc[0, 0].split("  ")[0]) == (["QUERY PLAN"], "Result")


# Status --------------------------------------------------------------------------------------


def status_of(connector: PostgresConnector) -> tuple[list[bool | None], str | None]:
    status = connector.get_status()
    assert [name for name, _ in status.details] == STEPS
    return [ok for _, ok in status.details], status.error


def test_status_of_an_unresolvable_host(connector, monkeypatch):
    def refuse(host: str, *args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    broken = connector.model_copy(update={"host": "no-such-host.invalid"})

    assert status_of(broken) == (
        [False, None, None, None, None],
        'Host "no-such-host.invalid" could not be resolved: check its spelling.',
    )


def test_status_of_a_closed_port(connector):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    broken = connector.model_copy(update={"port": port})

    steps, error = status_of(broken)

    assert (steps, error.split(" (")[0]) == (
        [True, False, None, None, None],
        f"Port {port} on 127.0.0.1 is not open",
    )


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose listener accepts connections and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_status_of_a_server_that_never_answers(connector, silent_port):
    broken = connector.model_copy(update={"port": silent_port})

    steps, error = status_of(broken)

    assert (steps, "timeout expired" in error) == ([True, True, False, None, None], True)


def test_status_of_a_wrong_password(connector, password_server):
    broken = connector.model_copy(
        update={"port": password_server, "user": "ann", "password": SecretStr("s3cr3t-pw")}
    )

    steps, error = status_of(broken)

    assert steps == [True, True, True, False, None]
    assert 'password authentication failed for user "ann"' in error
    assert "s3cr3t-pw" not in error


def test_status_of_an_unknown_user(connector):
    broken = connector.model_copy(update={"user": "no_such_user_tc"})

    steps, error = status_of(broken)

    assert (steps, error) == (
        [True, True, True, False, None],
        f'connection to server at "{PG_HOST}", port {PG_PORT} failed: '
        'FATAL:  role "no_such_user_tc" does not exist',
    )


def test_status_of_an_unknown_user_whose_name_says_database(connector):
    broken = connector.model_copy(update={"user": "database_reader"})

    steps, error = status_of(broken)

    assert (steps, error.endswith('role "database_reader" does not exist')) == (
        [True, True, True, False, None],
        True,
    )


def test_status_of_a_missing_database(connector):
    broken = connector.model_copy(update={"default_database": "no_such_db_tc"})

    steps, error = status_of(broken)

    assert (steps, error.endswith('database "no_such_db_tc" does not exist')) == (
        [True, True, True, True, False],
        True,
    )


def test_unexpected_error_fails_a_step(connector, monkeypatch):
    def explode() -> None:
        raise RuntimeError("driver exploded")

    monkeypatch.setattr(connector, "_try_connect", explode)

    assert status_of(connector) == ([True, True, False, None, None], "driver exploded")


# Discovery -----------------------------------------------------------------------------------


@pytest.fixture
def catalogue(pg_execute) -> Iterator[str]:
    """A schema of its own with a table, a view and a materialized view."""
    schema = f"tc_pgcat_{uuid.uuid4().hex[:8]}"
    pg_execute(f"CREATE SCHEMA {schema}")
    pg_execute(f"CREATE TABLE {schema}.disc (id int, label text)")
    pg_execute(f"CREATE VIEW {schema}.disc_v AS SELECT id FROM {schema}.disc")
    pg_execute(
        f"CREATE MATERIALIZED VIEW {schema}.disc_mv AS SELECT count(*) AS c FROM {schema}.disc"
    )
    yield schema
    pg_execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.mark.parametrize(
    ("include_materialized_views", "kinds"),
    [(True, ["table", "materialized_view", "view"]), (False, ["table", "view"])],
    ids=["with-materialized-views", "without"],
)
def test_get_model_lists_tables_views_and_materialized_views(
    connector, catalogue, include_materialized_views, kinds
):
    connector = connector.model_copy(
        update={"include_materialized_views": include_materialized_views}
    )
    columns = {
        "table": [{"name": "id", "type": "integer"}, {"name": "label", "type": "text"}],
        "materialized_view": [{"name": "c", "type": "bigint"}],
        "view": [{"name": "id", "type": "integer"}],
    }
    suffix = {"table": "", "materialized_view": "_mv", "view": "_v"}

    model = connector.get_model(db_name=PG_DATABASE, schema_name=catalogue)

    assert model == [
        {
            "database": PG_DATABASE,
            "schema": catalogue,
            "type": kind,
            "name": f"disc{suffix[kind]}",
            "columns": columns[kind],
        }
        for kind in kinds
    ]


def test_get_model_filters_by_table_and_can_skip_columns(connector, catalogue):
    model = connector.get_model(PG_DATABASE, catalogue, "disc_v", exclude_columns=True)

    assert model == [
        {
            "database": PG_DATABASE,
            "schema": catalogue,
            "type": "view",
            "name": "disc_v",
            "columns": [],
        }
    ]


def test_get_model_binds_names(connector, catalogue):
    model = connector.get_model(PG_DATABASE, catalogue, "x' OR '1'='1")

    assert model == []


def test_get_model_reports_unreachable_databases(connector, caplog):
    tables, info = connector.get_model_with_info(db_name="no_such_db_tc")

    unreachable = info["unreachable_databases"]
    assert (tables, list(unreachable)) == ([], ["no_such_db_tc"])
    assert 'database "no_such_db_tc" does not exist' in unreachable["no_such_db_tc"]


def test_databases_are_listed(connector):
    assert {"postgres", PG_DATABASE} <= set(connector._list_databases())


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("COPY (SELECT 1) TO PROGRAM 'touch /tmp/toucan_program'", id="copy-program"),
        pytest.param("SET ROLE postgres", id="set-role"),
        pytest.param("COMMIT", id="commit"),
        pytest.param("SELECT 1 AS n INTO toucan_into_table", id="select-into"),
    ],
)
def test_statements_that_act_on_the_server_are_refused(connector, query):
    with pytest.raises(InvalidDataSourceError, match="is not a read query"):
        connector.get_df(data_source(query))


def test_a_template_followed_by_a_cast_is_bound(connector):
    ds = data_source(
        "SELECT {{ p }}::int AS a, %(d)s::date AS d", parameters={"p": "5", "d": "2024-01-02"}
    )

    df = connector.get_df(ds)

    assert df.to_dict("list") == {"a": [5], "d": [pd.Timestamp("2024-01-02")]}


def test_a_commit_cannot_end_the_read_only_mode(connector, create_table, pg_admin, monkeypatch):
    # Should a COMMIT ever slip past the read-statement check, the session stays read-only.
    table = create_table("victim", "a int", [(1,)])
    monkeypatch.setattr("toucan_connectors.sql.query.check_single_statement", lambda *a: None)
    standard = connector.model_copy(update={"fast_path": False})

    with pytest.raises(InvalidDataSourceError, match="read-only transactions"):
        standard.get_df(data_source(f"SELECT 1 AS a; COMMIT; DROP TABLE {table}; SELECT 2"))
    standard.close()
    with pg_admin.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
        assert cursor.fetchone() == (True,)


def test_a_copy_with_another_port_does_not_reuse_the_original_connections(connector):
    connector.get_df(data_source("SELECT 1 AS a"))
    moved = connector.model_copy(update={"port": 1})

    with pytest.raises(ConnectionFailedError) as raised:
        moved.get_df(data_source("SELECT 1 AS a"))
    assert str(raised.value).endswith(
        ". Check the host, port, credentials and database name (status checks each step)."
    )
    moved.close()
    assert_frame_equal(
        connector.get_df(data_source("SELECT 1 AS a")), pd.DataFrame({"a": pd.array([1], "Int64")})
    )


def test_a_missing_database_is_not_retried(connector):
    from toucan_connectors.retry import RetryPolicy

    policy = RetryPolicy(max_attempts=3, wait_time=0, jitter=0)
    broken = connector.model_copy(update={"retry_policy": policy, "fast_path": False})
    ds = PostgresDataSource(domain="d", name="pg", database="no_such_db_tc", query="SELECT 1")

    with pytest.raises(
        ConnectionFailedError, match=r"database name \(status checks each step\)\.$"
    ) as error:
        broken.get_df(ds)
    broken.close()

    assert error.value.transient is False


@pytest.mark.parametrize("fast_path", [True, False])
def test_templates_in_array_subscripts_and_json_paths_are_bound(connector, create_table, fast_path):
    table = create_table(
        "docs", "tags text[], data jsonb", [(["a", "b", "c"], '{"k": {"n": "deep"}}')]
    )
    ds = data_source(
        f"SELECT tags[{{{{ i }}}}] AS tag, data #>> {{{{ p }}}}::text[] AS leaf FROM {table}",
        parameters={"i": 2, "p": "{k,n}"},
    )

    df = connector.model_copy(update={"fast_path": fast_path}).get_df(ds)

    assert_frame_equal(
        df,
        pd.DataFrame(
            {"tag": pd.array(["b"], dtype="str"), "leaf": pd.array(["deep"], dtype="str")}
        ),
    )


@pytest.mark.parametrize("fast_path", [False, True], ids=["standard", "fast"])
def test_an_advisory_lock_is_released_when_the_data_source_returns(connector, pg_admin, fast_path):
    reader = connector.model_copy(update={"fast_path": fast_path})

    df = reader.get_df(data_source("SELECT pg_advisory_lock(424242) IS NULL AS locked"))

    with pg_admin.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 424242"
        )
        assert (cursor.fetchone(), df["locked"].tolist()) == ((0,), [False])
    if not fast_path:
        assert reader.get_engine(PG_DATABASE).pool.checkedin() == 1
    reader.close()


def test_get_model_keeps_only_the_default_databases_pool(connector):
    connector.get_model(exclude_columns=True)

    assert list(connector._pools.items) == [("engine", PG_DATABASE)]


_MISSING_DATE_PERMISSIONS = [
    {"column": "ts", "operator": "ge", "value": "2024-02-01"},
    {"column": "ts", "operator": "lt", "value": "2024-02-01"},
    {"column": "ts", "operator": "eq", "value": "2024-01-15"},
    {"column": "ts", "operator": "isnull", "value": None},
    {"column": "ts", "operator": "notnull", "value": None},
]


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "standard"])
@pytest.mark.parametrize("column_type", ["timestamp", "timestamptz", "date"])
@pytest.mark.parametrize(
    "permissions", _MISSING_DATE_PERMISSIONS, ids=[p["operator"] for p in _MISSING_DATE_PERMISSIONS]
)
def test_permissions_in_sql_treat_missing_dates_as_the_frame_does(
    connector: PostgresConnector,
    create_table: Any,
    pg_execute: Any,
    fast_path: bool,
    column_type: str,
    permissions: dict[str, Any],
) -> None:
    """Infinity, -infinity, BC and year-10000 values are NaT in the frame and NULL in SQL."""
    table = create_table("inf", f"id int, ts {column_type}")
    values = [
        "2024-01-15",
        "infinity",
        "-infinity",
        None,
        "0044-03-15 BC",
        "10000-01-01",
        "0001-01-01",
        "9999-12-31",
    ]
    connector.fast_path = fast_path
    for position, value in enumerate(values, start=1):
        pg_execute(f"INSERT INTO {table} VALUES (%s, %s::{column_type})", (position, value))
    source = PostgresDataSource(
        domain="inf", name="pg", query=f"SELECT id, ts FROM {table} ORDER BY id"
    )

    unfiltered = connector.get_df(source)
    filtered = connector.get_df(source, permissions=permissions)

    assert unfiltered["ts"].isna().tolist() == [False, True, True, True, True, True, False, False]
    expected_ids = {
        "ge": [8],
        "lt": [1, 7],
        "eq": [1],
        "isnull": [2, 3, 4, 5, 6],
        "notnull": [1, 7, 8],
    }[permissions["operator"]]
    assert filtered["id"].tolist() == expected_ids
    assert_frame_equal(filtered, apply_permissions(unfiltered, permissions))
