"""jq filters over parsed response bodies, compiled once and run per page."""

from __future__ import annotations

import functools
from typing import Any

from toucan_connectors.dependencies import import_optional
from toucan_connectors.errors import InvalidDataSourceError

__all__ = ["first_jq", "run_jq"]


@functools.lru_cache(maxsize=256)
def _compile(expression: str) -> Any:
    jq = import_optional("jq", connector="HttpAPI", extra="http_api")
    try:
        return jq.compile(expression)
    except ValueError as exc:
        raise InvalidDataSourceError(
            f"jq filter {expression!r} does not compile ({_first_line(exc)}): fix its syntax."
        ) from exc


def run_jq(expression: str, value: Any) -> list[Any]:
    """Return every output of the jq `expression` run on `value`.

    Raises:
        InvalidDataSourceError: the expression does not compile or fails on this value.
    """
    program = _compile(expression)
    try:
        return list(program.input_value(value).all())
    except ValueError as exc:
        raise InvalidDataSourceError(
            f"jq filter {expression!r} failed on the response ({_first_line(exc)}): check it "
            "against the shape of the response."
        ) from exc


def first_jq(expression: str, value: Any) -> Any:
    """Return the first output of the jq `expression` run on `value`, or None when there is none."""
    outputs = run_jq(expression, value)
    return outputs[0] if outputs else None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
