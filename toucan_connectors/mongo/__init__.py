"""The MongoDB connector, also registered as AWSDocumentDB."""

from __future__ import annotations

from toucan_connectors.mongo.mongo_connector import MongoConnector, MongoDataSource

__all__ = ["MongoConnector", "MongoDataSource"]
