from __future__ import annotations

import pandas as pd
import pytest
from pydantic import SecretStr, ValidationError

from toucan_connectors.errors import InvalidDataSourceError
from toucan_connectors.toucan_connector import ToucanConnector, ToucanDataSource

from .connectors import AnnotatedConnector, FrameConnector, FrameDataSource


def test_data_source_defaults():
    data_source = ToucanDataSource(domain="sales", name="shop")

    assert data_source.model_dump() == {
        "domain": "sales",
        "name": "shop",
        "type": None,
        "load": True,
        "live_data": False,
        "validation": None,
        "parameters": None,
        "cache_ttl": None,
    }


def test_connector_defaults():
    connector = FrameConnector(name="shop")

    assert connector.model_dump(exclude={"password", "frame"}) == {
        "name": "shop",
        "type": None,
        "retry_policy": None,
        "cache_ttl": None,
        "identifier": None,
        "secrets_storage_version": "1",
    }


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        pytest.param(FrameDataSource, {"domain": "sales", "name": "shop"}, id="data-source"),
        pytest.param(FrameConnector, {"name": "shop"}, id="connector"),
    ],
)
def test_unknown_field_is_rejected_with_its_name(model, fields):
    with pytest.raises(ValidationError) as raised:
        model(**fields, tabel="orders")

    assert raised.value.errors()[0]["loc"] == ("tabel",)
    assert raised.value.errors()[0]["msg"] == "Extra inputs are not permitted"


def test_missing_required_field_is_named():
    with pytest.raises(ValidationError) as raised:
        ToucanDataSource(name="shop")

    assert [(e["loc"], e["msg"]) for e in raised.value.errors()] == [
        (("domain",), "Field required")
    ]


def test_data_source_model_from_class_keyword():
    assert FrameConnector.data_source_model is FrameDataSource


def test_data_source_model_from_annotation():
    assert AnnotatedConnector.data_source_model is FrameDataSource


def test_annotation_is_not_a_connector_field():
    assert "data_source_model" not in AnnotatedConnector.model_fields


def test_connector_without_data_source_model_says_how_to_declare_it():
    with pytest.raises(TypeError, match=r"data_source_model=MyDataSource\)` or annotate"):

        class NoModelConnector(ToucanConnector):
            def _retrieve_data(self, data_source: ToucanDataSource) -> pd.DataFrame:
                return pd.DataFrame()


def test_annotation_naming_an_undefined_class_says_to_define_it_first():
    with pytest.raises(TypeError, match="define the data source class first"):

        class LateConnector(ToucanConnector):
            data_source_model: LaterDataSource  # noqa: F821

            def _retrieve_data(self, data_source: ToucanDataSource) -> pd.DataFrame:
                return pd.DataFrame()


def test_abstract_intermediate_connector_needs_no_model():
    class BaseSqlConnector(ToucanConnector):
        host: str

    class SqlConnector(BaseSqlConnector, data_source_model=FrameDataSource):
        def _retrieve_data(self, data_source: ToucanDataSource) -> pd.DataFrame:
            return pd.DataFrame()

    assert SqlConnector(name="db", host="h").data_source_model is FrameDataSource


def test_connector_without_retrieve_data_cannot_be_built():
    class HalfConnector(ToucanConnector, data_source_model=FrameDataSource):
        pass

    with pytest.raises(TypeError, match="_retrieve_data"):
        HalfConnector(name="half")


def test_subclass_inherits_parent_data_source_model():
    class ChildConnector(FrameConnector):
        pass

    assert ChildConnector.data_source_model is FrameDataSource


def test_rendered_fills_templated_fields_with_parameters():
    data_source = FrameDataSource(
        domain="d", name="n", query="pop > {{ lo }}", parameters={"lo": 3}
    )

    assert data_source.rendered().query == "pop > 3"


def test_rendered_leaves_unrendered_fields_alone():
    class SqlDataSource(ToucanDataSource):
        unrendered_fields = frozenset({"query"})
        query: str

    data_source = SqlDataSource(domain="d", name="n", query="{{ lo }}", parameters={"lo": 3})

    assert data_source.rendered().query == "{{ lo }}"


class TableDataSource(ToucanDataSource):
    table: str
    password: SecretStr | None = None


@pytest.mark.parametrize("value", [5, ["city"], {"a": 1}])
def test_rendered_value_of_the_wrong_type_is_refused(value):
    data_source = TableDataSource(domain="d", name="n", table="{{ t }}", parameters={"t": value})

    with pytest.raises(
        InvalidDataSourceError,
        match=r'Data source "d" has a field whose template gives a value of the wrong type '
        r"\(table: Input should be a valid string\): fix the template",
    ):
        data_source.rendered()


def test_rendered_keeps_secrets_and_validates_again():
    data_source = TableDataSource(
        domain="d", name="n", table="{{ t }}", password="s3cret", parameters={"t": "city"}
    )

    rendered = data_source.rendered()

    assert (rendered.table, rendered.password) == ("city", SecretStr("s3cret"))
    assert "s3cret" not in repr(rendered)


def test_annotation_style_works_for_classes_defined_in_a_function():
    def make():
        class LocalDataSource(ToucanDataSource):
            query: str

        class LocalConnector(ToucanConnector):
            data_source_model: LocalDataSource

            def _retrieve_data(self, data_source: ToucanDataSource) -> pd.DataFrame:
                return pd.DataFrame()

        return LocalConnector, LocalDataSource

    connector, data_source = make()

    assert connector.data_source_model is data_source


@pytest.mark.parametrize("model", [int, dict, "not a class"])
def test_data_source_model_must_be_a_toucan_data_source(model):
    with pytest.raises(TypeError, match=r"which is not a ToucanDataSource subclass: declare"):

        class BadConnector(ToucanConnector, data_source_model=model):
            def _retrieve_data(self, data_source: ToucanDataSource) -> pd.DataFrame:
                return pd.DataFrame()
