"""Retry policies for transient provider errors, built on tenacity."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import tenacity
from pydantic import BaseModel, ConfigDict, Field

logger = logging.getLogger(__name__)
T = TypeVar("T")


class RetryPolicy(BaseModel):
    """How often and how long to retry a retrieval that failed with a transient error."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(3, ge=1, description="Attempts in all, the first one included.")
    max_delay: float | None = Field(
        30.0, gt=0, description="Give up once this many seconds have passed since the first try."
    )
    wait_time: float = Field(
        0.5, ge=0, description="Initial wait in seconds; it doubles after each failure."
    )
    max_wait: float = Field(10.0, ge=0, description="Longest single wait in seconds.")
    jitter: float = Field(0.5, ge=0, description="Random extra wait, up to this many seconds.")

    def call(self, func: Callable[[], T], transient: tuple[type[BaseException], ...]) -> T:
        """Call `func`, retrying only the `transient` exceptions; anything else propagates.

        An exception of a transient class whose `transient` attribute is False (a
        `ConnectionFailedError` for a wrong password) is permanent and raised at once.
        """
        stop: tenacity.stop.stop_base = tenacity.stop_after_attempt(self.max_attempts)
        if self.max_delay is not None:
            stop = stop | tenacity.stop_after_delay(self.max_delay)
        retrying = tenacity.Retrying(
            stop=stop,
            wait=tenacity.wait_exponential(multiplier=self.wait_time, max=self.max_wait)
            + tenacity.wait_random(0, self.jitter),
            retry=tenacity.retry_if_exception(lambda exc: is_transient(exc, transient)),
            before_sleep=_log_retry,
            reraise=True,
        )
        return retrying(func)


def _log_retry(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    logger.warning(
        "Attempt %d failed with %s; retrying", state.attempt_number, type(error).__name__
    )


def is_transient(exc: BaseException, transient: tuple[type[BaseException], ...]) -> bool:
    """Tell whether `exc` is worth retrying: of a `transient` class and not marked permanent."""
    return isinstance(exc, transient) and getattr(exc, "transient", True) is not False
