"""The registry: connector type keys mapped to lazily imported classes.

Importing this module imports neither pandas nor any driver, so a host can list every connector
without installing them all.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

from toucan_connectors.errors import InvalidConfigurationError, MissingDependencyError

if TYPE_CHECKING:
    from toucan_connectors.toucan_connector import ToucanConnector


class RegistryEntry(NamedTuple):
    """Where a connector class lives, how it is labelled and which extra installs it."""

    path: str
    label: str
    extra: str

    @property
    def install_command(self) -> str:
        """The pip command that installs this connector's dependencies."""
        return f'pip install "toucan-connectors[{self.extra}]"'


# One entry a line; `make new_connector` inserts new lines above the closing brace.
_ENTRIES: dict[str, RegistryEntry] = {
    "MongoDB": RegistryEntry("mongo.mongo_connector.MongoConnector", "MongoDB", "mongo"),
    "AWSDocumentDB": RegistryEntry(
        "mongo.mongo_connector.MongoConnector", "AWS DocumentDB", "mongo"
    ),
    "Postgres": RegistryEntry(
        "postgres.postgresql_connector.PostgresConnector", "PostgreSQL", "postgres"
    ),
    "AWSRedshift": RegistryEntry(
        "postgres.postgresql_connector.PostgresConnector", "AWS Redshift (PostgreSQL)", "postgres"
    ),
    "Denodo": RegistryEntry(
        "postgres.postgresql_connector.PostgresConnector", "Denodo", "postgres"
    ),
    "Redshift": RegistryEntry(
        "redshift.redshift_database_connector.RedshiftConnector", "Amazon Redshift", "redshift"
    ),
    "MySQL": RegistryEntry("mysql.mysql_connector.MySQLConnector", "MySQL / MariaDB", "mysql"),
    "SQLite": RegistryEntry("sqlite.sqlite_connector.SQLiteConnector", "SQLite", "sqlite"),
    "HttpAPI": RegistryEntry(
        "http_api.http_api_connector.HttpAPIConnector", "HTTP API", "http_api"
    ),
}

CONNECTORS_REGISTRY: Mapping[str, RegistryEntry] = MappingProxyType(_ENTRIES)
"""Read-only mapping of type key to registry entry."""


def get_connector_class(type_key: str) -> type[ToucanConnector]:
    """Import and return the connector class registered under `type_key`.

    Raises:
        InvalidConfigurationError: the type key is unknown; the message lists the known ones.
        MissingDependencyError: the connector's extra is not installed.
    """
    try:
        entry = CONNECTORS_REGISTRY[type_key]
    except KeyError:
        known = ", ".join(sorted(CONNECTORS_REGISTRY))
        raise InvalidConfigurationError(
            f'Unknown connector type "{type_key}": use one of {known}.'
        ) from None

    module_path, _, class_name = entry.path.rpartition(".")
    try:
        module = importlib.import_module(f"toucan_connectors.{module_path}")
    except ImportError as exc:
        if isinstance(exc, MissingDependencyError):
            raise
        raise MissingDependencyError(type_key, exc.name or str(exc), entry.extra) from exc
    connector_class: type[ToucanConnector] = getattr(module, class_name)
    return connector_class
