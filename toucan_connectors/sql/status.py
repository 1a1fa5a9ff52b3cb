"""Status checks of the SQL connectors: host, port, then one shared connection attempt."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from toucan_connectors.status import CheckFailedError, StatusCheck, host_and_port_checks

if TYPE_CHECKING:
    from toucan_connectors.sql.sql_connector import SQLConnector

logger = logging.getLogger(__name__)

__all__ = ["CONNECT_STEPS", "build_status_checks", "try_connect"]

CONNECT_STEPS = ("Connected", "Authenticated", "Database exists")
"""The status steps decided by one connection attempt, in order."""


def build_status_checks(connector: SQLConnector) -> list[StatusCheck]:
    """Host resolves, port opens, then one connection attempt decides the last steps."""
    checks: list[StatusCheck] = []
    address = connector._network_address()
    if address is not None:
        checks += host_and_port_checks(*address, timeout=connector.connect_timeout)
    attempt = _ConnectionAttempt(connector)
    checks += [StatusCheck(step, attempt.checker(step)) for step in CONNECT_STEPS]
    return checks


def try_connect(connector: SQLConnector) -> None:
    """Open (and close) one new connection to the connector's default database."""
    import sqlalchemy as sa

    engine = sa.create_engine(
        connector._engine_url(connector._default_database()),
        poolclass=sa.NullPool,
        connect_args=connector._connect_args(),
    )
    connector._configure_engine(engine)
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()


class _ConnectionAttempt:
    """One connection attempt whose outcome the last status steps share."""

    def __init__(self, connector: SQLConnector) -> None:
        self._connector = connector
        self._outcome: tuple[str, str] | None = None
        self._done = False

    def checker(self, step: str) -> Any:
        """Return the check of `step`: it fails when the attempt failed at that step."""

        def _check() -> None:
            failed = self._failure()
            if failed is not None and failed[0] == step:
                raise CheckFailedError(failed[1])

        return _check

    def _failure(self) -> tuple[str, str] | None:
        if not self._done:
            self._done = True
            try:
                self._connector._try_connect()
            except Exception as exc:  # noqa: BLE001 - any error fails a step, never passes it
                from sqlalchemy.exc import SQLAlchemyError

                original = getattr(exc, "orig", None) or exc
                step = self._connector._connect_error_step(original)
                if step not in CONNECT_STEPS:
                    step = CONNECT_STEPS[0]
                message = (
                    self._connector._driver_message(exc)
                    if isinstance(exc, SQLAlchemyError)
                    else str(exc)
                )
                self._outcome = (step, message)
        return self._outcome
