"""The demo of `make demo`, through the real SQLite connector and the bundled sample database."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from cli_support import Cli

from toucan_connectors.cli.config import load_config

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo.yaml"
PERMISSION = '{"column": "date", "operator": "ge", "value": "{{ since }}"}'


def test_demo_query_with_parameter_and_permission(cli: Cli) -> None:
    result = cli(
        "query", DEMO, "rainy_days", "--param", "min_rain=30", "--param", "since=2015-06-01",
        "--permissions", PERMISSION,
    )  # fmt: skip

    assert (result.exit_code, result.stdout) == (
        0,
        "date         weather   precipitation   temp_max   temp_min\n"
        "──────────────────────────────────────────────────────────\n"
        "2015-12-08   fog       54.1            15.6       10.0\n"
        "2015-11-14   fog       47.2            9.4        6.1\n"
        "2015-11-13   fog       33.5            13.3       9.4\n"
        "2015-10-31   fog       33.0            15.6       11.7\n"
        "2015-08-29   fog       32.5            22.2       13.3\n"
        "2015-08-14   rain      30.5            18.3       15.0\n"
        "6 rows\n",
    )


def makefile_demo_arguments() -> list[str]:
    """Return the arguments `make demo` gives to `python -m toucan_connectors.cli`."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    recipe = re.search(r"^demo:\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe is not None
    command = next(line for line in recipe.group(1).splitlines() if "toucan_connectors.cli" in line)
    words = shlex.split(command)
    return words[words.index("toucan_connectors.cli") + 1 :]


def test_make_demo_prints_the_rainy_days_since_2015(cli: Cli) -> None:
    arguments = makefile_demo_arguments()

    result = cli(*[str(ROOT / arg) if arg.endswith(".yaml") else arg for arg in arguments])

    assert (arguments[:3], result.exit_code, result.stderr, result.stdout) == (
        ["query", "examples/demo.yaml", "rainy_days"],
        0,
        "",
        "date         weather   precipitation   temp_max   temp_min\n"
        "──────────────────────────────────────────────────────────\n"
        "2015-03-15   fog       55.9            10.6       6.1\n"
        "2015-12-08   fog       54.1            15.6       10.0\n"
        "2015-11-14   fog       47.2            9.4        6.1\n"
        "2015-11-13   fog       33.5            13.3       9.4\n"
        "2015-10-31   fog       33.0            15.6       11.7\n"
        "2015-08-29   fog       32.5            22.2       13.3\n"
        "2015-08-14   rain      30.5            18.3       15.0\n"
        "2015-11-17   fog       29.5            13.3       6.7\n"
        "2015-10-10   fog       28.7            21.1       13.3\n"
        "2015-12-07   fog       27.4            11.1       8.3\n"
        "2015-12-21   fog       27.4            5.6        2.8\n"
        "2015-01-17   fog       26.2            13.3       3.3\n"
        "2015-02-05   fog       26.2            13.3       8.3\n"
        "2015-11-01   fog       26.2            12.2       8.9\n"
        "2015-02-07   fog       23.6            12.2       9.4\n"
        "2015-11-15   fog       22.4            8.9        2.2\n"
        "2015-12-17   fog       21.8            6.7        3.9\n"
        "2015-01-18   rain      21.3            13.9       7.2\n"
        "18 rows\n",
    )


@pytest.mark.parametrize(
    ("permissions", "rows"),
    [
        pytest.param("{}", 406, id="empty-object-keeps-all"),
        pytest.param('{"and": []}', 406, id="empty-and-keeps-all"),
        pytest.param('{"or": []}', 0, id="empty-or-keeps-none"),
    ],
)
def test_empty_permission_trees_as_the_readme_says(cli: Cli, permissions: str, rows: int) -> None:
    result = cli("query", DEMO, "cars", "--permissions", permissions, "-f", "csv")

    assert (result.exit_code, len(result.stdout.splitlines()) - 1) == (0, rows)


def test_view_columns_without_a_type_print_their_bare_name(cli: Cli) -> None:
    result = cli("discover", DEMO, "sample", "--table", "monthly_weather")

    assert result.stdout == (
        "database   schema   name              type   columns\n"
        "─────────────────────────────────────────────────────────────────────────────────────\n"
        "main       ∅        monthly_weather   view   month, precipitation, avg_temp_max, days\n"
    )


def test_demo_connector_status(cli: Cli) -> None:
    result = cli("status", DEMO, "sample")

    assert result.stdout == (
        "check                result\n"
        "───────────────────────────\n"
        "File exists          ok\n"
        "File opened          ok\n"
        "File is a database   ok\n"
        "Connector is reachable.\n"
    )


def test_sample_tables_are_discovered(cli: Cli) -> None:
    result = cli("discover", DEMO, "sample", "--no-columns")

    assert result.stdout == (
        "database   schema   name              type    columns\n"
        "─────────────────────────────────────────────────────\n"
        "main       ∅        airports          table\n"
        "main       ∅        cars              table\n"
        "main       ∅        monthly_weather   view\n"
        "main       ∅        seattle_weather   table\n"
    )


def test_sample_table_last_page_is_short(cli: Cli) -> None:
    result = cli("query", DEMO, "cars", "--offset", "400", "--limit", "10", "-f", "csv")

    assert result.stdout == (
        "id,name,miles_per_gallon,cylinders,displacement,horsepower,weight_in_lbs,acceleration,"
        "year,origin\n"
        "401,chevrolet camaro,27.0,4,151.0,90.0,2950,17.3,1982-01-01,USA\n"
        "402,ford mustang gl,27.0,4,140.0,86.0,2790,15.6,1982-01-01,USA\n"
        "403,vw pickup,44.0,4,97.0,52.0,2130,24.6,1982-01-01,Europe\n"
        "404,dodge rampage,32.0,4,135.0,84.0,2295,11.6,1982-01-01,USA\n"
        "405,ford ranger,28.0,4,120.0,79.0,2625,18.6,1982-01-01,USA\n"
        "406,chevy s-10,31.0,4,119.0,82.0,2720,19.4,1982-01-01,USA\n"
    )


@pytest.mark.parametrize(
    ("permissions", "message"),
    [
        pytest.param(
            '{"column": "nope", "operator": "eq", "value": 1}',
            'Permission column "nope" is not in the result: use one of id, '
            "name, miles_per_gallon, cylinders, displacement, horsepower, weight_in_lbs, "
            "acceleration, year, origin.",
            id="missing-column",
        ),
        pytest.param(
            '{"column": "name", "operator": "matches", "value": "(["}',
            "Invalid permission {'column': 'name', 'operator': 'matches', 'value': '(['}: its "
            "regular expression does not compile (unterminated character set at position 1).",
            id="invalid-regex",
        ),
    ],
)
@pytest.mark.parametrize("slicing", [[], ["--limit", "2"]], ids=["streamed", "sliced"])
def test_bad_permission_pushed_to_sql_is_an_input_error(
    cli: Cli, permissions: str, message: str, slicing: list[str]
) -> None:
    result = cli("query", DEMO, "cars", "--permissions", permissions, "-f", "csv", *slicing)

    prefix = 'Data source "cars" of connector "sample" (SQLite): '
    assert (result.exit_code, result.stderr) == (2, f"Error: {prefix}{message}\n")


def test_invalid_data_source_message_has_no_pydantic_prefix(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "connectors:\n  - {name: s, type: SQLite, path: x.sqlite}\n"
        "data_sources:\n  - {domain: d, name: s}\n",
        encoding="utf-8",
    )

    result = cli("query", path, "d")

    assert (result.exit_code, result.stderr) == (
        2,
        f'Error: Data source "d" in {path} is invalid: Data source "d" has neither of "query" and '
        '"table": set exactly one of them ("query" for SQL, "table" for a whole table).\n',
    )


def test_demo_header_counts_its_data_sources() -> None:
    config = load_config(DEMO, environ={})
    numbers = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}

    header = DEMO.read_text(encoding="utf-8").splitlines()[0]

    assert f"a connector and {numbers[len(config.data_sources)]} data sources" in header
