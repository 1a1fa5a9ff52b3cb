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

    expected = pd.DataFrame(
        {
            "date": pd.to_datetime(["2015-03-15", "2015-08-14"]).as_unit("us"),
            "precipitation": [55.9, 30.5],
        }
    )
    pd.testing.assert_frame_equal(namespace["df"].head(2), expected)


def test_readme_names_the_two_commands() -> None:
    assert ("make demo" in README, "make test" in README) == (True, True)
