from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import toucan_connectors
from toucan_connectors import registry
from toucan_connectors.errors import InvalidConfigurationError, MissingDependencyError
from toucan_connectors.registry import RegistryEntry, get_connector_class

ROOT = Path(__file__).parents[2]

FAKE_CONNECTOR = """
from __future__ import annotations

import pandas as pd

from toucan_connectors.toucan_connector import ToucanConnector, ToucanDataSource


class FakeDataSource(ToucanDataSource):
    query: str


class FakeConnector(ToucanConnector, data_source_model=FakeDataSource):
    def _retrieve_data(self, data_source: FakeDataSource) -> pd.DataFrame:
        return pd.DataFrame()
"""


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """Add `toucan_connectors.fakeprov` (a working connector) and `.brokenprov` (no driver)."""
    (tmp_path / "fakeprov").mkdir()
    (tmp_path / "fakeprov" / "__init__.py").write_text("")
    (tmp_path / "fakeprov" / "fake_connector.py").write_text(FAKE_CONNECTOR)
    (tmp_path / "brokenprov").mkdir()
    (tmp_path / "brokenprov" / "__init__.py").write_text("")
    (tmp_path / "brokenprov" / "broken_connector.py").write_text("import no_such_driver_xyz\n")

    monkeypatch.setattr(toucan_connectors, "__path__", [*toucan_connectors.__path__, str(tmp_path)])
    entries = {
        "Fake": RegistryEntry("fakeprov.fake_connector.FakeConnector", "Fake", "fake"),
        "FakeAlias": RegistryEntry("fakeprov.fake_connector.FakeConnector", "Fake too", "fake"),
        "Broken": RegistryEntry("brokenprov.broken_connector.BrokenConnector", "Broken", "broken"),
    }
    monkeypatch.setattr(registry, "_ENTRIES", entries)
    monkeypatch.setattr(registry, "CONNECTORS_REGISTRY", entries)
    yield
    for name in list(sys.modules):
        if name.startswith(("toucan_connectors.fakeprov", "toucan_connectors.brokenprov")):
            del sys.modules[name]


def test_registry_is_read_only():
    registry_view: Any = toucan_connectors.CONNECTORS_REGISTRY

    with pytest.raises(TypeError):
        registry_view["Fake"] = RegistryEntry("a.B", "B", "b")


def test_entry_install_command():
    entry = RegistryEntry("postgres.postgresql_connector.PostgresConnector", "Postgres", "postgres")

    assert entry.install_command == 'pip install "toucan-connectors[postgres]"'


def test_get_connector_class_imports_on_first_use(fake_package):
    connector_class = get_connector_class("Fake")

    assert (connector_class.__name__, connector_class.data_source_model.__name__) == (
        "FakeConnector",
        "FakeDataSource",
    )


def test_alias_gives_the_same_class(fake_package):
    assert get_connector_class("FakeAlias") is get_connector_class("Fake")


def test_unknown_type_lists_the_known_ones(fake_package):
    with pytest.raises(InvalidConfigurationError) as raised:
        get_connector_class("Postgress")

    assert str(raised.value) == (
        'Unknown connector type "Postgress": use one of Broken, Fake, FakeAlias.'
    )


def test_missing_driver_names_the_pip_command(fake_package):
    with pytest.raises(MissingDependencyError) as raised:
        get_connector_class("Broken")

    assert str(raised.value) == (
        'The "Broken" connector needs the "no_such_driver_xyz" package; '
        'install it with `pip install "toucan-connectors[broken]"`.'
    )
    assert isinstance(raised.value.__cause__, ModuleNotFoundError)


def test_import_loads_neither_pandas_nor_any_driver():
    script = textwrap.dedent(
        """
        import json, sys
        import toucan_connectors
        entries = dict(toucan_connectors.CONNECTORS_REGISTRY)
        heavy = ["pandas", "numpy", "sqlalchemy", "psycopg2", "pymysql", "pymongo", "pyarrow",
                 "jq", "requests", "jinja2", "pydantic"]
        print(json.dumps(sorted(name for name in heavy if name in sys.modules)))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )

    assert json.loads(result.stdout) == []
