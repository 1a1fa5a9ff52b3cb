"""Fixtures for the MongoDB tests: a wire-protocol stand-in, or a real server.

By default a MockupDB server backed by mongomock listens on 127.0.0.1 inside the test process.
Set TOUCAN_MONGO_URI (for example to the server of tests/docker-compose.yml) to run the same
tests against a real MongoDB; tests about the stand-in itself are then skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pymongo
import pytest

from toucan_connectors.mongo import MongoConnector

from .wire_server import MongoWireServer

TEST_DATABASE = "toucan_test"


@pytest.fixture(scope="session")
def wire_server() -> Iterator[MongoWireServer | None]:
    """The in-process stand-in, or None when TOUCAN_MONGO_URI names a real server."""
    if os.environ.get("TOUCAN_MONGO_URI"):
        yield None
        return
    server = MongoWireServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stand_in(wire_server: MongoWireServer | None) -> MongoWireServer:
    """The stand-in, for tests about what it receives; skipped against a real server."""
    if wire_server is None:
        pytest.skip("inspects the in-process stand-in, not a real server")
    wire_server.commands.clear()
    return wire_server


@pytest.fixture(scope="session")
def mongo_uri(wire_server: MongoWireServer | None) -> str:
    """The connection string of the server the tests use."""
    if wire_server is None:
        return os.environ["TOUCAN_MONGO_URI"]
    return wire_server.uri


@pytest.fixture(scope="session")
def mongo_client(mongo_uri: str) -> Iterator[pymongo.MongoClient]:
    """A plain pymongo client that writes the test documents."""
    client: pymongo.MongoClient = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=3000)
    yield client
    client.close()


@pytest.fixture(scope="session")
def connector(mongo_uri: str) -> Iterator[MongoConnector]:
    """The connector under test, its client shared by the whole run."""
    with MongoConnector(name="mongo", host=mongo_uri) as mongo:
        yield mongo


@pytest.fixture
def test_db(mongo_client: pymongo.MongoClient) -> Iterator[pymongo.database.Database]:
    """An empty test database, dropped after the test."""
    mongo_client.drop_database(TEST_DATABASE)
    yield mongo_client[TEST_DATABASE]
    mongo_client.drop_database(TEST_DATABASE)
