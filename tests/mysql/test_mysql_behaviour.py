"""The shared SQL behaviour, run on the local MariaDB."""

from __future__ import annotations

import pytest
from sql.behaviour import SQLBackend, SQLConnectorBehaviour

from toucan_connectors.mysql import MySQLConnector, MySQLDataSource

from .conftest import MYSQL_DATABASE, MYSQL_HOST, MYSQL_PORT


class TestMySQLBehaviour(SQLConnectorBehaviour):
    @pytest.fixture
    def backend(self, create_table) -> SQLBackend:
        connector = MySQLConnector(name="maria", host=MYSQL_HOST, port=MYSQL_PORT, user="root")
        return SQLBackend(
            connector=connector,
            data_source_model=MySQLDataSource,
            create_table=create_table,
            database=MYSQL_DATABASE,
            booleans_are_integers=True,
        )
