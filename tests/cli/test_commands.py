"""The commands of `toucan-connectors`, with their exact output."""

from __future__ import annotations

import importlib.util
import io
import json
from importlib.machinery import ModuleSpec
from pathlib import Path

import pandas as pd
import pytest
from cli_support import Cli, TinyConnector, TinyDataSource
from rich.console import Console

from toucan_connectors.cli import main as cli_main
from toucan_connectors.cli.output import OutputFormat, build_table, print_table, write_frame

pytestmark = pytest.mark.usefixtures("tiny_registry")


def test_list_shows_every_entry_with_its_extra(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_main, "describe_extra", lambda extra: {"tiny": "yes"}.get(extra, "no"))

    result = cli("list")

    assert (result.exit_code, result.stdout) == (
        0,
        "type     label          extra    installed\n"
        "──────────────────────────────────────────\n"
        "Broken   Broken         broken   no\n"
        "Plain    Plain cities   plain    no\n"
        "Tiny     Tiny cities    tiny     yes\n",
    )


def test_installed_needs_every_module_of_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name == "jq" else real_find_spec(name, package)

    before = (cli_main.describe_extra("http_api"), cli_main.describe_extra("cli"))
    monkeypatch.setattr(importlib.util, "find_spec", find_spec)

    assert (before, cli_main.describe_extra("http_api"), cli_main.describe_extra("cli")) == (
        ("yes", "yes"),
        "no",
        "yes",
    )


def test_installed_is_no_when_a_distribution_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = cli_main.distribution_modules()
    del installed["xmltodict"]
    monkeypatch.setattr(cli_main, "distribution_modules", lambda: installed)

    assert (cli_main.describe_extra("http_api"), cli_main.describe_extra("mongo")) == (
        "no",
        "yes",
    )


def test_installed_is_unknown_for_an_extra_the_metadata_lacks() -> None:
    assert cli_main.describe_extra("tiny") == "unknown"


def test_schema_prints_connector_and_data_source_schemas(cli: Cli) -> None:
    result = cli("schema", "Tiny")

    assert json.loads(result.stdout) == {
        "connector": TinyConnector.model_json_schema(),
        "data_source": TinyDataSource.model_json_schema(),
    }


def test_schema_names_the_data_source_fields(cli: Cli) -> None:
    result = cli("schema", "Tiny")

    properties = json.loads(result.stdout)["data_source"]["properties"]
    assert properties["country"] == {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "default": None,
        "description": "Keep only this country.",
        "title": "Country",
    }


def test_status_prints_each_check(cli: Cli, config_file: Path) -> None:
    result = cli("status", config_file, "cities")

    assert (result.exit_code, result.stdout) == (
        0,
        "check           result\n"
        "──────────────────────\n"
        "Host resolved   ok\n"
        "Port opened     ok\n"
        "Connector is reachable.\n",
    )


def test_failed_status_exits_1_with_the_reason(cli: Cli, config_file: Path) -> None:
    result = cli("status", config_file, "down")

    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "check           result\n"
        "──────────────────────\n"
        "Host resolved   ok\n"
        "Port opened     failed\n",
        "Error: Port 1 on down is not open: check the port.\n",
    )


def test_status_without_checks_says_so(cli: Cli, config_file: Path) -> None:
    result = cli("status", config_file, "plain")

    assert (result.exit_code, result.stdout) == (0, "This connector has no status checks.\n")


def test_query_prints_a_table_with_templated_parameter(cli: Cli, config_file: Path) -> None:
    result = cli("query", config_file, "french_cities")

    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "city    country   pop       area    since\n"
        "──────────────────────────────────────────────\n"
        "Paris   FR        2102650   105.4   2024-01-01\n"
        "Lyon    FR        522250    47.87   2024-02-15\n"
        "2 rows\n",
        "",
    )


def test_query_param_overrides_the_config(cli: Cli, config_file: Path) -> None:
    result = cli("query", config_file, "french_cities", "--param", "country=BE", "-f", "csv")

    assert result.stdout == "city,country,pop,area,since\nGhent,BE,265086,,\n"


def test_query_applies_permissions(cli: Cli, config_file: Path) -> None:
    permissions = '{"column": "pop", "operator": "ge", "value": "{{ floor }}"}'

    result = cli(
        "query", config_file, "all_cities", "-p", "floor=500000", "--permissions", permissions,
        "--format", "csv",
    )  # fmt: skip

    assert result.stdout == (
        "city,country,pop,area,since\n"
        "Paris,FR,2102650,105.4,2024-01-01\n"
        "Lyon,FR,522250,47.87,2024-02-15\n"
    )


def test_query_slice_shows_its_place_in_the_result(cli: Cli, config_file: Path) -> None:
    result = cli("query", config_file, "all_cities", "--offset", "1", "--limit", "2")

    assert result.stdout == (
        "city    country   pop      area    since\n"
        "─────────────────────────────────────────────\n"
        "Lyon    FR        522250   47.87   2024-02-15\n"
        "Ghent   BE        265086   ∅       ∅\n"
        "rows 2-3 of 3\n"
    )


def test_query_prints_json_records(cli: Cli, config_file: Path) -> None:
    result = cli("query", config_file, "all_cities", "--limit", "1", "--format", "json")

    assert result.stdout == (
        '[{"city":"Paris","country":"FR","pop":2102650,"area":105.4,'
        '"since":"2024-01-01T00:00:00.000"}]\n'
    )


@pytest.mark.parametrize("suffix", ["csv", "json", "parquet"])
def test_query_output_format_follows_the_suffix(
    cli: Cli, config_file: Path, tmp_path: Path, suffix: str
) -> None:
    target = tmp_path / f"cities.{suffix}"

    result = cli("query", config_file, "all_cities", "--output", target)

    read = {"csv": pd.read_csv, "json": pd.read_json, "parquet": pd.read_parquet}[suffix]
    assert (result.exit_code, result.stderr, read(target)["city"].tolist()) == (
        0,
        f"Wrote 3 rows to {target}\n",
        ["Paris", "Lyon", "Ghent"],
    )


def test_describe_lists_columns_and_types(cli: Cli, config_file: Path) -> None:
    result = cli("describe", config_file, "all_cities")

    assert result.stdout == (
        "column    type\n"
        "────────────────────────\n"
        "city      str\n"
        "country   str\n"
        "pop       int64\n"
        "area      float64\n"
        "since     datetime64[us]\n"
    )


def test_discover_lists_tables(cli: Cli, config_file: Path) -> None:
    result = cli("discover", config_file, "cities", "--table", "cities")

    assert result.stdout == (
        "database   schema   name     type    columns\n"
        "──────────────────────────────────────────────\n"
        "main       ∅        cities   table   city TEXT\n"
    )


def test_discover_prints_json(cli: Cli, config_file: Path) -> None:
    result = cli("discover", config_file, "cities", "--no-columns", "--table", "big", "-f", "json")

    assert json.loads(result.stdout) == [
        {"database": "main", "schema": None, "type": "view", "name": "big", "columns": []}
    ]


def test_environment_variables_fill_the_config(cli: Cli, config_file: Path) -> None:
    result = cli("status", config_file, "cities", env={"TINY_HOST": "down"})

    assert (result.exit_code, result.stderr) == (
        1,
        "Error: Port 1 on down is not open: check the port.\n",
    )


def test_progress_is_reported_on_a_terminal(
    cli: Cli, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_main, "stderr_is_terminal", lambda: True)

    result = cli("query", config_file, "all_cities", "-f", "csv")

    assert result.stderr.splitlines()[-1].startswith("Fetched 3 rows in ")


def test_debug_logs_the_retrieval(cli: Cli, config_file: Path) -> None:
    result = cli("--debug", "query", config_file, "all_cities", "-f", "csv")

    assert "INFO toucan_connectors.toucan_connector: Data source 'all_cities' returned 3 rows" in (
        result.stderr
    )


def test_query_warns_about_a_param_no_template_uses(cli: Cli, config_file: Path) -> None:
    result = cli("query", config_file, "french_cities", "-p", "nosuchparam=3", "-f", "csv")

    assert (result.exit_code, result.stderr) == (
        0,
        'Warning: --param "nosuchparam" is not used by the templates of data source '
        '"french_cities" or of --permissions: check its name.\n',
    )


def test_query_does_not_warn_about_a_param_the_permissions_use(cli: Cli, config_file: Path) -> None:
    permissions = '{"column": "pop", "operator": "ge", "value": "{{ floor }}"}'

    result = cli(
        "query", config_file, "all_cities", "-p", "floor=1", "--permissions", permissions,
        "-f", "csv",
    )  # fmt: skip

    assert (result.exit_code, result.stderr) == (0, "")


def test_row_count_stays_on_one_line_under_a_narrow_table() -> None:
    console = Console(file=io.StringIO(), width=100)

    write_frame(pd.DataFrame({"a": [1, 2]}), OutputFormat.table, console, caption="2 rows")

    assert console.file.getvalue() == "a\n─\n1\n2\n2 rows\n"


def test_missing_values_show_a_dimmed_symbol_unlike_the_text_null() -> None:
    console = Console(file=io.StringIO(), width=100, force_terminal=True, color_system="standard")

    print_table(console, build_table(["v"], [["null"], [None]]))

    assert console.file.getvalue() == "\x1b[1mv   \x1b[0m\n────\nnull\n\x1b[2m∅   \x1b[0m\n"


def test_help_shows_debug_as_a_flag(cli: Cli) -> None:
    result = cli("--help")

    debug_lines = [line for line in result.stdout.splitlines() if "--debug" in line]
    assert debug_lines == [
        "│ --debug                Log each step and show tracebacks on errors; before or after "
        "the command. │"
    ]
