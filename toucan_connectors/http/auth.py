"""The ways an HTTP connector authenticates, as configuration models turned into requests auth."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from requests.auth import AuthBase, HTTPBasicAuth, HTTPDigestAuth

from toucan_connectors.http.client import HttpClient
from toucan_connectors.http.oauth2 import (
    AuthorizationCodeFlow,
    BearerTokenAuth,
    ClientCredentialsFlow,
    OAuth2AuthorizationCode,
    OAuth2ClientCredentials,
    SecretsKeeper,
)

__all__ = [
    "ApiKeyAuth",
    "BasicAuth",
    "BearerAuth",
    "DigestAuth",
    "HttpAuth",
    "build_auth",
    "secret_values",
]


class BasicAuth(BaseModel):
    """HTTP basic authentication."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["basic"] = Field(
        "basic", description='Kind of authentication: always "basic" here.'
    )
    username: str = Field(description="The user name.")
    password: SecretStr = Field(description="The password.")


class DigestAuth(BaseModel):
    """HTTP digest authentication."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["digest"] = Field(
        "digest", description='Kind of authentication: always "digest" here.'
    )
    username: str = Field(description="The user name.")
    password: SecretStr = Field(description="The password.")


class BearerAuth(BaseModel):
    """A fixed token sent as `Authorization: Bearer <token>`."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["bearer"] = Field(
        "bearer", description='Kind of authentication: always "bearer" here.'
    )
    token: SecretStr = Field(description="The bearer token.")


class ApiKeyAuth(BaseModel):
    """An API key sent in a header or in the query string."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["api_key"] = Field(
        "api_key", description='Kind of authentication: always "api_key" here.'
    )
    name: str = Field(description='Header or query parameter name, e.g. "X-API-Key".')
    key: SecretStr = Field(description="The API key.")
    location: Literal["header", "query"] = Field(
        "header", description="Where the key goes: a header or the query string."
    )


HttpAuth = Annotated[
    BasicAuth
    | DigestAuth
    | BearerAuth
    | ApiKeyAuth
    | OAuth2ClientCredentials
    | OAuth2AuthorizationCode,
    Field(discriminator="type"),
]
"""Any supported auth configuration, told apart by its `type`."""


class _ApiKeyAuth(AuthBase):
    def __init__(self, name: str, key: SecretStr, location: str) -> None:
        self.name = name
        self.key = key
        self.location = location

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.location == "header":
            request.headers[self.name] = self.key.get_secret_value()
            return request

        # A next link may already carry the key: replace it rather than send it twice.
        parts = urlsplit(request.url or "")
        kept = [(name, value) for name, value in parse_qsl(parts.query, True) if name != self.name]
        request.prepare_url(
            urlunsplit(parts._replace(query=urlencode(kept))),
            {self.name: self.key.get_secret_value()},
        )
        return request


def build_auth(
    config: HttpAuth | None, client: HttpClient, keeper: SecretsKeeper | None = None
) -> AuthBase | None:
    """Return the requests auth for `config`; OAuth2 kinds fetch their tokens through `client`."""
    if config is None:
        return None
    if isinstance(config, BasicAuth):
        return HTTPBasicAuth(config.username, config.password.get_secret_value())
    if isinstance(config, DigestAuth):
        return HTTPDigestAuth(config.username, config.password.get_secret_value())
    if isinstance(config, BearerAuth):
        token = config.token
        return BearerTokenAuth(token.get_secret_value)
    if isinstance(config, ApiKeyAuth):
        return _ApiKeyAuth(config.name, config.key, config.location)
    if isinstance(config, OAuth2ClientCredentials):
        return BearerTokenAuth(ClientCredentialsFlow(config, client).get_access_token)
    return BearerTokenAuth(AuthorizationCodeFlow(config, client, keeper).get_access_token)


def secret_values(config: HttpAuth | None) -> list[str]:
    """Return the secret values of `config`, to be masked wherever a server might echo them."""
    if config is None:
        return []
    values = [getattr(config, name, None) for name in ("password", "token", "key", "client_secret")]
    return [value.get_secret_value() for value in values if isinstance(value, SecretStr)]
