"""Fixtures for the Redshift tests: the local PostgreSQL, which speaks Redshift's protocol."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from postgres.conftest import (  # noqa: F401 - fixtures shared with the PostgreSQL tests
    PG_DATABASE,
    PG_HOST,
    PG_PASSWORD,
    PG_PORT,
    PG_USER,
    create_table,
    pg_admin,
    pg_schema,
)

from toucan_connectors.redshift import RedshiftConnector


@pytest.fixture
def connector() -> Iterator[RedshiftConnector]:
    """A Redshift connector with a password login, pointed at the local PostgreSQL."""
    connector = RedshiftConnector(
        name="rs",
        host=PG_HOST,
        port=PG_PORT,
        user=PG_USER,
        password=PG_PASSWORD,
        default_database=PG_DATABASE,
        connect_timeout=2,
    )
    yield connector
    connector.close()
