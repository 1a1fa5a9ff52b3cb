"""How the command line shows results: tables, CSV, JSON, JSON lines and Parquet."""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from toucan_connectors.cli.config import ConfigError
from toucan_connectors.discovery import TableInfo
from toucan_connectors.errors import InvalidDataSourceError, MissingDependencyError

__all__ = [
    "MissingWriterError",
    "OutputFormat",
    "StreamShapeError",
    "build_table",
    "check_output_path",
    "check_output_not_config",
    "check_output_not_input",
    "format_cell",
    "is_missing",
    "json_records",
    "print_table",
    "replace_on_success",
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


class StreamShapeError(InvalidDataSourceError):
    """A streamed batch does not fit the columns or types the first batch started writing."""


class OutputFormat(str, Enum):
    """The formats `query` can write."""

    table = "table"
    csv = "csv"
    json = "json"
    jsonl = "jsonl"
    parquet = "parquet"


STREAMED_FORMATS = (OutputFormat.csv, OutputFormat.json, OutputFormat.jsonl, OutputFormat.parquet)
_FILE_FORMATS = {"csv", "json", "jsonl", "parquet"}


def choose_format(
    requested: OutputFormat | None, output: Path | None, to_terminal: bool = True
) -> OutputFormat:
    """Return the requested format, else the one the output's suffix names, else a table."""
    if requested is not None:
        chosen = requested
    elif output is not None and output.suffix.lstrip(".").lower() in _FILE_FORMATS:
        chosen = OutputFormat(output.suffix.lstrip(".").lower())
    else:
        chosen = OutputFormat.table

    if output is not None and chosen is OutputFormat.table:
        raise ConfigError(
            f'Cannot write a table to "{output}": give --format csv, json, jsonl or parquet '
            "(or a file name ending in one of them)."
        )
    if output is None and to_terminal and chosen is OutputFormat.parquet:
        raise ConfigError(
            "Parquet is binary and cannot go to the terminal: add --output PATH or pipe it."
        )
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


def check_output_not_config(output: Path, config: Path) -> None:
    """Refuse an output path that is the config file being read, through any symlink."""
    target = output.expanduser().resolve()
    source = config.expanduser().resolve()
    try:
        same = target == source or (
            target.exists() and source.exists() and os.path.samefile(target, source)
        )
    except OSError:
        same = False
    if same:
        raise ConfigError(
            f'Cannot write to "{output}": it is the config file "{config}" being read; '
            "choose another path."
        )


def check_output_not_input(output: Path, fields: dict[str, Any], owner: str) -> None:
    """Refuse an output path that is the same file as a path-like string field of `owner`."""
    target = output.expanduser().resolve()
    for name, value in fields.items():
        if not isinstance(value, str) or not value or "\n" in value:
            continue
        try:
            candidate = Path(value).expanduser().resolve()
            # A word such as a host name is not a path unless a file of that name exists.
            same = (candidate == target and os.sep in value) or (
                candidate.exists() and target.exists() and os.path.samefile(candidate, target)
            )
        except (OSError, ValueError):
            continue
        if same:
            raise ConfigError(
                f'Cannot write to "{output}": it is the "{name}" of {owner}; choose another path.'
            )


@contextmanager
def replace_on_success(output: Path | None) -> Iterator[Path | None]:
    """Yield a temporary path beside `output`, renamed over it only if the block succeeds."""
    if output is None:
        yield None
        return
    handle, name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    temporary = Path(name)
    try:
        # mkstemp makes the file private; give it the mode the target has or would get.
        mode = stat.S_IMODE(output.stat().st_mode) if output.exists() else 0o666 & ~_umask()
        try:
            os.fchmod(handle, mode)
        finally:
            os.close(handle)
        yield temporary
        os.replace(temporary, output)
    finally:
        temporary.unlink(missing_ok=True)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


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
        try:
            df.to_parquet(_binary(console) if output is None else output, index=False)
        except ImportError as exc:
            raise MissingWriterError("Parquet", "pyarrow", "cli") from exc
        return

    if chosen is OutputFormat.csv:
        text = _documents_as_json(df).to_csv(index=False)
    elif chosen is OutputFormat.jsonl:
        text = _json_lines(df)
    else:
        text = "[" + ",".join(json_records(df)) + "]\n"
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
    """Write frames one after the other as CSV, JSON, JSON lines or Parquet; count the rows.

    Only one batch is held at a time: the CSV header is written once, JSON is one array whose
    items come batch by batch, JSON lines get one line per row and Parquet one row group per
    batch. The first batch fixes the columns: a later batch's columns are put in that order, a
    column it lacks is written as missing values, and a column it adds raises
    `StreamShapeError` (the header is already written). Parquet also keeps the first batch's
    column types; object columns (JSON documents, lists, Decimals, bytes) are written as the
    text the CSV shows for them. `on_batch` is told each batch's row count.
    """
    rows = 0
    for df in _written_batches(_aligned(batches), chosen, console, output):
        rows += len(df)
        if on_batch is not None:
            on_batch(len(df))
    return rows


def _aligned(batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Yield each batch with the first batch's columns, in its order; refuse a new column."""
    columns: list[Any] | None = None
    rows = 0
    for df in batches:
        if columns is None:
            columns = list(df.columns)
        elif list(df.columns) != columns:
            added = [name for name in df.columns if name not in columns]
            if added:
                raise StreamShapeError(
                    f'Column "{added[0]}" first appears after {rows} rows, once the first '
                    f"batch fixed the columns ({', '.join(map(str, columns))}): name every "
                    "column in the query (a $project stage for MongoDB), or give a --batch-size "
                    "larger than the result."
                )
            missing = {
                name: pd.Series([None] * len(df), index=df.index, dtype=object)
                for name in columns
                if name not in df.columns
            }
            df = df.assign(**missing)[columns] if missing else df[columns]
        rows += len(df)
        yield df


def _written_batches(
    batches: Iterable[pd.DataFrame], chosen: OutputFormat, console: Console, output: Path | None
) -> Iterator[pd.DataFrame]:
    if chosen is OutputFormat.parquet:
        yield from _write_parquet_batches(batches, _binary(console) if output is None else output)
        return

    if output is None:
        yield from _write_text_batches(batches, chosen, console.file)
        return
    with output.open("w", encoding="utf-8", newline="") as file:
        yield from _write_text_batches(batches, chosen, file)


def _write_text_batches(
    batches: Iterable[pd.DataFrame], chosen: OutputFormat, target: IO[str]
) -> Iterator[pd.DataFrame]:
    written = 0
    if chosen is OutputFormat.json:
        target.write("[")
    for number, df in enumerate(batches):
        if chosen is OutputFormat.csv:
            target.write(_documents_as_json(df).to_csv(index=False, header=number == 0))
        elif chosen is OutputFormat.jsonl:
            target.write(_json_lines(df))
        elif len(df):
            target.write(("," if written else "") + ",".join(json_records(df)))
        written += len(df)
        yield df
    if chosen is OutputFormat.json:
        target.write("]\n")


def _documents_as_json(df: pd.DataFrame) -> pd.DataFrame:
    """Return `df` with its list and dict cells as JSON text, as tables and JSON show them."""
    texts = {
        position: df.iloc[:, position].map(_document_as_json)
        for position, dtype in enumerate(df.dtypes)
        if pd.api.types.is_object_dtype(dtype)
    }
    if not texts:
        return df

    df = df.copy(deep=False)
    for position, series in texts.items():
        df.isetitem(position, series.array)
    return df


def _document_as_json(value: Any) -> Any:
    return format_cell(value) if isinstance(value, dict | list | tuple) else value


def _json_lines(df: pd.DataFrame) -> str:
    return "".join(record + "\n" for record in json_records(df))


def json_records(df: pd.DataFrame) -> list[str]:
    """Return each row of `df` as a JSON object; floats in their shortest round-trip form.

    pandas writes a float with ten decimals (1234567.89 as 1234567.8899999999), so float
    columns are written from the numbers themselves; other columns keep pandas' text (ISO
    dates, Decimals as text), re-encoded so that the floats they nest are written alike.
    """
    keys = [json.dumps(str(name), ensure_ascii=False) for name in df.columns]
    columns = [_json_values(df.iloc[:, position]) for position in range(df.shape[1])]
    if not columns:
        return ["{}"] * len(df)

    return [
        "{" + ",".join(f"{key}:{value}" for key, value in zip(keys, row, strict=True)) + "}"
        for row in zip(*columns, strict=True)
    ]


def _json_values(series: pd.Series) -> list[str]:
    """Return the JSON text of each value of one column."""
    if pd.api.types.is_float_dtype(series.dtype):
        dtype: Any = getattr(series.dtype, "numpy_dtype", series.dtype)
        numbers = series.to_numpy(dtype=dtype, na_value=np.nan)
        return [str(number) if np.isfinite(number) else "null" for number in numbers]
    values = json.loads(series.to_json(orient="records", date_format="iso", force_ascii=False))
    return [
        json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        for value in values
    ]


def _binary(console: Console) -> IO[bytes]:
    """Return the byte stream under the console's text file, flushed, for Parquet on a pipe."""
    console.file.flush()
    stream: IO[bytes] = console.file.buffer  # type: ignore[attr-defined]
    return stream


def _write_parquet_batches(
    batches: Iterable[pd.DataFrame], output: Path | IO[bytes]
) -> Iterator[pd.DataFrame]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise MissingWriterError("Parquet", "pyarrow", "cli") from exc

    writer: Any = None
    rows = 0
    try:
        for df in batches:
            if writer is None:
                schema = pa.Schema.from_pandas(_objects_as_text(df), preserve_index=False)
                writer = pq.ParquetWriter(output, schema)
            writer.write_table(_parquet_table(df, writer.schema, rows))
            rows += len(df)
            yield df
    finally:
        if writer is not None:
            writer.close()


def _objects_as_text(df: pd.DataFrame) -> pd.DataFrame:
    """Return `df` with its object columns as the text the CSV shows for their values."""
    texts = {
        position: df.iloc[:, position].map(_text_or_none, na_action="ignore").astype("str")
        for position, dtype in enumerate(df.dtypes)
        if pd.api.types.is_object_dtype(dtype)
    }
    if not texts:
        return df
    df = df.copy(deep=False)
    for position, series in texts.items():
        df.isetitem(position, series.array)
    return df


def _text_or_none(value: Any) -> str | None:
    return None if is_missing(value) else format_cell(value)


def _parquet_table(df: pd.DataFrame, schema: Any, rows: int) -> Any:
    """Return a batch as an Arrow table of the file's `schema`, naming a column that differs."""
    import pyarrow as pa

    df = _objects_as_text(df)
    arrays = []
    for position, field in enumerate(schema):
        series = df.iloc[:, position]
        try:
            arrays.append(pa.Array.from_pandas(series, type=field.type))
        except (
            pa.ArrowInvalid,
            pa.ArrowTypeError,
            pa.ArrowNotImplementedError,
            OverflowError,
        ) as exc:
            raise StreamShapeError(
                f'Column "{field.name}" holds {field.type} values in the first rows but '
                f"{series.dtype} ones after row {rows} ({exc}): Parquet keeps one type per "
                "column; cast the column to one type in the query, or write CSV or JSON lines."
            ) from exc
    return pa.Table.from_arrays(arrays, schema=schema)


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
            ", ".join(_column_label(column) for column in info["columns"]),
        )
        for info in tables
    ]
    return build_table(("database", "schema", "name", "type", "columns"), rows)


def _column_label(column: Mapping[str, object]) -> str:
    """Return `name type`, or the bare name of a column with no declared type (a view's)."""
    declared = column.get("type")
    return f"{column['name']} {declared}" if declared else str(column["name"])
