"""Fixtures of the CLI tests: the tiny connectors in the registry, a config file, a runner."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from types import MappingProxyType

import pytest
from cli_support import CONFIG, ENTRIES, MODULE_NAME, Cli, PlainConnector, TinyConnector

from toucan_connectors import registry


@pytest.fixture
def tiny_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType(MODULE_NAME)
    module.TinyConnector = TinyConnector  # type: ignore[attr-defined]
    module.PlainConnector = PlainConnector  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, MODULE_NAME, module)
    monkeypatch.setattr(registry, "CONNECTORS_REGISTRY", MappingProxyType(ENTRIES))


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def cli() -> Cli:
    return Cli()
