from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from pytest_httpserver import HTTPServer

from toucan_connectors.errors import InvalidConfigurationError, ProviderError
from toucan_connectors.http.auth import build_auth
from toucan_connectors.http.client import HttpClient, HttpRequest
from toucan_connectors.http.oauth2 import (
    AuthorizationCodeFlow,
    InMemorySecretsKeeper,
    OAuth2AuthorizationCode,
    OAuth2StateError,
)

REDIRECT = "https://host.example/oauth/callback"


@pytest.fixture
def config(httpserver: HTTPServer) -> OAuth2AuthorizationCode:
    return OAuth2AuthorizationCode.model_validate(
        {
            "authorization_url": httpserver.url_for("/authorize"),
            "token_url": httpserver.url_for("/token"),
            "client_id": "app",
            "client_secret": "s3cr3t",
            "redirect_uri": REDIRECT,
            "scope": "read offline",
            "auth_flow_id": "flow-1",
        }
    )


@pytest.fixture
def keeper() -> InMemorySecretsKeeper:
    return InMemorySecretsKeeper()


@pytest.fixture
def flow(config: OAuth2AuthorizationCode, keeper: InMemorySecretsKeeper) -> AuthorizationCodeFlow:
    return AuthorizationCodeFlow(config, HttpClient(provider="Test API", timeout=5.0), keeper)


def state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


def test_authorization_url_asks_for_a_code_with_a_state(
    flow: AuthorizationCodeFlow, httpserver: HTTPServer
) -> None:
    url = flow.build_authorization_url()

    query = parse_qs(urlsplit(url).query)
    assert url.startswith(httpserver.url_for("/authorize") + "?")
    assert {key: values for key, values in query.items() if key != "state"} == {
        "response_type": ["code"],
        "client_id": ["app"],
        "redirect_uri": [REDIRECT],
        "scope": ["read offline"],
    }


def test_each_authorization_url_has_a_fresh_state(flow: AuthorizationCodeFlow) -> None:
    assert state_of(flow.build_authorization_url()) != state_of(flow.build_authorization_url())


def test_full_authorization_code_round_trip(
    flow: AuthorizationCodeFlow,
    config: OAuth2AuthorizationCode,
    keeper: InMemorySecretsKeeper,
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request(
        "/token",
        method="POST",
        data=(
            "grant_type=authorization_code&code=c0de&redirect_uri=https%3A%2F%2Fhost.example"
            "%2Foauth%2Fcallback&client_id=app&client_secret=s3cr3t"
        ),
    ).respond_with_json({"access_token": "A1", "refresh_token": "R1", "expires_in": 3600})
    httpserver.expect_request("/data", headers={"Authorization": "Bearer A1"}).respond_with_json(
        {"rows": 3}
    )

    state = state_of(flow.build_authorization_url())
    flow.retrieve_tokens(f"{REDIRECT}?code=c0de&state={state}")
    client = HttpClient(provider="Test API", timeout=5.0)
    client.session.auth = build_auth(config, client, keeper)

    assert client.send(HttpRequest("GET", httpserver.url_for("/data"))).json() == {"rows": 3}


def test_state_mismatch_is_refused(flow: AuthorizationCodeFlow, httpserver: HTTPServer) -> None:
    flow.build_authorization_url()

    with pytest.raises(OAuth2StateError, match="start again from a new authorization URL"):
        flow.retrieve_tokens(f"{REDIRECT}?code=c0de&state=forged")

    assert httpserver.log == []


def test_missing_state_is_refused(flow: AuthorizationCodeFlow) -> None:
    flow.build_authorization_url()

    with pytest.raises(OAuth2StateError):
        flow.retrieve_tokens(f"{REDIRECT}?code=c0de")


def test_a_state_is_used_only_once(flow: AuthorizationCodeFlow, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/token").respond_with_json({"access_token": "A1"})
    state = state_of(flow.build_authorization_url())
    flow.retrieve_tokens(f"{REDIRECT}?code=c0de&state={state}")

    with pytest.raises(OAuth2StateError):
        flow.retrieve_tokens(f"{REDIRECT}?code=c0de&state={state}")


def test_refused_consent_is_a_provider_error(flow: AuthorizationCodeFlow) -> None:
    state = state_of(flow.build_authorization_url())

    with pytest.raises(ProviderError, match=r"refused the consent \(access_denied\)"):
        flow.retrieve_tokens(f"{REDIRECT}?error=access_denied&state={state}")


def test_tokens_are_stored_in_the_keeper(
    flow: AuthorizationCodeFlow, keeper: InMemorySecretsKeeper, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/token").respond_with_json(
        {"access_token": "A1", "refresh_token": "R1"}
    )
    state = state_of(flow.build_authorization_url())

    flow.retrieve_tokens(f"{REDIRECT}?code=c0de&state={state}")

    assert keeper.load("flow-1") == {
        "access_token": "A1",
        "refresh_token": "R1",
        "expires_at": None,
    }


def test_no_tokens_yet_says_to_authorize(flow: AuthorizationCodeFlow) -> None:
    with pytest.raises(InvalidConfigurationError, match="complete the consent first"):
        flow.get_access_token()


def test_no_keeper_says_the_host_must_give_one(config: OAuth2AuthorizationCode) -> None:
    flow = AuthorizationCodeFlow(config, HttpClient(provider="Test API"), None)

    with pytest.raises(InvalidConfigurationError, match="must call `set_secrets_keeper"):
        flow.build_authorization_url()


def test_valid_token_is_used_without_refresh(
    flow: AuthorizationCodeFlow, keeper: InMemorySecretsKeeper, httpserver: HTTPServer
) -> None:
    keeper.save("flow-1", {"access_token": "A1", "expires_at": time.time() + 3600})

    assert (flow.get_access_token(), httpserver.log) == ("A1", [])


def test_expiring_token_is_refreshed_keeping_the_refresh_token(
    flow: AuthorizationCodeFlow, keeper: InMemorySecretsKeeper, httpserver: HTTPServer
) -> None:
    keeper.save("flow-1", {"access_token": "A1", "refresh_token": "R1", "expires_at": 0})
    httpserver.expect_request(
        "/token",
        method="POST",
        data="grant_type=refresh_token&refresh_token=R1&client_id=app&client_secret=s3cr3t",
    ).respond_with_json({"access_token": "A2"})

    assert flow.get_access_token() == "A2"
    assert keeper.load("flow-1") == {
        "access_token": "A2",
        "refresh_token": "R1",
        "expires_at": None,
    }


def test_refresh_stores_a_new_refresh_token(
    flow: AuthorizationCodeFlow, keeper: InMemorySecretsKeeper, httpserver: HTTPServer
) -> None:
    keeper.save("flow-1", {"access_token": "A1", "refresh_token": "R1", "expires_at": 0})
    httpserver.expect_request("/token").respond_with_json(
        {"access_token": "A2", "refresh_token": "R2"}
    )

    flow.get_access_token()

    assert (keeper.load("flow-1") or {})["refresh_token"] == "R2"


def test_expired_token_without_refresh_token_says_to_authorize_again(
    flow: AuthorizationCodeFlow, keeper: InMemorySecretsKeeper
) -> None:
    keeper.save("flow-1", {"access_token": "A1", "expires_at": 0})

    with pytest.raises(InvalidConfigurationError, match="authorize again"):
        flow.get_access_token()


def test_refused_refresh_says_to_authorize_again(
    flow: AuthorizationCodeFlow, keeper: InMemorySecretsKeeper, httpserver: HTTPServer
) -> None:
    keeper.save("flow-1", {"access_token": "A1", "refresh_token": "R1", "expires_at": 0})
    httpserver.expect_request("/token").respond_with_json({"error": "invalid_grant"}, 400)

    with pytest.raises(
        ProviderError,
        match=r'OAuth2 flow "flow-1": the provider refused to refresh the access token \(400; '
        r"the refresh token is likely revoked or expired\): authorize again from a new "
        "authorization URL.",
    ):
        flow.get_access_token()


def test_tokens_expiring_in_zero_seconds_are_refreshed_on_next_use(
    flow: AuthorizationCodeFlow, keeper: InMemorySecretsKeeper, httpserver: HTTPServer
) -> None:
    keeper.save("flow-1:state", {"state": "S"})
    httpserver.expect_oneshot_request("/token").respond_with_json(
        {"access_token": "A1", "refresh_token": "R1", "expires_in": 0}
    )
    refresh = "grant_type=refresh_token&refresh_token=R1&client_id=app&client_secret=s3cr3t"
    httpserver.expect_oneshot_request("/token", data=refresh).respond_with_json(
        {"access_token": "A2", "expires_in": 3600}
    )

    flow.retrieve_tokens(f"{REDIRECT}?code=c0de&state=S")

    assert flow.get_access_token() == "A2"
