from __future__ import annotations

import socket

import pytest

from toucan_connectors.errors import MissingDependencyError
from toucan_connectors.status import (
    CheckFailedError,
    ConnectorStatus,
    StatusCheck,
    check_host_resolves,
    check_port_opens,
    connect_and_authenticate_checks,
    host_and_port_checks,
    run_status_checks,
)

from .connectors import FrameConnector


def passes():
    return None


def fails():
    raise CheckFailedError('Wrong password for user "bob": check the password.\nmore')


def driver_error():
    raise KeyError("unexpected")


@pytest.fixture
def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return port


@pytest.fixture
def open_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def unresolvable(monkeypatch):
    def getaddrinfo(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_all_checks_pass():
    checks = [StatusCheck("Host resolved", passes), StatusCheck("Connected", passes)]

    assert run_status_checks(checks) == ConnectorStatus(
        status=True,
        message="Connector is reachable.",
        details=[("Host resolved", True), ("Connected", True)],
    )


def test_first_failure_stops_and_leaves_the_rest_unreached():
    checks = [
        StatusCheck("Host resolved", passes),
        StatusCheck("Authenticated", fails),
        StatusCheck("Database exists", passes),
    ]

    assert run_status_checks(checks) == ConnectorStatus(
        status=False,
        error='Wrong password for user "bob": check the password.',
        details=[("Host resolved", True), ("Authenticated", False), ("Database exists", None)],
    )


def test_unexpected_error_fails_its_step():
    status = run_status_checks([StatusCheck("Connected", driver_error)])

    assert (status.status, status.error, status.details) == (
        False,
        "'unexpected'",
        [("Connected", False)],
    )


def test_host_resolves_for_localhost():
    check_host_resolves("127.0.0.1")


def test_unresolvable_host_fails_with_its_name(unresolvable):
    with pytest.raises(CheckFailedError, match='Host "nowhere.invalid" could not be resolved'):
        check_host_resolves("nowhere.invalid")


def test_closed_port_fails(closed_port):
    with pytest.raises(CheckFailedError, match=f"Port {closed_port} on 127.0.0.1 is not open"):
        check_port_opens("127.0.0.1", closed_port, timeout=1)


def test_open_port_passes(open_port):
    check_port_opens("127.0.0.1", open_port, timeout=1)


def test_host_and_port_on_unresolvable_host(unresolvable):
    status = run_status_checks(host_and_port_checks("nowhere.invalid", 5432))

    assert status.details == [("Host resolved", False), ("Port opened", None)]


def test_host_and_port_on_closed_port(closed_port):
    status = run_status_checks(host_and_port_checks("127.0.0.1", closed_port, timeout=1))

    assert status.details == [("Host resolved", True), ("Port opened", False)]


def test_host_and_port_on_open_port(open_port):
    status = run_status_checks(host_and_port_checks("127.0.0.1", open_port, timeout=1))

    assert status.details == [("Host resolved", True), ("Port opened", True)]


def test_connector_without_checks_has_unknown_status():
    assert FrameConnector(name="shop").get_status() == ConnectorStatus(
        status=None, message="This connector has no status checks."
    )


def test_missing_driver_is_raised_with_the_install_command():
    def connect():
        raise MissingDependencyError("Postgres", "psycopg2-binary", "postgres")

    checks = [StatusCheck("Host resolved", passes), StatusCheck("Connected", connect)]

    command = r'pip install "toucan-connectors\[postgres\]"'
    with pytest.raises(MissingDependencyError, match=command):
        run_status_checks(checks)


class _Session:
    def __init__(self, password):
        self.password = password


def _login(session):
    if session.password != "right":
        raise PermissionError('password authentication failed for user "bob"\nDETAIL: more')


@pytest.mark.parametrize(
    ("connect", "expected"),
    [
        pytest.param(
            lambda: _Session("right"),
            ConnectorStatus(
                status=True,
                message="Connector is reachable.",
                details=[("Connected", True), ("Authenticated", True)],
            ),
            id="passes",
        ),
        pytest.param(
            lambda: _Session("wrong"),
            ConnectorStatus(
                status=False,
                error='Authentication failed (password authentication failed for user "bob"): '
                "check the user and the password.",
                details=[("Connected", True), ("Authenticated", False)],
            ),
            id="wrong-password",
        ),
        pytest.param(
            lambda: socket.create_connection(("host.invalid", 1)),
            ConnectorStatus(
                status=False,
                error="Could not connect (refused): check the host, the port and that the server "
                "is running.",
                details=[("Connected", False), ("Authenticated", None)],
            ),
            id="cannot-connect",
        ),
    ],
)
def test_connect_and_authenticate_checks(monkeypatch, connect, expected):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("refused")

    monkeypatch.setattr(socket, "create_connection", refuse)

    assert run_status_checks(connect_and_authenticate_checks(connect, _login)) == expected
