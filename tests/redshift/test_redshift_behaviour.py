"""The shared SQL behaviour, run by the Redshift connector against the local PostgreSQL."""

from __future__ import annotations

import pytest
from sql.behaviour import SQLBackend, SQLConnectorBehaviour

from toucan_connectors.redshift import RedshiftDataSource

from .conftest import PG_DATABASE


class TestRedshiftBehaviour(SQLConnectorBehaviour):
    @pytest.fixture
    def backend(self, connector, create_table) -> SQLBackend:
        return SQLBackend(
            connector=connector,
            data_source_model=RedshiftDataSource,
            create_table=create_table,
            database=PG_DATABASE,
        )
