"""The HTTP layer shared by every HTTP-based connector: client, auth, OAuth2 and pagination."""

from __future__ import annotations

from toucan_connectors.http.auth import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    DigestAuth,
    HttpAuth,
    build_auth,
)
from toucan_connectors.http.client import HttpClient, HttpRequest, HttpStatusError, redact_url
from toucan_connectors.http.oauth2 import (
    AuthorizationCodeFlow,
    InMemorySecretsKeeper,
    OAuth2AuthorizationCode,
    OAuth2ClientCredentials,
    OAuth2StateError,
    SecretsKeeper,
)
from toucan_connectors.http.pagination import (
    CursorPagination,
    NextLinkPagination,
    OffsetLimitPagination,
    PageNumberPagination,
    Pagination,
    iterate_pages,
)

__all__ = [
    "ApiKeyAuth",
    "AuthorizationCodeFlow",
    "BasicAuth",
    "BearerAuth",
    "CursorPagination",
    "DigestAuth",
    "HttpAuth",
    "HttpClient",
    "HttpRequest",
    "HttpStatusError",
    "InMemorySecretsKeeper",
    "NextLinkPagination",
    "OAuth2AuthorizationCode",
    "OAuth2ClientCredentials",
    "OAuth2StateError",
    "OffsetLimitPagination",
    "PageNumberPagination",
    "Pagination",
    "SecretsKeeper",
    "build_auth",
    "iterate_pages",
    "redact_url",
]
