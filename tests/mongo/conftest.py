"""Fixtures for the MongoDB tests: a wire-protocol stand-in, or a real server.

By default a MockupDB server backed by mongomock listens on 127.0.0.1 inside the test process.
Set TOUCAN_MONGO_URI, or TOUCAN_MONGO_HOST and TOUCAN_MONGO_PORT (which `pytest --docker` sets
to the server of tests/docker-compose.yml), to run the same tests against a real MongoDB; tests
about the stand-in itself are then skipped. Each run (each xdist worker) uses a database of its
own, so parallel runs against one server do not drop each other's documents.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pymongo
import pytest

from toucan_connectors.mongo import MongoConnector

from .wire_server import MongoWireServer

TEST_DATABASE = f"toucan_test_{uuid.uuid4().hex[:12]}"


def real_server_uri() -> str | None:
    """The connection string of a real server named by the environment, if any."""
    if uri := os.environ.get("TOUCAN_MONGO_URI"):
        return uri
    host = os.environ.get("TOUCAN_MONGO_HOST")
    if host:
        return f"mongodb://{host}:{os.environ.get('TOUCAN_MONGO_PORT', '27017')}"
    return None


@pytest.fixture(scope="session")
def wire_server() -> Iterator[MongoWireServer | None]:
    """The in-process stand-in, or None when the environment names a real server."""
    if real_server_uri():
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
    uri = real_server_uri()
    if wire_server is None and uri:
        return uri
    assert wire_server is not None
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
