from __future__ import annotations

import logging

import pytest
from pytest_httpserver import HTTPServer

from toucan_connectors.errors import ConnectionFailedError, ProviderError
from toucan_connectors.http.client import (
    HttpClient,
    HttpRequest,
    HttpStatusError,
    parse_retry_after,
    redact_url,
)
from toucan_connectors.retry import RetryPolicy

FAST = RetryPolicy(max_attempts=3, wait_time=0.01, max_wait=0.01, jitter=0.0, max_delay=5.0)


def make_client(timeout: float = 5.0, retry_policy: RetryPolicy | None = FAST) -> HttpClient:
    return HttpClient(provider="Test API", timeout=timeout, retry_policy=retry_policy)


def test_send_returns_the_response(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/items", query_string="a=1").respond_with_json([1])

    response = make_client().send(HttpRequest("GET", httpserver.url_for("/items"), {"a": 1}))

    assert response.json() == [1]


def test_client_error_shows_status_url_without_query_and_body(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/items").respond_with_data("no such thing", status=404)
    url = httpserver.url_for("/items")

    with pytest.raises(HttpStatusError) as raised:
        make_client().send(HttpRequest("GET", url, {"api_key": "s3cr3t"}))

    assert str(raised.value) == (
        f"Test API: GET {url} answered 404 NOT FOUND: 'no such thing'; "
        "check the URL, the parameters and the credentials."
    )


def test_client_error_is_not_retried(httpserver: HTTPServer, sleeps: list[float]) -> None:
    httpserver.expect_request("/items").respond_with_data("bad", status=400)

    with pytest.raises(HttpStatusError):
        make_client().send(HttpRequest("GET", httpserver.url_for("/items")))

    assert len(httpserver.log) == 1


def test_too_many_requests_waits_for_retry_after(
    httpserver: HTTPServer, sleeps: list[float]
) -> None:
    busy = {"Retry-After": "2"}
    httpserver.expect_ordered_request("/items").respond_with_data("", 429, headers=busy)
    httpserver.expect_ordered_request("/items").respond_with_json({"ok": True})

    response = make_client().send(HttpRequest("GET", httpserver.url_for("/items")))

    assert (response.json(), sleeps) == ({"ok": True}, [2.0])


def test_retry_after_beyond_the_time_budget_gives_up_at_once(
    httpserver: HTTPServer, sleeps: list[float]
) -> None:
    busy = {"Retry-After": "120"}
    httpserver.expect_request("/items").respond_with_data("slow down", 429, headers=busy)

    with pytest.raises(
        HttpStatusError,
        match=r"asked to wait 120s \(Retry-After\), more than the 5s the retry policy allows; "
        "try again later",
    ):
        make_client().send(HttpRequest("GET", httpserver.url_for("/items")))

    assert (len(httpserver.log), sleeps) == (1, [])


def test_server_error_is_retried_then_succeeds(httpserver: HTTPServer, sleeps: list[float]) -> None:
    httpserver.expect_ordered_request("/items").respond_with_data("oops", status=503)
    httpserver.expect_ordered_request("/items").respond_with_json([1, 2])

    response = make_client().send(HttpRequest("GET", httpserver.url_for("/items")))

    assert (response.json(), len(sleeps)) == ([1, 2], 1)


def test_server_error_is_given_up_after_max_attempts(
    httpserver: HTTPServer, sleeps: list[float]
) -> None:
    httpserver.expect_request("/items").respond_with_data("down for maintenance", status=502)
    url = httpserver.url_for("/items")

    with pytest.raises(HttpStatusError) as raised:
        make_client().send(HttpRequest("GET", url))

    assert str(raised.value) == (
        f"Test API: GET {url} answered 502 BAD GATEWAY: 'down for maintenance'; "
        "the server kept failing; try again later."
    )
    assert (raised.value.status_code, len(httpserver.log)) == (502, 3)


def test_backoff_grows_exponentially(httpserver: HTTPServer, sleeps: list[float]) -> None:
    httpserver.expect_request("/items").respond_with_data("", status=500)
    policy = RetryPolicy(max_attempts=4, wait_time=1.0, max_wait=3.0, jitter=0.0, max_delay=None)

    with pytest.raises(HttpStatusError):
        make_client(retry_policy=policy).send(HttpRequest("GET", httpserver.url_for("/items")))

    assert sleeps == [1.0, 2.0, 3.0]


def test_no_retry_policy_means_one_attempt(httpserver: HTTPServer, sleeps: list[float]) -> None:
    httpserver.expect_request("/items").respond_with_data("", status=500)

    with pytest.raises(HttpStatusError):
        make_client(retry_policy=None).send(HttpRequest("GET", httpserver.url_for("/items")))

    assert len(httpserver.log) == 1


def test_closed_port_is_retried_then_fails(closed_port: int, sleeps: list[float]) -> None:
    url = f"http://127.0.0.1:{closed_port}/items"

    with pytest.raises(ConnectionFailedError, match="could not connect"):
        make_client().send(HttpRequest("GET", url))

    assert len(sleeps) == 2


def test_timeout_is_a_clear_error(silent_port: int, sleeps: list[float]) -> None:
    url = f"http://127.0.0.1:{silent_port}/items"

    with pytest.raises(ConnectionFailedError) as raised:
        make_client(timeout=0.2, retry_policy=None).send(HttpRequest("GET", url))

    assert str(raised.value) == (
        f"Test API: GET {url} got no answer within 0.2s: check that the server is up, "
        "or raise the connector's timeout."
    )


def test_retry_warning_names_no_query_string(
    httpserver: HTTPServer, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_ordered_request("/items").respond_with_data("", status=500)
    httpserver.expect_ordered_request("/items").respond_with_json([])
    url = httpserver.url_for("/items")
    policy = RetryPolicy(max_attempts=2, wait_time=0.5, max_wait=1, jitter=0, max_delay=None)

    with caplog.at_level(logging.DEBUG, logger="toucan_connectors"):
        make_client(retry_policy=policy).send(HttpRequest("GET", url, {"token": "s3cr3t"}))

    ours = [r for r in caplog.records if r.name.startswith("toucan_connectors")]
    assert [(r.levelname, r.getMessage()) for r in ours] == [
        ("DEBUG", f"GET {url}"),
        ("WARNING", f"GET {url} failed (status 500); retrying in 0.50s, attempt 2"),
        ("DEBUG", f"GET {url}"),
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7", 7.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0), ("soon", None), (None, None)],
    ids=["seconds", "past-date", "garbage", "absent"],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_redact_url_drops_query_fragment_and_user_info() -> None:
    assert redact_url("https://bob:pw@api.test:8443/v1/x?key=s3cr3t#frag") == (
        "https://api.test:8443/v1/x"
    )


def test_redirect_to_another_port_is_refused(
    httpserver: HTTPServer, other_httpserver: HTTPServer
) -> None:
    target = other_httpserver.url_for("/steal")
    httpserver.expect_request("/items").respond_with_data(
        "", status=302, headers={"Location": target}
    )
    url = httpserver.url_for("/items")

    with pytest.raises(ProviderError) as raised:
        make_client().send(HttpRequest("GET", url, headers={"X-API-Key": "SEKRET1"}))

    assert str(raised.value) == (
        f"Test API: GET {url} redirected to {target}, on another scheme, host or port; the "
        "redirect was refused so that credentials never leave for another host: use the final "
        "URL directly, if it is trusted."
    )
    assert other_httpserver.log == []


def test_redirect_within_the_origin_is_followed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": "/new"}
    )
    httpserver.expect_request("/new", headers={"X-API-Key": "SEKRET1"}).respond_with_json([1])
    request = HttpRequest("GET", httpserver.url_for("/old"), headers={"X-API-Key": "SEKRET1"})

    assert make_client().send(request).json() == [1]


def test_probe_refuses_a_redirect_to_another_port(
    httpserver: HTTPServer, other_httpserver: HTTPServer
) -> None:
    target = other_httpserver.url_for("/")
    httpserver.expect_request("/").respond_with_data("", status=307, headers={"Location": target})

    with pytest.raises(ProviderError, match="use the final URL directly"):
        make_client().probe(httpserver.url_for("/"))

    assert other_httpserver.log == []


def test_booleans_are_sent_as_json_words_in_the_query_string(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/items", query_string="t=true&f=false&n=1").respond_with_json([1])
    params = {"t": True, "f": False, "n": 1}

    response = make_client().send(HttpRequest("GET", httpserver.url_for("/items"), params))

    assert response.json() == [1]


def test_booleans_are_sent_as_json_words_in_form_data(httpserver: HTTPServer) -> None:
    form = "t=true&f=false&l=true&l=false"
    httpserver.expect_request("/items", method="POST", data=form).respond_with_json([1])
    data = {"t": True, "f": False, "l": [True, False]}

    response = make_client().send(HttpRequest("POST", httpserver.url_for("/items"), data=data))

    assert response.json() == [1]
