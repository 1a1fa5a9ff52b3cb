"""The HttpAPI connector: JSON or XML from any HTTP API, reshaped with jq, paginated."""

from __future__ import annotations

import contextlib
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Generator, Iterable, Iterator, Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import quote, urlsplit
from xml.parsers.expat import ExpatError

import pandas as pd
import requests
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from toucan_connectors.dependencies import import_optional
from toucan_connectors.errors import InvalidDataSourceError, ProviderError
from toucan_connectors.http.auth import HttpAuth, build_auth, secret_values
from toucan_connectors.http.client import HttpClient, HttpRequest, NoAuth, redact_url
from toucan_connectors.http.filters import run_jq
from toucan_connectors.http.oauth2 import (
    AuthorizationCodeFlow,
    OAuth2AuthorizationCode,
    SecretsKeeper,
)
from toucan_connectors.http.pagination import Pagination, iterate_pages
from toucan_connectors.retry import RetryPolicy
from toucan_connectors.slicing import RetrievedPage
from toucan_connectors.status import CheckFailedError, StatusCheck, host_and_port_checks
from toucan_connectors.templating import has_template, render
from toucan_connectors.toucan_connector import Permissions, ToucanConnector, ToucanDataSource

logger = logging.getLogger(__name__)

__all__ = ["HttpAPIConnector", "HttpAPIDataSource", "HttpTemplate"]

TYPE_KEY = "HttpAPI"

_SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_SENSITIVE_PARTS = ("key", "token", "secret", "password")
_NAMESPACE = re.compile(r"\{[^}]*\}")


def _is_sensitive_header(name: Any) -> bool:
    lowered = str(name).lower()
    return lowered in _SENSITIVE_HEADERS or any(part in lowered for part in _SENSITIVE_PARTS)


def _masked_headers(headers: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if headers is None:
        return None
    return {
        name: "**********" if _is_sensitive_header(name) and value is not None else value
        for name, value in headers.items()
    }


def _repr_with_masked_headers(args: Iterable[tuple[str | None, Any]]) -> Iterator[Any]:
    for name, value in args:
        yield name, (_masked_headers(value) if name == "headers" else value)


class HttpAPIDataSource(ToucanDataSource):
    """One request (or one paginated series of requests) to the connector's API."""

    model_config = ConfigDict(populate_by_name=True)

    unrendered_fields: ClassVar[frozenset[str]] = frozenset({"url"})
    """The URL is rendered by the connector, which percent-encodes each value it receives."""

    url: str = Field(
        description="Path relative to the connector's `baseroute`, templated; each value "
        "rendered into it is percent-encoded, so a value never adds a `/`, `?` or `#`."
    )
    method: Literal["GET", "POST", "PUT", "PATCH"] = Field("GET", description="HTTP method.")
    headers: dict[str, Any] | None = Field(
        None,
        description="Request headers, templated; a null value is not sent. Credentials belong "
        "in the connector's `auth`.",
    )
    params: dict[str, Any] | None = Field(
        None, description="Query string values, templated; a null value is not sent."
    )
    json_body: Any = Field(None, alias="json", description="JSON request body, templated.")
    data: str | dict[str, Any] | None = Field(
        None, description="Form or raw request body, templated."
    )
    filter: str = Field(
        ".",
        description="jq expression run on each page; a list output, or each output, is a row.",
    )
    xpath: str | None = Field(
        None,
        description="For XML: the elements to keep as rows, an ElementTree path relative to "
        "the root element (e.g. `./item`); the jq filter then runs on their list.",
    )
    flatten_column: str | None = Field(
        None,
        description="Column to flatten: a list becomes one row per element, an object becomes "
        "dotted columns (`column.key`).",
    )
    flatten_nested: bool = Field(
        False, description="Turn every nested object into dotted columns (`a.b.c`)."
    )
    pagination: Pagination | None = Field(None, description="How to ask for the next page.")

    def __repr_args__(self) -> Any:
        """Show the fields, with the values of credential-like headers masked."""
        return _repr_with_masked_headers(super().__repr_args__())


class HttpTemplate(BaseModel):
    """Values sent with every request, under each data source's own values."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    headers: dict[str, Any] | None = Field(
        None,
        description="Headers sent with every request; credentials belong in the connector's "
        "`auth` (header values are masked in repr only).",
    )
    params: dict[str, Any] | None = Field(None, description="Query values sent every time.")
    json_body: dict[str, Any] | None = Field(
        None, alias="json", description="JSON body fields sent with every request."
    )

    def __repr_args__(self) -> Any:
        """Show the fields, with the values of credential-like headers masked."""
        return _repr_with_masked_headers(super().__repr_args__())


class HttpAPIConnector(ToucanConnector, data_source_model=HttpAPIDataSource):
    """Reads JSON or XML from an HTTP API into a DataFrame."""

    status_steps: ClassVar[tuple[str, ...]] = (
        "Host resolved",
        "Port opened",
        "Request answered",
        "Authenticated",
    )
    limitations: ClassVar[tuple[str, ...]] = (
        "With permissions or a row count asked for, get_slice reads every page, since rows can "
        "only be filtered and counted once fetched.",
        "`xpath` supports the ElementTree subset of XPath, relative to the root element; for "
        "more, convert the whole document and reshape it with the jq `filter`.",
        "Every method is retried on connection errors, timeouts, 429 and 5xx: set "
        "`retry_policy` to null for an API whose POST requests must not be repeated.",
        "With auth set, a data source URL or next link on another host than `baseroute` is "
        "refused, so that credentials never leave for another host.",
        "A redirect to another scheme, host or port is refused, with or without auth, so that "
        "keys, headers and cookies never leave for another host: use the final URL directly.",
        "Header values in `headers` and `template.headers` are plain values, masked in repr "
        "but not in `model_dump`: put credentials in `auth`.",
    )

    baseroute: str = Field(description="Base URL every data source URL is relative to.")
    auth: HttpAuth | None = Field(None, description="How requests authenticate.")
    responsetype: Literal["json", "xml"] = Field("json", description="Format of the responses.")
    cert: list[str] | None = Field(
        None, description="Client certificate: [cert_and_key_file] or [cert_file, key_file]."
    )
    verify: bool = Field(True, description="Check the server's TLS certificate.")
    proxies: dict[str, str] | None = Field(
        None, description='Proxies by scheme, e.g. {"https": "http://proxy:3128"}.'
    )
    template: HttpTemplate | None = Field(
        None, description="Headers, params and JSON body merged under every data source's."
    )
    timeout: float = Field(30.0, gt=0, description="Seconds to wait for each response.")
    retry_policy: RetryPolicy | None = Field(
        default_factory=RetryPolicy,
        description="Retries of each request, POST included, on connection errors, timeouts, 429 "
        "(after its Retry-After) and 5xx; by default 3 attempts with backoff (`RetryPolicy()`), "
        "null disables them.",
    )

    _client: HttpClient | None = PrivateAttr(None)
    _secrets_keeper: SecretsKeeper | None = PrivateAttr(None)

    @field_validator("baseroute")
    @classmethod
    def _no_password_in_baseroute(cls, baseroute: str) -> str:
        parts = urlsplit(baseroute)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"{redact_url(baseroute)!r} is not an http:// or https:// URL with a host: "
                "write it like https://api.example.com/v1"
            )
        # A password inside the URL would show in repr, dumps and cache keys: it is no secret.
        if parts.password is not None:
            raise ValueError(
                "the URL holds a password: remove it and set `auth` to basic auth instead"
            )
        return baseroute

    def set_secrets_keeper(self, keeper: SecretsKeeper) -> None:
        """Give the connector the host's store for OAuth2 states and tokens."""
        self._secrets_keeper = keeper
        self._client = None

    def build_authorization_url(self) -> str:
        """Return the OAuth2 consent page URL to send the user to."""
        return self._authorization_flow().build_authorization_url()

    def retrieve_tokens(self, authorization_response: str) -> None:
        """Check the provider's redirect URL, exchange its code and store the tokens."""
        self._authorization_flow().retrieve_tokens(authorization_response)

    def _retrieve_data(self, data_source: HttpAPIDataSource) -> pd.DataFrame:
        rows = [row for page in self._pages(data_source) for row in page]
        return _to_frame(rows)

    def _retrieve_page(
        self,
        data_source: HttpAPIDataSource,
        permissions: Permissions | None,
        offset: int,
        limit: int | None,
        count_rows: bool,
    ) -> RetrievedPage:
        """Stop fetching pages once offset + limit rows are in hand; the total is then unknown."""
        if permissions or count_rows or limit is None:
            return super()._retrieve_page(data_source, permissions, offset, limit, count_rows)

        rows: list[dict[str, Any]] = []
        exhausted = True
        with contextlib.closing(self._pages(data_source)) as pages:
            for page in pages:
                rows.extend(page)
                if len(rows) >= offset + limit:
                    exhausted = False
                    break

        df = _to_frame(rows).iloc[offset : offset + limit]
        return RetrievedPage(df, len(rows) if exhausted else None)

    def _status_checks(self) -> list[StatusCheck]:
        parts = urlsplit(self.baseroute)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return [
            *host_and_port_checks(parts.hostname or "", port, min(self.timeout, 3.0)),
            StatusCheck("Request answered", self._check_answered),
            StatusCheck("Authenticated", self._check_authenticated),
        ]

    def _check_answered(self) -> None:
        response = self._http().probe(self.baseroute, auth=NoAuth())
        if response.status_code >= 500:
            raise CheckFailedError(
                f"{redact_url(self.baseroute)} answered {response.status_code}: the server "
                "failed; try again later or check the base route."
            )

    def _check_authenticated(self) -> None:
        if self.auth is None:
            return
        response = self._http().probe(self.baseroute)
        if response.status_code in (401, 403):
            raise CheckFailedError(
                f"{redact_url(self.baseroute)} refused the credentials "
                f"({response.status_code}): check the connector's auth settings."
            )

    def _pages(self, data_source: HttpAPIDataSource) -> Generator[list[dict[str, Any]], None, None]:
        request = self._build_request(data_source)

        def fetch(page_request: HttpRequest) -> tuple[requests.Response, Any]:
            self._check_origin(page_request.url, data_source.domain)
            response = self._http().send(page_request)
            return response, self._parse(response, data_source)

        def to_rows(payload: Any) -> list[dict[str, Any]]:
            return _to_rows(payload, data_source)

        def count_records(payload: Any) -> int:
            return _count_records(payload, data_source)

        return iterate_pages(
            data_source.pagination,
            request,
            fetch,
            to_rows,
            data_source.domain,
            count_records=count_records,
        )

    def _build_request(self, data_source: HttpAPIDataSource) -> HttpRequest:
        template = self.template or HttpTemplate()
        parameters = data_source.parameters
        headers = {**(render(template.headers, parameters) or {}), **(data_source.headers or {})}
        params = {**(render(template.params, parameters) or {}), **(data_source.params or {})}
        body = _merged_body(
            render(template.json_body, parameters), data_source.json_body, data_source
        )

        pagination = data_source.pagination
        if pagination is not None and pagination.location == "json":
            if body is not None and not isinstance(body, dict):
                raise InvalidDataSourceError(
                    f'Data source "{data_source.domain}": the pagination goes in the JSON body '
                    f"(location: json), but the body is a {type(body).__name__}, not an "
                    'object: send an object body, or set the pagination\'s location to "params".'
                )

        return HttpRequest(
            method=data_source.method,
            url=self._full_url(_render_url(data_source.url, parameters, data_source.domain)),
            params=params,
            headers={str(name): str(value) for name, value in headers.items() if value is not None},
            json=body,
            data=data_source.data,
        )

    def _full_url(self, url: str) -> str:
        if urlsplit(url).scheme:
            return url
        if not url:
            return self.baseroute
        return f"{self.baseroute.rstrip('/')}/{url.lstrip('/')}"

    def _check_origin(self, url: str, source: str) -> None:
        if self.auth is None:
            return
        expected, actual = urlsplit(self.baseroute), urlsplit(url)
        if (expected.scheme, expected.netloc) != (actual.scheme, actual.netloc):
            raise ProviderError(
                f'Data source "{source}": {redact_url(url)} is not on the host of the base route '
                f"{redact_url(self.baseroute)}, and credentials are never sent elsewhere: use "
                "a URL relative to the base route."
            )

    def _parse(self, response: requests.Response, data_source: HttpAPIDataSource) -> Any:
        where = f"{response.request.method} {redact_url(response.url)}"
        if not response.content:
            return None
        if self.responsetype == "xml":
            return _parse_xml(response.content, data_source, where)
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderError(
                f'Data source "{data_source.domain}": {where} returned a body that is not valid '
                f'JSON ({exc}): check the URL, or set responsetype to "xml".'
            ) from exc

    def _http(self) -> HttpClient:
        if self._client is None:
            cert: str | tuple[str, str] | None = None
            if self.cert:
                cert = self.cert[0] if len(self.cert) == 1 else (self.cert[0], self.cert[1])
            client = HttpClient(
                provider=f'The "{self.name}" {TYPE_KEY} connector',
                timeout=self.timeout,
                retry_policy=self.retry_policy,
                cert=cert,
                verify=self.verify,
                proxies=self.proxies,
                secrets=secret_values(self.auth),
            )
            client.session.auth = build_auth(self.auth, client, self._secrets_keeper)
            self._client = client
        return self._client

    def _authorization_flow(self) -> AuthorizationCodeFlow:
        if not isinstance(self.auth, OAuth2AuthorizationCode):
            raise ProviderError(
                f'The "{self.name}" {TYPE_KEY} connector has no OAuth2 authorization code auth: '
                'set auth.type to "oauth2_authorization_code" first.'
            )
        return AuthorizationCodeFlow(self.auth, self._http(), self._secrets_keeper)


def _merged_body(template_body: Any, body: Any, data_source: HttpAPIDataSource) -> Any:
    """Return the JSON body: the template's fields under the data source's own."""
    if body is not None and data_source.data is not None:
        raise InvalidDataSourceError(
            f'Data source "{data_source.domain}" has both a JSON body (`json`) and form data '
            "(`data`), and a request carries only one: keep one of them."
        )
    if template_body is None:
        return body
    if data_source.data is not None or not (body is None or isinstance(body, dict)):
        sent = "form data" if data_source.data is not None else f"a {type(body).__name__} body"
        raise InvalidDataSourceError(
            f'Data source "{data_source.domain}" sends {sent}, into which the connector\'s '
            "template JSON fields cannot be merged: send an object `json` body, or move the "
            "template's `json` fields into the data sources that need them."
        )
    return {**template_body, **(body or {})}


def _render_url(url: str, parameters: Mapping[str, Any] | None, source: str) -> str:
    """Render the URL template, each value percent-encoded so it stays inside its segment."""
    if not has_template(url):
        return url

    encoded = {
        name: _encode_url_value(value, name, source) for name, value in (parameters or {}).items()
    }
    result = render(url, encoded)

    if isinstance(result, bool):
        return "true" if result else "false"
    if isinstance(result, int | float | str):
        return str(result)
    raise InvalidDataSourceError(
        f'Data source "{source}": the URL template {url!r} gives '
        f"{'null' if result is None else 'a ' + type(result).__name__}, not a path: render a "
        "string or a number into it."
    )


def _encode_url_value(value: Any, name: str, source: str) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, Mapping):
        return {key: _encode_url_value(item, name, source) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encode_url_value(item, name, source) for item in value]
    text = str(value)
    if text in (".", ".."):
        raise InvalidDataSourceError(
            f'Data source "{source}": the parameter "{name}" is {text!r}, which would move the '
            "URL to another path: pass a real identifier."
        )
    return quote(text, safe="")


def _parse_xml(text: bytes, data_source: HttpAPIDataSource, where: str) -> Any:
    xmltodict = import_optional("xmltodict", connector=TYPE_KEY, extra="http_api")
    try:
        root = ET.fromstring(text)
    except (ExpatError, ET.ParseError) as exc:
        raise ProviderError(
            f'Data source "{data_source.domain}": {where} returned a body that is not valid XML '
            f'({exc}): check the URL, or set responsetype to "json".'
        ) from exc
    _strip_namespaces(root)

    if data_source.xpath is None:
        return xmltodict.parse(ET.tostring(root, encoding="unicode"))

    xpath = _NAMESPACE.sub("", data_source.xpath)
    try:
        elements = root.findall(xpath)
    except (SyntaxError, TypeError, KeyError, ValueError) as exc:
        raise InvalidDataSourceError(
            f'Data source "{data_source.domain}": the xpath {data_source.xpath!r} is not a '
            f"supported ElementTree path ({exc or type(exc).__name__}): write it relative to "
            'the root element, without namespace prefixes, e.g. "./item" or ".//item[@id=\'1\']".'
        ) from None

    values = []
    for element in elements:
        element.tail = None
        parsed = next(iter(xmltodict.parse(ET.tostring(element, encoding="unicode")).values()))
        values.append(parsed if isinstance(parsed, dict) else {"#text": parsed})
    return values


def _strip_namespaces(root: ET.Element) -> None:
    """Rename every tag and attribute to its local name, so columns never carry a namespace."""
    for element in root.iter():
        if isinstance(element.tag, str):
            element.tag = _NAMESPACE.sub("", element.tag)
        if any(name.startswith("{") for name in element.attrib):
            attributes: dict[str, str] = {}
            for name, value in element.attrib.items():
                attributes.setdefault(_NAMESPACE.sub("", name), value)
            element.attrib.clear()
            element.attrib.update(attributes)


def _filter_outputs(payload: Any, data_source: HttpAPIDataSource) -> list[Any]:
    """Return the records the jq filter makes of a page: one list output is unpacked."""
    outputs = run_jq(data_source.filter, payload)
    if len(outputs) == 1 and isinstance(outputs[0], list):
        return list(outputs[0])
    if outputs == [None]:
        return []
    return outputs


def _count_records(payload: Any, data_source: HttpAPIDataSource) -> int:
    """Return a page's length: its records before the filter when it is a list, else outputs."""
    if isinstance(payload, list):
        return len(payload)
    return len(_filter_outputs(payload, data_source))


def _to_rows(payload: Any, data_source: HttpAPIDataSource) -> list[dict[str, Any]]:
    rows = [
        item if isinstance(item, dict) else ({} if item is None else {"value": item})
        for item in _filter_outputs(payload, data_source)
    ]

    column = data_source.flatten_column
    if column:
        if rows and not any(column in row for row in rows):
            known = sorted({key for row in rows for key in row})
            raise InvalidDataSourceError(
                f'Data source "{data_source.domain}": flatten_column "{column}" is in no row of '
                f"the page (columns: {', '.join(known) or 'none'}): fix the column name."
            )
        rows = [flat for row in rows for flat in _flatten_column(row, column)]
    if data_source.flatten_nested:
        rows = [_flatten_object(row) for row in rows]
    return rows


def _flatten_column(row: dict[str, Any], column: str) -> list[dict[str, Any]]:
    if column not in row:
        return [row]
    value = row[column]
    elements = value if isinstance(value, list) else [value]
    if not elements:
        return [{key: item for key, item in row.items() if key != column}]

    flattened = []
    for element in elements:
        new: dict[str, Any] = {}
        for key, item in row.items():
            if key != column:
                new[key] = item
            elif isinstance(element, dict):
                new.update(_flatten_object(element, f"{column}."))
            else:
                new[column] = element
        flattened.append(new)
    return flattened


def _flatten_object(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, dict) and item:
            flat.update(_flatten_object(item, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = item
    return flat


def _to_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame.from_records(rows)
