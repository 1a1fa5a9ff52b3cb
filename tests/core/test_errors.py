from __future__ import annotations

import pandas as pd
import pytest

from toucan_connectors.dependencies import import_optional
from toucan_connectors.errors import (
    ConnectionFailedError,
    InvalidConfigurationError,
    InvalidDataSourceError,
    MissingDependencyError,
    ProviderError,
    TemplateError,
    ToucanConnectorError,
    UnsupportedFeatureError,
)

from .connectors import FrameConnector, FrameDataSource


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        pytest.param(MissingDependencyError("Postgres", "psycopg2", "postgres"), ImportError,
                     id="missing-dependency"),
        pytest.param(InvalidConfigurationError("x"), ValueError, id="invalid-configuration"),
        pytest.param(InvalidDataSourceError("x"), ValueError, id="invalid-data-source"),
        pytest.param(TemplateError("x"), ValueError, id="template"),
        pytest.param(ConnectionFailedError("x"), ConnectionError, id="connection-failed"),
        pytest.param(ProviderError("x"), RuntimeError, id="provider"),
        pytest.param(UnsupportedFeatureError("x"), NotImplementedError, id="unsupported"),
    ],
)  # fmt: skip
def test_error_is_also_its_builtin(error, builtin):
    assert isinstance(error, ToucanConnectorError) and isinstance(error, builtin)


def test_template_error_is_an_invalid_data_source():
    assert issubclass(TemplateError, InvalidDataSourceError)


def test_missing_dependency_message_names_the_pip_command():
    error = MissingDependencyError("Postgres", "psycopg2", "postgres")

    assert str(error) == (
        'The "Postgres" connector needs the "psycopg2" package; '
        'install it with `pip install "toucan-connectors[postgres]"`.'
    )


def test_import_optional_returns_the_module():
    assert import_optional("json", connector="Json", extra="json").__name__ == "json"


def test_import_optional_raises_missing_dependency_chained():
    with pytest.raises(MissingDependencyError) as raised:
        import_optional(
            "no_such_driver_xyz", connector="Foo", extra="foo", package="no-such-driver"
        )

    assert str(raised.value) == (
        'The "Foo" connector needs the "no-such-driver" package; '
        'install it with `pip install "toucan-connectors[foo]"`.'
    )
    assert isinstance(raised.value.__cause__, ModuleNotFoundError)


def test_explain_says_it_is_unsupported():
    connector = FrameConnector(name="shop", type="Frame", frame=pd.DataFrame())

    with pytest.raises(UnsupportedFeatureError) as raised:
        connector.explain(FrameDataSource(domain="sales", name="shop"))

    assert str(raised.value) == (
        'The "Frame" connector cannot explain queries; see the Limitations section of its doc page.'
    )
