"""One HTTP session per connector: timeouts, retries with backoff, and errors that say where."""

from __future__ import annotations

import email.utils
import logging
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import quote, quote_plus, urljoin, urlsplit, urlunsplit

import requests
import tenacity
from requests.auth import AuthBase

from toucan_connectors.errors import (
    ConnectionFailedError,
    InvalidConfigurationError,
    ProviderError,
    ToucanConnectorError,
)
from toucan_connectors.retry import RetryPolicy

logger = logging.getLogger(__name__)

__all__ = [
    "RETRIED_STATUSES",
    "HttpClient",
    "HttpRequest",
    "HttpStatusError",
    "NoAuth",
    "parse_retry_after",
    "redact_text",
    "redact_url",
]

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Statuses worth another try: the server is busy or failed, the request itself may be fine."""

RETRY_AFTER_CEILING = 300.0
"""Longest `Retry-After` ever waited, in seconds; a longer one fails at once."""

_BODY_EXCERPT = 200
_BODY_SCAN = 20_000
_DEFAULT_PORTS = {"http": 80, "https": 443}
_QUERY_IN_TEXT = re.compile(r"\?[^\s'\"<>()]+")
_MIN_SECRET_LENGTH = 3
_LOGGERS_TO_REDACT = ("urllib3.connectionpool", "urllib3.util.retry")


@dataclass(frozen=True)
class HttpRequest:
    """One request to send: method, URL and what goes with it."""

    method: str
    url: str
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    data: Any = None

    def with_values(
        self, location: Literal["params", "json"], values: Mapping[str, Any]
    ) -> HttpRequest:
        """Return a copy with `values` merged into the query string or into the JSON body."""
        if location == "json":
            body = dict(self.json or {})
            body.update(values)
            return replace(self, json=body)
        return replace(self, params={**self.params, **values})


class NoAuth(AuthBase):
    """Sends a request without any credentials, overriding the session's auth."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Return `request` unchanged."""
        return request


class HttpStatusError(ProviderError):
    """The server answered with an error status that is not worth retrying, or kept failing."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class _RetryableStatus(Exception):
    """Internal: a response whose status is worth retrying."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    _RetryableStatus,
)


def _is_transient(error: BaseException) -> bool:
    # A certificate problem does not go away by asking again.
    return isinstance(error, _TRANSIENT) and not isinstance(error, requests.exceptions.SSLError)


class _CrossOriginRedirect(Exception):
    """Internal: a redirect to another scheme, host or port, refused before it is followed."""

    def __init__(self, source: str, target: str) -> None:
        super().__init__(redact_url(target))
        self.source = source
        self.target = target


class _SameOriginSession(requests.Session):
    """A session that follows redirects only within the origin of the request."""

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        """Return the redirect location, refusing one on another origin.

        Headers such as an API key's are kept on redirects by requests, and cookies go to any
        port of a host, so a redirect elsewhere would hand the credentials over.
        """
        target = super().get_redirect_target(resp)
        if target is not None and resp.url:
            absolute = urljoin(resp.url, target)
            if _origin(absolute) != _origin(resp.url):
                resp.close()
                raise _CrossOriginRedirect(resp.url, absolute)
        return target


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or ""), parts.port or _DEFAULT_PORTS.get(scheme)


def redact_url(url: str) -> str:
    """Return `url` without its query string, fragment and user info, safe for logs and errors."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Return `text` with query strings cut out and every one of `secrets` masked as `***`."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) < _MIN_SECRET_LENGTH:
            continue
        for spelling in {secret, quote(secret, safe=""), quote_plus(secret, safe="")}:
            text = text.replace(spelling, "***")
    return _QUERY_IN_TEXT.sub("?<query hidden>", text)


class _RedactQueryStrings(logging.Filter):
    """Rewrites a log record so that no URL in it keeps its query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message with its redacted text; never drop the record."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        redacted = _QUERY_IN_TEXT.sub("?<query hidden>", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_QUERY_FILTER = _RedactQueryStrings()


def install_log_redaction() -> None:
    """Add the query string filter to urllib3's request loggers, once; handlers are untouched."""
    for name in _LOGGERS_TO_REDACT:
        target = logging.getLogger(name)
        if _QUERY_FILTER not in target.filters:
            target.addFilter(_QUERY_FILTER)


class HttpClient:
    """A `requests.Session` with a timeout on every request and retries on transient failures.

    Connection errors, timeouts, 429 and 5xx are retried with exponential backoff and jitter, or
    after the `Retry-After` the server asked for, until `retry_policy` runs out of attempts or
    of total time. A `Retry-After` longer than `max_delay` (or `RETRY_AFTER_CEILING` when
    there is none) is not waited for. Other 4xx raise `HttpStatusError` at once. A redirect to
    another scheme, host or port raises `ProviderError`, so credentials never leave the origin.
    Booleans in the query string and in form data are sent as `true` / `false`. Nothing secret
    is ever logged: only the method, host and path; urllib3's request lines lose their query
    string. Error messages hold no query string, and the `secrets` (plus any value given to
    `add_secret`) are masked in the response excerpts they quote.
    """

    def __init__(
        self,
        *,
        provider: str,
        timeout: float = 30.0,
        retry_policy: RetryPolicy | None = None,
        auth: AuthBase | None = None,
        cert: str | tuple[str, str] | None = None,
        verify: bool = True,
        proxies: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        self.provider = provider
        self.timeout = timeout
        self.retry_policy = retry_policy
        self.secrets: set[str] = {value for value in secrets if value}
        self.session: requests.Session = _SameOriginSession()
        self.session.auth = auth
        self.session.cert = cert
        self.session.verify = verify
        if proxies:
            self.session.proxies.update(proxies)
        install_log_redaction()

    def add_secret(self, value: str) -> None:
        """Mask `value` (a token fetched at run time, say) in every later error message."""
        if value:
            self.secrets.add(value)

    def send(self, request: HttpRequest, *, auth: AuthBase | None = None) -> requests.Response:
        """Send `request`, retrying transient failures; return a response with a 2xx/3xx status.

        Raises:
            ConnectionFailedError: the server could not be reached, did not answer in time,
                failed the TLS handshake or cut the body short.
            HttpStatusError: the server answered with an error status.
            ProviderError: the server redirected to another scheme, host or port, in a loop, or
                sent a body that cannot be decoded.
            InvalidConfigurationError: the URL is not an http(s) URL or cannot be sent.
        """
        where = f"{request.method} {redact_url(request.url)}"
        retrying = tenacity.Retrying(
            stop=self._stop(),
            wait=self._wait,
            retry=tenacity.retry_if_exception(_is_transient),
            before_sleep=lambda state: _log_retry(state, where),
            sleep=lambda seconds: _sleep(seconds),
            reraise=True,
        )
        try:
            return retrying(self._send_once, request, auth)
        except _RetryableStatus as exc:
            raise self._status_error(exc.response, gave_up=True) from None
        except _CrossOriginRedirect as exc:
            raise self._redirect_error(request.method, exc) from None
        except requests.RequestException as exc:
            raise self._transport_error(where, exc) from None

    def probe(self, url: str, *, auth: AuthBase | None = None) -> requests.Response:
        """Send one GET without retries and return the response whatever its status.

        Raises:
            ConnectionFailedError: the server could not be reached or did not answer in time.
            ProviderError: the server redirected to another scheme, host or port, or in a loop.
            InvalidConfigurationError: the URL is not an http(s) URL or cannot be sent.
        """
        try:
            return self.session.get(url, auth=auth, timeout=self.timeout)
        except _CrossOriginRedirect as exc:
            raise self._redirect_error("GET", exc) from None
        except requests.RequestException as exc:
            raise self._transport_error(f"GET {redact_url(url)}", exc) from None

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def _send_once(self, request: HttpRequest, auth: AuthBase | None) -> requests.Response:
        logger.debug("%s %s", request.method, redact_url(request.url))
        response = self.session.request(
            request.method,
            request.url,
            params=_to_form_values(request.params) or None,
            headers=request.headers or None,
            json=request.json,
            data=_to_form_values(request.data),
            auth=auth,
            timeout=self.timeout,
        )
        if response.status_code in RETRIED_STATUSES:
            raise _RetryableStatus(response)
        if response.status_code >= 400:
            raise self._status_error(response, gave_up=False)
        return response

    def _stop(self) -> tenacity.stop.stop_base:
        policy = self.retry_policy
        if policy is None:
            return tenacity.stop_after_attempt(1)
        stop: tenacity.stop.stop_base = tenacity.stop_after_attempt(policy.max_attempts)
        stop = stop | _stop_on_long_wait(self._longest_wait())
        if policy.max_delay is not None:
            stop = stop | tenacity.stop_before_delay(policy.max_delay)
        return stop

    def _longest_wait(self) -> float:
        policy = self.retry_policy
        if policy is None or policy.max_delay is None:
            return RETRY_AFTER_CEILING
        return min(policy.max_delay, RETRY_AFTER_CEILING)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _RetryableStatus):
            retry_after = parse_retry_after(error.response.headers.get("Retry-After"))
            if retry_after is not None:
                return retry_after
        policy = self.retry_policy or RetryPolicy()
        backoff = tenacity.wait_exponential(multiplier=policy.wait_time, max=policy.max_wait)
        jitter = tenacity.wait_random(0, policy.jitter)
        return float(backoff(state) + jitter(state))

    def _redirect_error(self, method: str, exc: _CrossOriginRedirect) -> ProviderError:
        return ProviderError(
            f"{self.provider}: {method} {redact_url(exc.source)} redirected to "
            f"{redact_url(exc.target)}, on another scheme, host or port; the redirect was "
            "refused so that credentials never leave for another host: use the final URL "
            "directly, if it is trusted."
        )

    def _transport_error(self, where: str, exc: requests.RequestException) -> ToucanConnectorError:
        # The requests error's own text holds the URL with its query string: never chain it.
        reason = redact_text(_reason(exc), self.secrets)
        if isinstance(exc, requests.exceptions.SSLError):
            return ConnectionFailedError(
                f"{self.provider}: {where} failed the TLS handshake ({reason}): check the "
                "server's certificate, the connector's `verify` setting and its client `cert`."
            )
        if isinstance(exc, requests.Timeout):
            return ConnectionFailedError(
                f"{self.provider}: {where} got no answer within {self.timeout:g}s: check that "
                "the server is up, or raise the connector's timeout."
            )
        if isinstance(exc, requests.exceptions.ChunkedEncodingError):
            return ConnectionFailedError(
                f"{self.provider}: {where} was cut off before the whole body arrived "
                f"({reason}): check the network and the proxies, or try again later."
            )
        if isinstance(exc, requests.ConnectionError):
            return ConnectionFailedError(
                f"{self.provider}: {where} could not connect ({type(exc).__name__}: {reason}): "
                "check the base route, the network and the proxies."
            )
        if isinstance(exc, requests.TooManyRedirects):
            return ProviderError(
                f"{self.provider}: {where} was redirected too many times (a redirect loop): "
                "check the URL, or use the final URL directly."
            )
        if isinstance(exc, requests.exceptions.ContentDecodingError):
            return ProviderError(
                f"{self.provider}: {where} answered a body that does not match its "
                f"Content-Encoding ({reason}): the server is at fault; check the URL or ask "
                "its owner."
            )
        if isinstance(exc, requests.exceptions.InvalidSchema | requests.exceptions.MissingSchema):
            return InvalidConfigurationError(
                f"{self.provider}: {where} is not an http:// or https:// URL: start the base "
                "route (and any absolute data source URL) with http:// or https://."
            )
        if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.InvalidHeader):
            return InvalidConfigurationError(
                f"{self.provider}: {where} cannot be sent ({type(exc).__name__}: {reason}): "
                "check the URL and the headers."
            )
        return ProviderError(
            f"{self.provider}: {where} failed ({type(exc).__name__}: {reason}): check the URL, "
            "the network and the proxies."
        )

    def _status_error(self, response: requests.Response, *, gave_up: bool) -> HttpStatusError:
        where = f"{response.request.method} {redact_url(response.url)}"
        text = redact_text(response.text[:_BODY_SCAN], self.secrets)
        body = " ".join(text[:_BODY_EXCERPT].split())
        advice = (
            "the server kept failing; try again later"
            if gave_up
            else "check the URL, the parameters and the credentials"
        )
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if gave_up and retry_after is not None and retry_after > self._longest_wait():
            advice = (
                f"it asked to wait {retry_after:g}s (Retry-After), more than the "
                f"{self._longest_wait():g}s the retry policy allows; try again later"
            )
        return HttpStatusError(
            f"{self.provider}: {where} answered {response.status_code} {response.reason}: "
            f"{body!r}; {advice}.",
            response.status_code,
        )


def parse_retry_after(value: str | None) -> float | None:
    """Return the seconds a `Retry-After` header asks to wait (a number or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - time.time(), 0.0)


def _to_form_values(values: Any) -> Any:
    """Return query or form `values` with booleans spelled `true` / `false`, as JSON does."""
    if isinstance(values, bool):
        return "true" if values else "false"
    if isinstance(values, Mapping):
        return {key: _to_form_values(value) for key, value in values.items()}
    if isinstance(values, list | tuple):
        return [_to_form_values(value) for value in values]
    return values


def _reason(exc: BaseException) -> str:
    """Return the innermost cause of a requests error, in one line."""
    cause: BaseException = exc
    for _ in range(5):
        inner = getattr(cause, "reason", None)
        if not isinstance(inner, BaseException):
            args = getattr(cause, "args", ())
            inner = args[0] if args and isinstance(args[0], BaseException) else None
        if inner is None:
            break
        cause = inner
    details: tuple[Any, ...] = tuple(getattr(cause, "args", ()))
    message = details[0] if len(details) > 1 and isinstance(details[0], str) else str(cause)
    text = " ".join(message.split())
    return text[:200] or type(cause).__name__


class _stop_on_long_wait(tenacity.stop.stop_base):  # noqa: N801 - named like tenacity's stops
    """Stop rather than sleep longer than `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        """Tell whether the next wait is longer than allowed."""
        return (retry_state.upcoming_sleep or 0.0) > self.seconds


def _sleep(seconds: float) -> None:
    # A module-level function so that tests can record the waits instead of sleeping.
    time.sleep(seconds)


def _log_retry(state: tenacity.RetryCallState, where: str) -> None:
    error = state.outcome.exception() if state.outcome else None
    reason = f"status {error.response.status_code}" if isinstance(error, _RetryableStatus) else ""
    logger.warning(
        "%s failed (%s); retrying in %.2fs, attempt %d",
        where,
        reason or type(error).__name__,
        state.upcoming_sleep,
        state.attempt_number + 1,
    )
