"""The PostgreSQL connector."""

from toucan_connectors.postgres.postgresql_connector import PostgresConnector, PostgresDataSource

__all__ = ["PostgresConnector", "PostgresDataSource"]
