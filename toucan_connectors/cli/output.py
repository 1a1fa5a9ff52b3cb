"""How the command line shows results: tables, CSV, JSON and Parquet, and check lists."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from enum import Enum
from pathlib import Path
from typing import IO, Any

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from toucan_connectors.cli.config import ConfigError
from toucan_connectors.discovery import TableInfo
from toucan_connectors.errors import MissingDependencyError

__all__ = [
    "MissingWriterError",
    "OutputFormat",
    "build_table",
    "check_output_path",
    "format_cell",
    "is_missing",
    "print_table",
    "write_batches",
    "write_frame",
]

MISSING = "∅"
MISSING_STYLE = "dim"


class MissingWriterError(MissingDependencyError):
    """Writing an output format needs a package that is not installed."""

    def __init__(self, output_format: str, package: str, extra: str) -> None:
        super().__init__(output_format, package, extra)
        # ImportError shows `msg`, not `args`: set both to the writer's message.
        self.msg = (
            f'Writing {output_format} needs the "{package}" package; '
            f"install it with `{self.install_command}`."
        )
        self.args = (self.msg,)


class OutputFormat(str, Enum):
    """The formats `query` can write."""

    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


STREAMED_FORMATS = (OutputFormat.csv, OutputFormat.json, OutputFormat.parquet)


def choose_format(requested: OutputFormat | None, output: Path | None) -> OutputFormat:
    """Return the requested format, else the one the output's suffix names, else a table."""
    if requested is not None:
        chosen = requested
    elif output is not None and output.suffix.lstrip(".").lower() in {"csv", "json", "parquet"}:
        chosen = OutputFormat(output.suffix.lstrip(".").lower())
    else:
        chosen = OutputFormat.table

    if output is not None and chosen is OutputFormat.table:
        raise ConfigError(
            f'Cannot write a table to "{output}": give --format csv, json or parquet '
            "(or a file name ending in one of them)."
        )
    if output is None and chosen is OutputFormat.parquet:
        raise ConfigError("Parquet is binary and cannot go to the terminal: add --output PATH.")
    if output is not None:
        check_output_path(output)
    return chosen


def check_output_path(output: Path) -> None:
    """Refuse an output path whose folder does not exist or that is a folder itself."""
    if output.is_dir():
        raise ConfigError(f'Cannot write to "{output}": it is a folder, give a file name.')
    if not output.parent.is_dir():
        raise ConfigError(
            f'Cannot write to "{output}": the folder "{output.parent}" does not exist; '
            "create it or choose another path."
        )


def write_frame(
    df: pd.DataFrame,
    chosen: OutputFormat,
    console: Console,
    output: Path | None = None,
    caption: str | None = None,
) -> None:
    """Print `df` on `console` or write it to `output` in the chosen format."""
    if chosen is OutputFormat.table:
        print_table(console, build_table(df.columns, _display_rows(df)))
        if caption:
            # Printed apart: a table caption wraps at the table's width, one letter per line.
            console.file.write(caption + "\n")
        return

    if chosen is OutputFormat.parquet:
        assert output is not None  # choose_format refuses parquet without an output
        try:
            df.to_parquet(output, index=False)
        except ImportError as exc:
            raise MissingWriterError("Parquet", "pyarrow", "cli") from exc
        return

    if chosen is OutputFormat.csv:
        text = df.to_csv(index=False)
    else:
        text = df.to_json(orient="records", date_format="iso", force_ascii=False) + "\n"
    if output is None:
        console.file.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def write_batches(
    batches: Iterable[pd.DataFrame],
    chosen: OutputFormat,
    console: Console,
    output: Path | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Write frames one after the other as CSV, JSON lines or Parquet; return the rows written.

    Only one batch is held at a time: the CSV header is written once, JSON gets one line per
    row and Parquet one row group per batch. `on_batch` is told each batch's row count.
    """
    rows = 0
    for df in _written_batches(batches, chosen, console, output):
        rows += len(df)
        if on_batch is not None:
            on_batch(len(df))
    return rows


def _written_batches(
    batches: Iterable[pd.DataFrame], chosen: OutputFormat, console: Console, output: Path | None
) -> Iterator[pd.DataFrame]:
    if chosen is OutputFormat.parquet:
        assert output is not None  # choose_format refuses parquet without an output
        yield from _write_parquet_batches(batches, output)
        return

    if output is None:
        yield from _write_text_batches(batches, chosen, console.file)
        return
    with output.open("w", encoding="utf-8", newline="") as file:
        yield from _write_text_batches(batches, chosen, file)


def _write_text_batches(
    batches: Iterable[pd.DataFrame], chosen: OutputFormat, target: IO[str]
) -> Iterator[pd.DataFrame]:
    for number, df in enumerate(batches):
        if chosen is OutputFormat.csv:
            target.write(df.to_csv(index=False, header=number == 0))
        elif len(df):
            lines = df.to_json(orient="records", lines=True, date_format="iso", force_ascii=False)
            target.write(lines if lines.endswith("\n") else lines + "\n")
        yield df


def _write_parquet_batches(batches: Iterable[pd.DataFrame], output: Path) -> Iterator[pd.DataFrame]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise MissingWriterError("Parquet", "pyarrow", "cli") from exc

    writer: Any = None
    try:
        for df in batches:
            schema = None if writer is None else writer.schema
            table = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(output, table.schema)
            writer.write_table(table)
            yield df
    finally:
        if writer is not None:
            writer.close()


def build_table(
    headers: Iterable[object], rows: Iterable[Sequence[Any]], caption: str | None = None
) -> Table:
    """Return a plain rich table of `rows` under `headers`; missing values read a dimmed `∅`."""
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        caption=Text(caption) if caption else None,
        caption_justify="left",
    )
    for header in headers:
        table.add_column(Text(str(header)), overflow="fold")
    for row in rows:
        table.add_row(*(_cell(value) for value in row))
    return table


def print_table(console: Console, table: Table) -> None:
    """Print `table` without the trailing spaces rich pads its cells with."""
    with console.capture() as captured:
        console.print(table)
    lines = [line.rstrip() for line in captured.get().splitlines()]
    console.file.write("\n".join(lines).strip("\n") + "\n")


def format_cell(value: Any) -> str:
    """Return the text shown for one value of a result."""
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str, ensure_ascii=False)
    if is_missing(value):
        return MISSING
    return str(value)


def is_missing(value: Any) -> bool:
    """Tell whether `value` is a missing value: None, NaN, NaT or pandas' NA."""
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def _cell(value: Any) -> Text:
    if is_missing(value):
        return Text(MISSING, style=MISSING_STYLE)
    return Text(format_cell(value))


def _display_rows(df: pd.DataFrame) -> Iterable[Sequence[Any]]:
    """Rows of `df`, showing datetime columns that hold only midnights as plain dates."""
    columns: list[Sequence[Any]] = []
    for _, series in df.items():
        if _holds_only_dates(series):
            series = series.dt.strftime("%Y-%m-%d").astype(object).where(series.notna(), None)
        columns.append(series.tolist())
    return zip(*columns, strict=True) if columns else iter(())


def _holds_only_dates(series: pd.Series) -> bool:
    if not pd.api.types.is_datetime64_any_dtype(series.dtype) or getattr(series.dt, "tz", None):
        return False
    present = series.dropna()
    return bool((present == present.dt.normalize()).all())


def build_model_table(tables: Sequence[TableInfo]) -> Table:
    """Return the tables found by `get_model`, one line each with their columns."""
    rows = [
        (
            info["database"],
            info["schema"],
            info["name"],
            info["type"],
            ", ".join(f"{column['name']} {column['type']}" for column in info["columns"]),
        )
        for info in tables
    ]
    return build_table(("database", "schema", "name", "type", "columns"), rows)
