from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from pydantic import ValidationError
from pytest_httpserver import HTTPServer

from toucan_connectors.errors import InvalidDataSourceError, ProviderError
from toucan_connectors.http.client import HttpStatusError
from toucan_connectors.http.oauth2 import InMemorySecretsKeeper
from toucan_connectors.http_api import HttpAPIConnector
from toucan_connectors.retry import RetryPolicy

from .helpers import make_connector, make_source

PEOPLE = [
    {"name": "Ann", "age": 31, "address": {"city": "Lyon", "zip": "69001"}},
    {"name": "Bob", "age": 45, "address": {"city": "Nice"}},
]


def test_get_df_reads_a_json_list(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/people").respond_with_json(PEOPLE)

    df = make_connector(httpserver).get_df(make_source(url="people", filter=".[] | {name, age}"))

    assert_frame_equal(df, pd.DataFrame({"name": ["Ann", "Bob"], "age": [31, 45]}))


@pytest.mark.parametrize(
    ("jq_filter", "expected"),
    [
        (".data.people", pd.DataFrame({"name": ["Ann", "Bob"]})),
        (".data.people[]", pd.DataFrame({"name": ["Ann", "Bob"]})),
        (".data.people | map(.name)", pd.DataFrame({"value": ["Ann", "Bob"]})),
        (".data.count", pd.DataFrame({"value": [2]})),
        (".data.people | length as $n | {count: $n}", pd.DataFrame({"count": [2]})),
        (".data.missing", pd.DataFrame()),
    ],
    ids=["list", "stream", "scalars", "one-scalar", "object", "null"],
)
def test_jq_filter_reshapes_the_response(
    httpserver: HTTPServer, jq_filter: str, expected: pd.DataFrame
) -> None:
    body = {"data": {"count": 2, "people": [{"name": "Ann"}, {"name": "Bob"}]}}
    httpserver.expect_request("/api/people").respond_with_json(body)

    df = make_connector(httpserver).get_df(make_source(url="people", filter=jq_filter))

    assert_frame_equal(df, expected)


def test_malformed_jq_filter_says_to_fix_it(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/people").respond_with_json(PEOPLE)

    with pytest.raises(InvalidDataSourceError, match="does not compile .*: fix its syntax"):
        make_connector(httpserver).get_df(make_source(url="people", filter=".["))


def test_flatten_nested_makes_dotted_columns(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/people").respond_with_json(PEOPLE)

    df = make_connector(httpserver).get_df(make_source(url="people", flatten_nested=True))

    expected = pd.DataFrame(
        {
            "name": ["Ann", "Bob"],
            "age": [31, 45],
            "address.city": ["Lyon", "Nice"],
            "address.zip": ["69001", None],
        }
    )
    assert_frame_equal(df, expected)


def test_without_flattening_objects_stay_dicts(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/people").respond_with_json(PEOPLE)

    df = make_connector(httpserver).get_df(make_source(url="people", filter=".[] | {address}"))

    expected = pd.DataFrame({"address": [{"city": "Lyon", "zip": "69001"}, {"city": "Nice"}]})
    assert_frame_equal(df, expected)


def test_flatten_column_explodes_a_list(httpserver: HTTPServer) -> None:
    body = [
        {"order": 1, "lines": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}]},
        {"order": 2, "lines": []},
        {"order": 3, "lines": ["c"]},
    ]
    httpserver.expect_request("/api/orders").respond_with_json(body)

    df = make_connector(httpserver).get_df(make_source(url="orders", flatten_column="lines"))

    expected = pd.DataFrame(
        {
            "order": [1, 1, 2, 3],
            "lines.sku": ["a", "b", None, None],
            "lines.qty": [2.0, 1.0, None, None],
            "lines": [None, None, None, "c"],
        }
    )
    assert_frame_equal(df, expected)


def test_templated_url_params_headers_and_body(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/api/shops/42/sales",
        method="POST",
        query_string={"year": "2024", "region": "EU"},
        headers={"X-Tenant": "acme"},
        json={"limit": 10, "tags": ["a", "b"], "source": "toucan"},
    ).respond_with_json([{"total": 7}])
    source = make_source(
        url="shops/{{ shop }}/sales",
        method="POST",
        params={"year": "{{ year }}"},
        headers={"X-Tenant": "{{ tenant }}"},
        json={"limit": "{{ limit }}", "tags": "{{ tags }}"},
        parameters={"shop": 42, "year": 2024, "tenant": "acme", "limit": 10, "tags": ["a", "b"]},
    )
    template = {"params": {"region": "EU"}, "json": {"source": "toucan", "limit": 1}}

    df = make_connector(httpserver, template=template).get_df(source)

    assert_frame_equal(df, pd.DataFrame({"total": [7]}))


def test_template_values_are_templated_too(httpserver: HTTPServer) -> None:
    query = {"lang": "fr"}
    httpserver.expect_request("/api/x", query_string=query).respond_with_json([{"a": 1}])
    template = {"params": {"lang": "{{ lang }}"}}
    source = make_source(url="x", parameters={"lang": "fr"})

    df = make_connector(httpserver, template=template).get_df(source)

    assert_frame_equal(df, pd.DataFrame({"a": [1]}))


def test_parameter_values_are_never_rendered_twice(httpserver: HTTPServer) -> None:
    query = {"q": "{{ 7*7 }}"}
    httpserver.expect_request("/api/x", query_string=query).respond_with_json([{"a": 1}])
    source = make_source(url="x", params={"q": "{{ q }}"}, parameters={"q": "{{ 7*7 }}"})

    df = make_connector(httpserver, template={"params": {}}).get_df(source)

    assert_frame_equal(df, pd.DataFrame({"a": [1]}))


XML = """<?xml version="1.0"?>
<catalog source="shop">
  <item id="1" kind="sofa"><name>Divan</name><price>10</price></item>
  <item id="2" kind="bed"><name>Futon</name><price>20</price></item>
  <note>not an item</note>
</catalog>"""


def test_xml_with_xpath_keeps_attributes(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/catalog").respond_with_data(XML, content_type="text/xml")

    connector = make_connector(httpserver, responsetype="xml")
    df = connector.get_df(make_source(url="catalog", xpath="./item"))

    expected = pd.DataFrame(
        {
            "@id": ["1", "2"],
            "@kind": ["sofa", "bed"],
            "name": ["Divan", "Futon"],
            "price": ["10", "20"],
        }
    )
    assert_frame_equal(df, expected)


def test_xml_without_xpath_is_reshaped_with_jq(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/catalog").respond_with_data(XML, content_type="text/xml")

    connector = make_connector(httpserver, responsetype="xml")
    source = make_source(url="catalog", filter='.catalog.item[] | {id: ."@id", name}')
    df = connector.get_df(source)

    assert_frame_equal(df, pd.DataFrame({"id": ["1", "2"], "name": ["Divan", "Futon"]}))


@pytest.mark.parametrize(
    ("responsetype", "body", "message"),
    [
        ("json", '[{"n": 1}, {"n": ', "JSON"),
        ("xml", "<catalog><item>", "XML"),
    ],
    ids=["json", "xml"],
)
def test_malformed_body_on_a_later_page_is_a_clear_error(
    httpserver: HTTPServer, responsetype: str, body: str, message: str
) -> None:
    first = '[{"n": 0}]' if responsetype == "json" else "<r><item><n>0</n></item></r>"
    httpserver.expect_request("/api/items", query_string={"page": "1"}).respond_with_data(first)
    httpserver.expect_request("/api/items", query_string={"page": "2"}).respond_with_data(body)
    source = make_source(url="items", pagination={"kind": "page_number"})
    if responsetype == "xml":
        source = make_source(url="items", xpath="./item", pagination={"kind": "page_number"})
    connector = make_connector(httpserver, responsetype=responsetype)

    with pytest.raises(
        ProviderError,
        match=rf"items returned a body that is not valid {message} \(.*\): check the URL",
    ):
        connector.get_df(source)


def test_server_error_is_given_up_with_a_clear_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/items").respond_with_data("maintenance", status=503)

    with pytest.raises(HttpStatusError, match="answered 503 .*the server kept failing"):
        make_connector(httpserver).get_df(make_source(url="items"))

    assert len(httpserver.log) == 3


def serve_c12(httpserver: HTTPServer, extra_keys: dict[int, dict[str, str]]) -> None:
    sizes = {0: ("sofa", 5), 5: ("kitchen", 5), 10: ("bedroom", 2)}
    for offset, (category, count) in sizes.items():
        items: dict[str, Any] = {"category": category, **extra_keys.get(offset, {})}
        items["products"] = [{"name": f"p{offset + n}", "price": 1} for n in range(1, count + 1)]
        query = {"offset": str(offset), "limit": "5"}
        httpserver.expect_request("/api/products", query_string=query).respond_with_json(
            {"total": 12, "items": items}
        )


C12_SOURCE = {
    "url": "products",
    "filter": ".items",
    "flatten_column": "products",
    "pagination": {"kind": "offset_limit", "limit": 5, "page_length_filter": ".items.products"},
}
C12_CATEGORIES = ["sofa"] * 5 + ["kitchen"] * 5 + ["bedroom"] * 2
C12_NAMES = [f"p{n}" for n in range(1, 13)]


def test_c12_pages_are_joined_after_filtering_and_flattening(httpserver: HTTPServer) -> None:
    serve_c12(httpserver, {})

    df = make_connector(httpserver).get_df(make_source(**C12_SOURCE))

    expected = pd.DataFrame(
        {"category": C12_CATEGORIES, "products.name": C12_NAMES, "products.price": [1] * 12}
    )
    assert_frame_equal(df, expected)


def test_c12_keys_present_on_some_pages_only(httpserver: HTTPServer) -> None:
    serve_c12(httpserver, {0: {"a": "x"}, 5: {"b": "y"}})

    df = make_connector(httpserver).get_df(make_source(**C12_SOURCE))

    expected = pd.DataFrame(
        {
            "category": C12_CATEGORIES,
            "a": ["x"] * 5 + [None] * 7,
            "products.name": C12_NAMES,
            "products.price": [1] * 12,
            "b": [None] * 5 + ["y"] * 5 + [None] * 2,
        }
    )
    assert_frame_equal(df, expected)


def serve_numbered_pages(httpserver: HTTPServer, pages: int, size: int) -> None:
    for page in range(1, pages + 1):
        start = (page - 1) * size
        body = [{"n": n} for n in range(start, start + size)]
        query = {"page": str(page)}
        httpserver.expect_request("/api/items", query_string=query).respond_with_json(body)


PAGED = {"url": "items", "pagination": {"kind": "page_number", "page_size": 10}}


def test_get_slice_stops_fetching_once_the_rows_are_in_hand(httpserver: HTTPServer) -> None:
    serve_numbered_pages(httpserver, pages=5, size=10)

    data_slice = make_connector(httpserver).get_slice(make_source(**PAGED), offset=12, limit=5)

    assert_frame_equal(data_slice.df, pd.DataFrame({"n": list(range(12, 17))}))
    assert (len(httpserver.log), data_slice.pagination_info.total_rows) == (2, None)
    assert data_slice.pagination_info.is_last_page is False


def test_get_slice_knows_the_total_once_pages_run_out(httpserver: HTTPServer) -> None:
    serve_numbered_pages(httpserver, pages=2, size=10)
    httpserver.expect_request("/api/items", query_string={"page": "3"}).respond_with_json([])

    data_slice = make_connector(httpserver).get_slice(make_source(**PAGED), offset=15, limit=10)

    assert_frame_equal(data_slice.df, pd.DataFrame({"n": list(range(15, 20))}))
    assert data_slice.pagination_info.total_rows == 20
    assert data_slice.pagination_info.is_last_page is True


def test_get_slice_with_permissions_filters_every_page(httpserver: HTTPServer) -> None:
    serve_numbered_pages(httpserver, pages=2, size=10)
    httpserver.expect_request("/api/items", query_string={"page": "3"}).respond_with_json([])
    permissions = {"column": "n", "operator": "ge", "value": 18}

    data_slice = make_connector(httpserver).get_slice(
        make_source(**PAGED), permissions=permissions, offset=0, limit=5
    )

    assert_frame_equal(data_slice.df, pd.DataFrame({"n": [18, 19]}))
    assert data_slice.pagination_info.total_rows == 2


def test_retrieval_logs_no_secret(httpserver: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    httpserver.expect_request("/api/items").respond_with_json([{"n": 1}])
    auth = {"type": "api_key", "name": "key", "key": "s3cr3t", "location": "query"}
    source = make_source(url="items", params={"q": "private"})
    url = httpserver.url_for("/api/items")

    with caplog.at_level(logging.DEBUG, logger="toucan_connectors"):
        make_connector(httpserver, auth=auth).get_df(source)

    ours = [r for r in caplog.records if r.name.startswith("toucan_connectors")]
    assert [(r.levelname, r.getMessage().split(" in ")[0]) for r in ours] == [
        ("DEBUG", f"GET {url}"),
        ("INFO", "Data source 'things' returned 1 rows"),
    ]


def test_link_to_another_host_is_refused_when_authenticated(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/items").respond_with_json(
        {"items": [{"n": 1}], "next": "http://localhost:9/steal"}
    )
    pagination = {"kind": "next_link", "next_link_filter": ".next"}
    source = make_source(url="items", filter=".items", pagination=pagination)
    connector = make_connector(httpserver, auth={"type": "bearer", "token": "t0k3n"})

    with pytest.raises(ProviderError, match="credentials are never sent elsewhere"):
        connector.get_df(source)


def test_requests_go_through_the_proxy(httpserver: HTTPServer) -> None:
    # The proxy gets the absolute URL; the local server answers for the unreachable host.
    httpserver.expect_request("/api/items").respond_with_json([{"n": 1}])
    proxies = {"http": httpserver.url_for("/")}
    connector = make_connector_at("http://api.shop.invalid/api", proxies=proxies)

    df = connector.get_df(make_source(url="items"))

    assert_frame_equal(df, pd.DataFrame({"n": [1]}))


def test_authorization_code_through_the_connector(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/token", method="POST").respond_with_json(
        {"access_token": "A1", "refresh_token": "R1", "expires_in": 3600}
    )
    headers = {"Authorization": "Bearer A1"}
    httpserver.expect_request("/api/me", headers=headers).respond_with_json({"id": 7})
    auth = {
        "type": "oauth2_authorization_code",
        "authorization_url": httpserver.url_for("/authorize"),
        "token_url": httpserver.url_for("/token"),
        "client_id": "app",
        "client_secret": "s3cr3t",
        "redirect_uri": "https://host.example/callback",
        "auth_flow_id": "api-flow",
    }
    connector = make_connector(httpserver, auth=auth)
    connector.set_secrets_keeper(InMemorySecretsKeeper())

    state = parse_qs(urlsplit(connector.build_authorization_url()).query)["state"][0]
    connector.retrieve_tokens(f"https://host.example/callback?code=c&state={state}")
    df = connector.get_df(make_source(url="me"))

    assert_frame_equal(df, pd.DataFrame({"id": [7]}))


def test_status_all_checks_pass(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api").respond_with_json({})

    status = make_connector(httpserver, auth={"type": "bearer", "token": "t"}).get_status()

    assert status.details == [
        ("Host resolved", True),
        ("Port opened", True),
        ("Request answered", True),
        ("Authenticated", True),
    ]


def test_status_refused_credentials(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api").respond_with_data("no", status=401)

    status = make_connector(httpserver, auth={"type": "bearer", "token": "t"}).get_status()

    assert (status.details[-2:], status.error) == (
        [("Request answered", True), ("Authenticated", False)],
        f"{httpserver.url_for('/api')} refused the credentials (401): check the connector's "
        "auth settings.",
    )


def test_status_closed_port(closed_port: int) -> None:
    connector = make_connector_at(f"http://127.0.0.1:{closed_port}/api")

    assert connector.get_status().details == [
        ("Host resolved", True),
        ("Port opened", False),
        ("Request answered", None),
        ("Authenticated", None),
    ]


def test_status_silent_server(silent_port: int) -> None:
    connector = make_connector_at(f"http://127.0.0.1:{silent_port}/api", timeout=0.2)

    assert [passed for _, passed in connector.get_status().details] == [True, True, False, None]


def make_connector_at(baseroute: str, **fields: Any) -> HttpAPIConnector:
    return HttpAPIConnector(name="api", baseroute=baseroute, retry_policy=None, **fields)


def test_redirect_to_another_port_keeps_the_api_key_home(
    httpserver: HTTPServer, other_httpserver: HTTPServer
) -> None:
    target = other_httpserver.url_for("/steal")
    redirect = {"Location": target}
    httpserver.expect_request("/api/items").respond_with_data("", status=302, headers=redirect)
    auth = {"type": "api_key", "name": "X-API-Key", "key": "SEKRET1"}

    with pytest.raises(ProviderError, match="use the final URL directly"):
        make_connector(httpserver, auth=auth).get_df(make_source(url="items"))

    assert other_httpserver.log == []


def test_redirect_on_the_same_origin_keeps_the_api_key(httpserver: HTTPServer) -> None:
    redirect = {"Location": "/api/moved"}
    httpserver.expect_request("/api/items").respond_with_data("", status=302, headers=redirect)
    key = {"X-API-Key": "SEKRET1"}
    httpserver.expect_request("/api/moved", headers=key).respond_with_json([{"n": 1}])
    auth = {"type": "api_key", "name": "X-API-Key", "key": "SEKRET1"}

    df = make_connector(httpserver, auth=auth).get_df(make_source(url="items"))

    assert_frame_equal(df, pd.DataFrame({"n": [1]}))


def test_templated_booleans_are_sent_as_json_words(httpserver: HTTPServer) -> None:
    query = {"b": "true"}
    form = "b=false"
    endpoint = httpserver.expect_request("/api/items", query_string=query, data=form)
    endpoint.respond_with_json([{"n": 1}])
    source = make_source(
        url="items",
        method="POST",
        params={"b": "{{ t }}"},
        data={"b": "{{ f }}"},
        parameters={"t": True, "f": False},
    )

    df = make_connector(httpserver).get_df(source)

    assert_frame_equal(df, pd.DataFrame({"n": [1]}))


def test_retry_policy_defaults_to_three_attempts_as_documented() -> None:
    connector = HttpAPIConnector(name="api", baseroute="http://127.0.0.1:9/api")

    assert connector.retry_policy == RetryPolicy()
    assert connector.retry_policy.max_attempts == 3


def test_a_password_inside_the_base_route_is_refused():
    with pytest.raises(ValidationError, match="set `auth` to basic auth instead") as caught:
        HttpAPIConnector(name="api", baseroute="http://ann:hunter2@127.0.0.1:9/api")

    assert "hunter2" not in str(caught.value)
