"""Run-wide test options: `--docker` starts tests/docker-compose.yml through pytest-docker.

Without `--docker` (the default, and the only mode on machines without a Docker engine) the
tests use the services already listening on 127.0.0.1, at the addresses of the TOUCAN_*
environment variables. With it, those variables point at the compose services.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from toucan_connectors.http import client

COMPOSE_FILE = Path(__file__).parent / "docker-compose.yml"

# Environment variable -> (compose service, port inside the container, port on the host).
DOCKER_ADDRESSES = {
    "TOUCAN_PG": ("postgres", 5432, 55432),
    "TOUCAN_MYSQL": ("mariadb", 3306, 53306),
    "TOUCAN_MONGO": ("mongo", 27017, 57017),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--docker",
        action="store_true",
        default=False,
        help="start the services of tests/docker-compose.yml with pytest-docker and use them",
    )


def pytest_configure(config: pytest.Config) -> None:
    # Before collection: the test modules read these variables when they are imported.
    if config.getoption("--docker"):
        for variable, (_, _, host_port) in DOCKER_ADDRESSES.items():
            os.environ[f"{variable}_HOST"] = "127.0.0.1"
            os.environ[f"{variable}_PORT"] = str(host_port)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--docker"):
        return
    skip = pytest.mark.skip(reason="needs the compose services: run with --docker")
    for item in items:
        if "docker" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    """The compose file pytest-docker starts."""
    return str(COMPOSE_FILE)


@pytest.fixture(scope="session", autouse=True)
def compose_services(request: pytest.FixtureRequest) -> Iterator[None]:
    """With --docker, start the compose services and wait until their ports answer."""
    if not request.config.getoption("--docker"):
        yield
        return
    services: Any = request.getfixturevalue("docker_services")
    for _, (service, port, _) in DOCKER_ADDRESSES.items():
        host_port = services.port_for(service, port)
        services.wait_until_responsive(
            timeout=90.0, pause=1.0, check=lambda p=host_port: _port_answers(p)
        )
    yield


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


# Local HTTP servers, shared by tests/http and tests/http_api. (tests/http has no __init__.py on
# purpose: as a package it would be named `http` and shadow the standard library module.)


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return ("127.0.0.1", 0)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the retry waits instead of sleeping through them."""
    recorded: list[float] = []
    monkeypatch.setattr(client, "_sleep", recorded.append)
    return recorded


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def other_httpserver() -> Iterator[HTTPServer]:
    """A second local server: another port, so another origin than `httpserver`."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()
