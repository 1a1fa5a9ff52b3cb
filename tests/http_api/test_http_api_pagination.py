from __future__ import annotations

import json
import logging
from typing import Any

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from toucan_connectors.http.client import HttpStatusError

from .helpers import make_connector, make_source


def numbers(values: range) -> pd.DataFrame:
    return pd.DataFrame({"n": list(values)})


def rows(values: range) -> list[dict[str, int]]:
    return [{"n": n} for n in values]


def serve_offsets(httpserver: HTTPServer, total: int, size: int) -> None:
    for offset in range(0, total + 1, size):
        query = {"offset": str(offset), "limit": str(size)}
        page = rows(range(offset, min(offset + size, total)))
        httpserver.expect_request("/api/items", query_string=query).respond_with_json(page)


OFFSET_LIMIT = {"kind": "offset_limit", "limit": 5}


def test_offset_limit_stops_on_a_short_page(httpserver: HTTPServer) -> None:
    serve_offsets(httpserver, total=12, size=5)

    df = make_connector(httpserver).get_df(make_source(url="items", pagination=OFFSET_LIMIT))

    assert_frame_equal(df, numbers(range(12)))
    assert len(httpserver.log) == 3


def test_offset_limit_stops_on_an_empty_page_after_an_exact_multiple(
    httpserver: HTTPServer,
) -> None:
    serve_offsets(httpserver, total=10, size=5)

    df = make_connector(httpserver).get_df(make_source(url="items", pagination=OFFSET_LIMIT))

    assert_frame_equal(df, numbers(range(10)))
    assert len(httpserver.log) == 3


def test_offset_limit_in_the_json_body(httpserver: HTTPServer) -> None:
    for offset, page in [(0, rows(range(2))), (2, rows(range(2, 3)))]:
        body = {"kind": "all", "offset": offset, "limit": 2}
        httpserver.expect_request("/api/search", method="POST", json=body).respond_with_json(page)
    pagination = {"kind": "offset_limit", "limit": 2, "location": "json"}
    source = make_source(url="search", method="POST", json={"kind": "all"}, pagination=pagination)

    assert_frame_equal(make_connector(httpserver).get_df(source), numbers(range(3)))


def serve_pages(httpserver: HTTPServer, pages: dict[int, object]) -> None:
    for number, page in pages.items():
        query = {"page": str(number)}
        httpserver.expect_request("/api/items", query_string=query).respond_with_json(page)


def test_page_number_stops_on_a_short_page(httpserver: HTTPServer) -> None:
    serve_pages(httpserver, {1: rows(range(3)), 2: rows(range(3, 5))})
    pagination = {"kind": "page_number", "page_size": 3}

    df = make_connector(httpserver).get_df(make_source(url="items", pagination=pagination))

    assert_frame_equal(df, numbers(range(5)))


def test_page_number_stops_when_the_last_page_filter_says_so(httpserver: HTTPServer) -> None:
    pages = {
        1: {"data": rows(range(2)), "meta": {"page": 1, "pages": 2}},
        2: {"data": rows(range(2, 4)), "meta": {"page": 2, "pages": 2}},
    }
    serve_pages(httpserver, pages)
    pagination = {"kind": "page_number", "last_page_filter": ".meta.page >= .meta.pages"}
    source = make_source(url="items", filter=".data", pagination=pagination)

    assert_frame_equal(make_connector(httpserver).get_df(source), numbers(range(4)))
    assert len(httpserver.log) == 2


def test_page_number_404_means_done_when_asked(httpserver: HTTPServer) -> None:
    serve_pages(httpserver, {1: rows(range(2)), 2: rows(range(2, 4))})
    httpserver.expect_request("/api/items", query_string={"page": "3"}).respond_with_data(
        "no such page", status=404
    )
    pagination = {"kind": "page_number", "not_found_means_done": True}

    df = make_connector(httpserver).get_df(make_source(url="items", pagination=pagination))

    assert_frame_equal(df, numbers(range(4)))


def test_page_number_404_is_an_error_otherwise(httpserver: HTTPServer) -> None:
    serve_pages(httpserver, {1: rows(range(2))})
    httpserver.expect_request("/api/items", query_string={"page": "2"}).respond_with_data(
        "no such page", status=404
    )
    source = make_source(url="items", pagination={"kind": "page_number"})

    with pytest.raises(HttpStatusError, match="answered 404"):
        make_connector(httpserver).get_df(source)


def test_page_number_404_on_the_first_page_is_an_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/items").respond_with_data("wrong path", status=404)
    pagination = {"kind": "page_number", "not_found_means_done": True}

    with pytest.raises(HttpStatusError, match="answered 404"):
        make_connector(httpserver).get_df(make_source(url="items", pagination=pagination))


def test_page_number_sends_the_page_size(httpserver: HTTPServer) -> None:
    query = {"p": "0", "per_page": "2"}
    httpserver.expect_request("/api/items", query_string=query).respond_with_json(rows(range(1)))
    pagination = {
        "kind": "page_number",
        "page_name": "p",
        "first_page": 0,
        "page_size": 2,
        "page_size_name": "per_page",
    }

    df = make_connector(httpserver).get_df(make_source(url="items", pagination=pagination))

    assert_frame_equal(df, numbers(range(1)))


CURSOR = {"kind": "cursor", "cursor_filter": ".next"}


def serve_cursors(httpserver: HTTPServer, pages: dict[str | None, object]) -> None:
    for cursor, page in pages.items():
        query = None if cursor is None else {"cursor": cursor}
        httpserver.expect_request("/api/items", query_string=query).respond_with_json(page)


def test_cursor_stops_when_the_cursor_is_null(httpserver: HTTPServer) -> None:
    serve_cursors(
        httpserver,
        {
            "b": {"items": rows(range(2, 4)), "next": None},
            None: {"items": rows(range(2)), "next": "b"},
        },
    )
    source = make_source(url="items", filter=".items", pagination=CURSOR)

    assert_frame_equal(make_connector(httpserver).get_df(source), numbers(range(4)))


def test_cursor_stops_on_an_empty_page(httpserver: HTTPServer) -> None:
    serve_cursors(
        httpserver,
        {"b": {"items": [], "next": "c"}, None: {"items": rows(range(2)), "next": "b"}},
    )
    source = make_source(url="items", filter=".items", pagination=CURSOR)

    assert_frame_equal(make_connector(httpserver).get_df(source), numbers(range(2)))
    assert len(httpserver.log) == 2


def test_cursor_that_never_ends_stops_at_max_pages_with_a_warning(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    def respond(request: Request) -> Response:
        n = int(request.args.get("cursor", "0"))
        body = f'{{"items": [{{"n": {n}}}], "next": "{n + 1}"}}'
        return Response(body, content_type="application/json")

    httpserver.expect_request("/api/items").respond_with_handler(respond)
    source = make_source(url="items", filter=".items", pagination={**CURSOR, "max_pages": 3})

    with caplog.at_level(logging.WARNING, logger="toucan_connectors"):
        df = make_connector(httpserver).get_df(source)

    assert_frame_equal(df, numbers(range(3)))
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"Data source 'things': stopped after max_pages=3 pages while "
        f"{httpserver.url_for('/api/items')} had more; raise max_pages to read them all."
    ]


def test_cursor_cycle_stops_with_a_warning(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    serve_cursors(
        httpserver,
        {
            "a": {"items": rows(range(1, 2)), "next": "b"},
            "b": {"items": rows(range(2, 3)), "next": "a"},
            None: {"items": rows(range(1)), "next": "a"},
        },
    )
    source = make_source(url="items", filter=".items", pagination=CURSOR)

    with caplog.at_level(logging.WARNING, logger="toucan_connectors"):
        df = make_connector(httpserver).get_df(source)

    assert_frame_equal(df, numbers(range(3)))
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        "Data source 'things': page 3 leads back to a page already read (a cycle); stopping "
        "there. Check the pagination's cursor or link filter."
    ]


def test_cursor_sends_the_page_size(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/items", query_string={"limit": "2"}).respond_with_json(
        {"items": rows(range(2)), "next": None}
    )
    pagination = {**CURSOR, "limit": 2}
    source = make_source(url="items", filter=".items", pagination=pagination)

    assert_frame_equal(make_connector(httpserver).get_df(source), numbers(range(2)))


def test_next_link_resolves_relative_links(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/items", query_string="").respond_with_json(
        {"items": rows(range(2)), "next": "items?after=2"}
    )
    httpserver.expect_request("/api/items", query_string="after=2").respond_with_json(
        {"items": rows(range(2, 3)), "next": "/api/items?after=3"}
    )
    httpserver.expect_request("/api/items", query_string="after=3").respond_with_json(
        {"items": rows(range(3, 4)), "next": None}
    )
    pagination = {"kind": "next_link", "next_link_filter": ".next"}
    source = make_source(url="items", filter=".items", pagination=pagination)

    assert_frame_equal(make_connector(httpserver).get_df(source), numbers(range(4)))


def test_next_link_from_the_link_header(httpserver: HTTPServer) -> None:
    link = {"Link": '<?page=2>; rel="next", <?page=9>; rel="last"'}
    httpserver.expect_request("/api/items", query_string="").respond_with_json(
        rows(range(2)), headers=link
    )
    httpserver.expect_request("/api/items", query_string="page=2").respond_with_json(
        rows(range(2, 3))
    )
    source = make_source(url="items", pagination={"kind": "next_link"})

    assert_frame_equal(make_connector(httpserver).get_df(source), numbers(range(3)))


def test_next_link_back_to_the_first_page_is_a_cycle(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/items", query_string="").respond_with_json(
        {"items": rows(range(2)), "next": "items?after=2"}
    )
    httpserver.expect_request("/api/items", query_string="after=2").respond_with_json(
        {"items": rows(range(2, 3)), "next": "items"}
    )
    pagination = {"kind": "next_link", "next_link_filter": ".next"}
    source = make_source(url="items", filter=".items", pagination=pagination)

    df = make_connector(httpserver).get_df(source)

    assert_frame_equal(df, numbers(range(3)))
    assert len(httpserver.log) == 2


def test_offset_moves_on_by_the_rows_received_when_the_server_ignores_limit(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    def ten_rows(request: Request) -> Response:
        offset = int(request.args["offset"])
        return Response(
            json.dumps(rows(range(23))[offset : offset + 10]), mimetype="application/json"
        )

    httpserver.expect_request("/api/items").respond_with_handler(ten_rows)
    source = make_source(url="items", pagination={"kind": "offset_limit", "limit": 5})

    df = make_connector(httpserver).get_df(source)

    assert_frame_equal(df, numbers(range(23)))
    assert [request.args["offset"] for request, _ in httpserver.log] == ["0", "10", "20"]
    assert (
        caplog.messages.count(
            f"{httpserver.url_for('/api/items')} sent 10 records for a limit of 5; the next offset "
            "moves on by the 10 received. If the filter makes several rows of one record, set "
            "page_length_filter."
        )
        == 2
    )


def test_filter_that_drops_records_does_not_end_the_pages(httpserver: HTTPServer) -> None:
    serve_offsets_of(httpserver, [{"n": n, "active": n % 2 == 0} for n in range(8)], 4)
    source = make_source(
        url="items",
        filter="map(select(.active))",
        pagination={"kind": "offset_limit", "limit": 4},
    )

    df = make_connector(httpserver).get_df(source)

    assert_frame_equal(df, pd.DataFrame({"n": [0, 2, 4, 6], "active": [True] * 4}))
    assert len(httpserver.log) == 3


def test_null_record_counts_in_the_page_length(httpserver: HTTPServer) -> None:
    serve_offsets_of(httpserver, [{"n": 0}, None, {"n": 2}, {"n": 3}], 3)
    source = make_source(url="items", pagination={"kind": "offset_limit", "limit": 3})

    df = make_connector(httpserver).get_df(source)

    assert_frame_equal(df, pd.DataFrame({"n": [0.0, None, 2.0, 3.0]}))


def test_next_link_cycle_is_found_whatever_the_order_of_the_query(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    base = httpserver.url_for("/api/items")
    httpserver.expect_request("/api/items", query_string="a=1&b=2").respond_with_json(
        {"rows": [{"n": 0}], "next": f"{base}?b=2&a=1&after=0"}
    )
    httpserver.expect_request("/api/items", query_string="b=2&a=1&after=0").respond_with_json(
        {"rows": [{"n": 1}], "next": f"{base}?b=2&a=1#top"}
    )
    source = make_source(
        url="items",
        params={"a": 1, "b": 2},
        filter=".rows",
        pagination={"kind": "next_link", "next_link_filter": ".next"},
    )

    df = make_connector(httpserver).get_df(source)

    assert_frame_equal(df, numbers(range(2)))
    assert len(httpserver.log) == 2
    assert "page 2 leads back to a page already read (a cycle)" in caplog.text


def serve_offsets_of(httpserver: HTTPServer, data: list[Any], size: int) -> None:
    for offset in range(0, len(data) + 1, size):
        query = {"offset": str(offset), "limit": str(size)}
        page = data[offset : offset + size]
        httpserver.expect_request("/api/items", query_string=query).respond_with_json(page)
