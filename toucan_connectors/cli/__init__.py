"""The `toucan-connectors` command line; needs the `cli` extra (typer, rich, PyYAML)."""

from __future__ import annotations
