"""The Python example of the README runs and gives what it says."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from doc_support import ROOT
from typer.testing import CliRunner

from toucan_connectors.cli.main import app

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_python_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    code = re.search(r"## From Python\n\n[^`]*```python\n(.*?)```", README, re.DOTALL)
    assert code is not None
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {}

    exec(code.group(1), namespace)  # noqa: S102 - our own README

    expected_df = pd.DataFrame(
        {
            "date": pd.to_datetime(
                [
                    "2015-03-15", "2015-08-14", "2015-08-29", "2015-10-31", "2015-11-13",
                    "2015-11-14", "2015-12-08",
                ]
            ).as_unit("us"),
            "precipitation": [55.9, 30.5, 32.5, 33.0, 33.5, 47.2, 54.1],
        }
    )  # fmt: skip
    expected_page = pd.DataFrame(
        {
            "date": pd.to_datetime(
                ["2012-10-30", "2012-11-19", "2012-11-23", "2012-11-30", "2013-01-09"]
            ).as_unit("us"),
            "precipitation": [34.5, 54.1, 32.0, 35.6, 38.4],
        }
    )
    page, status = namespace["page"], namespace["status"]
    pd.testing.assert_frame_equal(namespace["df"], expected_df)
    pd.testing.assert_frame_equal(page.df, expected_page)
    info = page.pagination_info
    assert (info.total_rows, info.is_last_page, info.next_page.offset, info.next_page.limit) == (
        20,
        False,
        5,
        5,
    )
    assert (status.status, status.error, status.details) == (
        True,
        None,
        [("File exists", True), ("File opened", True), ("File is a database", True)],
    )


def test_readme_names_the_two_commands() -> None:
    assert ("make demo" in README, "make test" in README) == (True, True)


def test_readme_installs_from_a_clone_and_names_the_speed_extras() -> None:
    installs = re.findall(r'^pip install -e "\.\[([a-z,]+)\]"', README, re.MULTILINE)
    mentioned = [word in README for word in ("`fast`", "`polars`", "`doc/fast_path.md`")]

    assert (installs, mentioned, (ROOT / "doc" / "fast_path.md").is_file()) == (
        ["postgres", "sqlite,cli"],
        [True, True, True],
        True,
    )


def test_python_example_says_it_runs_from_the_root() -> None:
    assert "Run it from the root of the repository: the database path is relative to it." in README


def test_an_sql_error_in_a_query_exits_as_a_provider_failure(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "connectors:\n"
        "  - name: sample\n"
        "    type: SQLite\n"
        f"    path: {ROOT / 'examples' / 'data' / 'sample.sqlite'}\n"
        "data_sources:\n"
        "  - domain: bad\n"
        "    name: sample\n"
        "    query: SELECT no_such_column FROM cars\n",
        encoding="utf-8",
    )

    result = CliRunner().invoke(app, ["query", str(config), "bad"])

    assert "including an SQL error inside a data source's query (an unknown column" in " ".join(
        README.split()
    )
    assert (result.exit_code, result.stderr) == (
        1,
        'Error: The "SQLite" connector could not run data source "bad": no such column: '
        "no_such_column. Fix the query (describe shows the columns it returns).\n",
    )
