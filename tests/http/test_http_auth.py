from __future__ import annotations

import base64
import hashlib

import pytest
from pydantic import SecretStr
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from toucan_connectors.http.auth import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    DigestAuth,
    HttpAuth,
    build_auth,
    secret_values,
)
from toucan_connectors.http.client import HttpClient, HttpRequest, HttpStatusError
from toucan_connectors.http.oauth2 import OAuth2ClientCredentials


def send_with(httpserver: HTTPServer, auth: HttpAuth, path: str = "/data") -> object:
    client = HttpClient(provider="Test API", timeout=5.0)
    client.session.auth = build_auth(auth, client)
    return client.send(HttpRequest("GET", httpserver.url_for(path))).json()


def test_basic_auth_sends_credentials(httpserver: HTTPServer) -> None:
    expected = "Basic " + base64.b64encode(b"ann:pa55").decode()
    httpserver.expect_request("/data", headers={"Authorization": expected}).respond_with_json(1)

    assert send_with(httpserver, BasicAuth(username="ann", password=SecretStr("pa55"))) == 1


def _digest_handler(request: Request) -> Response:
    realm, nonce = "api", "abc123"
    challenge = f'Digest realm="{realm}", nonce="{nonce}", qop="auth", algorithm=MD5'
    auth = request.authorization
    if auth is None or auth.type != "digest":
        return Response("who are you?", 401, {"WWW-Authenticate": challenge})

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - the protocol's own hash

    p = auth.parameters
    ha1 = md5(f"{p['username']}:{realm}:pa55")
    ha2 = md5(f"{request.method}:{p['uri']}")
    expected = md5(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:{p['qop']}:{ha2}")
    if p.get("response") != expected:
        return Response("wrong password", 401, {"WWW-Authenticate": challenge})
    return Response('{"ok": true}', 200, content_type="application/json")


def test_digest_auth_answers_the_challenge(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/data").respond_with_handler(_digest_handler)

    result = send_with(httpserver, DigestAuth(username="ann", password=SecretStr("pa55")))

    assert result == {"ok": True}


def test_digest_auth_with_wrong_password_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/data").respond_with_handler(_digest_handler)

    with pytest.raises(HttpStatusError, match="answered 401"):
        send_with(httpserver, DigestAuth(username="ann", password=SecretStr("nope")))


def test_bearer_auth_sends_the_token(httpserver: HTTPServer) -> None:
    headers = {"Authorization": "Bearer t0k3n"}
    httpserver.expect_request("/data", headers=headers).respond_with_json(1)

    assert send_with(httpserver, BearerAuth(token=SecretStr("t0k3n"))) == 1


def test_api_key_in_a_header(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/data", headers={"X-API-Key": "k3y"}).respond_with_json(1)

    assert send_with(httpserver, ApiKeyAuth(name="X-API-Key", key=SecretStr("k3y"))) == 1


def test_api_key_in_the_query_string(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/data", query_string="api_key=k3y").respond_with_json(1)

    auth = ApiKeyAuth(name="api_key", key=SecretStr("k3y"), location="query")
    assert send_with(httpserver, auth) == 1


def test_api_key_in_the_query_string_is_not_in_errors(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/data").respond_with_data("forbidden", status=403)

    auth = ApiKeyAuth(name="api_key", key=SecretStr("k3y"), location="query")
    with pytest.raises(HttpStatusError) as raised:
        send_with(httpserver, auth)

    assert "k3y" not in str(raised.value)


def client_credentials(httpserver: HTTPServer, **overrides: object) -> OAuth2ClientCredentials:
    fields: dict[str, object] = {
        "token_url": httpserver.url_for("/token"),
        "client_id": "app",
        "client_secret": "s3cr3t",
        "scope": "read",
    }
    fields.update(overrides)
    return OAuth2ClientCredentials.model_validate(fields)


def test_client_credentials_fetch_a_token_once_and_reuse_it(httpserver: HTTPServer) -> None:
    basic = "Basic " + base64.b64encode(b"app:s3cr3t").decode()
    httpserver.expect_oneshot_request(
        "/token",
        method="POST",
        headers={"Authorization": basic},
        data="grant_type=client_credentials&scope=read",
    ).respond_with_json({"access_token": "A1", "expires_in": 3600, "token_type": "bearer"})
    httpserver.expect_request("/data", headers={"Authorization": "Bearer A1"}).respond_with_json(1)

    client = HttpClient(provider="Test API", timeout=5.0)
    client.session.auth = build_auth(client_credentials(httpserver), client)
    results = [client.send(HttpRequest("GET", httpserver.url_for("/data"))).json() for _ in "ab"]

    assert results == [1, 1]


def test_client_credentials_in_the_body(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/token",
        method="POST",
        data="grant_type=client_credentials&client_id=app&client_secret=s3cr3t",
    ).respond_with_json({"access_token": "A1"})
    httpserver.expect_request("/data", headers={"Authorization": "Bearer A1"}).respond_with_json(1)

    auth = client_credentials(httpserver, client_auth="body", scope=None)
    assert send_with(httpserver, auth) == 1


def test_client_credentials_renew_an_expiring_token(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/token").respond_with_json(
        {"access_token": "A1", "expires_in": 30}
    )
    httpserver.expect_oneshot_request("/token").respond_with_json(
        {"access_token": "A2", "expires_in": 3600}
    )
    httpserver.expect_request("/data", headers={"Authorization": "Bearer A2"}).respond_with_json(2)
    httpserver.expect_request("/data", headers={"Authorization": "Bearer A1"}).respond_with_json(1)

    client = HttpClient(provider="Test API", timeout=5.0)
    client.session.auth = build_auth(client_credentials(httpserver), client)
    results = [client.send(HttpRequest("GET", httpserver.url_for("/data"))).json() for _ in "ab"]

    assert results == [1, 2]


def test_client_credentials_refused_by_the_token_endpoint(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/token").respond_with_json({"error": "invalid_client"}, 401)

    with pytest.raises(HttpStatusError, match=r"POST http://127\.0\.0\.1:\d+/token answered 401"):
        send_with(httpserver, client_credentials(httpserver))


def test_client_credentials_token_expiring_in_zero_seconds_is_renewed(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_oneshot_request("/token").respond_with_json(
        {"access_token": "A1", "expires_in": 0}
    )
    httpserver.expect_oneshot_request("/token").respond_with_json(
        {"access_token": "A2", "expires_in": 3600}
    )
    httpserver.expect_request("/data", headers={"Authorization": "Bearer A2"}).respond_with_json(2)
    httpserver.expect_request("/data", headers={"Authorization": "Bearer A1"}).respond_with_json(1)

    client = HttpClient(provider="Test API", timeout=5.0)
    client.session.auth = build_auth(client_credentials(httpserver), client)
    results = [client.send(HttpRequest("GET", httpserver.url_for("/data"))).json() for _ in "ab"]

    assert results == [1, 2]


def test_client_secret_echoed_by_the_token_endpoint_is_masked(httpserver: HTTPServer) -> None:
    echo = {"error": "invalid_client", "client_secret_echo": "s3cr3t"}
    httpserver.expect_request("/token").respond_with_json(echo, 401)
    config = client_credentials(httpserver)
    client = HttpClient(provider="Test API", timeout=5.0, secrets=secret_values(config))
    client.session.auth = build_auth(config, client)

    with pytest.raises(HttpStatusError) as raised:
        client.send(HttpRequest("GET", httpserver.url_for("/data")))

    assert str(raised.value) == (
        f"Test API: POST {httpserver.url_for('/token')} answered 401 UNAUTHORIZED: "
        '\'{ "error": "invalid_client", "client_secret_echo": "***" }\'; check the URL, the '
        "parameters and the credentials."
    )
