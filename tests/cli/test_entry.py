"""Without the `cli` extra, the command says which extra to install instead of a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

MESSAGE = (
    'Error: the toucan-connectors command needs the "cli" extra ("typer" is not installed): '
    'install it with `pip install "toucan-connectors[cli]"`.\n'
)
# Blocks typer as if it were not installed, then runs the given code.
WITHOUT_TYPER = "import sys; sys.modules['typer'] = None; {}"


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("from toucan_connectors.cli.entry import main; main()", id="console-script"),
        pytest.param(
            "import runpy; runpy.run_module('toucan_connectors.cli', run_name='__main__')",
            id="python-m",
        ),
    ],
)
def test_missing_cli_extra_prints_the_install_command(code: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_TYPER.format(code), "list"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert (result.returncode, result.stderr) == (2, MESSAGE)
