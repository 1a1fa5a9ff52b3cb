"""`query` streams CSV, JSON lines and Parquet batch by batch from a SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from cli_support import Cli

from toucan_connectors.cli import main as cli_main
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
        "    query: SELECT id, city, amount FROM sales WHERE id > 99\n",
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


def test_json_is_written_as_json_lines(
    cli: Cli, sales_config: Path, tmp_path: Path, no_get_df: None
) -> None:
    target = tmp_path / "sales.json"

    result = cli("query", sales_config, "sales", "-o", target, "--batch-size", "2")

    assert (result.exit_code, target.read_text(encoding="utf-8")) == (0, JSON_LINES)


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


def test_empty_result_writes_an_empty_json_lines_file(
    cli: Cli, sales_config: Path, tmp_path: Path
) -> None:
    target = tmp_path / "none.json"

    result = cli("query", sales_config, "no_sales", "-o", target)

    assert (result.exit_code, target.read_text(encoding="utf-8")) == (0, "")


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
