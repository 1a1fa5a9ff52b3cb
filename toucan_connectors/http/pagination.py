"""Pagination kinds for HTTP APIs, and the loop that walks the pages until one says it is the end.

Every kind stops on an empty page, on a repeated cursor or link (a cycle) and after `max_pages`
pages, with a warning in the last two cases. Offset/limit and page number also stop on a page
shorter than the page size. A page's length is what `page_length_filter` gives, or else what the
caller's `count_records` counts (the raw records), or else its rows.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Callable, Generator
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
from pydantic import BaseModel, ConfigDict, Field

from toucan_connectors.http.client import HttpRequest, HttpStatusError, redact_url
from toucan_connectors.http.filters import first_jq

logger = logging.getLogger(__name__)

__all__ = [
    "CursorPagination",
    "NextLinkPagination",
    "OffsetLimitPagination",
    "PageNumberPagination",
    "Pagination",
    "iterate_pages",
    "normalise_url",
]

Fetch = Callable[[HttpRequest], tuple[requests.Response, Any]]
NextRequest = tuple[HttpRequest, str | None] | None


class _PaginationBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_pages: int = Field(
        100, ge=1, description="Stop after this many pages, with a warning, to bound the run."
    )
    page_length_filter: str | None = Field(
        None,
        description="jq expression on a raw page whose list (or number) gives the page's "
        "length; by default the page's records when it is a list, else the records the data "
        "source's filter gives.",
    )
    location: Literal["params", "json"] = Field(
        "params", description="Where the pagination values go: the query string or the JSON body."
    )

    def first_request(self, request: HttpRequest) -> HttpRequest:
        """Return the request of the first page."""
        return request

    @abstractmethod
    def next_request(
        self,
        request: HttpRequest,
        response: requests.Response,
        payload: Any,
        length: int,
        number: int,
    ) -> NextRequest:
        """Return the request of the page after page `number` and its cycle key, or None."""

    def page_key(self, response: requests.Response) -> str | None:
        """Return what identifies the page just read, to notice a cycle; None by default."""
        return None

    def is_done_on(self, error: HttpStatusError, number: int) -> bool:
        """Tell whether `error` on page `number` means there are no more pages."""
        return False

    def _sent_value(self, request: HttpRequest, name: str) -> Any:
        """Return the value `name` has in the request, where this pagination puts its values."""
        if self.location == "json":
            return request.json.get(name) if isinstance(request.json, dict) else None
        return request.params.get(name)


class OffsetLimitPagination(_PaginationBase):
    """Pages asked for by a row offset and a page size."""

    kind: Literal["offset_limit"] = Field(
        "offset_limit", description='Kind of pagination: always "offset_limit" here.'
    )
    limit: int = Field(ge=1, description="Rows per page, sent as `limit_name`.")
    offset_name: str = Field("offset", description="Name of the offset parameter.")
    limit_name: str = Field("limit", description="Name of the page size parameter.")

    def first_request(self, request: HttpRequest) -> HttpRequest:
        """Return the request of the first page, at offset 0."""
        return request.with_values(
            self.location, {self.offset_name: 0, self.limit_name: self.limit}
        )

    def next_request(
        self,
        request: HttpRequest,
        response: requests.Response,
        payload: Any,
        length: int,
        number: int,
    ) -> NextRequest:
        """Ask for the rows after those read so far unless this page was short."""
        if length < self.limit:
            return None
        if length > self.limit:
            logger.warning(
                "%s sent %d records for a limit of %d; the next offset moves on by the %d "
                "received. If the filter makes several rows of one record, set "
                "page_length_filter.",
                redact_url(request.url),
                length,
                self.limit,
                length,
            )
        sent = self._sent_value(request, self.offset_name)
        offset = sent if isinstance(sent, int) and not isinstance(sent, bool) else 0
        values = {self.offset_name: offset + length, self.limit_name: self.limit}
        return request.with_values(self.location, values), None


class PageNumberPagination(_PaginationBase):
    """Pages asked for by their number."""

    kind: Literal["page_number"] = Field(
        "page_number", description='Kind of pagination: always "page_number" here.'
    )
    page_name: str = Field("page", description="Name of the page number parameter.")
    first_page: int = Field(1, description="Number of the first page (0 or 1 usually).")
    page_size: int | None = Field(
        None, ge=1, description="Rows per page; a shorter page is the last one."
    )
    page_size_name: str | None = Field(
        None, description="Name of the page size parameter, to send `page_size` with each page."
    )
    last_page_filter: str | None = Field(
        None, description="jq expression on a raw page that is true on the last page."
    )
    not_found_means_done: bool = Field(
        False, description="Treat a 404 after the first page as the end rather than an error."
    )

    def first_request(self, request: HttpRequest) -> HttpRequest:
        """Return the request of page `first_page`."""
        return request.with_values(self.location, self._values(self.first_page))

    def next_request(
        self,
        request: HttpRequest,
        response: requests.Response,
        payload: Any,
        length: int,
        number: int,
    ) -> NextRequest:
        """Ask for the next page unless this one says or looks like it is the last."""
        if self.last_page_filter and first_jq(self.last_page_filter, payload):
            return None
        if self.page_size is not None and length < self.page_size:
            return None
        page = self.first_page + number + 1
        return request.with_values(self.location, self._values(page)), None

    def is_done_on(self, error: HttpStatusError, number: int) -> bool:
        """A 404 after the first page is the end when `not_found_means_done` is set."""
        return self.not_found_means_done and number > 0 and error.status_code == 404

    def _values(self, page: int) -> dict[str, Any]:
        values: dict[str, Any] = {self.page_name: page}
        if self.page_size_name and self.page_size is not None:
            values[self.page_size_name] = self.page_size
        return values


class CursorPagination(_PaginationBase):
    """Each page gives the cursor of the next one."""

    kind: Literal["cursor"] = Field(
        "cursor", description='Kind of pagination: always "cursor" here.'
    )
    cursor_filter: str = Field(
        description="jq expression on a raw page giving the next cursor; null or empty ends."
    )
    cursor_name: str = Field("cursor", description="Name of the cursor parameter.")
    limit: int | None = Field(None, ge=1, description="Rows per page, sent as `limit_name`.")
    limit_name: str = Field("limit", description="Name of the page size parameter.")

    def first_request(self, request: HttpRequest) -> HttpRequest:
        """Return the request of the first page, with the page size when one is set."""
        if self.limit is None:
            return request
        return request.with_values(self.location, {self.limit_name: self.limit})

    def next_request(
        self,
        request: HttpRequest,
        response: requests.Response,
        payload: Any,
        length: int,
        number: int,
    ) -> NextRequest:
        """Ask for the page of the cursor this page gives, if any."""
        cursor = first_jq(self.cursor_filter, payload)
        if cursor is None or cursor == "":
            return None
        return request.with_values(self.location, {self.cursor_name: cursor}), str(cursor)


class NextLinkPagination(_PaginationBase):
    """Each page gives the URL of the next one; relative links are resolved against its URL."""

    kind: Literal["next_link"] = Field(
        "next_link", description='Kind of pagination: always "next_link" here.'
    )
    next_link_filter: str | None = Field(
        None,
        description="jq expression on a raw page giving the next URL; by default the `Link: <url>; "
        'rel="next"` response header.',
    )

    def page_key(self, response: requests.Response) -> str | None:
        """Return the URL of the page just read, normalised."""
        return normalise_url(response.url)

    def next_request(
        self,
        request: HttpRequest,
        response: requests.Response,
        payload: Any,
        length: int,
        number: int,
    ) -> NextRequest:
        """Ask for the link this page gives, if any; it already holds its query string."""
        if self.next_link_filter:
            link = first_jq(self.next_link_filter, payload)
        else:
            link = response.links.get("next", {}).get("url")
        if not link:
            return None
        url = urljoin(response.url, str(link))
        return HttpRequest(
            request.method, url, {}, request.headers, request.json, request.data
        ), normalise_url(url)


def normalise_url(url: str) -> str:
    """Return `url` in one spelling: scheme and host lowercased, default port, query sorted.

    Two links that differ only in the order of their query values, or in a fragment, name the
    same page; the cycle check compares these spellings.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and port != {"http": 80, "https": 443}.get(scheme):
        host = f"{host}:{port}"
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


Pagination = Annotated[
    OffsetLimitPagination | PageNumberPagination | CursorPagination | NextLinkPagination,
    Field(discriminator="kind"),
]
"""Any pagination kind, told apart by its `kind`."""


def iterate_pages(
    pagination: Pagination | None,
    request: HttpRequest,
    fetch: Fetch,
    to_rows: Callable[[Any], list[Any]],
    source: str,
    *,
    count_records: Callable[[Any], int] | None = None,
) -> Generator[list[Any], None, None]:
    """Yield the rows of each page in turn; stop fetching as soon as the caller stops asking.

    Args:
        pagination: how to ask for the next page, or None for a single request.
        request: the request of the whole data source, without pagination values.
        fetch: sends a request and returns its response and parsed body.
        to_rows: turns a parsed body into rows (the data source's filter and flattening).
        source: the data source name, for log messages.
        count_records: counts a parsed body's records, for the page length; by default the
            rows. Count what the server sent, before any filter drops or multiplies records.
    """
    if pagination is None:
        yield to_rows(fetch(request)[1])
        return

    current = pagination.first_request(request)
    seen: set[str] = set()
    number = 0
    while True:
        logger.debug("Data source %r: page %d", source, number + 1)
        try:
            response, payload = fetch(current)
        except HttpStatusError as exc:
            if pagination.is_done_on(exc, number):
                return
            raise
        rows = to_rows(payload)
        yield rows

        page_key = pagination.page_key(response)
        if page_key is not None:
            seen.add(page_key)

        length = _page_length(pagination, payload, rows, count_records)
        following = (
            None
            if length == 0
            else pagination.next_request(current, response, payload, length, number)
        )
        if following is None:
            return
        current, key = following
        if key is not None and key in seen:
            logger.warning(
                "Data source %r: page %d leads back to a page already read (a cycle); stopping "
                "there. Check the pagination's cursor or link filter.",
                source,
                number + 1,
            )
            return
        if key is not None:
            seen.add(key)

        number += 1
        if number >= pagination.max_pages:
            logger.warning(
                "Data source %r: stopped after max_pages=%d pages while %s had more; raise "
                "max_pages to read them all.",
                source,
                pagination.max_pages,
                redact_url(current.url),
            )
            return


def _page_length(
    pagination: Pagination,
    payload: Any,
    rows: list[Any],
    count_records: Callable[[Any], int] | None,
) -> int:
    if pagination.page_length_filter is None:
        return len(rows) if count_records is None else count_records(payload)
    value = first_jq(pagination.page_length_filter, payload)
    if isinstance(value, list | dict | str):
        return len(value)
    if isinstance(value, int | float):
        return int(value)
    return 0
