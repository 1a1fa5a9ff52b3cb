"""The Python example of the README runs and gives what it says."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from doc_support import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_python_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    code = re.search(r"## From Python\n\n```python\n(.*?)```", README, re.DOTALL)
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
