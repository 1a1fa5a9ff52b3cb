"""Fixtures for the PostgreSQL tests: the local server and a schema of tables per run."""

from __future__ import annotations

import os
import socket
import struct
import threading
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg2
import pytest

from toucan_connectors.postgres import PostgresConnector

PG_HOST = os.environ.get("TOUCAN_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("TOUCAN_PG_PORT", "5432"))
PG_USER = os.environ.get("TOUCAN_PG_USER", "postgres")
PG_PASSWORD = os.environ.get("TOUCAN_PG_PASSWORD") or None
PG_DATABASE = os.environ.get("TOUCAN_PG_DATABASE", "test")


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Any]:
    """A read-write connection for the whole run, to create test data."""
    try:
        conn = psycopg2.connect(
            host=PG_HOST,
            port=PG_PORT,
            user=PG_USER,
            password=PG_PASSWORD,
            dbname=PG_DATABASE,
            connect_timeout=5,
        )
    except psycopg2.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT}: {exc}")
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def pg_schema(pg_admin: Any) -> Iterator[str]:
    """A schema of this run only, so parallel runs and helpers never share a table."""
    schema = f"tc_pg_{uuid.uuid4().hex[:10]}"
    with pg_admin.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {schema}")
    yield schema
    with pg_admin.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def pg_execute(pg_admin: Any) -> Any:
    """Run SQL as the administrator."""

    def execute(sql: str, params: Sequence[Any] | None = None) -> None:
        with pg_admin.cursor() as cursor:
            cursor.execute(sql, params)

    return execute


@pytest.fixture
def create_table(pg_admin: Any, pg_schema: str) -> Iterator[Any]:
    """Create tables in the run's schema and drop them after the test.

    ``create_table("city", "name text, pop int", rows)`` returns ``<schema>.<prefix>city``.
    """
    prefix = f"t{uuid.uuid4().hex[:6]}_"
    created: list[str] = []

    def create(name: str, columns: str, rows: Sequence[Sequence[Any]] = ()) -> str:
        table = f"{pg_schema}.{prefix}{name}"
        with pg_admin.cursor() as cursor:
            cursor.execute(f"CREATE TABLE {table} ({columns})")
            created.append(table)
            if rows:
                marks = ", ".join(["%s"] * len(rows[0]))
                cursor.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        return table

    yield create

    with pg_admin.cursor() as cursor:
        for table in reversed(created):
            cursor.execute(f"DROP TABLE IF EXISTS {table} CASCADE")


@pytest.fixture
def connector() -> Iterator[PostgresConnector]:
    """A connector to the local server's test database, closed after the test."""
    connector = PostgresConnector(
        name="pg",
        host=PG_HOST,
        port=PG_PORT,
        user=PG_USER,
        password=PG_PASSWORD,
        default_database=PG_DATABASE,
        connect_timeout=2,
    )
    yield connector
    connector.close()


@pytest.fixture
def password_server() -> Iterator[int]:
    """A local server speaking PostgreSQL's protocol that refuses every password.

    The local PostgreSQL trusts every login, so a wrong password can only be shown by a server
    that asks for one: this one asks for a clear-text password and answers SQLSTATE 28P01.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.05)
    stop = threading.Event()
    thread = threading.Thread(target=_refuse_passwords, args=(listener, stop), daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    listener.close()


_SSL_REQUEST, _GSS_REQUEST = 80877103, 80877104


def _refuse_passwords(listener: socket.socket, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        with conn:
            try:
                _answer_one_login(conn)
            except OSError:
                pass  # the status check's port probe connects and leaves without a word


def _answer_one_login(conn: socket.socket) -> None:
    conn.settimeout(5)
    while True:
        length, code = struct.unpack("!ii", _read(conn, 8))
        _read(conn, length - 8)
        if code not in (_SSL_REQUEST, _GSS_REQUEST):
            break
        conn.sendall(b"N")  # no SSL, no GSS: go on in clear text
    conn.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
    kind, length = struct.unpack("!ci", _read(conn, 5))
    _read(conn, length - 4)
    fields = b"".join(
        key + value + b"\0"
        for key, value in [
            (b"S", b"FATAL"),
            (b"V", b"FATAL"),
            (b"C", b"28P01"),
            (b"M", b'password authentication failed for user "ann"'),
        ]
    )
    body = fields + b"\0"
    conn.sendall(b"E" + struct.pack("!i", len(body) + 4) + body)


def _read(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("client went away")
        data += chunk
    return data
