"""The `toucan-connectors` command: list, schema, status, query, describe and discover."""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from toucan_connectors import registry
from toucan_connectors.cli.config import ConfigError, describe_validation_error, load_config
from toucan_connectors.cli.output import (
    STREAMED_FORMATS,
    OutputFormat,
    build_model_table,
    build_table,
    check_output_not_config,
    check_output_not_input,
    choose_format,
    print_table,
    replace_on_success,
    write_batches,
    write_frame,
)
from toucan_connectors.discovery import DiscoverableConnector
from toucan_connectors.errors import (
    InvalidConfigurationError,
    InvalidDataSourceError,
    MissingDependencyError,
    ToucanConnectorError,
    UnsupportedFeatureError,
)
from toucan_connectors.slicing import DataSlice

if TYPE_CHECKING:
    # The group is handed typer's plain click context, not the `typer.Context` subclass.
    from typer._click import Context as ClickContext

__all__ = ["app", "main"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

USER_ERROR = 2
PROVIDER_ERROR = 1
_USER_ERRORS = (
    InvalidConfigurationError,
    InvalidDataSourceError,
    MissingDependencyError,
    UnsupportedFeatureError,
    ValidationError,
)
_UNLIMITED_WIDTH = 10_000
_STATUS_WORDS = {True: "ok", False: "failed", None: "not reached"}
_EXTRA_MARKER = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass
class _State:
    debug: bool = False


class _ErrorReportingGroup(TyperGroup):
    """Turns any error raised by a command into one line on stderr and an exit code.

    User errors (config, data source, missing extra, unsupported option) and usage errors (an
    unknown command, a bad option value) exit with 2; provider failures and anything unexpected
    exit with 1. The traceback is shown only with --debug, which may also come after the command.
    """

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: ClickContext | None = None,
        **extra: Any,
    ) -> ClickContext:
        """Parse the group's own options, reporting a usage error in one line."""
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except UsageError as exc:
            _report_usage_error(exc)

    def parse_args(self, ctx: ClickContext, args: list[str]) -> list[str]:
        """Move a `--debug` given after the command in front of it, where the group reads it."""
        end = args.index("--") if "--" in args else len(args)
        if ctx.parent is None and "--debug" in args[:end]:
            kept = [arg for arg in args[:end] if arg != "--debug"]
            args = ["--debug", *kept, *args[end:]]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: ClickContext) -> Any:
        """Run the command, reporting its errors."""
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            _report_usage_error(exc)
        except BrokenPipeError:
            # The reader stopped early (`| head`): that is not an error. Point stdout at
            # /dev/null so that the interpreter's final flush does not fail again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(0) from None
        except Exception as exc:  # noqa: BLE001 - every error becomes one line and a code
            if isinstance(exc, typer.Exit | typer.Abort) or hasattr(exc, "exit_code"):
                # Exits and usage errors of typer (and of the click it wraps) report themselves.
                raise
            state = ctx.obj if isinstance(ctx.obj, _State) else _State()
            if state.debug:
                traceback.print_exception(exc, file=sys.stderr)
            typer.echo(f"Error: {_one_line(exc)}", err=True)
            raise typer.Exit(
                USER_ERROR if isinstance(exc, _USER_ERRORS) else PROVIDER_ERROR
            ) from exc


def _report_usage_error(exc: UsageError) -> NoReturn:
    """Print a usage error as one line with where to read the usage, and exit with 2."""
    if isinstance(exc, NoArgsIsHelpError):
        raise exc  # the help text itself, which typer prints
    message = " ".join(exc.format_message().split()).replace(": Value error, ", ": ")
    hint = f"; see `{exc.ctx.command_path} --help`" if exc.ctx is not None else ""
    typer.echo(f"Error: {message.rstrip('.')}{hint}.", err=True)
    raise typer.Exit(USER_ERROR)


app = typer.Typer(
    cls=_ErrorReportingGroup,
    name="toucan-connectors",
    help="Get DataFrames from any connector described in a YAML or JSON config file.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ConfigArgument = Annotated[
    Path, typer.Argument(metavar="CONFIG", help="YAML or JSON file with connectors, data_sources.")
]
FormatOption = Annotated[
    OutputFormat | None,
    typer.Option("--format", "-f", help="Output format (default: table, or the --output suffix)."),
]


@app.callback()
def _root(
    ctx: typer.Context,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            metavar="",  # shown as a bare flag rather than `<bool>`
            help="Log each step and show tracebacks on errors; before or after the command.",
        ),
    ] = False,
) -> None:
    ctx.obj = _State(debug=debug)
    if debug:
        _log_to_stderr(ctx)


@app.command("list")
def list_connectors() -> None:
    """List every registered connector: type key, label, extra and whether it is installed."""
    rows = [
        (type_key, entry.label, entry.extra, describe_extra(entry.extra))
        for type_key, entry in sorted(registry.CONNECTORS_REGISTRY.items())
    ]
    print_table(_stdout(), build_table(("type", "label", "extra", "installed"), rows))


@app.command()
def schema(
    type_key: Annotated[str, typer.Argument(metavar="TYPE", help="A type key from `list`.")],
) -> None:
    """Print the JSON schemas of a connector type and of its data source."""
    connector_class = registry.get_connector_class(type_key)
    schemas = {
        "connector": connector_class.model_json_schema(),
        "data_source": connector_class.data_source_model.model_json_schema(),
    }
    typer.echo(json.dumps(schemas, indent=2))


@app.command()
def status(
    config: ConfigArgument,
    connector_name: Annotated[str, typer.Argument(metavar="CONNECTOR_NAME")],
) -> None:
    """Check a connector step by step and print each check with its result."""
    connector = load_config(config).connector(connector_name)
    result = connector.get_status()

    rows = [(name, _STATUS_WORDS[passed]) for name, passed in result.details]
    if rows:
        print_table(_stdout(), build_table(("check", "result"), rows))
    if result.status is False:
        typer.echo(f"Error: {_one_line(result.error or 'a status check failed')}", err=True)
        raise typer.Exit(PROVIDER_ERROR)
    typer.echo(result.message or "")


@app.command()
def query(
    config: ConfigArgument,
    data_source_name: Annotated[
        str, typer.Argument(metavar="DATA_SOURCE_NAME", help="The data source's domain.")
    ],
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", "-p", help="NAME=VALUE added to the parameters; VALUE is JSON or text."
        ),
    ] = None,
    offset: Annotated[int, typer.Option(min=0, help="Rows to skip.")] = 0,
    limit: Annotated[int | None, typer.Option(min=0, help="Rows to return at most.")] = None,
    permissions: Annotated[
        str | None, typer.Option(help="A permission tree as JSON, applied to the rows.")
    ] = None,
    output_format: FormatOption = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here.")] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Rows per batch when streaming CSV, JSON or Parquet.")
    ] = 10_000,
) -> None:
    """Get a data source's DataFrame and print it or write it to a file."""
    chosen = choose_format(output_format, output, to_terminal=stdout_is_terminal())
    if output is not None:
        check_output_not_config(output, config)
    connector, data_source = load_config(config).data_source(data_source_name)
    if output is not None:
        owner = f'connector "{connector.name}"'
        check_output_not_input(output, connector.model_dump(mode="json"), owner)
    permission_tree = parse_permissions_option(permissions)
    if param:
        given = parse_parameters(param)
        for name in unused_parameters(data_source, given, permissions):
            typer.echo(
                f'Warning: --param "{name}" is not used by the templates of data source '
                f'"{data_source_name}" or of --permissions: check its name.',
                err=True,
            )
        parameters = {**(data_source.parameters or {}), **given}
        data_source = data_source.model_copy(update={"parameters": parameters})

    with replace_on_success(output) as temporary:
        rows = _fetch_and_write(
            connector, data_source, permission_tree, chosen, temporary, offset, limit, batch_size
        )
    if output is not None:
        typer.echo(f"Wrote {rows} rows to {output}", err=True)


def _fetch_and_write(
    connector: Any,
    data_source: Any,
    permission_tree: dict[str, Any] | None,
    chosen: OutputFormat,
    output: Path | None,
    offset: int,
    limit: int | None,
    batch_size: int,
) -> int:
    """Stream, slice or fetch the rows, print them or write them to `output`; count them."""
    if not (offset or limit is not None) and _can_stream(connector, chosen):
        logger.debug(
            "Streaming data source %r in batches of %d rows", data_source.domain, batch_size
        )
        started = time.perf_counter()
        batches = connector.iter_batches(data_source, permission_tree, batch_size)
        rows = _stream_with_progress(batches, chosen, output)
        logger.info(
            "Data source %r returned %d rows in %.3fs",
            data_source.domain,
            rows,
            time.perf_counter() - started,
        )
        return rows

    if offset or limit is not None:
        page: DataSlice = _with_progress(
            lambda: connector.get_slice(
                data_source, permission_tree, offset, limit, get_row_count=True
            ),
            lambda result: len(result.df),
        )
        df, caption = page.df, _slice_caption(page)
    else:
        df = _with_progress(lambda: connector.get_df(data_source, permission_tree), len)
        caption = f"{len(df)} rows"

    write_frame(df, chosen, _stdout(), output, caption)
    return len(df)


@app.command()
def describe(
    config: ConfigArgument,
    data_source_name: Annotated[str, typer.Argument(metavar="DATA_SOURCE_NAME")],
    output_format: FormatOption = None,
) -> None:
    """Print the columns of a data source's result with their types."""
    _refuse_format("describe", output_format)
    connector, data_source = load_config(config).data_source(data_source_name)
    columns = connector.describe(data_source)
    if output_format is OutputFormat.json:
        typer.echo(json.dumps(columns, indent=2))
    else:
        print_table(_stdout(), build_table(("column", "type"), list(columns.items())))


@app.command()
def discover(
    config: ConfigArgument,
    connector_name: Annotated[str, typer.Argument(metavar="CONNECTOR_NAME")],
    database: Annotated[str | None, typer.Option(help="Only this database.")] = None,
    schema_name: Annotated[str | None, typer.Option("--schema", help="Only this schema.")] = None,
    table: Annotated[str | None, typer.Option(help="Only this table.")] = None,
    no_columns: Annotated[bool, typer.Option("--no-columns", help="Skip the columns.")] = False,
    output_format: FormatOption = None,
) -> None:
    """List the tables, views or collections a connector reaches (its `get_model`)."""
    _refuse_format("discover", output_format)
    connector = load_config(config).connector(connector_name)
    if not isinstance(connector, DiscoverableConnector):
        raise UnsupportedFeatureError(
            f'The "{connector.type or type(connector).__name__}" connector cannot list its '
            "tables: see the Limitations section of its doc page."
        )
    tables = connector.get_model(database, schema_name, table, exclude_columns=no_columns)
    if output_format is OutputFormat.json:
        typer.echo(json.dumps(tables, indent=2))
    else:
        print_table(_stdout(), build_model_table(tables))


def _refuse_format(command: str, output_format: OutputFormat | None) -> None:
    if output_format not in (None, OutputFormat.table, OutputFormat.json):
        raise ConfigError(
            f"`{command}` cannot print --format {output_format.value}: use table or json."
        )


def main() -> None:
    """Run the command line (the `toucan-connectors` console script)."""
    app(prog_name="toucan-connectors")


def unused_parameters(
    data_source: Any, given: dict[str, Any], permissions: str | None
) -> list[str]:
    """Return the names in `given` that no template of the data source or permissions uses."""
    fields = data_source.model_dump(mode="json", exclude={"parameters"})
    text = json.dumps(fields) + (permissions or "")
    return [
        name
        for name in given
        if not re.search(rf"\{{[{{%][^}}]*\b{re.escape(name)}\b|%\({re.escape(name)}\)s", text)
    ]


def parse_parameters(items: list[str]) -> dict[str, Any]:
    """Turn `NAME=VALUE` items into parameters; a VALUE that is valid JSON is decoded."""
    parameters: dict[str, Any] = {}
    for item in items:
        name, equals, text = item.partition("=")
        if not equals or not name.strip():
            raise ConfigError(f'--param "{item}" is not NAME=VALUE: write it as --param year=2015.')
        try:
            parameters[name.strip()] = json.loads(
                text, parse_constant=_refuse_constant, parse_float=_finite_float
            )
        except _NotAValueError as exc:
            raise ConfigError(
                f'--param "{item}": {exc} is not a valid value; give a number or quote it '
                f"as text ({name.strip()}='\"{exc}\"')."
            ) from None
        except ValueError:
            parameters[name.strip()] = text
    return parameters


class _NotAValueError(Exception):
    """A JSON constant (NaN, Infinity) that a parameter cannot hold."""


def _refuse_constant(name: str) -> Any:
    raise _NotAValueError(name)


def _finite_float(text: str) -> float:
    """Decode a JSON number, refusing one too large for a float (`1e400`) as NaN is refused."""
    value = float(text)
    if not math.isfinite(value):
        raise _NotAValueError(text)
    return value


def parse_permissions_option(text: str | None) -> dict[str, Any] | None:
    """Decode the --permissions JSON, which must be an object."""
    if text is None:
        return None
    try:
        tree = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"--permissions is not valid JSON ({exc.args[0]}): quote it.") from exc
    if not isinstance(tree, dict):
        raise ConfigError(
            '--permissions must be a JSON object, e.g. {"column": "a", "operator": "eq", '
            '"value": 1}.'
        )
    return tree


def describe_extra(extra: str) -> str:
    """Return "yes" when every module the extra installs imports, "no", or "unknown".

    "unknown" means the package has no metadata or its metadata does not know the extra (a
    connector added since the last install). Extra names are compared normalised, so `http_api`
    matches the `http-api` that packaging tools record.
    """
    try:
        requirements = metadata.requires("toucan-connectors") or []
        provided = metadata.metadata("toucan-connectors").get_all("Provides-Extra") or []
    except metadata.PackageNotFoundError:
        return "unknown"
    wanted = _normalised(extra)
    if wanted not in {_normalised(name) for name in provided}:
        return "unknown"

    modules = distribution_modules()
    for requirement in requirements:
        marker = _EXTRA_MARKER.search(requirement)
        name = _REQUIREMENT_NAME.match(requirement)
        if marker is None or _normalised(marker.group(1)) != wanted or name is None:
            continue
        names = modules.get(_normalised(name.group(1)))
        if not names or not all(_importable(module) for module in names):
            return "no"
    return "yes"


def distribution_modules() -> dict[str, list[str]]:
    """Map each installed distribution's normalised name to the top-level modules it provides."""
    modules: dict[str, list[str]] = {}
    for module, distributions in metadata.packages_distributions().items():
        for distribution in distributions:
            modules.setdefault(_normalised(distribution), []).append(module)
    return modules


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def stdout_is_terminal() -> bool:
    """Tell whether stdout is an interactive terminal, where binary output is refused."""
    return sys.stdout.isatty()


def stderr_is_terminal() -> bool:
    """Tell whether stderr is an interactive terminal, where progress is worth showing."""
    return sys.stderr.isatty()


def _with_progress(fetch: Callable[[], T], count_rows: Callable[[T], int]) -> T:
    if not stderr_is_terminal():
        return fetch()

    console = Console(stderr=True)
    started = time.perf_counter()
    columns = (SpinnerColumn(), TextColumn("Fetching rows"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        progress.add_task("fetch", total=None)
        result = fetch()
    elapsed = time.perf_counter() - started
    console.print(f"Fetched {count_rows(result)} rows in {elapsed:.1f}s", highlight=False)
    return result


def _can_stream(connector: Any, chosen: OutputFormat) -> bool:
    return chosen in STREAMED_FORMATS and callable(getattr(connector, "iter_batches", None))


def _stream_with_progress(batches: Iterable[Any], chosen: OutputFormat, output: Path | None) -> int:
    """Write the batches as they come, with rows fetched and throughput on a terminal."""
    if not stderr_is_terminal():
        return write_batches(batches, chosen, _stdout(), output)

    console = Console(stderr=True)
    started = time.perf_counter()
    columns = (
        SpinnerColumn(),
        TextColumn("Fetched {task.completed:,.0f} rows"),
        TextColumn("{task.fields[rate]:,.0f} rows/s"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("stream", total=None, rate=0.0)
        fetched = 0

        def advance(count: int) -> None:
            nonlocal fetched
            fetched += count
            rate = fetched / max(time.perf_counter() - started, 1e-9)
            progress.update(task, advance=count, rate=rate)

        rows = write_batches(batches, chosen, _stdout(), output, advance)

    elapsed = time.perf_counter() - started
    rate = rows / elapsed if elapsed else 0.0
    console.print(f"Fetched {rows} rows in {elapsed:.1f}s ({rate:,.0f} rows/s)", highlight=False)
    return rows


def _slice_caption(page: DataSlice) -> str:
    info = page.pagination_info
    first = info.parameters.offset + 1
    last = info.parameters.offset + len(page.df)
    total = "?" if info.total_rows is None else str(info.total_rows)
    if not len(page.df):
        return f"0 rows (of {total})"
    return f"rows {first}-{last} of {total}"


def _stdout() -> Console:
    # A pipe or a file gets tables at their natural width rather than squeezed into 80 columns.
    piped = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(highlight=False, soft_wrap=False, width=_UNLIMITED_WIDTH if piped else None)


def _one_line(exc: BaseException | str) -> str:
    if isinstance(exc, ValidationError):
        return f"invalid value: {describe_validation_error(exc)}."
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    if isinstance(exc, BaseException) and not isinstance(exc, ToucanConnectorError):
        return f"{type(exc).__name__}: {text} (rerun with --debug for the traceback)"
    return text or type(exc).__name__


def _log_to_stderr(ctx: typer.Context) -> None:
    package_logger = logging.getLogger("toucan_connectors")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    previous_level = package_logger.level
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.DEBUG)

    def _restore() -> None:
        package_logger.removeHandler(handler)
        package_logger.setLevel(previous_level)

    ctx.call_on_close(_restore)
