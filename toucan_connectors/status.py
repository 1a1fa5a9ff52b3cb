"""Step-by-step status checks: host resolves, port opens, connects, authenticates."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, Field

from toucan_connectors.errors import MissingDependencyError

logger = logging.getLogger(__name__)
T = TypeVar("T")


class ConnectorStatus(BaseModel):
    """The outcome of `get_status`: overall result plus each named check in order."""

    status: bool | None = None
    message: str | None = None
    error: str | None = None
    details: list[tuple[str, bool | None]] = Field(default_factory=list)


class CheckFailedError(Exception):
    """Raised by a status check to fail its step with a message for the user."""


@dataclass(frozen=True)
class StatusCheck:
    """A named step; `run` returns nothing on success or raises to fail the step."""

    name: str
    run: Callable[[], object]


def run_status_checks(checks: Sequence[StatusCheck]) -> ConnectorStatus:
    """Run checks in order, stop at the first failure and mark the remaining ones not reached.

    Any exception fails the step: an unexpected driver error never passes a check. A
    `MissingDependencyError` is raised instead: no check can run without the connector's extra,
    and its message names the `pip install` command.
    """
    details: list[tuple[str, bool | None]] = [(check.name, None) for check in checks]
    for index, check in enumerate(checks):
        logger.debug("Status check %r", check.name)
        try:
            check.run()
        except MissingDependencyError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure must fail the step
            details[index] = (check.name, False)
            return ConnectorStatus(status=False, error=_describe(exc), details=details)
        details[index] = (check.name, True)
    return ConnectorStatus(status=True, message="Connector is reachable.", details=details)


def check_host_resolves(host: str) -> None:
    """Fail unless `host` resolves to an address."""
    try:
        socket.getaddrinfo(host, None)
    except OSError as exc:
        raise CheckFailedError(f'Host "{host}" could not be resolved: check its spelling.') from exc


def check_port_opens(host: str, port: int, timeout: float = 3.0) -> None:
    """Fail unless a TCP connection to `host:port` opens within `timeout` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise CheckFailedError(
            f"Port {port} on {host} is not open ({exc.strerror or exc}): "
            "check the port and that the server is running."
        ) from exc


def host_and_port_checks(host: str, port: int, timeout: float = 3.0) -> list[StatusCheck]:
    """The two usual first steps: the host resolves, then its port opens."""
    return [
        StatusCheck("Host resolved", lambda: check_host_resolves(host)),
        StatusCheck("Port opened", lambda: check_port_opens(host, port, timeout)),
    ]


def connect_and_authenticate_checks(
    connect: Callable[[], T],
    authenticate: Callable[[T], object],
    connect_hint: str = "check the host, the port and that the server is running",
    authenticate_hint: str = "check the user and the password",
) -> list[StatusCheck]:
    """The two usual last steps: `connect()` opens a session, `authenticate(session)` logs in.

    A failure of either step becomes its message followed by the hint, so each connector only
    supplies the two calls (and, if it likes, hints in its own words).
    """
    sessions: list[T] = []

    def run_connect() -> None:
        try:
            sessions[:] = [connect()]
        except (CheckFailedError, MissingDependencyError):
            raise
        except Exception as exc:  # noqa: BLE001 - any driver error fails the step
            raise CheckFailedError(
                f"Could not connect ({_first_line(exc)}): {connect_hint}."
            ) from exc

    def run_authenticate() -> None:
        try:
            authenticate(sessions[0])
        except (CheckFailedError, MissingDependencyError):
            raise
        except Exception as exc:  # noqa: BLE001 - any driver error fails the step
            raise CheckFailedError(
                f"Authentication failed ({_first_line(exc)}): {authenticate_hint}."
            ) from exc

    return [StatusCheck("Connected", run_connect), StatusCheck("Authenticated", run_authenticate)]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0] if isinstance(exc, CheckFailedError) else text
