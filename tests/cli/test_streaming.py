"""`query` streams CSV, JSON, JSON lines and Parquet batch by batch from a SQLite file."""

from __future__ import annotations

import decimal
import io
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from cli_support import Cli
from rich.console import Console

from toucan_connectors.cli import main as cli_main
from toucan_connectors.cli.output import (
    OutputFormat,
    StreamShapeError,
    write_batches,
    write_frame,
)
from toucan_connectors.sqlite.sqlite_connector import SQLiteConnector

SALES = [
    (1, "Paris", 12.5),
    (2, "Lyon", 3.0),
    (3, "Ghent", None),
    (4, "Lille", 7.25),
    (5, "Nice", 1.5),
]

CSV = "id,city,amount\n1,Paris,12.5\n2,Lyon,3.0\n3,Ghent,\n4,Lille,7.25\n5,Nice,1.5\n"

JSON_LINES = (
    '{"id":1,"city":"Paris","amount":12.5}\n'
    '{"id":2,"city":"Lyon","amount":3.0}\n'
    '{"id":3,"city":"Ghent","amount":null}\n'
    '{"id":4,"city":"Lille","amount":7.25}\n'
    '{"id":5,"city":"Nice","amount":1.5}\n'
)
JSON_ARRAY = "[" + ",".join(JSON_LINES.splitlines()) + "]\n"


@pytest.fixture
def sales_config(tmp_path: Path) -> Path:
    database = tmp_path / "sales.db"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE sales (id INTEGER, city TEXT, amount REAL)")
        conn.executemany("INSERT INTO sales VALUES (?, ?, ?)", SALES)
    conn.close()

    config = tmp_path / "config.yaml"
    config.write_text(
        "connectors:\n"
        "  - name: shop\n"
        "    type: SQLite\n"
        f"    path: {database}\n"
        "data_sources:\n"
        "  - domain: sales\n"
        "    name: shop\n"
        "    query: SELECT id, city, amount FROM sales ORDER BY id\n"
        "  - domain: no_sales\n"
        "    name: shop\n"
        "    query: SELECT id, city, amount FROM sales WHERE id > 99\n"
        "  - domain: broken\n"
        "    name: shop\n"
        "    query: SELECT nope FROM missing\n",
        encoding="utf-8",
    )
    return config


@pytest.fixture
def no_get_df(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make reading the whole result fail, so that only the streamed path can succeed."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the whole result was read")

    monkeypatch.setattr(SQLiteConnector, "get_df", refuse)


@pytest.mark.parametrize("batch_size", ["2", "5", "10000"], ids=["batch-2", "batch-5", "one-batch"])
def test_csv_file_has_one_header_and_every_row(
    cli: Cli, sales_config: Path, tmp_path: Path, no_get_df: None, batch_size: str
) -> None:
    target = tmp_path / "sales.csv"

    result = cli("query", sales_config, "sales", "-o", target, "--batch-size", batch_size)

    assert (result.exit_code, target.read_text(encoding="utf-8")) == (0, CSV)


def test_csv_streams_to_stdout(cli: Cli, sales_config: Path, no_get_df: None) -> None:
    result = cli("query", sales_config, "sales", "-f", "csv", "--batch-size", "2")

    assert (result.exit_code, result.stdout) == (0, CSV)


@pytest.mark.parametrize(
    ("name", "expected"), [("sales.json", JSON_ARRAY), ("sales.jsonl", JSON_LINES)]
)
@pytest.mark.parametrize("batch_size", ["2", "10000"], ids=["batch-2", "one-batch"])
def test_json_is_one_array_and_jsonl_one_line_per_row(
    cli: Cli,
    sales_config: Path,
    tmp_path: Path,
    no_get_df: None,
    name: str,
    expected: str,
    batch_size: str,
) -> None:
    target = tmp_path / name

    result = cli("query", sales_config, "sales", "-o", target, "--batch-size", batch_size)

    assert (result.exit_code, target.read_text(encoding="utf-8")) == (0, expected)


@pytest.mark.parametrize(
    ("output_format", "expected"), [("json", JSON_ARRAY), ("jsonl", JSON_LINES)]
)
def test_sliced_json_matches_the_streamed_json(
    cli: Cli, sales_config: Path, output_format: str, expected: str
) -> None:
    result = cli("query", sales_config, "sales", "-f", output_format, "--limit", "10")

    assert (result.exit_code, result.stdout) == (0, expected)


def test_parquet_goes_to_a_pipe(cli: Cli, sales_config: Path, no_get_df: None) -> None:
    result = cli("query", sales_config, "sales", "-f", "parquet", "--batch-size", "2")

    table = pq.read_table(io.BytesIO(result.stdout_bytes))
    assert (result.exit_code, table.column("id").to_pylist()) == (0, [1, 2, 3, 4, 5])


def test_parquet_gets_one_row_group_per_batch(
    cli: Cli, sales_config: Path, tmp_path: Path, no_get_df: None
) -> None:
    target = tmp_path / "sales.parquet"

    result = cli("query", sales_config, "sales", "-o", target, "--batch-size", "2")

    parquet = pq.ParquetFile(target)
    assert (result.exit_code, parquet.metadata.num_row_groups) == (0, 3)
    assert parquet.read().to_pydict() == {
        "id": [1, 2, 3, 4, 5],
        "city": ["Paris", "Lyon", "Ghent", "Lille", "Nice"],
        "amount": [12.5, 3.0, None, 7.25, 1.5],
    }


def test_written_rows_are_reported(cli: Cli, sales_config: Path, tmp_path: Path) -> None:
    target = tmp_path / "sales.csv"

    result = cli("query", sales_config, "sales", "-o", target, "--batch-size", "2")

    assert result.stderr == f"Wrote 5 rows to {target}\n"


def test_empty_result_writes_the_csv_header(cli: Cli, sales_config: Path, tmp_path: Path) -> None:
    target = tmp_path / "none.csv"

    result = cli("query", sales_config, "no_sales", "-o", target)

    assert (result.exit_code, target.read_text(encoding="utf-8")) == (0, "id,city,amount\n")


@pytest.mark.parametrize(("name", "expected"), [("none.json", "[]\n"), ("none.jsonl", "")])
def test_empty_result_writes_an_empty_json_array_or_no_lines(
    cli: Cli, sales_config: Path, tmp_path: Path, name: str, expected: str
) -> None:
    target = tmp_path / name

    result = cli("query", sales_config, "no_sales", "-o", target)

    assert (result.exit_code, target.read_text(encoding="utf-8")) == (0, expected)


def test_permissions_filter_the_streamed_rows(
    cli: Cli, sales_config: Path, no_get_df: None
) -> None:
    permissions = '{"column": "id", "operator": "ge", "value": 4}'

    result = cli("query", sales_config, "sales", "-f", "csv", "--permissions", permissions)

    assert result.stdout == "id,city,amount\n4,Lille,7.25\n5,Nice,1.5\n"


def test_terminal_shows_rows_and_throughput(
    cli: Cli, sales_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_main, "stderr_is_terminal", lambda: True)

    result = cli("query", sales_config, "sales", "-f", "csv", "--batch-size", "2")

    assert result.stderr.splitlines()[-1].startswith("Fetched 5 rows in ")
    assert result.stderr.splitlines()[-1].endswith(" rows/s)")


def test_sliced_query_is_not_streamed(cli: Cli, sales_config: Path) -> None:
    result = cli("query", sales_config, "sales", "--limit", "1", "-f", "csv")

    assert result.stdout == "id,city,amount\n1,Paris,12.5\n"


@pytest.mark.parametrize("name", ["out.csv", "out.json", "out.parquet"])
@pytest.mark.parametrize("extra", [[], ["--limit", "2"]], ids=["streamed", "sliced"])
def test_failed_query_leaves_the_output_untouched(
    cli: Cli, sales_config: Path, tmp_path: Path, name: str, extra: list[str]
) -> None:
    target = tmp_path / name
    target.write_text("keep me\n", encoding="utf-8")

    result = cli("query", sales_config, "broken", "-o", target, *extra)

    assert (result.exit_code, target.read_text(encoding="utf-8")) == (1, "keep me\n")
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["config.yaml", "sales.db", name]
    )


def test_successful_query_replaces_the_output(cli: Cli, sales_config: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o640)

    result = cli("query", sales_config, "sales", "-o", target)

    assert (result.exit_code, target.read_text(encoding="utf-8")) == (0, CSV)
    assert (target.stat().st_mode & 0o777, len(list(tmp_path.iterdir()))) == (0o640, 3)


@pytest.mark.parametrize("spelling", ["same", "relative"])
def test_output_over_the_connector_database_is_refused(
    cli: Cli,
    sales_config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    spelling: str,
) -> None:
    database = tmp_path / "sales.db"
    before = database.read_bytes()
    monkeypatch.chdir(tmp_path)
    target = database if spelling == "same" else Path("./sales.db")

    result = cli("query", sales_config, "sales", "-f", "csv", "-o", target)

    assert (result.exit_code, result.stderr) == (
        2,
        f'Error: Cannot write to "{target}": it is the "path" of connector "shop"; '
        "choose another path.\n",
    )
    assert database.read_bytes() == before


@pytest.mark.parametrize("spelling", ["same", "relative", "symlink"])
def test_output_over_the_config_file_is_refused(
    cli: Cli,
    sales_config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    spelling: str,
) -> None:
    before = sales_config.read_bytes()
    monkeypatch.chdir(tmp_path)
    if spelling == "symlink":
        target = tmp_path / "link.yaml"
        target.symlink_to(sales_config)
    else:
        target = sales_config if spelling == "same" else Path(f"./{sales_config.name}")

    result = cli("query", sales_config, "sales", "--format", "csv", "--output", target)

    assert (result.exit_code, result.stderr) == (
        2,
        f'Error: Cannot write to "{target}": it is the config file "{sales_config}" being '
        "read; choose another path.\n",
    )
    assert (sales_config.read_bytes(), sorted(path.name for path in tmp_path.iterdir())) == (
        before,
        sorted(["sales.db", sales_config.name] + (["link.yaml"] if spelling == "symlink" else [])),
    )


@pytest.mark.parametrize(
    ("output_format", "expected"),
    [
        (
            "jsonl",
            '{"x":1234567.89,"f32":0.1,"n":1,"doc":{"k":1234567.89}}\n'
            '{"x":1e-07,"f32":2.5,"n":null,"doc":null}\n'
            '{"x":null,"f32":null,"n":3,"doc":[0.1,"é"]}\n',
        ),
        (
            "json",
            '[{"x":1234567.89,"f32":0.1,"n":1,"doc":{"k":1234567.89}},'
            '{"x":1e-07,"f32":2.5,"n":null,"doc":null},'
            '{"x":null,"f32":null,"n":3,"doc":[0.1,"é"]}]\n',
        ),
    ],
)
@pytest.mark.parametrize("streamed", [True, False])
def test_json_writes_floats_in_their_shortest_form(
    output_format: str, expected: str, streamed: bool
) -> None:
    df = pd.DataFrame(
        {
            "x": [1234567.89, 1e-7, float("nan")],
            "f32": np.array([0.1, 2.5, np.nan], dtype="float32"),
            "n": pd.array([1, None, 3], dtype="Int64"),
            "doc": [{"k": 1234567.89}, None, [0.1, "é"]],
        }
    )
    console = Console(file=io.StringIO())
    chosen = OutputFormat(output_format)

    if streamed:
        write_batches([df.iloc[:2], df.iloc[2:]], chosen, console)
    else:
        write_frame(df, chosen, console)

    assert console.file.getvalue() == expected  # type: ignore[attr-defined]


@pytest.mark.parametrize("streamed", [True, False])
def test_csv_writes_lists_and_documents_as_json(streamed: bool) -> None:
    df = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "tags": [["a", "b"], [], None],
            "doc": [{"k": 1, "name": "é"}, {"nested": [1.5, None]}, "plain"],
        }
    )
    console = Console(file=io.StringIO())

    if streamed:
        write_batches([df.iloc[:1], df.iloc[1:]], OutputFormat.csv, console)
    else:
        write_frame(df, OutputFormat.csv, console)

    assert console.file.getvalue() == (  # type: ignore[attr-defined]
        "id,tags,doc\n"
        '1,"[""a"", ""b""]","{""k"": 1, ""name"": ""é""}"\n'
        '2,[],"{""nested"": [1.5, null]}"\n'
        "3,,plain\n"
    )


def test_debug_logs_the_streamed_retrieval(cli: Cli, sales_config: Path, no_get_df: None) -> None:
    result = cli("--debug", "query", sales_config, "sales", "-f", "csv", "--batch-size", "2")

    lines = result.stderr.splitlines()
    assert (
        lines[0]
        == "DEBUG toucan_connectors.cli.main: Streaming data source 'sales' in batches of 2 rows"
    )
    assert lines[-1].startswith(
        "INFO toucan_connectors.cli.main: Data source 'sales' returned 5 rows in "
    )


def test_variables_follow_shell_rules_and_stay_data(cli: Cli, tmp_path: Path) -> None:
    sales_db = tmp_path / "sales.db"
    sqlite3.connect(sales_db).close()
    config = tmp_path / "vars.yaml"
    config.write_text(
        "connectors:\n"
        "  - name: shop\n"
        "    type: SQLite\n"
        "    path: ${SQ_PATH:-${CONFIG_DIR}/sales.db}\n"
        "  - name: elsewhere\n"
        "    type: SQLite\n"
        "    path: ${NOT_SET_ANYWHERE}\n"
        "data_sources:\n"
        "  - domain: literal\n"
        "    name: shop\n"
        "    query: SELECT '${LIT}' AS v\n",
        encoding="utf-8",
    )

    result = cli("query", config, "literal", "-f", "csv", env={"SQ_PATH": "", "LIT": "{{ 7*7 }}"})

    assert (result.exit_code, result.stdout) == (0, "v\n{{ 7*7 }}\n")


def test_sliced_parquet_goes_to_a_pipe(cli: Cli, sales_config: Path) -> None:
    result = cli("query", sales_config, "sales", "-f", "parquet", "--limit", "2")

    table = pq.read_table(io.BytesIO(result.stdout_bytes))
    assert (result.exit_code, table.column("id").to_pylist()) == (0, [1, 2])


@pytest.mark.usefixtures("tiny_registry")
def test_output_named_like_a_host_is_not_refused(
    cli: Cli, config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    result = cli("query", config_file, "all_cities", "-f", "csv", "-o", "localhost")

    assert (result.exit_code, (tmp_path / "localhost").read_text().splitlines()[0]) == (
        0,
        "city,country,pop,area,since",
    )


# Batches whose columns or types drift (a MongoDB field first seen in a later batch) ---------


def _write(batches: list[pd.DataFrame], chosen: OutputFormat) -> bytes:
    buffer = io.BytesIO()
    text = io.TextIOWrapper(buffer, encoding="utf-8", write_through=True)
    write_batches(iter(batches), chosen, Console(file=text), None)
    text.flush()
    return buffer.getvalue()


@pytest.mark.parametrize("chosen", [OutputFormat.csv, OutputFormat.parquet, OutputFormat.jsonl])
def test_a_column_first_seen_in_a_later_batch_is_refused(chosen: OutputFormat) -> None:
    batches = [
        pd.DataFrame({"_id": [1], "a": ["x"]}),
        pd.DataFrame({"_id": [2], "a": ["y"], "b": [2]}),
    ]
    with pytest.raises(StreamShapeError, match=r'Column "b" first appears after 1 rows.*\$project'):
        _write(batches, chosen)


def test_a_column_missing_from_a_later_batch_is_written_empty_in_order() -> None:
    batches = [
        pd.DataFrame({"a": ["x"], "b": [1.5]}),
        pd.DataFrame({"a": ["y"]}),
        pd.DataFrame({"b": [2.5], "a": ["z"]}),
    ]
    assert _write(batches, OutputFormat.csv).decode() == "a,b\nx,1.5\ny,\nz,2.5\n"
    table = pq.read_table(io.BytesIO(_write(batches, OutputFormat.parquet)))
    assert table.to_pydict() == {"a": ["x", "y", "z"], "b": [1.5, None, 2.5]}


def test_parquet_refuses_a_column_that_changes_type() -> None:
    batches = [
        pd.DataFrame({"v": pd.array([1], dtype="Int64")}),
        pd.DataFrame({"v": pd.array(["two"], dtype="str")}),
    ]
    with pytest.raises(StreamShapeError, match='Column "v" holds int64 .* write CSV or JSON lines'):
        _write(batches, OutputFormat.parquet)


def test_parquet_writes_object_columns_as_their_text() -> None:
    first = np.empty(2, dtype=object)
    first[:] = [None, None]
    later = np.empty(2, dtype=object)
    later[:] = [{"k": 1}, decimal.Decimal("1.50")]
    batches = [pd.DataFrame({"j": first}), pd.DataFrame({"j": later})]
    table = pq.read_table(io.BytesIO(_write(batches, OutputFormat.parquet)))
    assert table.to_pydict() == {"j": [None, None, '{"k": 1}', "1.50"]}
