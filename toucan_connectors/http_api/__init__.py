"""The HttpAPI connector."""

from __future__ import annotations

from toucan_connectors.http_api.http_api_connector import HttpAPIConnector, HttpAPIDataSource

__all__ = ["HttpAPIConnector", "HttpAPIDataSource"]
