"""Data connectors that return pandas DataFrames; importing this package imports no driver."""

from __future__ import annotations

from toucan_connectors.registry import CONNECTORS_REGISTRY, RegistryEntry, get_connector_class

__version__ = "0.1.0"

__all__ = ["CONNECTORS_REGISTRY", "RegistryEntry", "__version__", "get_connector_class"]
