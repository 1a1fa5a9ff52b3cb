"""OAuth2: client credentials, and the authorization code flow with tokens in a SecretsKeeper.

The authorization code flow runs in three steps, driven by the host platform:

1. `build_authorization_url()` returns the provider's consent page URL with a fresh CSRF state,
   which is saved in the host's `SecretsKeeper`;
2. the provider redirects the user to `redirect_uri`; the host hands that whole URL to
   `retrieve_tokens()`, which checks the state and exchanges the code for tokens;
3. every request then calls `get_access_token()`, which refreshes the access token shortly
   before it expires, keeping the old refresh token when the provider sends none.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from requests.auth import AuthBase, HTTPBasicAuth

from toucan_connectors.errors import (
    InvalidConfigurationError,
    ProviderError,
    ToucanConnectorError,
)
from toucan_connectors.http.client import HttpClient, HttpRequest, HttpStatusError, NoAuth

logger = logging.getLogger(__name__)

__all__ = [
    "AuthorizationCodeFlow",
    "BearerTokenAuth",
    "ClientCredentialsFlow",
    "InMemorySecretsKeeper",
    "OAuth2AuthorizationCode",
    "OAuth2ClientCredentials",
    "OAuth2StateError",
    "SecretsKeeper",
]

REFRESH_MARGIN = 60.0
"""Seconds before expiry at which an access token is refreshed."""


class SecretsKeeper(Protocol):
    """Where the host platform keeps OAuth2 states and tokens, by key."""

    def save(self, key: str, value: Mapping[str, Any]) -> None:
        """Store `value` under `key`, replacing what was there."""

    def load(self, key: str) -> dict[str, Any] | None:
        """Return what is stored under `key`, or None."""


class InMemorySecretsKeeper:
    """A SecretsKeeper holding everything in a dict, for scripts and tests."""

    def __init__(self) -> None:
        self._store: dict[str, dict[str, Any]] = {}

    def save(self, key: str, value: Mapping[str, Any]) -> None:
        """Store a copy of `value` under `key`."""
        self._store[key] = dict(value)

    def load(self, key: str) -> dict[str, Any] | None:
        """Return a copy of what is stored under `key`, or None."""
        value = self._store.get(key)
        return None if value is None else dict(value)


class OAuth2StateError(ToucanConnectorError, ValueError):
    """The state returned by the provider is not the one we sent: a possible forged request."""


class OAuth2ClientCredentials(BaseModel):
    """OAuth2 client credentials grant: the connector authenticates as itself."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["oauth2_client_credentials"] = Field(
        "oauth2_client_credentials",
        description='Kind of authentication: always "oauth2_client_credentials" here.',
    )
    token_url: str = Field(description="The provider's token endpoint.")
    client_id: str = Field(description="The client (application) id.")
    client_secret: SecretStr = Field(description="The client secret.")
    scope: str | None = Field(None, description="Space-separated scopes to ask for.")
    client_auth: Literal["basic", "body"] = Field(
        "basic",
        description='How the client proves itself: HTTP basic ("basic") or form fields ("body").',
    )


class OAuth2AuthorizationCode(BaseModel):
    """OAuth2 authorization code grant: a user consents once, tokens are kept by the host."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["oauth2_authorization_code"] = Field(
        "oauth2_authorization_code",
        description='Kind of authentication: always "oauth2_authorization_code" here.',
    )
    authorization_url: str = Field(description="The provider's consent page.")
    token_url: str = Field(description="The provider's token endpoint.")
    client_id: str = Field(description="The client (application) id.")
    client_secret: SecretStr = Field(description="The client secret.")
    redirect_uri: str = Field(description="Where the provider sends the user back to the host.")
    scope: str | None = Field(None, description="Space-separated scopes to ask for.")
    auth_flow_id: str = Field(
        description="Key under which the host's secrets keeper stores this connector's tokens."
    )
    extra_authorization_params: dict[str, str] = Field(
        default_factory=dict,
        description='Extra query values for the consent page, e.g. {"access_type": "offline"}.',
    )
    client_auth: Literal["basic", "body"] = Field(
        "body",
        description='How the client proves itself: HTTP basic ("basic") or form fields ("body").',
    )


class BearerTokenAuth(AuthBase):
    """Sets `Authorization: Bearer <token>`, asking `get_token` for the token on each request."""

    def __init__(self, get_token: Callable[[], str]) -> None:
        self.get_token = get_token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add the header to `request`."""
        request.headers["Authorization"] = f"Bearer {self.get_token()}"
        return request


class ClientCredentialsFlow:
    """Fetches an access token with the client's own credentials and renews it before expiry."""

    def __init__(self, config: OAuth2ClientCredentials, client: HttpClient) -> None:
        self.config = config
        self.client = client
        self._token: dict[str, Any] | None = None

    def get_access_token(self) -> str:
        """Return a valid access token, asking the token endpoint for one when needed."""
        if self._token is None or _expires_soon(self._token):
            fields = {"grant_type": "client_credentials"}
            if self.config.scope:
                fields["scope"] = self.config.scope
            self._token = _request_token(
                self.client,
                self.config.token_url,
                fields,
                self.config.client_id,
                self.config.client_secret,
                self.config.client_auth,
            )
        return str(self._token["access_token"])


class AuthorizationCodeFlow:
    """The three steps of the authorization code grant, with state and tokens in a keeper."""

    def __init__(
        self, config: OAuth2AuthorizationCode, client: HttpClient, keeper: SecretsKeeper | None
    ) -> None:
        self.config = config
        self.client = client
        self.keeper = keeper

    def build_authorization_url(self) -> str:
        """Return the consent page URL, saving a fresh CSRF state to check on return."""
        state = secrets.token_urlsafe(32)
        self._keeper().save(self._state_key, {"state": state})
        query = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": self.config.redirect_uri,
            "state": state,
            **self.config.extra_authorization_params,
        }
        if self.config.scope:
            query["scope"] = self.config.scope
        separator = "&" if urlsplit(self.config.authorization_url).query else "?"
        return f"{self.config.authorization_url}{separator}{urlencode(query)}"

    def retrieve_tokens(self, authorization_response: str) -> None:
        """Check the state of the provider's redirect, exchange its code and store the tokens.

        Raises:
            OAuth2StateError: the state is missing or differs from the one sent.
            ProviderError: the provider refused the consent or the code exchange.
        """
        query = parse_qs(urlsplit(authorization_response).query)
        returned = (query.get("state") or [""])[0]
        saved = (self._keeper().load(self._state_key) or {}).get("state") or ""
        if not saved or not hmac.compare_digest(returned.encode(), str(saved).encode()):
            raise OAuth2StateError(
                f'OAuth2 flow "{self.config.auth_flow_id}": the returned state does not match '
                "the one sent, so the redirect was refused: start again from a new "
                "authorization URL."
            )
        self._keeper().save(self._state_key, {})

        if "error" in query:
            raise ProviderError(
                f'OAuth2 flow "{self.config.auth_flow_id}": the provider refused the consent '
                f"({query['error'][0]}): ask the user to authorize again."
            )
        code = (query.get("code") or [""])[0]
        if not code:
            raise ProviderError(
                f'OAuth2 flow "{self.config.auth_flow_id}": the redirect carries no code: '
                "check the redirect URI registered with the provider."
            )

        fields = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.config.redirect_uri,
        }
        token = self._request(fields)
        self._keeper().save(self.config.auth_flow_id, token)
        logger.debug("OAuth2 flow %r: tokens stored", self.config.auth_flow_id)

    def get_access_token(self) -> str:
        """Return a valid access token, refreshing it shortly before it expires.

        Raises:
            InvalidConfigurationError: no tokens were stored yet, or they cannot be refreshed.
        """
        token = self._keeper().load(self.config.auth_flow_id) or {}
        if not token.get("access_token"):
            raise InvalidConfigurationError(
                f'OAuth2 flow "{self.config.auth_flow_id}" has no tokens yet: open the '
                "authorization URL and complete the consent first."
            )
        self.client.add_secret(str(token["access_token"]))
        if _expires_soon(token):
            token = self._refresh(token)
        return str(token["access_token"])

    def _refresh(self, token: dict[str, Any]) -> dict[str, Any]:
        refresh_token = token.get("refresh_token")
        if not refresh_token:
            raise InvalidConfigurationError(
                f'OAuth2 flow "{self.config.auth_flow_id}": the access token expired and the '
                "provider gave no refresh token: authorize again."
            )
        logger.debug("OAuth2 flow %r: refreshing the access token", self.config.auth_flow_id)
        self.client.add_secret(str(refresh_token))
        try:
            fresh = self._request({"grant_type": "refresh_token", "refresh_token": refresh_token})
        except HttpStatusError as exc:
            if exc.status_code not in (400, 401):
                raise
            raise ProviderError(
                f'OAuth2 flow "{self.config.auth_flow_id}": the provider refused to refresh the '
                f"access token ({exc.status_code}; the refresh token is likely revoked or "
                "expired): authorize again from a new authorization URL."
            ) from None
        fresh.setdefault("refresh_token", refresh_token)
        self._keeper().save(self.config.auth_flow_id, fresh)
        return fresh

    def _request(self, fields: dict[str, str]) -> dict[str, Any]:
        return _request_token(
            self.client,
            self.config.token_url,
            fields,
            self.config.client_id,
            self.config.client_secret,
            self.config.client_auth,
        )

    @property
    def _state_key(self) -> str:
        return f"{self.config.auth_flow_id}:state"

    def _keeper(self) -> SecretsKeeper:
        if self.keeper is None:
            raise InvalidConfigurationError(
                f'OAuth2 flow "{self.config.auth_flow_id}" needs a secrets keeper: the host '
                "must call `set_secrets_keeper()` on the connector."
            )
        return self.keeper


def _request_token(
    client: HttpClient,
    token_url: str,
    fields: dict[str, str],
    client_id: str,
    client_secret: SecretStr,
    client_auth: str,
) -> dict[str, Any]:
    """Post a token request and return the token fields with an absolute `expires_at`."""
    auth: AuthBase = NoAuth()
    if client_auth == "basic":
        auth = HTTPBasicAuth(client_id, client_secret.get_secret_value())
    else:
        fields = {
            **fields,
            "client_id": client_id,
            "client_secret": client_secret.get_secret_value(),
        }
    request = HttpRequest("POST", token_url, headers={"Accept": "application/json"}, data=fields)
    response = client.send(request, auth=auth)

    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not body.get("access_token"):
        raise ProviderError(
            f"{client.provider}: the token endpoint answered without an access token: check "
            "the token URL and the client credentials."
        )

    token = {key: body[key] for key in ("access_token", "refresh_token") if body.get(key)}
    for key in ("access_token", "refresh_token"):
        if key in token:
            client.add_secret(str(token[key]))
    token["expires_at"] = _expires_at(body.get("expires_in"))
    return token


def _expires_at(expires_in: Any) -> float | None:
    """Return when a token given `expires_in` seconds expires; 0 means already expired."""
    if expires_in is None or isinstance(expires_in, bool):
        return None
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError):
        logger.warning("The token endpoint sent an expires_in that is not a number; ignored")
        return None
    return time.time() + max(seconds, 0.0)


def _expires_soon(token: Mapping[str, Any]) -> bool:
    expires_at = token.get("expires_at")
    return expires_at is not None and float(expires_at) - time.time() < REFRESH_MARGIN
