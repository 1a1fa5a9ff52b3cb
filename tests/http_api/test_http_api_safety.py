"""URL templating, row rules, XML rules, secrets and clear errors of the HttpAPI connector."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from pydantic import ValidationError
from pytest_httpserver import HTTPServer

from toucan_connectors.errors import InvalidDataSourceError
from toucan_connectors.http.client import HttpStatusError
from toucan_connectors.http_api import HttpAPIConnector

from .helpers import make_connector, make_source


def raw_paths(httpserver: HTTPServer) -> list[str]:
    return [request.environ["REQUEST_URI"] for request, _ in httpserver.log]


@pytest.mark.parametrize(
    ("shop", "path"),
    [
        ("../admin/users?", "/api/shops/..%2Fadmin%2Fusers%3F/sales"),
        ("42/sales?x=#", "/api/shops/42%2Fsales%3Fx%3D%23/sales"),
        ("a b&c", "/api/shops/a%20b%26c/sales"),
        (42, "/api/shops/42/sales"),
    ],
)
def test_values_rendered_into_the_url_stay_inside_their_segment(
    httpserver: HTTPServer, shop: Any, path: str
) -> None:
    httpserver.expect_request(re.compile("/api/.*")).respond_with_json([{"total": 7}])
    source = make_source(url="shops/{{ shop }}/sales", parameters={"shop": shop})

    df = make_connector(httpserver).get_df(source)

    assert_frame_equal(df, pd.DataFrame({"total": [7]}))
    assert raw_paths(httpserver) == [path]


def test_url_that_is_one_number_is_sent_as_text(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/5").respond_with_json([{"n": 5}])

    df = make_connector(httpserver).get_df(make_source(url="{{ id }}", parameters={"id": 5}))

    assert_frame_equal(df, pd.DataFrame({"n": [5]}))


@pytest.mark.parametrize("shop", [".", ".."])
def test_dot_segment_values_are_refused(httpserver: HTTPServer, shop: str) -> None:
    source = make_source(url="shops/{{ shop }}/sales", parameters={"shop": shop})

    with pytest.raises(InvalidDataSourceError, match="pass a real identifier"):
        make_connector(httpserver).get_df(source)

    assert httpserver.log == []


def test_url_rendering_null_is_refused(httpserver: HTTPServer) -> None:
    source = make_source(url="{{ id }}", parameters={"id": None})

    with pytest.raises(InvalidDataSourceError, match="gives null, not a path: render a string"):
        make_connector(httpserver).get_df(source)


def test_null_records_stay_rows_with_missing_values(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/prices").respond_with_json([{"p": 10}, None, {"p": 30}])
    connector = make_connector(httpserver)

    scalars = connector.get_df(make_source(url="prices", filter="map(.p)"))
    records = connector.get_df(make_source(url="prices"))

    assert_frame_equal(scalars, pd.DataFrame({"value": [10.0, None, 30.0]}))
    assert_frame_equal(records, pd.DataFrame({"p": [10.0, None, 30.0]}))


def test_unknown_flatten_column_is_a_clear_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/items").respond_with_json([{"n": 1, "tags": ["a"]}])

    with pytest.raises(
        InvalidDataSourceError,
        match='flatten_column "tag" is in no row of the page \\(columns: n, tags\\): fix',
    ):
        make_connector(httpserver).get_df(make_source(url="items", flatten_column="tag"))


NAMESPACED = (
    '<?xml version="1.0"?><catalog xmlns="http://x.test/ns" xmlns:e="http://x.test/e">'
    '<item id="1" e:lang="fr"><name>A</name></item><item id="2"><e:name>B</e:name></item>'
    "</catalog>"
)


@pytest.mark.parametrize("xpath", ["./item", "./{http://x.test/ns}item"])
def test_xml_columns_use_local_names_without_namespaces(httpserver: HTTPServer, xpath: str) -> None:
    httpserver.expect_request("/api/ns").respond_with_data(NAMESPACED, content_type="text/xml")
    connector = make_connector(httpserver, responsetype="xml")

    df = connector.get_df(make_source(url="ns", xpath=xpath))

    expected = pd.DataFrame({"@id": ["1", "2"], "@lang": ["fr", None], "name": ["A", "B"]})
    assert_frame_equal(df, expected)


def test_xml_without_xpath_uses_local_names_too(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/ns").respond_with_data(NAMESPACED, content_type="text/xml")
    connector = make_connector(httpserver, responsetype="xml")

    df = connector.get_df(make_source(url="ns", filter=".catalog.item"))

    expected = pd.DataFrame({"@id": ["1", "2"], "@lang": ["fr", None], "name": ["A", "B"]})
    assert_frame_equal(df, expected)


def test_xml_element_text_is_always_the_text_column(httpserver: HTTPServer) -> None:
    body = '<r><item a="1">text</item><item>plain</item><item/></r>'
    httpserver.expect_request("/api/txt").respond_with_data(body, content_type="text/xml")
    connector = make_connector(httpserver, responsetype="xml")

    df = connector.get_df(make_source(url="txt", xpath="./item"))

    assert_frame_equal(
        df, pd.DataFrame({"@a": ["1", None, None], "#text": ["text", "plain", None]})
    )


@pytest.mark.parametrize("xpath", ["/catalog/item", "//item[@id=", "./item["])
def test_unsupported_xpath_is_a_clear_error(httpserver: HTTPServer, xpath: str) -> None:
    httpserver.expect_request("/api/ns").respond_with_data(NAMESPACED, content_type="text/xml")
    connector = make_connector(httpserver, responsetype="xml")

    with pytest.raises(InvalidDataSourceError, match="write it relative to the root element"):
        connector.get_df(make_source(url="ns", xpath=xpath))


@pytest.mark.parametrize("baseroute", ["127.0.0.1:9/api", "ftp://127.0.0.1:9/api", "http:///x"])
def test_baseroute_must_be_an_http_url(baseroute: str) -> None:
    with pytest.raises(ValidationError, match="is not an http:// or https:// URL with a host"):
        HttpAPIConnector(name="api", baseroute=baseroute)


def test_pagination_in_a_list_json_body_is_a_clear_error(httpserver: HTTPServer) -> None:
    source = make_source(
        url="items",
        method="POST",
        json=[1, 2],
        pagination={"kind": "offset_limit", "limit": 2, "location": "json"},
    )

    with pytest.raises(InvalidDataSourceError, match='set the pagination\'s location to "params"'):
        make_connector(httpserver).get_df(source)


@pytest.mark.parametrize(
    ("body", "sent"),
    [({"json": [1, 2]}, "a list body"), ({"data": {"a": "1"}}, "form data")],
)
def test_template_json_that_cannot_be_merged_is_a_clear_error(
    httpserver: HTTPServer, body: dict[str, Any], sent: str
) -> None:
    connector = make_connector(httpserver, template={"json": {"token": "T"}})

    with pytest.raises(InvalidDataSourceError, match=f"sends {sent}, into which .* move the"):
        connector.get_df(make_source(url="items", method="POST", **body))


def test_json_and_form_data_together_are_refused(httpserver: HTTPServer) -> None:
    source = make_source(url="items", method="POST", json={"a": 1}, data={"b": "2"})

    with pytest.raises(InvalidDataSourceError, match="keep one of them"):
        make_connector(httpserver).get_df(source)


def test_null_header_is_not_sent_and_removes_the_template_one(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/items").respond_with_json([{"n": 1}])
    connector = make_connector(httpserver, template={"headers": {"X-Lang": "fr", "X-A": "1"}})

    connector.get_df(
        make_source(url="items", headers={"X-Lang": None, "X-N": "{{ n }}"}, parameters={"n": 3})
    )

    request = httpserver.log[0][0]
    assert (
        request.headers.get("X-Lang"),
        request.headers.get("X-A"),
        request.headers.get("X-N"),
    ) == (
        None,
        "1",
        "3",
    )


def test_credential_headers_are_masked_in_repr(httpserver: HTTPServer) -> None:
    headers = {"Authorization": "Bearer T0KEN", "X-Api-Key": "K3Y", "Accept": "text/csv"}
    connector = make_connector(httpserver, template={"headers": headers})
    source = make_source(url="items", headers={"Cookie": "session=C00KIE"})

    shown = repr(connector) + str(connector) + repr(source)

    assert ("T0KEN" in shown, "K3Y" in shown, "C00KIE" in shown, "text/csv" in shown) == (
        False,
        False,
        False,
        True,
    )


def test_api_key_and_client_secret_echoed_by_the_server_are_masked(
    httpserver: HTTPServer,
) -> None:
    echo = '{"error": "bad key", "key": "K3YSECRET"}'
    httpserver.expect_request("/api/items").respond_with_data(echo, status=403)
    auth = {"type": "api_key", "name": "api_key", "key": "K3YSECRET", "location": "query"}

    with pytest.raises(HttpStatusError) as raised:
        make_connector(httpserver, auth=auth).get_df(make_source(url="items"))

    assert str(raised.value) == (
        f'The "api" HttpAPI connector: GET {httpserver.url_for("/api/items")} answered 403 '
        'FORBIDDEN: \'{"error": "bad key", "key": "***"}\'; check the URL, the parameters and '
        "the credentials."
    )


def test_api_key_in_the_query_is_sent_once_on_a_next_link_that_echoes_it(
    httpserver: HTTPServer,
) -> None:
    base = httpserver.url_for("/api/items")
    link = {"Link": f'<{base}?page=2&key=K>; rel="next"'}
    httpserver.expect_request("/api/items", query_string="key=K").respond_with_json(
        [{"n": 0}], headers=link
    )
    httpserver.expect_request("/api/items", query_string="page=2&key=K").respond_with_json(
        [{"n": 1}]
    )
    auth = {"type": "api_key", "name": "key", "key": "K", "location": "query"}

    df = make_connector(httpserver, auth=auth).get_df(
        make_source(url="items", pagination={"kind": "next_link"})
    )

    assert_frame_equal(df, pd.DataFrame({"n": [0, 1]}))
    assert [request.query_string for request, _ in httpserver.log] == [b"key=K", b"page=2&key=K"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("<r><item>Zoé</item></r>".encode(), "text/xml"),
        (
            '<?xml version="1.0" encoding="ISO-8859-1"?><r><item>Zoé</item></r>'.encode("latin-1"),
            "application/xml",
        ),
    ],
    ids=["utf-8-without-charset", "declared-latin-1"],
)
def test_xml_encoding_comes_from_the_document(
    httpserver: HTTPServer, body: bytes, content_type: str
) -> None:
    httpserver.expect_request("/api/x").respond_with_data(body, content_type=content_type)
    connector = make_connector(httpserver, responsetype="xml")

    df = connector.get_df(make_source(url="x", xpath="./item"))

    assert_frame_equal(df, pd.DataFrame({"#text": ["Zoé"]}))
