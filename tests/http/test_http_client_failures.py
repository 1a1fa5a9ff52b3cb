from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

import pytest
from pytest_httpserver import HTTPServer

from toucan_connectors.errors import ConnectionFailedError, InvalidConfigurationError, ProviderError
from toucan_connectors.http.client import HttpClient, HttpRequest, HttpStatusError, redact_text
from toucan_connectors.retry import RetryPolicy

# A local server answering the given bytes, by port (the `raw_server` fixture of conftest.py).
RawServer = Callable[[bytes], int]

FAST = RetryPolicy(max_attempts=3, wait_time=0.01, max_wait=0.01, jitter=0.0, max_delay=5.0)


def make_client(retry_policy: RetryPolicy | None = FAST, **fields: object) -> HttpClient:
    return HttpClient(provider="Test API", timeout=5.0, retry_policy=retry_policy, **fields)  # type: ignore[arg-type]


def test_connection_error_keeps_no_query_string_in_its_causes(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}/items"
    key = "K3Y" + "SECRET"  # built here, so that the traceback's source lines cannot hold it

    with pytest.raises(ConnectionFailedError, match="check the base route") as raised:
        make_client(None).send(HttpRequest("GET", url, {"api_key": key}))

    text = "".join(traceback.format_exception(raised.value))
    assert (raised.value.__cause__, "K3YSECRET" in text, "Connection refused" in text) == (
        None,
        False,
        True,
    )


def test_body_excerpt_masks_the_configured_secrets(httpserver: HTTPServer) -> None:
    echo = '{"error": "bad key", "request": "/items?api_key=K3Y%2FSECRET", "key": "K3Y/SECRET"}'
    httpserver.expect_request("/items").respond_with_data(echo, status=403)
    url = httpserver.url_for("/items")

    with pytest.raises(HttpStatusError) as raised:
        make_client(secrets=["K3Y/SECRET"]).send(HttpRequest("GET", url))

    assert str(raised.value) == (
        f"Test API: GET {url} answered 403 FORBIDDEN: "
        '\'{"error": "bad key", "request": "/items?<query hidden>", "key": "***"}\'; '
        "check the URL, the parameters and the credentials."
    )


def test_redact_text_masks_secrets_and_query_strings() -> None:
    assert redact_text("GET /a?key=s3cr3t HTTP/1.1 token s3cr3t", ["s3cr3t"]) == (
        "GET /a?<query hidden> HTTP/1.1 token ***"
    )


def test_urllib3_request_lines_lose_their_query_string(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request("/items").respond_with_json([])
    caplog.set_level(logging.DEBUG, logger="urllib3")

    make_client().send(HttpRequest("GET", httpserver.url_for("/items"), {"api_key": "K3YSECRET"}))

    lines = [r.getMessage() for r in caplog.records if r.name == "urllib3.connectionpool"]
    assert [line for line in lines if "GET" in line] == [
        f'http://127.0.0.1:{httpserver.port} "GET /items?<query hidden> HTTP/1.1" 200 2'
    ]


def test_body_cut_short_is_retried_then_fails_clearly(
    raw_server: RawServer, sleeps: list[float]
) -> None:
    port = raw_server(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[{"n": 1}')

    with pytest.raises(
        ConnectionFailedError,
        match=r"was cut off before the whole body arrived \(Connection broken: IncompleteRead"
        r"\(9 bytes read, 91 more expected\)\): check the network and the proxies",
    ):
        make_client().send(HttpRequest("GET", f"http://127.0.0.1:{port}/items"))

    assert sleeps == [0.01, 0.01]


def test_redirect_loop_is_a_clear_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/loop").respond_with_data("", 302, headers={"Location": "/loop"})
    url = httpserver.url_for("/loop")

    with pytest.raises(ProviderError) as raised:
        make_client().send(HttpRequest("GET", url))

    assert str(raised.value) == (
        f"Test API: GET {url} was redirected too many times (a redirect loop): check the URL, "
        "or use the final URL directly."
    )


def test_body_not_matching_its_content_encoding_is_a_clear_error(httpserver: HTTPServer) -> None:
    gzip = {"Content-Encoding": "gzip"}
    httpserver.expect_request("/gz").respond_with_data(b"not gzip", headers=gzip)

    with pytest.raises(ProviderError, match="does not match its Content-Encoding"):
        make_client().send(HttpRequest("GET", httpserver.url_for("/gz")))


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:9/items", "127.0.0.1:9/items"])
def test_url_without_an_http_scheme_is_a_clear_error(url: str) -> None:
    with pytest.raises(InvalidConfigurationError, match="start the base route .* with http://"):
        make_client().send(HttpRequest("GET", url))


def test_long_retry_after_without_max_delay_is_not_waited(
    httpserver: HTTPServer, sleeps: list[float]
) -> None:
    day = {"Retry-After": "86400"}
    httpserver.expect_request("/slow").respond_with_data("", 429, headers=day)
    policy = RetryPolicy(max_attempts=3, max_delay=None)

    with pytest.raises(
        HttpStatusError,
        match=r"asked to wait 86400s \(Retry-After\), more than the 300s the retry policy "
        "allows; try again later",
    ):
        make_client(policy).send(HttpRequest("GET", httpserver.url_for("/slow")))

    assert (len(httpserver.log), sleeps) == (1, [])


def test_retry_after_within_the_ceiling_is_waited(
    httpserver: HTTPServer, sleeps: list[float]
) -> None:
    httpserver.expect_ordered_request("/slow").respond_with_data(
        "", 429, headers={"Retry-After": "240"}
    )
    httpserver.expect_ordered_request("/slow").respond_with_json([1])
    policy = RetryPolicy(max_attempts=3, max_delay=None)

    response = make_client(policy).send(HttpRequest("GET", httpserver.url_for("/slow")))

    assert (response.json(), sleeps) == ([1], [240.0])
