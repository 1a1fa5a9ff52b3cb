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


SHOP = FrameConnector(name="shop", type="Frame", frame=pd.DataFrame({"a": [1]}))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        pytest.param(
            lambda: SHOP.get_df(FrameDataSource(domain="sales", name="shop", query="{{ region }}")),
            TemplateError,
            'Data source "sales" of connector "shop" (Frame): Template \'{{ region }}\' uses '
            '"region", which is not defined: add "region" to the data source\'s "parameters".',
            id="get-df-template",
        ),
        pytest.param(
            lambda: SHOP.get_slice(
                FrameDataSource(domain="sales", name="shop"),
                {"column": "b", "operator": "eq", "value": 1},
            ),
            InvalidDataSourceError,
            'Data source "sales" of connector "shop" (Frame): Permission column "b" is not in '
            "the result: use one of a.",
            id="get-slice-permission",
        ),
        pytest.param(
            lambda: SHOP.get_df(
                FrameDataSource(domain="sales", name="shop"),
                {"column": "a", "operator": "gt", "value": "x"},
            ),
            InvalidDataSourceError,
            'Data source "sales" of connector "shop" (Frame): Permission on number column "a" '
            "compares it with 'x', which is not a number: fix the permission's value or the "
            "parameter it comes from.",
            id="get-df-permission-type",
        ),
        pytest.param(
            lambda: SHOP.describe(FrameDataSource(domain="sales", name="shop", query="{{ r }}")),
            TemplateError,
            'Data source "sales" of connector "shop" (Frame): Template \'{{ r }}\' uses "r"',
            id="describe-template",
        ),
    ],
)
def test_input_errors_name_the_connector_and_data_source(call, error, message):
    with pytest.raises(error) as raised:
        call()

    assert type(raised.value) is error
    assert str(raised.value).startswith(message)


def test_error_naming_the_data_source_is_not_prefixed_twice():
    class NamingConnector(FrameConnector):
        def _retrieve_data(self, data_source):
            raise InvalidDataSourceError(f'Data source "{data_source.domain}" is wrong: fix it.')

    connector = NamingConnector(name="shop", frame=pd.DataFrame())

    with pytest.raises(InvalidDataSourceError) as raised:
        connector.get_df(FrameDataSource(domain="sales", name="shop"))

    assert str(raised.value) == 'Data source "sales" is wrong: fix it.'
