"""Every bad input ends in one line on stderr and the right exit code, without a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cli_support import Cli

from toucan_connectors.cli import main as cli_main

pytestmark = pytest.mark.usefixtures("tiny_registry")


def run_with_config(cli: Cli, tmp_path: Path, name: str, text: str, *args: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return cli(*[arg.replace("CONFIG", str(path)) for arg in args]), path


def test_missing_file(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"

    result = cli("query", missing, "x")

    assert (result.exit_code, result.stderr) == (
        2,
        f'Error: Config file "{missing}" does not exist.\n',
    )


def test_unknown_data_source(cli: Cli, config_file: Path) -> None:
    result = cli("query", config_file, "nope")

    assert (result.exit_code, result.stderr) == (
        2,
        f'Error: No data source with domain "nope" in {config_file}: '
        "use one of french_cities, all_cities, plain_cities.\n",
    )


def test_unknown_connector(cli: Cli, config_file: Path) -> None:
    result = cli("status", config_file, "nope")

    assert (result.exit_code, result.stderr) == (
        2,
        f'Error: No connector named "nope" in {config_file}: use one of cities, down, plain.\n',
    )


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        pytest.param(
            "bad.yaml",
            "connectors:\n  - name: [unclosed\n",
            " is not valid YAML (line 3, column 1): expected ',' or ']', but got '<stream end>'.",
            id="yaml",
        ),
        pytest.param(
            "bad.json",
            '{"connectors": [}',
            " is not valid JSON (line 1, column 17): Expecting value.",
            id="json",
        ),
        pytest.param(
            "list.yaml",
            "- a\n- b\n",
            ' must hold a mapping with "connectors" and "data_sources" lists.',
            id="not-a-mapping",
        ),
        pytest.param(
            "scalar.yaml",
            "connectors: 3\n",
            ': "connectors" must be a list of mappings.',
            id="connectors-not-a-list",
        ),
        pytest.param(
            "mapping.yaml",
            "connectors: {}\n",
            ': "connectors" must be a list of mappings.',
            id="connectors-an-empty-mapping",
        ),
        pytest.param(
            "name.yaml",
            "connectors:\n  - name: [a]\n",
            ': connectors[0].name must be a string, not list ["a"].',
            id="name-not-a-string",
        ),
        pytest.param(
            "domain.yaml",
            "data_sources:\n  - {domain: 2020, name: c}\n",
            ": data_sources[0].domain must be a string, not int 2020.",
            id="domain-not-a-string",
        ),
        pytest.param(
            "twice.yaml",
            "connectors:\n  - name: a\n    type: Tiny\n    name: b\n",
            ' is not valid YAML (line 4, column 5): the key "name" is given twice; keep one.',
            id="duplicate-key",
        ),
    ],
)
def test_malformed_config(cli: Cli, tmp_path: Path, name: str, text: str, message: str) -> None:
    result, path = run_with_config(cli, tmp_path, name, text, "status", "CONFIG", "x")

    assert (result.exit_code, result.stderr) == (2, f'Error: Config file "{path}"{message}\n')


def test_invalid_connector_field(cli: Cli, tmp_path: Path) -> None:
    text = "connectors:\n  - name: c\n    type: Tiny\n    hots: x\n"

    result, path = run_with_config(cli, tmp_path, "c.yaml", text, "status", "CONFIG", "c")

    assert (result.exit_code, result.stderr) == (
        2,
        f'Error: Connector "c" (Tiny) in {path} is invalid: host: Field required; '
        "hots: Extra inputs are not permitted.\n",
    )


def test_invalid_data_source_field(cli: Cli, tmp_path: Path) -> None:
    text = (
        "connectors:\n  - {name: c, type: Tiny, host: h}\n"
        "data_sources:\n  - {domain: d, name: c, behaviour: [1]}\n"
    )

    result, path = run_with_config(cli, tmp_path, "c.yaml", text, "query", "CONFIG", "d")

    assert (result.exit_code, result.stderr) == (
        2,
        f'Error: Data source "d" in {path} is invalid: behaviour: Input should be a valid '
        "string.\n",
    )


def test_unknown_type(cli: Cli, tmp_path: Path) -> None:
    text = "connectors:\n  - {name: c, type: Nope}\n"

    result, _ = run_with_config(cli, tmp_path, "c.yaml", text, "status", "CONFIG", "c")

    assert (result.exit_code, result.stderr) == (
        2,
        'Error: Unknown connector type "Nope": use one of Broken, Plain, Tiny.\n',
    )


def test_unknown_type_in_schema(cli: Cli) -> None:
    result = cli("schema", "Nope")

    assert (result.exit_code, result.stderr) == (
        2,
        'Error: Unknown connector type "Nope": use one of Broken, Plain, Tiny.\n',
    )


def test_missing_type(cli: Cli, tmp_path: Path) -> None:
    text = "connectors:\n  - {name: c}\n"

    result, path = run_with_config(cli, tmp_path, "c.yaml", text, "status", "CONFIG", "c")

    assert (result.exit_code, result.stderr) == (
        2,
        f'Error: Connector "c" in {path} has no "type": set it to a type key listed by '
        "`toucan-connectors list`.\n",
    )


def test_missing_extra_of_a_connector_module(cli: Cli) -> None:
    result = cli("schema", "Broken")

    assert (result.exit_code, result.stderr) == (
        2,
        'Error: The "Broken" connector needs the "toucan_connectors.cli_test_not_written" '
        'package; install it with `pip install "toucan-connectors[broken]"`.\n',
    )


def test_missing_driver_at_query_time(cli: Cli, tmp_path: Path) -> None:
    text = (
        "connectors:\n  - {name: c, type: Tiny, host: h}\n"
        "data_sources:\n  - {domain: d, name: c, behaviour: needs-driver}\n"
    )

    result, _ = run_with_config(cli, tmp_path, "c.yaml", text, "query", "CONFIG", "d")

    assert (result.exit_code, result.stderr) == (
        2,
        'Error: The "Tiny" connector needs the "tiny_missing_driver" package; '
        'install it with `pip install "toucan-connectors[tiny]"`.\n',
    )


def test_unset_environment_variable(cli: Cli, tmp_path: Path) -> None:
    text = "connectors:\n  - {name: c, type: Tiny, host: h, password: '${TINY_SECRET}'}\n"

    result, path = run_with_config(cli, tmp_path, "c.yaml", text, "status", "CONFIG", "c")

    assert (result.exit_code, result.stderr) == (
        2,
        f'Error: Config file "{path}" uses the environment variable "TINY_SECRET" (at '
        "connectors[0].password), which is not set: export TINY_SECRET or write "
        "${TINY_SECRET:-default}.\n",
    )


def test_template_variable_not_given(cli: Cli, tmp_path: Path) -> None:
    text = (
        "connectors:\n  - {name: c, type: Tiny, host: h}\n"
        "data_sources:\n  - {domain: d, name: c, country: '{{ region }}'}\n"
    )

    result, _ = run_with_config(cli, tmp_path, "c.yaml", text, "query", "CONFIG", "d")

    assert (result.exit_code, result.stderr) == (
        2,
        'Error: Data source "d" of connector "c" (Tiny): Template \'{{ region }}\' uses '
        '"region", which is not defined: add "region" to the data source\'s "parameters".\n',
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--param", "country"],
            '--param "country" is not NAME=VALUE: write it as --param year=2015.',
            id="param-without-equals",
        ),
        pytest.param(
            ["--param", "pop=NaN"],
            '--param "pop=NaN": NaN is not a valid value; give a number or quote it as text '
            """(pop='"NaN"').""",
            id="param-nan",
        ),
        pytest.param(
            ["--param", "pop=-Infinity"],
            '--param "pop=-Infinity": -Infinity is not a valid value; give a number or quote it '
            """as text (pop='"-Infinity"').""",
            id="param-infinity",
        ),
        pytest.param(
            ["--param", "pop=1e400"],
            '--param "pop=1e400": 1e400 is not a valid value; give a number or quote it as text '
            """(pop='"1e400"').""",
            id="param-overflows-to-infinity",
        ),
        pytest.param(
            ["--param", "pop=[1, -1e999]"],
            '--param "pop=[1, -1e999]": -1e999 is not a valid value; give a number or quote it '
            """as text (pop='"-1e999"').""",
            id="param-nested-overflow",
        ),
        pytest.param(
            ["--permissions", "{bad"],
            "--permissions is not valid JSON (Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)): quote it.",
            id="permissions-not-json",
        ),
        pytest.param(
            ["--offset", "-1"],
            "Invalid value for '--offset': Input should be greater than or equal to 0; "
            "see `toucan-connectors query --help`.",
            id="offset-negative",
        ),
        pytest.param(
            ["--offset", "abc"],
            "Invalid value for '--offset': Input should be a valid integer, unable to parse "
            "string as an integer; see `toucan-connectors query --help`.",
            id="offset-not-a-number",
        ),
        pytest.param(
            ["--limit", "-3"],
            "Invalid value for '--limit': Input should be greater than or equal to 0; "
            "see `toucan-connectors query --help`.",
            id="limit-negative",
        ),
        pytest.param(
            ["--format", "xml"],
            "Invalid value for '--format' / '-f': 'xml' is not one of 'table', 'csv', 'json', "
            "'jsonl', 'parquet'; see `toucan-connectors query --help`.",
            id="format-unknown",
        ),
        pytest.param(
            ["--batch-size", "0"],
            "Invalid value for '--batch-size': Input should be greater than or equal to 1; "
            "see `toucan-connectors query --help`.",
            id="batch-size-zero",
        ),
        pytest.param(
            ["--bogus"],
            "No such option: --bogus; see `toucan-connectors query --help`.",
            id="unknown-option",
        ),
        pytest.param(
            ["--permissions", "[1]"],
            '--permissions must be a JSON object, e.g. {"column": "a", "operator": "eq", '
            '"value": 1}.',
            id="permissions-not-an-object",
        ),
        pytest.param(
            ["--permissions", '{"column": "pop", "operator": "near", "value": 1}'],
            'Data source "all_cities" of connector "cities" (Tiny): '
            "Invalid permission {'column': 'pop', 'operator': 'near', 'value': 1}: operator "
            '"near" is not one of eq, ne, lt, le, gt, ge, in, nin, matches, notmatches, isnull, '
            "notnull.",
            id="unknown-operator",
        ),
    ],
)
def test_bad_query_option(cli: Cli, config_file: Path, args: list[str], message: str) -> None:
    result = cli("query", config_file, "all_cities", *args)

    assert (result.exit_code, result.stderr) == (2, f"Error: {message}\n")


def test_table_to_a_file_is_refused(cli: Cli, config_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "cities.txt"

    result = cli("query", config_file, "all_cities", "--output", target)

    assert (result.exit_code, result.stderr) == (
        2,
        f'Error: Cannot write a table to "{target}": give --format csv, json, jsonl or parquet '
        "(or a file name ending in one of them).\n",
    )


def test_discover_on_a_connector_without_it(cli: Cli, config_file: Path) -> None:
    result = cli("discover", config_file, "plain")

    assert (result.exit_code, result.stderr) == (
        2,
        'Error: The "Plain" connector cannot list its tables: see the Limitations section of '
        "its doc page.\n",
    )


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        pytest.param(
            "provider-error",
            'Tiny answered "no such table cities": check the table name.',
            id="provider-error",
        ),
        pytest.param(
            "connection-error", "Cannot reach h: check that it is running.", id="connection-error"
        ),
        pytest.param(
            "crash",
            "RuntimeError: driver exploded with a second line (rerun with --debug for the "
            "traceback)",
            id="unexpected",
        ),
    ],
)
def test_provider_failure_exits_1(cli: Cli, tmp_path: Path, behaviour: str, message: str) -> None:
    text = (
        "connectors:\n  - {name: c, type: Tiny, host: h}\n"
        f"data_sources:\n  - {{domain: d, name: c, behaviour: {behaviour}}}\n"
    )

    result, _ = run_with_config(cli, tmp_path, "c.yaml", text, "query", "CONFIG", "d")

    assert (result.exit_code, result.stderr) == (1, f"Error: {message}\n")


def test_debug_shows_the_traceback(cli: Cli, tmp_path: Path) -> None:
    text = (
        "connectors:\n  - {name: c, type: Tiny, host: h}\n"
        "data_sources:\n  - {domain: d, name: c, behaviour: crash}\n"
    )

    result, _ = run_with_config(cli, tmp_path, "c.yaml", text, "--debug", "query", "CONFIG", "d")

    assert (result.exit_code, result.stderr.startswith("Traceback (most recent call last):")) == (
        1,
        True,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["query"],
            "Missing argument 'CONFIG'; see `toucan-connectors query --help`.",
            id="missing-argument",
        ),
        pytest.param(
            ["nope"],
            "No such command 'nope'; see `toucan-connectors --help`.",
            id="unknown-command",
        ),
        pytest.param(
            ["--bogus", "list"],
            "No such option: --bogus; see `toucan-connectors --help`.",
            id="unknown-root-option",
        ),
        pytest.param(
            ["list", "extra"],
            "Got unexpected extra argument(s) (extra); see `toucan-connectors list --help`.",
            id="extra-argument",
        ),
    ],
)
def test_usage_error_is_one_line(cli: Cli, args: list[str], message: str) -> None:
    result = cli(*args)

    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"Error: {message}\n")


def test_no_arguments_still_show_the_help(cli: Cli) -> None:
    result = cli()

    assert (result.exit_code, "Usage: toucan-connectors [OPTIONS] COMMAND" in result.output) == (
        2,
        True,
    )


def test_output_in_a_missing_folder_is_an_input_error(cli: Cli, config_file: Path) -> None:
    target = Path("/nonexistent/dir/x.csv")

    result = cli("query", config_file, "all_cities", "--output", target)

    assert (result.exit_code, result.stderr) == (
        2,
        'Error: Cannot write to "/nonexistent/dir/x.csv": the folder "/nonexistent/dir" does not '
        "exist; create it or choose another path.\n",
    )


def test_output_that_is_a_folder_is_an_input_error(
    cli: Cli, config_file: Path, tmp_path: Path
) -> None:
    result = cli("query", config_file, "all_cities", "--format", "csv", "--output", tmp_path)

    assert (result.exit_code, result.stderr) == (
        2,
        f'Error: Cannot write to "{tmp_path}": it is a folder, give a file name.\n',
    )


@pytest.mark.parametrize(
    ("key", "text", "message"),
    [
        pytest.param(
            "connectors",
            "connectors:\n  - {name: c, type: Tiny, host: a}\n  - {name: c, type: Tiny, host: b}\n",
            'two connectors named "c"',
            id="connector-names",
        ),
        pytest.param(
            "data_sources",
            "connectors:\n  - {name: c, type: Tiny, host: a}\n"
            "data_sources:\n  - {domain: d, name: c}\n  - {domain: d, name: c, country: FR}\n",
            'two data sources with domain "d"',
            id="data-source-domains",
        ),
    ],
)
def test_duplicates_make_a_config_ambiguous(
    cli: Cli, tmp_path: Path, key: str, text: str, message: str
) -> None:
    result, path = run_with_config(cli, tmp_path, "c.yaml", text, "query", "CONFIG", "d")

    assert (result.exit_code, result.stderr) == (
        2,
        f'Error: Config file "{path}" is ambiguous: {message}; rename one.\n',
    )


@pytest.mark.parametrize(
    ("command", "message"),
    [
        pytest.param(
            "status", 'No connector named "d" in PATH: its "connectors" list is empty.', id="c"
        ),
        pytest.param(
            "query",
            'No data source with domain "d" in PATH: its "data_sources" list is empty.',
            id="ds",
        ),
    ],
)
def test_empty_lists_say_so(cli: Cli, tmp_path: Path, command: str, message: str) -> None:
    result, path = run_with_config(
        cli, tmp_path, "c.yaml", "connectors: []\n", command, "CONFIG", "d"
    )

    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: {message.replace('PATH', str(path))}\n",
    )


def test_permission_on_a_missing_column_is_an_input_error(cli: Cli, config_file: Path) -> None:
    permissions = '{"column": "nope", "operator": "eq", "value": 1}'

    result = cli("query", config_file, "all_cities", "--permissions", permissions)

    assert (result.exit_code, result.stderr) == (
        2,
        'Error: Data source "all_cities" of connector "cities" (Tiny): Permission column "nope" '
        "is not in the result: use one of city, country, pop, area, since.\n",
    )


def test_permission_with_an_invalid_regex_is_an_input_error(cli: Cli, config_file: Path) -> None:
    permissions = '{"column": "city", "operator": "matches", "value": "(["}'

    result = cli("query", config_file, "all_cities", "--permissions", permissions)

    assert (result.exit_code, result.stderr) == (
        2,
        'Error: Data source "all_cities" of connector "cities" (Tiny): '
        "Invalid permission {'column': 'city', 'operator': 'matches', 'value': '(['}: its "
        "regular expression does not compile (unterminated character set at position 1).\n",
    )


def test_debug_after_the_command_shows_the_traceback(cli: Cli, tmp_path: Path) -> None:
    text = (
        "connectors:\n  - {name: c, type: Tiny, host: h}\n"
        "data_sources:\n  - {domain: d, name: c, behaviour: crash}\n"
    )

    result, _ = run_with_config(cli, tmp_path, "c.yaml", text, "query", "CONFIG", "d", "--debug")

    assert (result.exit_code, result.stderr.startswith("Traceback (most recent call last):")) == (
        1,
        True,
    )


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "sliced"])
def test_missing_parquet_writer_names_the_extra(
    cli: Cli, config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, streamed: bool
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    slicing = [] if streamed else ["--limit", "2"]

    result = cli("query", config_file, "all_cities", "-o", tmp_path / "x.parquet", *slicing)

    assert (result.exit_code, result.stderr) == (
        2,
        'Error: Writing Parquet needs the "pyarrow" package; install it with '
        '`pip install "toucan-connectors[cli]"`.\n',
    )


def test_parquet_to_a_terminal_is_refused(
    cli: Cli, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_main, "stdout_is_terminal", lambda: True)

    result = cli("query", config_file, "all_cities", "--format", "parquet")

    assert (result.exit_code, result.stderr) == (
        2,
        "Error: Parquet is binary and cannot go to the terminal: add --output PATH or pipe it.\n",
    )


@pytest.mark.parametrize("command", ["describe", "discover"])
@pytest.mark.parametrize("output_format", ["csv", "jsonl", "parquet"])
def test_describe_and_discover_refuse_formats_they_cannot_print(
    cli: Cli, config_file: Path, command: str, output_format: str
) -> None:
    target = "all_cities" if command == "describe" else "cities"

    result = cli(command, config_file, target, "--format", output_format)

    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: `{command}` cannot print --format {output_format}: use table or json.\n",
    )
