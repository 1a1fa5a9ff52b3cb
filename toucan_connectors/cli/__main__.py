"""Run the command line with `python -m toucan_connectors.cli`."""

from __future__ import annotations

from toucan_connectors.cli.entry import main

main()
