from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from pydantic import ValidationError

from toucan_connectors.errors import InvalidConfigurationError, InvalidDataSourceError
from toucan_connectors.permissions.pandas_filter import apply_permissions
from toucan_connectors.sqlite import SQLiteConnector, SQLiteDataSource

from .conftest import MakeDatabase


def source(query: str | None = None, **fields: object) -> SQLiteDataSource:
    return SQLiteDataSource(domain="d", name="lite", query=query, **fields)


def cities(names: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"name": pd.array(names, dtype="str")})


# C02: column types when the data says nothing

M_TABLE = (
    "CREATE TABLE m (id integer, price double precision, amount numeric(10,2), label text, "
    "at timestamp, ok boolean)"
)
M_ROW = (1, 9.5, 12.25, "x", "2024-01-02 03:04:05", 1)
M_EXPECTED = pd.DataFrame(
    {
        "id": pd.array([1], dtype="Int64"),
        "price": [9.5],
        "amount": [12.25],
        "label": pd.array(["x"], dtype="str"),
        "at": pd.Series(["2024-01-02 03:04:05"], dtype="datetime64[us]"),
        "ok": pd.array([True], dtype="boolean"),
    }
)


def test_row_of_declared_types_gets_documented_dtypes(make_database: MakeDatabase) -> None:
    connector = make_database(M_TABLE, rows={"m": [M_ROW]})
    assert_frame_equal(connector.get_df(source("SELECT * FROM m")), M_EXPECTED)


def test_empty_result_has_the_dtypes_of_a_full_one(make_database: MakeDatabase) -> None:
    connector = make_database(M_TABLE)
    df = connector.get_df(source("SELECT * FROM m"))
    assert_frame_equal(df, M_EXPECTED.iloc[:0].reset_index(drop=True))


def test_all_null_real_column_is_float_nan(make_database: MakeDatabase) -> None:
    connector = make_database(
        "CREATE TABLE n (filled real, partial real, empty real)",
        rows={"n": [(1.0, 1.0, None), (2.0, None, None), (3.0, None, None)]},
    )
    expected = pd.DataFrame(
        {
            "filled": [1.0, 2.0, 3.0],
            "partial": [1.0, float("nan"), float("nan")],
            "empty": [float("nan")] * 3,
        }
    )
    assert_frame_equal(connector.get_df(source("SELECT * FROM n")), expected)


def test_expression_columns_are_typed_on_empty_results(make_database: MakeDatabase) -> None:
    connector = make_database(M_TABLE)
    df = connector.get_df(source("SELECT id + 1 AS next_id, count(*) AS n, max(at) AS last FROM m"))
    assert df.dtypes.astype(str).to_dict() == {
        "next_id": "Int64",
        "n": "Int64",
        "last": "datetime64[us]",
    }


def test_value_of_another_type_falls_back_to_the_values(
    make_database: MakeDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    connector = make_database("CREATE TABLE w (v integer)", rows={"w": [(1,), ("abc",)]})
    df = connector.get_df(source("SELECT v FROM w"))
    assert_frame_equal(df, pd.DataFrame({"v": pd.Series([1, "abc"], dtype=object)}))
    assert "Cast the column in the query" in caplog.text


# C03: duplicate output column names


@pytest.fixture
def t_table(make_database: MakeDatabase) -> SQLiteConnector:
    return make_database(
        "CREATE TABLE t (a int, b real)", rows={"t": [(1, 0.1), (2, 0.2), (3, 0.3)]}
    )


def test_duplicate_names_get_numbered_suffixes(t_table: SQLiteConnector) -> None:
    df = t_table.get_df(source("SELECT a, b, a + 1 AS a FROM t ORDER BY a"))
    expected = pd.DataFrame(
        {
            "a": pd.array([1, 2, 3], dtype="Int64"),
            "b": [0.1, 0.2, 0.3],
            "a_1": pd.array([2, 3, 4], dtype="Int64"),
        }
    )
    assert_frame_equal(df, expected)


def test_join_with_shared_names_keeps_every_value(make_database: MakeDatabase) -> None:
    connector = make_database(
        "CREATE TABLE l (id int, name text)",
        "CREATE TABLE r (id int, name text)",
        rows={"l": [(1, "left")], "r": [(1, "right")]},
    )
    df = connector.get_df(source("SELECT * FROM l JOIN r ON l.id = r.id"))
    expected = pd.DataFrame(
        {
            "id": pd.array([1], dtype="Int64"),
            "name": pd.array(["left"], dtype="str"),
            "id_1": pd.array([1], dtype="Int64"),
            "name_1": pd.array(["right"], dtype="str"),
        }
    )
    assert_frame_equal(df, expected)


# C06: list parameters

LIST_QUERY = "SELECT name FROM city WHERE name IN {{ names }} ORDER BY name"


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        pytest.param(["Paris", "Lyon"], ["Lyon", "Paris"], id="two-names"),
        pytest.param([], [], id="empty-list"),
        pytest.param(["L'Haÿ"], ["L'Haÿ"], id="quote-and-accent"),
        pytest.param(["x') OR 1=1 --"], [], id="injection-attempt"),
    ],
)
def test_list_parameter_is_bound(
    city: SQLiteConnector, names: list[str], expected: list[str]
) -> None:
    df = city.get_df(source(LIST_QUERY, parameters={"names": names}))
    assert_frame_equal(df, cities(expected))


def test_table_field_reads_the_whole_table(city: SQLiteConnector) -> None:
    df = city.get_df(source(table="city"))
    assert df["name"].tolist() == ["Paris", "Parma", "Lyon", "Lyon (2e)", "50% off", "L'Haÿ"]


# Read-only


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("INSERT INTO city VALUES ('Nice', 5)", id="insert"),
        pytest.param("UPDATE city SET pop = 0", id="update"),
        pytest.param("DELETE FROM city", id="delete"),
        pytest.param("DROP TABLE city", id="drop"),
        pytest.param("CREATE TABLE other (x int)", id="create"),
    ],
)
def test_writes_are_refused_and_the_file_is_unchanged(
    city: SQLiteConnector, db_path: Path, statement: str
) -> None:
    before = hashlib.sha256(db_path.read_bytes()).hexdigest()
    with pytest.raises(InvalidDataSourceError, match="is not a read query"):
        city.get_df(source(statement))
    assert hashlib.sha256(db_path.read_bytes()).hexdigest() == before


def test_second_statement_is_refused(city: SQLiteConnector) -> None:
    with pytest.raises(InvalidDataSourceError, match="write a single SELECT"):
        city.get_df(source("SELECT 1; DROP TABLE city"))


def test_memory_database_runs_plain_queries() -> None:
    connector = SQLiteConnector(name="lite", path=":memory:")
    df = connector.get_df(source("SELECT 1 AS one"))
    assert_frame_equal(df, pd.DataFrame({"one": pd.array([1], dtype="Int64")}))


# Slices, counts and permissions


@pytest.fixture
def numbers(make_database: MakeDatabase) -> SQLiteConnector:
    return make_database(
        "CREATE TABLE numbers (n int, parity text)",
        rows={"numbers": [(n, "odd" if n % 2 else "even") for n in range(1, 26)]},
    )


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
    numbers: SQLiteConnector, offset: int, limit: int, expected: list[int], is_last_page: bool
) -> None:
    page = numbers.get_slice(source("SELECT n FROM numbers ORDER BY n"), offset=offset, limit=limit)
    assert_frame_equal(page.df, pd.DataFrame({"n": pd.array(expected, dtype="Int64")}))
    assert page.pagination_info.is_last_page is is_last_page


def test_slice_counts_rows_of_the_query(numbers: SQLiteConnector) -> None:
    query = "SELECT parity, count(*) AS c FROM numbers GROUP BY parity ORDER BY parity"
    page = numbers.get_slice(source(query), offset=0, limit=1, get_row_count=True)
    assert page.pagination_info.total_rows == 2


def test_slice_keeps_descending_order(numbers: SQLiteConnector) -> None:
    page = numbers.get_slice(source("SELECT n FROM numbers ORDER BY n DESC"), offset=2, limit=3)
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
def labelled(make_database: MakeDatabase) -> SQLiteConnector:
    return make_database(
        "CREATE TABLE labelled (n int, label text)",
        rows={
            "labelled": [(1, "one"), (2, "two"), (3, "three"), (4, "four"), (5, None)],
        },
    )


@pytest.mark.parametrize(("permissions", "expected"), PERMISSION_CASES)
def test_permissions_filter_in_sql(
    labelled: SQLiteConnector, permissions: dict[str, object], expected: list[int]
) -> None:
    df = labelled.get_df(source("SELECT n, label FROM labelled ORDER BY n"), permissions)
    assert df["n"].tolist() == expected


def test_permissions_are_counted_in_slices(labelled: SQLiteConnector) -> None:
    permissions = {"column": "n", "operator": "gt", "value": 1}
    page = labelled.get_slice(
        source("SELECT n FROM labelled ORDER BY n"), permissions, limit=2, get_row_count=True
    )
    assert (page.df["n"].tolist(), page.pagination_info.total_rows) == ([2, 3], 4)


# Status and discovery


def test_status_passes_every_step(city: SQLiteConnector) -> None:
    status = city.get_status()
    assert status.details == [
        ("File exists", True),
        ("File opened", True),
        ("File is a database", True),
    ]


def test_status_fails_on_a_missing_file(tmp_path: Path) -> None:
    status = SQLiteConnector(name="lite", path=str(tmp_path / "nope.db")).get_status()
    assert status.details == [
        ("File exists", False),
        ("File opened", None),
        ("File is a database", None),
    ]


def test_status_fails_on_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, just some text that is long enough to be a header\n" * 5)
    status = SQLiteConnector(name="lite", path=str(path)).get_status()
    assert status.details == [
        ("File exists", True),
        ("File opened", True),
        ("File is a database", False),
    ]


def test_get_model_lists_tables_views_and_columns(make_database: MakeDatabase) -> None:
    connector = make_database(
        "CREATE TABLE city (name text, pop int)",
        "CREATE VIEW big AS SELECT name FROM city WHERE pop > 2",
    )
    assert connector.get_model() == [
        {
            "database": "main",
            "schema": None,
            "type": "view",
            "name": "big",
            "columns": [{"name": "name", "type": "TEXT"}],
        },
        {
            "database": "main",
            "schema": None,
            "type": "table",
            "name": "city",
            "columns": [{"name": "name", "type": "TEXT"}, {"name": "pop", "type": "INT"}],
        },
    ]


def test_get_model_filters_by_table(make_database: MakeDatabase) -> None:
    connector = make_database("CREATE TABLE a (x int)", "CREATE TABLE b (y int)")
    assert [table["name"] for table in connector.get_model(table_name="b")] == ["b"]


def test_engine_version_is_a_tuple(city: SQLiteConnector) -> None:
    assert city.get_engine_version() == sqlite3.sqlite_version_info


def test_a_write_behind_a_with_is_refused_by_the_read_only_connection(
    city: SQLiteConnector, db_path: Path
) -> None:
    before = hashlib.sha256(db_path.read_bytes()).hexdigest()
    with pytest.raises(InvalidDataSourceError, match="read-only transactions"):
        city.get_df(source("WITH gone AS (SELECT 1) DELETE FROM city"))
    assert hashlib.sha256(db_path.read_bytes()).hexdigest() == before


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("ATTACH DATABASE '{path}' AS evil", id="attach"),
        pytest.param("VACUUM INTO '{path}'", id="vacuum-into"),
        pytest.param("PRAGMA journal_mode=DELETE", id="pragma"),
    ],
)
def test_statements_acting_on_files_are_refused_before_running(
    city: SQLiteConnector, tmp_path: Path, statement: str
) -> None:
    target = tmp_path / "evil.db"
    with pytest.raises(InvalidDataSourceError, match="is not a read query"):
        city.get_df(source(statement.format(path=target)))
    assert not target.exists()


@pytest.mark.parametrize(
    ("permission", "message"),
    [
        pytest.param(
            {"column": "country", "operator": "eq", "value": "FR"},
            'Permission column "country" is not in the result: use one of name, pop',
            id="unknown-column",
        ),
        pytest.param(
            {"column": "name", "operator": "matches", "value": "("},
            "its regular expression does not compile",
            id="bad-regex",
        ),
        pytest.param(
            {"column": "pop", "operator": "gt", "value": "abc"},
            "number column \"pop\" compares it with 'abc'",
            id="word-for-number",
        ),
    ],
)
def test_invalid_permissions_are_input_errors(
    city: SQLiteConnector, permission: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidDataSourceError, match=re.escape(message)):
        city.get_df(source("SELECT name, pop FROM city"), permissions=permission)


def test_an_empty_path_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="path\n  String should have at least 1 character"):
        SQLiteConnector(name="lite", path="")


MISSING_FILE = "does not exist: fix `path` (a relative path starts from the current directory)."
NOT_A_DATABASE = "is not a SQLite database: point `path` at a database file."


def test_a_missing_file_is_a_configuration_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    connector = SQLiteConnector(name="lite", path=str(path))

    with pytest.raises(InvalidConfigurationError) as raised:
        connector.get_df(source("SELECT 1"))

    assert str(raised.value) == (
        f'The database file "{path}" of SQLite connector "lite" {MISSING_FILE}'
    )
    assert list(tmp_path.iterdir()) == []


def test_get_model_of_a_missing_file_raises(tmp_path: Path) -> None:
    connector = SQLiteConnector(name="lite", path=str(tmp_path / "missing.db"))

    with pytest.raises(InvalidConfigurationError, match=re.escape(MISSING_FILE)):
        connector.get_model()


@pytest.mark.parametrize("method", ["get_df", "get_model", "describe"])
def test_a_file_that_is_no_database_is_a_configuration_error(tmp_path: Path, method: str) -> None:
    path = tmp_path / "notes.db"
    path.write_text("hello, this is no database")
    connector = SQLiteConnector(name="lite", path=str(path))
    call = {
        "get_df": lambda: connector.get_df(source("SELECT 1")),
        "get_model": connector.get_model,
        "describe": lambda: connector.describe(source("SELECT 1")),
    }[method]

    with pytest.raises(InvalidConfigurationError) as raised:
        call()

    assert str(raised.value) == f'The file "{path}" of SQLite connector "lite" {NOT_A_DATABASE}'
    assert path.read_text() == "hello, this is no database"


def test_an_empty_file_is_an_empty_database(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    connector = SQLiteConnector(name="lite", path=str(path))

    assert (connector.get_model(), connector.get_df(source("SELECT 1 AS one"))["one"].tolist()) == (
        [],
        [1],
    )


def test_the_cli_exits_2_naming_the_missing_file(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from toucan_connectors.cli.main import app

    config = tmp_path / "config.yaml"
    config.write_text(
        "connectors:\n  - {name: s, type: SQLite, path: nowhere.sqlite}\n"
        "data_sources:\n  - {domain: d, name: s, query: SELECT 1}\n"
    )

    for command in (["discover", str(config), "s"], ["query", str(config), "d"]):
        result = CliRunner().invoke(app, command)
        assert (result.exit_code, "nowhere.sqlite" in result.output) == (2, True)
        assert MISSING_FILE in " ".join(result.output.split())


def test_a_parameter_too_large_to_bind_is_an_input_error(city: SQLiteConnector) -> None:
    ds = source("SELECT name FROM city WHERE pop > {{ n }}", parameters={"n": 10**22})

    with pytest.raises(InvalidDataSourceError, match="use a smaller parameter, or cast the column"):
        city.get_df(ds)


SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "sample.sqlite"


@pytest.mark.parametrize(
    ("operator", "value", "days"),
    [
        ("ge", "2015-01-01T00:00:00", ["2015-01-01", "2015-01-02", "2015-01-03"]),
        ("ge", "2015-1-1", ["2015-01-01", "2015-01-02", "2015-01-03"]),
        ("eq", "2015-01-01T00:00:00", ["2015-01-01"]),
    ],
)
def test_date_permissions_on_the_sample_match_the_frame_filter(
    operator: str, value: str, days: list[str]
) -> None:
    connector = SQLiteConnector(name="lite", path=str(SAMPLE))
    ds = source(
        "SELECT date FROM seattle_weather WHERE date <= '2015-01-03' AND date >= '2014-12-31'"
    )
    permission = {"column": "date", "operator": operator, "value": value}

    df = connector.get_df(ds, permissions=permission)

    expected = pd.DataFrame({"date": pd.Series(days, dtype="datetime64[us]")})
    assert_frame_equal(df, expected)
    in_frame = apply_permissions(connector.get_df(ds), permission).reset_index(drop=True)
    assert_frame_equal(in_frame, expected)


def test_a_date_permission_that_is_no_date_is_refused_on_the_sample() -> None:
    connector = SQLiteConnector(name="lite", path=str(SAMPLE))
    ds = source("SELECT date FROM seattle_weather")
    permission = {"column": "date", "operator": "ge", "value": "notadate"}

    with pytest.raises(InvalidDataSourceError, match="which is not a date: write an ISO 8601"):
        connector.get_df(ds, permissions=permission)


def test_a_list_parameter_outside_in_is_an_input_error(city: SQLiteConnector) -> None:
    ds = source("SELECT name FROM city WHERE pop >= {{ min_pop }}", parameters={"min_pop": [1, 2]})

    with pytest.raises(InvalidDataSourceError) as raised:
        city.get_df(ds)

    assert str(raised.value).endswith(
        'Data source "d" compares a list with a single value (row value misused): a list '
        "parameter only goes after IN (`col IN {{ names }}`); pass one value otherwise."
    )


def test_the_data_source_database_field_says_it_is_ignored() -> None:
    """The field table and the Limitations section of the doc page agree."""
    from toucan_connectors.sqlite import SQLiteDataSource

    description = SQLiteDataSource.model_fields["database"].description
    assert description == "Ignored: the connector reads the one file its `path` names."
