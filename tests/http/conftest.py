"""Fixtures of the HTTP layer tests: a raw TCP server that answers bytes of our choosing."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest

RawServer = Callable[[bytes], int]


@pytest.fixture
def raw_server() -> Iterator[RawServer]:
    """Start a server answering every connection with the given bytes; return its port."""
    listeners: list[socket.socket] = []

    def start(answer: bytes) -> int:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listeners.append(listener)

        def serve() -> None:
            while True:
                try:
                    connection, _ = listener.accept()
                except OSError:
                    return
                with connection:
                    connection.recv(65536)
                    connection.sendall(answer)

        threading.Thread(target=serve, daemon=True).start()
        return int(listener.getsockname()[1])

    yield start
    for listener in listeners:
        listener.close()
