"""The shared SQL behaviour, run on the local PostgreSQL."""

from __future__ import annotations

import pytest
from sql.behaviour import SQLBackend, SQLConnectorBehaviour

from toucan_connectors.postgres import PostgresDataSource

from .conftest import PG_DATABASE


class TestPostgresBehaviour(SQLConnectorBehaviour):
    @pytest.fixture
    def backend(self, connector, create_table) -> SQLBackend:
        return SQLBackend(
            connector=connector,
            data_source_model=PostgresDataSource,
            create_table=create_table,
            database=PG_DATABASE,
        )
