"""Import a connector's optional driver, or say which extra installs it."""

from __future__ import annotations

import importlib
from types import ModuleType

from toucan_connectors.errors import MissingDependencyError


def import_optional(
    module: str, *, connector: str, extra: str, package: str | None = None
) -> ModuleType:
    """Import `module`, raising MissingDependencyError with the pip command when it is missing.

    Args:
        module: the dotted module name to import (``"psycopg2"``).
        connector: the connector's type key, for the message.
        extra: the extra that installs the module (``"postgres"``).
        package: the distribution name when it differs from the module name.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(connector, package or module, extra) from exc
