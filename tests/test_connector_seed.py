"""The connector of the seed's documented style, end to end through the public API."""

from __future__ import annotations

import socket

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from toucan_connectors.status import CheckFailedError, StatusCheck, host_and_port_checks
from toucan_connectors.toucan_connector import ToucanConnector, ToucanDataSource

DATABASES = {
    "geo": pd.DataFrame(
        {"name": ["Paris", "Parma", "Lyon"], "pop": [2, 1, 3]},
    ).astype({"name": "str"})
}


class SeedDataSource(ToucanDataSource):
    query: str


class SeedConnector(ToucanConnector, data_source_model=SeedDataSource):
    status_steps = ("Host resolved", "Port opened", "Database exists")

    host: str
    port: int
    database: str

    def _retrieve_data(self, data_source: SeedDataSource) -> pd.DataFrame:
        return DATABASES[self.database].query(data_source.query)

    def _status_checks(self) -> list[StatusCheck]:
        return [
            *host_and_port_checks(self.host, self.port, timeout=1),
            StatusCheck("Database exists", self._check_database),
        ]

    def _check_database(self) -> None:
        if self.database not in DATABASES:
            raise CheckFailedError(f'Database "{self.database}" does not exist.')


@pytest.fixture
def listening_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def connector(listening_port):
    return SeedConnector(name="seed", host="127.0.0.1", port=listening_port, database="geo")


DATA_SOURCE = SeedDataSource(
    domain="cities", name="seed", query="pop > {{ min_pop }}", parameters={"min_pop": 1}
)


def test_get_df(connector):
    expected = pd.DataFrame({"name": ["Paris", "Lyon"], "pop": [2, 3]})

    assert_frame_equal(connector.get_df(DATA_SOURCE), expected)


def test_get_df_with_permissions(connector):
    permissions = {"column": "name", "operator": "eq", "value": "Lyon"}

    expected = pd.DataFrame({"name": ["Lyon"], "pop": [3]})
    assert_frame_equal(connector.get_df(DATA_SOURCE, permissions), expected)


def test_get_slice(connector):
    data_slice = connector.get_slice(DATA_SOURCE, offset=1, limit=1)

    assert_frame_equal(data_slice.df, pd.DataFrame({"name": ["Lyon"], "pop": [3]}))
    assert (data_slice.pagination_info.is_last_page, data_slice.pagination_info.total_rows) == (
        True,
        2,
    )
    assert data_slice.query_metadata == {"name": "str", "pop": "int64"}


def test_get_status_passes(connector):
    assert connector.get_status().details == [
        ("Host resolved", True),
        ("Port opened", True),
        ("Database exists", True),
    ]


def test_get_status_names_the_missing_database(listening_port):
    connector = SeedConnector(name="seed", host="127.0.0.1", port=listening_port, database="nope")

    status = connector.get_status()

    assert (status.status, status.error, status.details[-1]) == (
        False,
        'Database "nope" does not exist.',
        ("Database exists", False),
    )


def test_cache_key_changes_with_the_database(connector):
    other = connector.model_copy(update={"database": "other"})

    assert connector.get_cache_key(DATA_SOURCE) != other.get_cache_key(DATA_SOURCE)


def test_cache_key_changes_with_the_parameters(connector):
    changed = DATA_SOURCE.model_copy(update={"parameters": {"min_pop": 2}})

    assert connector.get_cache_key(DATA_SOURCE) != connector.get_cache_key(changed)


def test_describe(connector):
    assert connector.describe(DATA_SOURCE) == {"name": "str", "pop": "int64"}
