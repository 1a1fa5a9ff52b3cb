"""The console-script entry point, which reports a missing `cli` extra in one line."""

from __future__ import annotations

import sys

__all__ = ["CLI_PACKAGES", "main"]

CLI_PACKAGES = ("typer", "click", "rich", "yaml")
INSTALL_COMMAND = 'pip install "toucan-connectors[cli]"'


def main() -> None:
    """Run the command line, or exit with 2 and the install command when the extra is missing."""
    try:
        from toucan_connectors.cli.main import main as run
    except ModuleNotFoundError as exc:
        if exc.name not in CLI_PACKAGES:
            raise
        sys.stderr.write(
            f'Error: the toucan-connectors command needs the "cli" extra ("{exc.name}" is not '
            f"installed): install it with `{INSTALL_COMMAND}`.\n"
        )
        raise SystemExit(2) from None
    run()
