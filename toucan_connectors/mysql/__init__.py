"""The MySQL and MariaDB connector."""

from __future__ import annotations

from toucan_connectors.mysql.mysql_connector import MySQLConnector, MySQLDataSource

__all__ = ["MySQLConnector", "MySQLDataSource"]
