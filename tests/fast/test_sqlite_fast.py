"""The SQLite fast path (ADBC SQLite) gives the standard path's frames, or hands queries over."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import adbc_driver_manager
import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from toucan_connectors.errors import ProviderError, ToucanConnectorError
from toucan_connectors.sqlite import SQLiteConnector, SQLiteDataSource, fast_reader

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "sample.sqlite"
GAVE_UP = "The fast path gave up"
LOGGER = "toucan_connectors.sqlite.fast_reader"

Build = Callable[..., tuple[SQLiteConnector, SQLiteConnector]]


def source(query: str | None = None, **fields: Any) -> SQLiteDataSource:
    return SQLiteDataSource(domain="d", name="lite", query=query, **fields)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(autouse=True)
def through_adbc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read even small results through ADBC (they are built from the description otherwise)."""
    monkeypatch.setattr(fast_reader, "_SMALL_RESULT", 0)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "fast.db"


@pytest.fixture
def build(db_path: Path) -> Build:
    """Create the database from statements and rows; return (fast, standard) connectors."""

    def make(
        *statements: str, rows: dict[str, Sequence[Sequence[object]]] | None = None
    ) -> tuple[SQLiteConnector, SQLiteConnector]:
        with contextlib.closing(sqlite3.connect(db_path)) as conn, conn:
            for statement in statements:
                conn.execute(statement)
            for table, values in (rows or {}).items():
                marks = ", ".join("?" * len(values[0]))
                conn.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
        return (
            SQLiteConnector(name="lite", path=str(db_path)),
            SQLiteConnector(name="lite", path=str(db_path), fast_path=False),
        )

    return make


def read_both(
    fast: SQLiteConnector,
    standard: SQLiteConnector,
    data_source: SQLiteDataSource,
    caplog: pytest.LogCaptureFixture,
) -> tuple[pd.DataFrame, bool]:
    """The fast path's frame (checked equal to the standard one) and whether it gave up."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        got = fast.get_df(data_source)
    gave_up = any(GAVE_UP in record.getMessage() for record in caplog.records)
    assert_frame_equal(got, standard.get_df(data_source))
    return got, gave_up


# The SQLite type rules, through both paths ------------------------------------------------------

M_TABLE = (
    "CREATE TABLE m (id integer, price double precision, amount numeric(10,2), label text, "
    "at timestamp, ok boolean)"
)
MIXED_ROWS = 70_000  # more than one ADBC batch: later batches hold another storage class

# (statements, rows, query, whether the fast path reads it itself)
TYPE_CASES = [
    pytest.param(
        [M_TABLE],
        {"m": [(1, 9.5, 12.25, "x", "2024-01-02 03:04:05", 1)]},
        "SELECT * FROM m",
        True,
        id="C02-declared-types",
    ),
    pytest.param([M_TABLE], None, "SELECT * FROM m", True, id="C02-empty-result"),
    pytest.param(
        [M_TABLE],
        None,
        "SELECT id + 1 AS next_id, count(*) AS n, max(at) AS last FROM m",
        True,
        id="expressions-on-empty",
    ),
    pytest.param(
        ["CREATE TABLE n (filled real, partial real, empty real)"],
        {"n": [(1.0, 1.0, None), (2.0, None, None), (3.0, None, None)]},
        "SELECT * FROM n",
        True,
        id="C02-null-only-real",
    ),
    pytest.param(
        ["CREATE TABLE z (i integer, t text, d date, b blob, o boolean, u)"],
        {"z": [(None,) * 6, (None,) * 6]},
        "SELECT * FROM z",
        True,
        id="null-only-of-every-type",
    ),
    pytest.param(
        ["CREATE TABLE r (v numeric, w real)"],
        {"r": [(1, 1), (2.5, 2), (3, 3.5)]},
        "SELECT v, w FROM r",
        True,
        id="integers-in-real-columns",
    ),
    pytest.param(
        ["CREATE TABLE w (v integer)"],
        {"w": [(1,), ("abc",)]},
        "SELECT v FROM w",
        False,
        id="text-in-integer-column",
    ),
    pytest.param(
        ["CREATE TABLE w (v integer)"],
        {"w": [(1,), (2.5,)]},
        "SELECT v FROM w",
        True,
        id="real-in-integer-column",
    ),
    pytest.param(
        ["CREATE TABLE t (v text)"],
        {"t": [("a",), (b"\x00\xff",)]},
        "SELECT v FROM t",
        False,
        id="blob-in-text-column",
    ),
    pytest.param(
        ["CREATE TABLE b (v blob)"],
        {"b": [(b"\x00\x01",), (None,), (b"",)]},
        "SELECT v FROM b",
        True,
        id="blobs",
    ),
    pytest.param(
        ["CREATE TABLE b (v blob)"],
        {"b": [(b"\x00",), ("text",), (1,)]},
        "SELECT v FROM b",
        False,
        id="blob-column-of-mixed-values",
    ),
    pytest.param(
        ["CREATE TABLE f (ok boolean)"],
        {"f": [(1,), (0,), (None,)]},
        "SELECT ok FROM f",
        True,
        id="booleans",
    ),
    pytest.param(
        ["CREATE TABLE f (ok boolean)"],
        {"f": [(1,), (2,)]},
        "SELECT ok FROM f",
        True,
        id="boolean-holding-2",
    ),
    pytest.param(
        ["CREATE TABLE d (at date)"],
        {"d": [("2024-01-02",), ("2024-01-03 04:05:06",), ("2024-01-03T04:05:06.5",), (None,)]},
        "SELECT at FROM d",
        True,
        id="iso-dates",
    ),
    pytest.param(
        ["CREATE TABLE d (at date)"],
        {"d": [("2024-01-02",), ("soon",)]},
        "SELECT at FROM d",
        True,
        id="date-column-of-words",
    ),
    pytest.param(
        ["CREATE TABLE d (at timestamp)"],
        {"d": [("2024-01-02 03:04:05+02:00",)]},
        "SELECT at FROM d",
        True,
        id="date-with-offset",
    ),
    pytest.param(
        ["CREATE TABLE d (at date)"],
        {"d": [(20240102,)]},
        "SELECT at FROM d",
        True,
        id="date-column-of-integers",
    ),
    pytest.param(
        ["CREATE TABLE u (v)"],
        {"u": [(1,), (None,), (3,)]},
        "SELECT v FROM u",
        True,
        id="untyped-integers",
    ),
    pytest.param(
        ["CREATE TABLE u (v)"],
        {"u": [(1,), (2.5,)]},
        "SELECT v FROM u",
        True,
        id="untyped-numbers",
    ),
    pytest.param(
        ["CREATE TABLE u (v)"],
        {"u": [("a",), (None,)]},
        "SELECT v FROM u",
        True,
        id="untyped-text",
    ),
    pytest.param(
        ["CREATE TABLE u (v)"],
        {"u": [(1,), ("a",)]},
        "SELECT v FROM u",
        False,
        id="untyped-mixed",
    ),
    pytest.param(
        ["CREATE TABLE t (a int, b real)"],
        {"t": [(1, 0.1), (2, 0.2), (3, 0.3)]},
        "SELECT a, b, a + 1 AS a FROM t ORDER BY a",
        True,
        id="C03-duplicate-names",
    ),
    pytest.param(
        ["CREATE TABLE l (id int, name text)", "CREATE TABLE r (id int, name text)"],
        {"l": [(1, "left")], "r": [(1, "right")]},
        "SELECT * FROM l JOIN r ON l.id = r.id",
        True,
        id="C03-join",
    ),
    pytest.param(
        ["CREATE TABLE big (v real)"],
        {"big": [(2**62 + 1,)]},
        "SELECT CAST(v AS integer) AS i, v FROM big",
        True,
        id="integer-beyond-float",
    ),
    pytest.param(
        ["CREATE TABLE n2 (v numeric)"],
        {"n2": [(2**60 + 1,), (0.5,)]},
        "SELECT v FROM n2",
        True,
        id="numeric-big-integer-and-real",
    ),
    pytest.param(
        ["CREATE TABLE n2 (v numeric)"],
        {"n2": [(2**60 + 1,), (1,)]},
        "SELECT v FROM n2",
        False,
        id="numeric-integer-float64-cannot-hold",
    ),
    pytest.param(
        ["CREATE TABLE late (v)"],
        {"late": [(None,)] * MIXED_ROWS + [("late",)]},
        "SELECT v FROM late",
        False,
        id="text-after-the-first-batch",
    ),
    pytest.param(
        ["CREATE TABLE late (v text)"],
        {"late": [("a",)] * MIXED_ROWS + [(b"\x01",)]},
        "SELECT v FROM late",
        False,
        id="blob-in-a-later-text-batch",
    ),
    pytest.param(
        ["CREATE TABLE late (v real)"],
        {"late": [(None,)] * MIXED_ROWS + [(1.5,)]},
        "SELECT v FROM late",
        False,
        id="real-after-null-batch",
    ),
    pytest.param(
        ["CREATE TABLE c (v text)"],
        {"c": [("a",)]},
        "SELECT v -- a trailing comment\nFROM c -- ends the query",
        True,
        id="trailing-comment",
    ),
    pytest.param(
        ["CREATE TABLE c (v text)"],
        {"c": [("b",), ("a",)]},
        "WITH s AS (SELECT v FROM c) SELECT v FROM s ORDER BY v",
        True,
        id="with-query",
    ),
    pytest.param([], None, "VALUES (1, 'a'), (2, 'b')", True, id="values"),
    pytest.param(
        ["CREATE TABLE toucan_fast_rows (v int)"],
        {"toucan_fast_rows": [(1,)]},
        "SELECT v FROM toucan_fast_rows",
        False,
        id="table-named-as-the-wrapper",
    ),
]


@pytest.mark.parametrize(("statements", "rows", "query", "on_fast_path"), TYPE_CASES)
def test_type_rules_give_the_standard_frame(
    build: Build,
    caplog: pytest.LogCaptureFixture,
    statements: list[str],
    rows: dict[str, list[tuple[object, ...]]] | None,
    query: str,
    on_fast_path: bool,
) -> None:
    fast, standard = build(*statements, rows=rows)

    _, gave_up = read_both(fast, standard, source(query), caplog)

    assert gave_up is not on_fast_path


def test_c02_null_only_real_column_is_float_nan_on_the_fast_path(
    build: Build, caplog: pytest.LogCaptureFixture
) -> None:
    fast, standard = build(
        "CREATE TABLE n (filled real, partial real, empty real)",
        rows={"n": [(1.0, 1.0, None), (2.0, None, None), (3.0, None, None)]},
    )

    df, gave_up = read_both(fast, standard, source("SELECT * FROM n"), caplog)

    expected = pd.DataFrame(
        {
            "filled": [1.0, 2.0, 3.0],
            "partial": [1.0, np.nan, np.nan],
            "empty": [np.nan, np.nan, np.nan],
        }
    )
    assert_frame_equal(df, expected)
    assert gave_up is False


def test_declared_types_and_fallbacks_give_literal_frames(
    build: Build, caplog: pytest.LogCaptureFixture
) -> None:
    fast, standard = build(
        "CREATE TABLE k (id integer, ok boolean, at date, tag text, data blob, v)",
        rows={
            "k": [
                (1, 1, "2024-01-02", "a", b"\x00", 7),
                (2, 0, None, None, None, None),
                (3, 2, "2024-01-03 04:05:06", "c", b"", 9),
            ]
        },
    )

    df, gave_up = read_both(fast, standard, source("SELECT * FROM k ORDER BY id"), caplog)

    expected = pd.DataFrame(
        {
            "id": pd.array([1, 2, 3], dtype="Int64"),
            "ok": pd.array([1, 0, 2], dtype="Int64"),  # 2 is no boolean: the values decide
            "at": pd.Series(["2024-01-02", None, "2024-01-03 04:05:06"], dtype="datetime64[us]"),
            "tag": pd.array(["a", None, "c"], dtype="str"),
            "data": pd.Series([b"\x00", None, b""], dtype=object),
            "v": pd.array([7, None, 9], dtype="Int64"),
        }
    )
    assert_frame_equal(df, expected)
    assert gave_up is False


@pytest.mark.parametrize(
    ("query", "parameters"),
    [
        pytest.param("SELECT name FROM city WHERE pop > {{ n }}", {"n": 1}, id="int"),
        pytest.param("SELECT name FROM city WHERE pop > {{ n }}", {"n": 1.5}, id="float"),
        pytest.param("SELECT name FROM city WHERE name = {{ n }}", {"n": "Lyon"}, id="str"),
        pytest.param("SELECT {{ n }} AS v FROM city", {"n": None}, id="none"),
        pytest.param("SELECT {{ n }} AS v FROM city", {"n": True}, id="bool"),
        pytest.param(
            "SELECT name FROM city WHERE name IN {{ n }} AND pop >= {{ p }}",
            {"n": ["Paris", "x') OR 1=1 --"], "p": 0},
            id="list-and-injection",
        ),
        pytest.param("SELECT 'a:b' AS v, name FROM city", None, id="colon-in-a-string"),
    ],
)
def test_parameters_are_bound_on_the_fast_path(
    build: Build,
    caplog: pytest.LogCaptureFixture,
    query: str,
    parameters: dict[str, Any] | None,
) -> None:
    fast, standard = build(
        "CREATE TABLE city (name text, pop int)",
        rows={"city": [("Paris", 2), ("Lyon", 3), ("x') OR 1=1 --", 1)]},
    )

    _, gave_up = read_both(fast, standard, source(query, parameters=parameters), caplog)

    assert gave_up is False


def test_a_parameter_ours_does_not_bind_goes_to_the_standard_path(
    build: Build, caplog: pytest.LogCaptureFixture
) -> None:
    fast, _ = build("CREATE TABLE city (name text)", rows={"city": [("Paris",)]})

    with caplog.at_level(logging.DEBUG, logger=LOGGER), pytest.raises(ToucanConnectorError):
        fast.get_df(source("SELECT name FROM city WHERE name = ?"))

    assert any(GAVE_UP in record.getMessage() for record in caplog.records)


# The bundled sample database ---------------------------------------------------------------------


@pytest.mark.parametrize("table", ["airports", "cars", "seattle_weather", "monthly_weather"])
def test_sample_tables_and_view_are_read_on_the_fast_path(
    table: str, caplog: pytest.LogCaptureFixture
) -> None:
    fast = SQLiteConnector(name="lite", path=str(SAMPLE))
    standard = SQLiteConnector(name="lite", path=str(SAMPLE), fast_path=False)

    df, gave_up = read_both(fast, standard, source(table=table), caplog)

    assert (gave_up, len(df) > 0) == (False, True)


def test_get_df_with_permissions_stays_on_the_standard_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast = SQLiteConnector(name="lite", path=str(SAMPLE))
    standard = SQLiteConnector(name="lite", path=str(SAMPLE), fast_path=False)
    monkeypatch.setattr(fast_reader, "read_fast", pytest.fail)
    permissions = {"column": "cylinders", "operator": "ge", "value": 8}
    data_source = source("SELECT name, cylinders FROM cars ORDER BY id")

    df = fast.get_df(data_source, permissions)

    assert_frame_equal(df, standard.get_df(data_source, permissions))
    assert (len(df), set(df["cylinders"])) == (108, {8})


def test_without_the_driver_the_standard_path_reads(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(fast_reader, "has_adbc_sqlite", lambda: False)
    fast = SQLiteConnector(name="lite", path=str(SAMPLE))
    standard = SQLiteConnector(name="lite", path=str(SAMPLE), fast_path=False)

    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        df = fast.get_df(source(table="cars"))

    assert_frame_equal(df, standard.get_df(source(table="cars")))
    assert "adbc-driver-sqlite is not installed; using the standard path" in caplog.text


# iter_batches ------------------------------------------------------------------------------------


def test_iter_batches_gives_exact_batches_equal_to_the_standard_ones(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fast = SQLiteConnector(name="lite", path=str(SAMPLE))
    standard = SQLiteConnector(name="lite", path=str(SAMPLE), fast_path=False)
    data_source = source("SELECT * FROM cars ORDER BY id")

    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        batches = list(fast.iter_batches(data_source, batch_size=100))

    assert [len(batch) for batch in batches] == [100, 100, 100, 100, 6]
    for got, want in zip(batches, standard.iter_batches(data_source, batch_size=100), strict=True):
        assert_frame_equal(got, want)
    assert GAVE_UP not in caplog.text


def test_iter_batches_of_unknown_and_date_columns_match_the_standard_stream(
    build: Build, caplog: pytest.LogCaptureFixture
) -> None:
    fast, standard = build(
        "CREATE TABLE s (v, at date, tag text)",
        rows={"s": [(1, "2024-01-02", "a"), (None, None, None), (3, "2024-01-03 04:05", "c")]},
    )
    data_source = source("SELECT v, at, tag FROM s")

    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        batches = list(fast.iter_batches(data_source, batch_size=2))

    expected = [
        pd.DataFrame(
            {
                "v": pd.Series([1, None], dtype=object),  # unknown type: object while streaming
                "at": pd.Series(["2024-01-02", None], dtype="datetime64[us]"),
                "tag": pd.array(["a", None], dtype="str"),
            }
        ),
        pd.DataFrame(
            {
                "v": pd.Series([3], dtype=object),
                "at": pd.Series(["2024-01-03 04:05"], dtype="datetime64[us]"),
                "tag": pd.array(["c"], dtype="str"),
            }
        ).set_axis(pd.RangeIndex(2, 3)),
    ]
    for got, standard_batch, want in zip(
        batches, standard.iter_batches(data_source, batch_size=2), expected, strict=True
    ):
        assert_frame_equal(got, standard_batch)
        assert_frame_equal(got, want)
    assert GAVE_UP not in caplog.text


def test_iter_batches_of_an_empty_result_yields_one_typed_frame(build: Build) -> None:
    fast, standard = build(M_TABLE)
    data_source = source("SELECT * FROM m")

    got = list(fast.iter_batches(data_source, batch_size=10))

    want = list(standard.iter_batches(data_source, batch_size=10))
    assert (len(got), len(want)) == (1, 1)
    assert_frame_equal(got[0], want[0])


def test_stopping_a_fast_stream_early_leaves_the_connector_usable(tmp_path: Path) -> None:
    database = tmp_path / "sample.sqlite"
    shutil.copyfile(SAMPLE, database)
    before = digest(database)
    fast = SQLiteConnector(name="lite", path=str(database))
    data_source = source("SELECT * FROM seattle_weather ORDER BY date")

    with contextlib.closing(fast.iter_batches(data_source, batch_size=10)) as batches:
        first = next(batches)

    again = fast.get_df(source("SELECT count(*) AS n FROM seattle_weather"))
    assert (len(first), again["n"].tolist(), digest(database)) == (10, [1461], before)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["sample.sqlite"]


STANDARD_STREAM = "streams on the standard path"


def test_a_type_change_after_the_first_batch_streams_whole_on_the_standard_path(
    build: Build, caplog: pytest.LogCaptureFixture
) -> None:
    # ADBC would fix the column's type from its first batch and stop at the text row.
    fast, standard = build(
        "CREATE TABLE late (v)", rows={"late": [(1,)] * MIXED_ROWS + [("text",)]}
    )
    data_source = source("SELECT v FROM late")

    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        got = list(fast.iter_batches(data_source, batch_size=1000))

    want = list(standard.iter_batches(data_source, batch_size=1000))
    assert (len(got), got[-1]["v"].tolist()[-1]) == (len(want), "text")
    for got_batch, want_batch in zip(got, want, strict=True):
        assert_frame_equal(got_batch, want_batch)
    assert STANDARD_STREAM in caplog.text


@pytest.mark.parametrize(
    ("declared", "values"),
    [
        pytest.param("integer", [1, 2.5], id="real-in-integer"),
        pytest.param(
            "datetime", ["2024-01-01 10:00:00+02:00", "2024-01-01 10:00:00"], id="offsets"
        ),
        pytest.param("datetime", ["not a date", "2024-01-01"], id="no-date"),
    ],
)
def test_a_large_stream_goes_to_the_standard_path(
    build: Build, caplog: pytest.LogCaptureFixture, declared: str, values: list[object]
) -> None:
    fast, standard = build(f"CREATE TABLE w (v {declared})", rows={"w": [(v,) for v in values]})
    data_source = source("SELECT v FROM w")

    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        got = _outcome(lambda: list(fast.iter_batches(data_source, batch_size=10)))

    assert got == _outcome(lambda: list(standard.iter_batches(data_source, batch_size=10)))
    assert STANDARD_STREAM in caplog.text


def _outcome(read: Callable[[], list[pd.DataFrame]]) -> object:
    """The batches' records and dtypes, or the error's class and message."""
    try:
        batches = read()
    except ProviderError as exc:
        return (type(exc).__name__, str(exc))
    return [(batch.to_dict("records"), batch.dtypes.astype(str).tolist()) for batch in batches]


@pytest.mark.parametrize(
    ("declared", "values"),
    [
        pytest.param("datetime", ["2024-01-01 10:00:00+02:00", "2024-01-01"], id="mixed-offsets"),
        pytest.param("date", ["not a date", "2024-01-01"], id="no-date"),
        pytest.param("integer", ["x", 1], id="text-in-integer"),
    ],
)
def test_a_small_stream_the_declared_kinds_cannot_hold_goes_to_the_standard_path(
    build: Build,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    declared: str,
    values: list[object],
) -> None:
    monkeypatch.setattr(fast_reader, "_SMALL_RESULT", 1_000)  # built from the description rows
    fast, standard = build(f"CREATE TABLE s (v {declared})", rows={"s": [(v,) for v in values]})
    data_source = source("SELECT v FROM s")

    with pytest.raises(ProviderError, match="cast the column that holds the value to text"):
        list(standard.iter_batches(data_source, batch_size=10))
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        with pytest.raises(ProviderError, match="cast the column that holds the value to text"):
            list(fast.iter_batches(data_source, batch_size=10))
    assert GAVE_UP in caplog.text


# Read-only ---------------------------------------------------------------------------------------


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "only"
    folder.mkdir()
    database = folder / "sample.sqlite"
    shutil.copyfile(SAMPLE, database)
    return database


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("DELETE FROM cars", id="delete"),
        pytest.param("WITH t AS (SELECT 1) DELETE FROM cars", id="with-delete"),
        pytest.param("CREATE TABLE t (a)", id="create"),
        pytest.param("INSERT INTO cars (id) VALUES (999)", id="insert"),
    ],
)
def test_the_fast_readers_connections_refuse_writes(sample_copy: Path, statement: str) -> None:
    before = digest(sample_copy)
    reader = fast_reader.SQLiteFastReader(str(sample_copy), 5000)

    with pytest.raises(adbc_driver_manager.OperationalError, match="readonly database"):
        list(reader.stream(statement, []))
    reader.dispose()

    assert digest(sample_copy) == before
    assert sorted(path.name for path in sample_copy.parent.iterdir()) == ["sample.sqlite"]


def test_the_fast_readers_connections_are_query_only(sample_copy: Path) -> None:
    reader = fast_reader.SQLiteFastReader(str(sample_copy), 5000)

    batches = list(reader.stream("SELECT * FROM pragma_query_only", []))
    reader.dispose()

    assert batches[0].column(0).to_pylist() == [1]


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        pytest.param("DELETE FROM cars", "is not a read query", id="delete"),
        pytest.param(
            "WITH t AS (SELECT 1) UPDATE cars SET name = 'x'",
            "read-only transactions, so write a SELECT",
            id="with-update",
        ),
        pytest.param(
            "SELECT load_extension('nowhere')",
            "the connector cannot load extensions",
            id="load-extension",
        ),
        pytest.param("SELECT 1; DELETE FROM cars", "write a single SELECT", id="two-statements"),
    ],
)
def test_refusals_on_a_fast_connector_keep_the_file(
    sample_copy: Path, statement: str, message: str
) -> None:
    before = digest(sample_copy)
    connector = SQLiteConnector(name="lite", path=str(sample_copy))

    with pytest.raises(ToucanConnectorError, match=message):
        connector.get_df(source(statement))

    assert digest(sample_copy) == before
    assert sorted(path.name for path in sample_copy.parent.iterdir()) == ["sample.sqlite"]


# Small results ---------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["SELECT * FROM cars WHERE id = 7", "SELECT * FROM cars"])
def test_small_results_are_built_from_the_description_rows(
    monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    monkeypatch.setattr(fast_reader, "_SMALL_RESULT", 1_000)
    streamed: list[str] = []
    original = fast_reader.SQLiteFastReader.stream

    def _spy(self: fast_reader.SQLiteFastReader, sql: str, values: Any) -> Any:
        streamed.append(sql)
        return original(self, sql, values)

    monkeypatch.setattr(fast_reader.SQLiteFastReader, "stream", _spy)
    fast = SQLiteConnector(name="lite", path=str(SAMPLE))
    standard = SQLiteConnector(name="lite", path=str(SAMPLE), fast_path=False)

    assert_frame_equal(fast.get_df(source(query)), standard.get_df(source(query)))
    for got, want in zip(
        fast.iter_batches(source(query), batch_size=3),
        standard.iter_batches(source(query), batch_size=3),
        strict=True,
    ):
        assert_frame_equal(got, want)
    assert len(streamed) == 0


def test_a_result_past_the_small_size_is_read_through_adbc(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fast_reader, "_SMALL_RESULT", 100)
    streamed: list[str] = []
    original = fast_reader.SQLiteFastReader.stream

    def _spy(self: fast_reader.SQLiteFastReader, sql: str, values: Any) -> Any:
        streamed.append(sql)
        return original(self, sql, values)

    monkeypatch.setattr(fast_reader.SQLiteFastReader, "stream", _spy)
    fast = SQLiteConnector(name="lite", path=str(SAMPLE))
    standard = SQLiteConnector(name="lite", path=str(SAMPLE), fast_path=False)
    data_source = source("SELECT * FROM cars ORDER BY id")

    assert_frame_equal(fast.get_df(data_source), standard.get_df(data_source))
    assert len(streamed) == 1
