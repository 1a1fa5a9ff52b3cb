"""The error tree every connector raises.

    ToucanConnectorError                      base of everything we raise
    ├── MissingDependencyError (ImportError)  a connector's extra is not installed
    ├── InvalidConfigurationError (ValueError) a connector config cannot work
    ├── InvalidDataSourceError (ValueError)   a data source cannot be run
    │   └── TemplateError                     a template is unsafe or needs a missing variable
    ├── ConnectionFailedError (ConnectionError) the provider could not be reached
    ├── ProviderError (RuntimeError)          the provider answered with an error
    └── UnsupportedFeatureError               a documented limitation was hit

Each message says what happened, where (connector and data source) and what to do.
"""

from __future__ import annotations


class ToucanConnectorError(Exception):
    """Base class of every error raised by toucan-connectors."""


class MissingDependencyError(ToucanConnectorError, ImportError):
    """A connector needs a package that is not installed."""

    def __init__(self, connector: str, package: str, extra: str) -> None:
        self.connector = connector
        self.package = package
        self.extra = extra
        self.install_command = f'pip install "toucan-connectors[{extra}]"'
        super().__init__(
            f'The "{connector}" connector needs the "{package}" package; '
            f"install it with `{self.install_command}`."
        )


class InvalidConfigurationError(ToucanConnectorError, ValueError):
    """A connector's configuration cannot work."""


class InvalidDataSourceError(ToucanConnectorError, ValueError):
    """A data source cannot be run as written."""


class TemplateError(InvalidDataSourceError):
    """A template is unsafe, malformed or needs a variable that was not given."""


class ConnectionFailedError(ToucanConnectorError, ConnectionError):
    """The provider could not be reached or refused the connection.

    `transient=False` marks a failure that retrying cannot cure (a wrong password, a missing
    database): a `RetryPolicy` then raises it at once, even if the class is transient.
    """

    def __init__(self, *args: object, transient: bool = True) -> None:
        super().__init__(*args)
        self.transient = transient


class ProviderError(ToucanConnectorError, RuntimeError):
    """The provider answered a request with an error."""


class UnsupportedFeatureError(ToucanConnectorError, NotImplementedError):
    """A documented limitation of a connector was hit."""
