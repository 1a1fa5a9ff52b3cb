"""A tiny in-memory connector for the CLI tests, and a runner with a fixed width."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pydantic import Field, SecretStr
from typer.testing import CliRunner, Result

from toucan_connectors.dependencies import import_optional
from toucan_connectors.discovery import DiscoverableConnector, TableInfo
from toucan_connectors.errors import ConnectionFailedError, ProviderError
from toucan_connectors.registry import RegistryEntry
from toucan_connectors.status import CheckFailedError, StatusCheck
from toucan_connectors.toucan_connector import ToucanConnector, ToucanDataSource

CITIES = pd.DataFrame(
    {
        "city": ["Paris", "Lyon", "Ghent"],
        "country": ["FR", "FR", "BE"],
        "pop": [2102650, 522250, 265086],
        "area": [105.4, 47.87, float("nan")],
        "since": pd.to_datetime(["2024-01-01", "2024-02-15", None]),
    }
)


class TinyDataSource(ToucanDataSource):
    """Rows of a fixed table of cities."""

    country: str | None = Field(None, description="Keep only this country.")
    behaviour: str = Field("rows", description="rows, provider-error, crash or needs-driver.")


class TinyConnector(ToucanConnector, DiscoverableConnector, data_source_model=TinyDataSource):
    """A connector over an in-memory table, for the CLI tests."""

    status_steps = ("Host resolved", "Port opened")

    host: str = Field(description="Where the cities live.")
    password: SecretStr | None = Field(None, description="Not used.")

    def _retrieve_data(self, data_source: TinyDataSource) -> pd.DataFrame:
        if data_source.behaviour == "provider-error":
            raise ProviderError('Tiny answered "no such table cities": check the table name.')
        if data_source.behaviour == "connection-error":
            raise ConnectionFailedError(f"Cannot reach {self.host}: check that it is running.")
        if data_source.behaviour == "crash":
            raise RuntimeError("driver exploded\nwith a second line")
        if data_source.behaviour == "needs-driver":
            import_optional("tiny_missing_driver", connector="Tiny", extra="tiny")
        if data_source.country is None:
            return CITIES.copy()
        return CITIES[CITIES["country"] == data_source.country].copy()

    def _status_checks(self) -> list[StatusCheck]:
        def port_opens() -> None:
            if self.host == "down":
                raise CheckFailedError("Port 1 on down is not open: check the port.")

        return [StatusCheck("Host resolved", lambda: None), StatusCheck("Port opened", port_opens)]

    def get_model(
        self,
        db_name: str | None = None,
        schema_name: str | None = None,
        table_name: str | None = None,
        exclude_columns: bool = False,
    ) -> list[TableInfo]:
        columns = [] if exclude_columns else [{"name": "city", "type": "TEXT"}]
        tables: list[TableInfo] = [
            {
                "database": "main",
                "schema": None,
                "type": "table",
                "name": "cities",
                "columns": columns,
            },
            {"database": "main", "schema": None, "type": "view", "name": "big", "columns": columns},
        ]
        return [table for table in tables if table_name in (None, table["name"])]


class PlainConnector(ToucanConnector, data_source_model=TinyDataSource):
    """A connector with no status checks and no discovery."""

    def _retrieve_data(self, data_source: TinyDataSource) -> pd.DataFrame:
        return CITIES.copy()


MODULE_NAME = "toucan_connectors.cli_test_connectors"
ENTRIES = {
    "Tiny": RegistryEntry("cli_test_connectors.TinyConnector", "Tiny cities", "tiny"),
    "Plain": RegistryEntry("cli_test_connectors.PlainConnector", "Plain cities", "plain"),
    "Broken": RegistryEntry("cli_test_not_written.BrokenConnector", "Broken", "broken"),
}

CONFIG = """\
connectors:
  - name: cities
    type: Tiny
    host: ${TINY_HOST:-localhost}
  - name: down
    type: Tiny
    host: down
  - name: plain
    type: Plain
data_sources:
  - domain: french_cities
    name: cities
    country: "{{ country }}"
    parameters:
      country: FR
  - domain: all_cities
    name: cities
  - domain: plain_cities
    name: plain
    type: Plain
"""


class Cli:
    """Invokes the app the way a user's terminal would, at a fixed width and without colour."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str | Path, env: dict[str, str | None] | None = None) -> Result:
        from toucan_connectors.cli.main import app

        environment: dict[str, str | None] = {
            "COLUMNS": "100",
            "NO_COLOR": "1",
            "FORCE_COLOR": None,
            "TINY_HOST": None,
        }
        environment.update(env or {})
        return self.runner.invoke(app, [str(arg) for arg in args], env=environment)
