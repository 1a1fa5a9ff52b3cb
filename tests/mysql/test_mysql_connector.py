from __future__ import annotations

import datetime
import decimal
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pymysql
import pytest
from pandas.testing import assert_frame_equal
from pydantic import SecretStr

from toucan_connectors.errors import ConnectionFailedError, InvalidDataSourceError, ProviderError
from toucan_connectors.mysql import MySQLConnector, MySQLDataSource
from toucan_connectors.permissions.pandas_filter import apply_permissions

from .conftest import MYSQL_DATABASE, MYSQL_HOST, MYSQL_PORT, CreateTable

CITY_ROWS = [("Paris", 2), ("Parma", 1), ("Lyon", 3), ("Lyon (2e)", 4), ("50% off", 0)]


@pytest.fixture
def connector() -> MySQLConnector:
    return MySQLConnector(name="maria", host=MYSQL_HOST, port=MYSQL_PORT, user="root")


def source(query: str | None = None, **fields: object) -> MySQLDataSource:
    return MySQLDataSource(domain="d", name="maria", database=MYSQL_DATABASE, query=query, **fields)


def names(values: list[str], column: str = "name") -> pd.DataFrame:
    return pd.DataFrame({column: pd.array(values, dtype="str")})


@pytest.fixture
def city(create_table: CreateTable) -> str:
    return create_table("city", "name text, pop int", CITY_ROWS)


# C01: a literal % in SQL


@pytest.mark.parametrize(
    ("condition", "parameters", "expected"),
    [
        pytest.param("name LIKE 'Par%'", None, ["Paris", "Parma"], id="like-prefix"),
        pytest.param(
            "name LIKE 'Par%' AND pop > {{ min_pop }}",
            {"min_pop": 0},
            ["Paris", "Parma"],
            id="like-and-jinja-parameter",
        ),
        pytest.param(
            "name LIKE 'Par%' AND pop > %(min_pop)s",
            {"min_pop": 0},
            ["Paris", "Parma"],
            id="like-and-pyformat-parameter",
        ),
        pytest.param("name LIKE '%(%'", None, ["Lyon (2e)"], id="like-parenthesis"),
        pytest.param("name LIKE '% off'", None, ["50% off"], id="like-suffix"),
    ],
)
def test_percent_literal_is_kept(
    connector: MySQLConnector,
    city: str,
    condition: str,
    parameters: dict[str, object] | None,
    expected: list[str],
) -> None:
    query = f"SELECT name FROM {city} WHERE {condition} ORDER BY name"
    df = connector.get_df(source(query, parameters=parameters))
    assert_frame_equal(df, names(expected))


def test_double_quoted_string_literal_is_text(connector: MySQLConnector, city: str) -> None:
    df = connector.get_df(source(f'SELECT name FROM {city} WHERE name = "Lyon"'))
    assert_frame_equal(df, names(["Lyon"]))


# C02: column types when the data says nothing

M_COLUMNS = (
    "id integer, price double precision, amount numeric(10,2), label text, at timestamp NULL, "
    "ok boolean"
)
M_EXPECTED = pd.DataFrame(
    {
        "id": pd.array([1], dtype="Int64"),
        "price": [9.5],
        "amount": [12.25],
        "label": pd.array(["x"], dtype="str"),
        "at": pd.Series(["2024-01-02 03:04:05"], dtype="datetime64[us]").dt.tz_localize("UTC"),
        "ok": pd.array([1], dtype="Int64"),
    }
)


def test_row_gets_documented_dtypes(connector: MySQLConnector, create_table: CreateTable) -> None:
    table = create_table("m", M_COLUMNS, [(1, 9.5, "12.25", "x", "2024-01-02 03:04:05", True)])
    assert_frame_equal(connector.get_df(source(f"SELECT * FROM {table}")), M_EXPECTED)


def test_empty_result_has_the_dtypes_of_a_full_one(
    connector: MySQLConnector, create_table: CreateTable
) -> None:
    table = create_table("m", M_COLUMNS)
    df = connector.get_df(source(f"SELECT * FROM {table}"))
    assert_frame_equal(df, M_EXPECTED.iloc[:0].reset_index(drop=True))


# C03: duplicate output column names


def test_duplicate_names_get_numbered_suffixes(
    connector: MySQLConnector, create_table: CreateTable
) -> None:
    table = create_table("t", "a int, b real", [(1, 0.1), (2, 0.2), (3, 0.3)])
    df = connector.get_df(source(f"SELECT a, b, a + 1 AS a FROM {table} ORDER BY b"))
    expected = pd.DataFrame(
        {
            "a": pd.array([1, 2, 3], dtype="Int64"),
            "b": [0.1, 0.2, 0.3],
            "a_1": pd.array([2, 3, 4], dtype="Int64"),
        }
    )
    assert_frame_equal(df, expected)


def test_join_with_shared_names_keeps_every_value(
    connector: MySQLConnector, create_table: CreateTable
) -> None:
    left = create_table("l", "id int, name text", [(1, "left")])
    right = create_table("r", "id int, name text", [(1, "right")])
    df = connector.get_df(source(f"SELECT * FROM {left} JOIN {right} ON {left}.id = {right}.id"))
    expected = pd.DataFrame(
        {
            "id": pd.array([1], dtype="Int64"),
            "name": pd.array(["left"], dtype="str"),
            "id_1": pd.array([1], dtype="Int64"),
            "name_1": pd.array(["right"], dtype="str"),
        }
    )
    assert_frame_equal(df, expected)


# C04: exact large numbers


def test_large_numbers_stay_exact(connector: MySQLConnector, create_table: CreateTable) -> None:
    table = create_table(
        "acc",
        "id decimal(20,0), amount decimal(12,2), big bigint unsigned",
        [
            (305184080441754059, "1.10", 18446744073709551615),
            (305184080441754060, "2.25", None),
        ],
    )
    df = connector.get_df(source(f"SELECT * FROM {table} ORDER BY id"))
    expected = pd.DataFrame(
        {
            "id": np.array([305184080441754059, 305184080441754060], dtype=object),
            "amount": [1.10, 2.25],
            "big": np.array([18446744073709551615, None], dtype=object),
        }
    )
    assert_frame_equal(df, expected)


def test_wide_decimals_stay_decimal(connector: MySQLConnector, create_table: CreateTable) -> None:
    table = create_table("dec", "v decimal(30,10)", [("12345678901234567890.0123456789",)])
    df = connector.get_df(source(f"SELECT v FROM {table}"))
    expected = np.array([decimal.Decimal("12345678901234567890.0123456789")], dtype=object)
    assert_frame_equal(df, pd.DataFrame({"v": expected}))


# C06: list parameters


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param(["Paris", "Lyon"], ["Lyon", "Paris"], id="two-names"),
        pytest.param([], [], id="empty-list"),
        pytest.param(["L'Haÿ"], ["L'Haÿ"], id="quote-and-accent"),
        pytest.param(["x') OR 1=1 --"], [], id="injection-attempt"),
    ],
)
def test_list_parameter_is_bound(
    connector: MySQLConnector, create_table: CreateTable, values: list[str], expected: list[str]
) -> None:
    table = create_table("city", "name text, pop int", [*CITY_ROWS, ("L'Haÿ", 4)])
    query = f"SELECT name FROM {table} WHERE name IN {{{{ names }}}} ORDER BY name"
    df = connector.get_df(source(query, parameters={"names": values}))
    assert_frame_equal(df, names(expected))


# C08: zero and partial dates


def test_zero_and_partial_dates_are_missing(
    connector: MySQLConnector, create_table: CreateTable
) -> None:
    table = create_table(
        "ev",
        "id int, d date, ts datetime",
        [
            (1, "2024-05-01", "2024-05-01 10:00:00"),
            (2, "0000-00-00", "0000-00-00 00:00:00"),
            (3, "2016-00-00", "2016-01-00 12:00:00"),
            (4, "9999-12-31", "9999-12-31 23:59:59"),
            (5, None, None),
        ],
    )
    df = connector.get_df(source(f"SELECT * FROM {table} ORDER BY id"))
    expected = pd.DataFrame(
        {
            "id": pd.array([1, 2, 3, 4, 5], dtype="Int64"),
            "d": pd.Series(
                # 9999-12-31 is a real date: kept, as every date Python can hold.
                [datetime.datetime(2024, 5, 1), None, None, datetime.datetime(9999, 12, 31), None],
                dtype="datetime64[us]",
            ),
            "ts": pd.Series(
                [
                    datetime.datetime(2024, 5, 1, 10),
                    None,
                    None,
                    datetime.datetime(9999, 12, 31, 23, 59, 59),
                    None,
                ],
                dtype="datetime64[us]",
            ),
        }
    )
    assert_frame_equal(df, expected)


# Read-only


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("INSERT INTO {table} VALUES ('Nice', 5)", id="insert"),
        pytest.param("UPDATE {table} SET pop = 0", id="update"),
        pytest.param("DELETE FROM {table}", id="delete"),
        pytest.param("DROP TABLE {table}", id="drop"),
        pytest.param("CREATE TABLE {table}_copy (x int)", id="create"),
    ],
)
def test_writes_are_refused_and_change_nothing(
    connector: MySQLConnector, city: str, statement: str
) -> None:
    with pytest.raises(InvalidDataSourceError, match="is not a read query"):
        connector.get_df(source(statement.format(table=city)))
    df = connector.get_df(source(f"SELECT name FROM {city}"))
    assert len(df) == len(CITY_ROWS)


def test_second_statement_is_refused(connector: MySQLConnector, city: str) -> None:
    with pytest.raises(InvalidDataSourceError, match="write a single SELECT"):
        connector.get_df(source(f"SELECT 1; DROP TABLE {city}"))


# Slices, counts and permissions


@pytest.fixture
def numbers(create_table: CreateTable) -> str:
    rows = [(n, "odd" if n % 2 else "even") for n in range(1, 26)]
    return create_table("numbers", "n int, parity text", rows)


@pytest.mark.parametrize(
    ("offset", "limit", "expected", "is_last_page"),
    [
        pytest.param(0, 10, list(range(1, 11)), False, id="first-page"),
        pytest.param(20, 5, list(range(21, 26)), True, id="exactly-full-last-page"),
        pytest.param(22, 5, [23, 24, 25], True, id="short-last-page"),
        pytest.param(30, 5, [], True, id="past-the-end"),
    ],
)
def test_slice_returns_requested_page(
    connector: MySQLConnector,
    numbers: str,
    offset: int,
    limit: int,
    expected: list[int],
    is_last_page: bool,
) -> None:
    query = f"SELECT n FROM {numbers} ORDER BY n"
    page = connector.get_slice(source(query), offset=offset, limit=limit)
    assert_frame_equal(page.df, pd.DataFrame({"n": pd.array(expected, dtype="Int64")}))
    assert page.pagination_info.is_last_page is is_last_page


def test_slice_counts_groups_of_the_query(connector: MySQLConnector, numbers: str) -> None:
    query = f"SELECT parity, count(*) AS c FROM {numbers} GROUP BY parity ORDER BY parity"
    page = connector.get_slice(source(query), offset=0, limit=1, get_row_count=True)
    assert page.pagination_info.total_rows == 2


def test_slice_keeps_descending_order(connector: MySQLConnector, numbers: str) -> None:
    query = f"SELECT n FROM {numbers} ORDER BY n DESC"
    page = connector.get_slice(source(query), offset=2, limit=3)
    assert page.df["n"].tolist() == [23, 22, 21]


PERMISSION_CASES = [
    pytest.param({"column": "n", "operator": "eq", "value": 3}, [3], id="eq"),
    pytest.param({"column": "n", "operator": "ne", "value": 3}, [1, 2, 4, 5], id="ne"),
    pytest.param({"column": "n", "operator": "lt", "value": 3}, [1, 2], id="lt"),
    pytest.param({"column": "n", "operator": "le", "value": 3}, [1, 2, 3], id="le"),
    pytest.param({"column": "n", "operator": "gt", "value": 3}, [4, 5], id="gt"),
    pytest.param({"column": "n", "operator": "ge", "value": "3"}, [3, 4, 5], id="ge-string"),
    pytest.param({"column": "n", "operator": "in", "value": [1, 5]}, [1, 5], id="in"),
    pytest.param({"column": "n", "operator": "nin", "value": [1, 5]}, [2, 3, 4], id="nin"),
    pytest.param({"column": "label", "operator": "matches", "value": "^t"}, [2, 3], id="matches"),
    pytest.param(
        {"column": "label", "operator": "notmatches", "value": "^t"}, [1, 4], id="notmatches"
    ),
    pytest.param({"column": "label", "operator": "isnull"}, [5], id="isnull"),
    pytest.param({"column": "label", "operator": "notnull"}, [1, 2, 3, 4], id="notnull"),
]


@pytest.fixture
def labelled(create_table: CreateTable) -> str:
    rows = [(1, "one"), (2, "two"), (3, "three"), (4, "four"), (5, None)]
    return create_table("labelled", "n int, label text", rows)


@pytest.mark.parametrize(("permissions", "expected"), PERMISSION_CASES)
def test_permissions_filter_in_sql(
    connector: MySQLConnector,
    labelled: str,
    permissions: dict[str, object],
    expected: list[int],
) -> None:
    df = connector.get_df(source(f"SELECT n, label FROM {labelled} ORDER BY n"), permissions)
    assert df["n"].tolist() == expected


def test_permissions_are_counted_in_slices(connector: MySQLConnector, labelled: str) -> None:
    permissions = {"column": "n", "operator": "gt", "value": 1}
    query = f"SELECT n FROM {labelled} ORDER BY n"
    page = connector.get_slice(source(query), permissions, limit=2, get_row_count=True)
    assert (page.df["n"].tolist(), page.pagination_info.total_rows) == ([2, 3], 4)


# C09: status step by step

STEPS = ["Host resolved", "Port opened", "Connected", "Authenticated", "Database exists"]


def details(*results: bool | None) -> list[tuple[str, bool | None]]:
    padded = [*results, *[None] * (len(STEPS) - len(results))]
    return list(zip(STEPS, padded, strict=True))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_status_fails_on_unresolvable_host(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    status = MySQLConnector(name="m", host="no-such-host.invalid", user="root").get_status()
    assert status.details == details(False)


def test_status_fails_on_closed_port() -> None:
    status = MySQLConnector(name="m", host="127.0.0.1", port=free_port(), user="root").get_status()
    assert status.details == details(True, False)


def test_status_fails_to_connect_to_a_silent_server(silent_listener: int) -> None:
    connector = MySQLConnector(
        name="m", host="127.0.0.1", port=silent_listener, user="root", connect_timeout=1
    )
    assert connector.get_status().details == details(True, True, False)


def test_status_fails_on_wrong_password() -> None:
    connector = MySQLConnector(
        name="m", host=MYSQL_HOST, port=MYSQL_PORT, user="root", password=SecretStr("s3cr3t-pw")
    )
    status = connector.get_status()
    assert status.details == details(True, True, True, False)
    assert status.error == f"Access denied for user 'root'@'{MYSQL_HOST}' (using password: YES)"
    assert "s3cr3t-pw" not in (status.error or "")


def test_status_fails_on_missing_database(connector: MySQLConnector) -> None:
    connector = connector.model_copy(update={"default_database": "no_such_db"})
    assert connector.get_status().details == details(True, True, True, True, False)


def test_status_passes_every_step(connector: MySQLConnector) -> None:
    assert connector.get_status().details == details(True, True, True, True, True)


# SSL


def test_ssl_required_fails_on_a_server_without_ssl() -> None:
    connector = MySQLConnector(
        name="m", host=MYSQL_HOST, port=MYSQL_PORT, user="root", ssl_mode="REQUIRED"
    )
    with pytest.raises(ConnectionFailedError, match="SSL is required"):
        connector.get_df(source("SELECT 1"))


@pytest.mark.parametrize(
    ("mode", "verify_mode", "check_hostname"),
    [
        pytest.param("REQUIRED", ssl.CERT_NONE, False, id="required"),
        pytest.param("VERIFY_CA", ssl.CERT_REQUIRED, False, id="verify-ca"),
        pytest.param("VERIFY_IDENTITY", ssl.CERT_REQUIRED, True, id="verify-identity"),
    ],
)
def test_ssl_mode_sets_certificate_checks(
    mode: str, verify_mode: ssl.VerifyMode, check_hostname: bool
) -> None:
    connector = MySQLConnector(name="m", host="127.0.0.1", user="root", ssl_mode=mode)
    context = connector._ssl_context()
    assert (context.verify_mode, context.check_hostname) == (verify_mode, check_hostname)


def test_ssl_mode_disabled_builds_no_context() -> None:
    connector = MySQLConnector(name="m", host="127.0.0.1", user="root", ssl_mode="DISABLED")
    assert connector._ssl_context() is None


# Discovery and version


def test_get_model_lists_a_table_and_a_view(
    connector: MySQLConnector, admin: object, create_table: CreateTable
) -> None:
    table = create_table("disc", "id int, label varchar(10)")
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE VIEW {table}_v AS SELECT id FROM {table}")
    try:
        model = connector.get_model(db_name=MYSQL_DATABASE, table_name=table)
        view = connector.get_model(db_name=MYSQL_DATABASE, table_name=f"{table}_v")
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP VIEW {table}_v")
    assert model + view == [
        {
            "database": MYSQL_DATABASE,
            "schema": None,
            "type": "table",
            "name": table,
            "columns": [
                {"name": "id", "type": "int(11)"},
                {"name": "label", "type": "varchar(10)"},
            ],
        },
        {
            "database": MYSQL_DATABASE,
            "schema": None,
            "type": "view",
            "name": f"{table}_v",
            "columns": [{"name": "id", "type": "int(11)"}],
        },
    ]


def test_engine_version_is_a_tuple(connector: MySQLConnector) -> None:
    assert connector.get_engine_version()[:2] == (10, 11)


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("SELECT * FROM {table} INTO OUTFILE '/tmp/toucan_outfile.txt'", id="outfile"),
        pytest.param("SELECT * FROM {table} INTO DUMPFILE '/tmp/toucan_dump.txt'", id="dumpfile"),
        pytest.param("SELECT 1 INTO @toucan_var", id="into-variable"),
        pytest.param("SET SESSION TRANSACTION READ WRITE", id="set"),
        pytest.param("DO SLEEP(0)", id="do"),
    ],
)
def test_statements_that_act_on_the_server_are_refused(
    connector: MySQLConnector, city: str, statement: str
) -> None:
    with pytest.raises(InvalidDataSourceError, match="is not a read query"):
        connector.get_df(source(statement.format(table=city)))


def test_describe_names_text_and_blob_columns_apart(
    connector: MySQLConnector, create_table: CreateTable
) -> None:
    table = create_table("tb", "t text, lt longtext, b blob, v varchar(5)")

    described = connector.describe(source(f"SELECT t, lt, b, v FROM {table}"))

    # The server reports every TEXT size with the one BLOB code, told apart by character set.
    assert described == {"t": "TEXT", "lt": "TEXT", "b": "BLOB", "v": "VARCHAR"}


@pytest.mark.parametrize(
    "comment",
    [
        pytest.param("/*! INTO OUTFILE '{path}' */", id="executable"),
        pytest.param("/*M! INTO DUMPFILE '{path}' */", id="mariadb-executable"),
        pytest.param("/*!99999 INTO OUTFILE '{path}' */", id="versioned"),
        pytest.param("/*m! INTO DUMPFILE '{path}' */", id="lower-case-mariadb"),
    ],
)
def test_executable_comments_are_refused_and_write_nothing(
    connector: MySQLConnector, admin: pymysql.connections.Connection, comment: str
) -> None:
    path = f"/tmp/toucan_exec_comment_{uuid.uuid4().hex}.txt"
    query = f"SELECT 'owned' {comment.format(path=path)}"

    with pytest.raises(InvalidDataSourceError, match="executable comment .* remove the comment"):
        connector.get_df(source(query))
    with admin.cursor() as cursor:
        cursor.execute("SELECT LOAD_FILE(%s)", (path,))
        assert cursor.fetchone() == (None,)


def test_optimizer_hints_and_plain_comments_still_run(connector: MySQLConnector) -> None:
    df = connector.get_df(source("SELECT /*+ MAX_EXECUTION_TIME(1000) */ 1 AS a /* ! no */"))

    assert_frame_equal(df, pd.DataFrame({"a": pd.array([1], dtype="Int64")}))


def test_a_statement_without_rows_is_a_clear_error(
    connector: MySQLConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past the read-statement check (as a statement it does not know would be), DO returns no
    # result set: an error that says so, not an AttributeError of the driver.
    monkeypatch.setattr("toucan_connectors.sql.query.check_single_statement", lambda *a: None)

    with pytest.raises(InvalidDataSourceError, match="returns no rows: write a single SELECT"):
        connector.get_df(source("DO 1"))


def test_backslashes_stay_escapes_whatever_the_server_mode(
    admin: pymysql.connections.Connection,
) -> None:
    from toucan_connectors.mysql.mysql_connector import _SESSION_SETUP

    with admin.cursor() as cursor:
        cursor.execute("SET @saved_mode = @@sql_mode")
        cursor.execute("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES,ANSI,STRICT_ALL_TABLES'")
        cursor.execute(_SESSION_SETUP)
        cursor.execute("SELECT @@sql_mode")
        mode = cursor.fetchone()[0]
        cursor.execute("SET SESSION sql_mode = @saved_mode")

    assert "NO_BACKSLASH_ESCAPES" not in mode and "ANSI_QUOTES" not in mode
    assert "STRICT_ALL_TABLES" in mode


def test_a_copy_with_another_port_does_not_reuse_the_original_connections(
    connector: MySQLConnector,
) -> None:
    connector.get_df(source("SELECT 1 AS a"))
    moved = connector.model_copy(update={"port": 1, "connect_timeout": 2})

    with pytest.raises(ConnectionFailedError, match="could not connect"):
        moved.get_df(source("SELECT 1 AS a"))
    moved.close()
    df = connector.get_df(source("SELECT 1 AS a"))
    assert_frame_equal(df, pd.DataFrame({"a": pd.array([1], dtype="Int64")}))


@pytest.mark.parametrize(
    ("permission", "expected"),
    [
        pytest.param({"column": "country", "operator": "eq", "value": "fr"}, [], id="eq-case"),
        pytest.param({"column": "country", "operator": "eq", "value": "FR "}, [], id="eq-space"),
        pytest.param({"column": "country", "operator": "eq", "value": "FR"}, [1, 2], id="eq"),
        pytest.param({"column": "country", "operator": "ne", "value": "fr"}, [1, 2, 3], id="ne"),
        pytest.param({"column": "country", "operator": "in", "value": ["fr"]}, [], id="in"),
        pytest.param({"column": "country", "operator": "gt", "value": "E"}, [1, 2], id="gt"),
        pytest.param({"column": "country", "operator": "matches", "value": "fr"}, [], id="re"),
        pytest.param(
            {"column": "country", "operator": "matches", "value": "^F"}, [1, 2], id="re-prefix"
        ),
        pytest.param(
            {"column": "city", "operator": "matches", "value": "^L.Ha.$"}, [3], id="re-chars"
        ),
        pytest.param({"column": "city", "operator": "eq", "value": "lyon"}, [], id="eq-latin1"),
        pytest.param({"column": "id", "operator": "matches", "value": "^[12]$"}, [1, 2], id="id"),
    ],
)
def test_permissions_compare_text_exactly(
    connector: MySQLConnector, create_table: CreateTable, permission: dict, expected: list[int]
) -> None:
    # The server's default collation ignores case and trailing spaces: a permission must not.
    table = create_table(
        "cs",
        "id int, country varchar(5), city varchar(10) CHARACTER SET latin1",
        [(1, "FR", "Lyon"), (2, "FR", "Paris"), (3, "BE", "L'Haÿ")],
    )
    ds = source(f"SELECT id, country, city FROM {table} ORDER BY id")

    df = connector.get_df(ds, permissions=permission)

    assert df["id"].tolist() == expected


@pytest.mark.parametrize(
    ("fields", "database", "attempts"),
    [
        pytest.param({"password": SecretStr("s3cr3t-pw")}, MYSQL_DATABASE, 1, id="password"),
        pytest.param({}, "no_such_db_tc", 1, id="missing-database"),
        pytest.param({"port": 1, "connect_timeout": 1}, MYSQL_DATABASE, 3, id="closed-port"),
    ],
)
def test_only_connection_failures_retrying_may_cure_are_retried(
    monkeypatch: pytest.MonkeyPatch, fields: dict, database: str, attempts: int
) -> None:
    from toucan_connectors.retry import RetryPolicy

    seen: list[bool] = []
    original = MySQLConnector._connect_error_step

    def _counted(self: MySQLConnector, error: BaseException) -> str:
        seen.append(True)
        return original(self, error)

    monkeypatch.setattr(MySQLConnector, "_connect_error_step", _counted)
    policy = RetryPolicy(max_attempts=3, wait_time=0, jitter=0)
    connector = MySQLConnector(
        name="maria",
        host=MYSQL_HOST,
        **{"port": MYSQL_PORT, "user": "root", **fields},
        retry_policy=policy,
    )
    ds = MySQLDataSource(domain="d", name="maria", database=database, query="SELECT 1 AS a")

    with pytest.raises(ConnectionFailedError, match="Check the host, port, credentials") as error:
        connector.get_df(ds)

    assert (error.value.transient, len(seen)) == (attempts > 1, attempts)


@pytest.mark.parametrize(
    "condition",
    ["name REGEXP '^Par'", "name RLIKE '^Par'", "NOT name NOT REGEXP '^Par'"],
    ids=["regexp", "rlike", "not-regexp"],
)
def test_regexp_queries_page_describe_and_filter_on_mariadb(
    connector: MySQLConnector, city: str, condition: str
) -> None:
    ds = source(f"SELECT name, pop FROM {city} WHERE {condition} ORDER BY name")
    permission = {"column": "pop", "operator": "ge", "value": 1}

    page = connector.get_slice(ds, offset=1, limit=1, get_row_count=True)
    filtered = connector.get_df(ds, permissions=permission)

    assert_frame_equal(
        page.df,
        pd.DataFrame(
            {"name": pd.array(["Parma"], dtype="str"), "pop": pd.array([1], dtype="Int64")}
        ),
    )
    assert page.pagination_info.total_rows == 2
    assert connector.describe(ds) == {"name": "TEXT", "pop": "INT"}
    assert filtered["name"].tolist() == ["Paris", "Parma"]


@pytest.fixture
def shared_names(create_table: CreateTable) -> str:
    left = create_table("l", "id int, v text", [(1, "a"), (2, "b"), (3, "c")])
    right = create_table("r", "id int, w text", [(1, "x"), (2, "y"), (3, "z")])
    return f"SELECT * FROM {left} JOIN {right} ON {left}.id = {right}.id ORDER BY {left}.id"


def test_a_counted_slice_of_a_star_join_with_shared_names(
    connector: MySQLConnector, shared_names: str
) -> None:
    page = connector.get_slice(source(shared_names), offset=1, limit=1, get_row_count=True)

    expected = pd.DataFrame(
        {
            "id": pd.array([2], dtype="Int64"),
            "v": pd.array(["b"], dtype="str"),
            "id_1": pd.array([2], dtype="Int64"),
            "w": pd.array(["y"], dtype="str"),
        }
    )
    assert_frame_equal(page.df, expected)
    assert page.pagination_info.total_rows == 3


def test_permissions_on_a_star_join_with_shared_names_ask_for_aliases(
    connector: MySQLConnector, shared_names: str
) -> None:
    permission = {"column": "v", "operator": "eq", "value": "a"}

    with pytest.raises(InvalidDataSourceError, match=r"give them distinct aliases in the query"):
        connector.get_df(source(shared_names), permissions=permission)


def test_a_named_lock_is_released_when_the_data_source_returns(
    connector: MySQLConnector, admin: pymysql.connections.Connection
) -> None:
    name = f"tc_lock_{uuid.uuid4().hex[:8]}"
    standard = connector.model_copy(update={"fast_path": False})

    df = standard.get_df(source(f"SELECT GET_LOCK('{name}', 0) AS got"))

    with admin.cursor() as cursor:
        cursor.execute("SELECT IS_FREE_LOCK(%s)", (name,))
        assert (df["got"].tolist(), cursor.fetchone()) == ([1], (1,))
    assert standard.get_engine(MYSQL_DATABASE).pool.checkedin() == 1
    standard.close()


@pytest.mark.parametrize(
    ("schema", "found"), [("no_such_schema_tc", []), (MYSQL_DATABASE, ["table"]), (None, ["table"])]
)
def test_get_model_filters_by_schema_the_database_is(
    connector: MySQLConnector, create_table: CreateTable, schema: str | None, found: list[str]
) -> None:
    table = create_table("sch", "id int")

    model = connector.get_model(
        db_name=MYSQL_DATABASE, schema_name=schema, table_name=table, exclude_columns=True
    )

    assert [item["type"] for item in model] == found


def test_get_model_closes_the_pools_of_the_databases_it_explored(
    connector: MySQLConnector, create_table: CreateTable
) -> None:
    create_table("pool", "id int")

    tables = connector.get_model(exclude_columns=True)

    assert MYSQL_DATABASE in {item["database"] for item in tables}
    assert [key for key in connector._pools.items if key[1] is not None] == []


def test_query_timeout_stops_a_slow_query_with_a_clear_error(connector: MySQLConnector) -> None:
    import time

    from toucan_connectors.errors import ProviderError

    slow = connector.model_copy(update={"query_timeout": 1})
    started = time.perf_counter()

    with pytest.raises(ProviderError) as raised:
        slow.get_df(source("SELECT SLEEP(5) AS s"))

    assert time.perf_counter() - started < 4
    assert str(raised.value).endswith(
        "ran longer than the connector's query_timeout (1 s) and the server stopped it ("
        "Query execution was interrupted (max_statement_time exceeded)): make the query "
        "faster, or raise query_timeout."
    )
    slow.close()


def test_a_stored_function_that_writes_is_refused_by_the_server(
    connector: MySQLConnector, admin: pymysql.connections.Connection, create_table: CreateTable
) -> None:
    table = create_table("written", "a int")
    function = f"{table}_f"
    with admin.cursor() as cursor:
        cursor.execute(
            f"CREATE FUNCTION `{function}`() RETURNS INT MODIFIES SQL DATA "
            f"BEGIN INSERT INTO `{table}` VALUES (1); RETURN 1; END"
        )
    try:
        with pytest.raises(InvalidDataSourceError, match="run in read-only transactions"):
            connector.get_df(source(f"SELECT `{function}`() AS f"))
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP FUNCTION `{function}`")
            cursor.execute(f"SELECT count(*) FROM `{table}`")
            written = cursor.fetchone()

    assert written == (0,)


_ZERO_DATE_PERMISSIONS = [
    {"column": "d", "operator": "ge", "value": "2024-02-01"},
    {"column": "d", "operator": "lt", "value": "2024-02-01"},
    {"column": "d", "operator": "eq", "value": "2024-01-15"},
    {"column": "d", "operator": "isnull", "value": None},
    {"column": "d", "operator": "notnull", "value": None},
]


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "standard"])
@pytest.mark.parametrize(
    "column_type", ["date", "date NOT NULL", "datetime", "datetime NOT NULL", "timestamp NULL"]
)
@pytest.mark.parametrize(
    "permissions", _ZERO_DATE_PERMISSIONS, ids=[p["operator"] for p in _ZERO_DATE_PERMISSIONS]
)
def test_permissions_in_sql_treat_zero_dates_as_the_frame_does(
    connector: MySQLConnector,
    create_table: CreateTable,
    fast_path: bool,
    column_type: str,
    permissions: dict[str, object],
) -> None:
    """Zero and partial dates are NaT in the frame and NULL for a permission in SQL."""
    nullable = "NOT NULL" not in column_type
    rows: list[tuple[int, str | None]] = [
        (1, "2024-01-15"),
        (2, "0000-00-00"),
        (3, "2016-00-00" if "timestamp" not in column_type else "0000-00-00"),
        (4, "2024-03-01"),
    ]
    if nullable:
        rows.append((5, None))
    table = create_table("zero", f"id int, d {column_type}", rows)
    connector.fast_path = fast_path
    source = MySQLDataSource(
        domain="zero",
        name="maria",
        database=MYSQL_DATABASE,
        query=f"SELECT id, d FROM `{table}` ORDER BY id",
    )

    unfiltered = connector.get_df(source)
    filtered = connector.get_df(source, permissions=permissions)

    missing = [2, 3, 5] if nullable else [2, 3]
    expected_ids = {
        "ge": [4],
        "lt": [1],
        "eq": [1],
        "isnull": missing,
        "notnull": [1, 4],
    }[str(permissions["operator"])]
    assert unfiltered["d"].isna().tolist() == [i in missing for i in unfiltered["id"]]
    assert filtered["id"].tolist() == expected_ids
    assert_frame_equal(filtered, apply_permissions(unfiltered, permissions))


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "standard"])
def test_a_refused_query_names_the_server_text_without_its_error_code(
    connector: MySQLConnector, fast_path: bool
) -> None:
    """PyMySQL's (code, text) pair is shown as its text, as PostgreSQL's errors are."""
    connector.fast_path = fast_path
    source = MySQLDataSource(
        domain="bad", name="maria", database=MYSQL_DATABASE, query="SELECT no_such_column"
    )

    with pytest.raises(ProviderError) as raised:
        connector.get_df(source)

    assert str(raised.value).startswith(
        'The "MySQLConnector" connector could not run data source "bad": '
        "Unknown column 'no_such_column' in 'SELECT'. "
    )


def test_a_stream_failing_part_way_leaves_the_connector_usable(
    create_table: CreateTable, recwarn: pytest.WarningsRecorder
) -> None:
    # BIT(64) with its top bit set overflows the Int64 column in the second batch, with
    # thousands of rows still unread behind it.
    rows = [(n, 2**64 - 1 if n == 150 else n) for n in range(1, 5001)]
    table = create_table("bits", "k int, b bit(64)", rows)
    standard = MySQLConnector(
        name="m", host=MYSQL_HOST, port=MYSQL_PORT, user="root", fast_path=False
    )
    stream = standard.iter_batches(source(f"SELECT k, b FROM {table} ORDER BY k"), batch_size=100)

    with pytest.raises(InvalidDataSourceError, match="or cast the column in the query"):
        list(stream)

    df = standard.get_df(source(f"SELECT count(*) AS n FROM {table}"))
    assert_frame_equal(df, pd.DataFrame({"n": pd.array([5000], dtype="Int64")}))
    assert [str(w.message) for w in recwarn if "unbuffered" in str(w.message)] == []
    standard.close()
