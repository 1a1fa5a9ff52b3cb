from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from toucan_connectors.errors import InvalidConfigurationError
from toucan_connectors.slicing import PageRequest, PaginationInfo, build_pagination_info

from .connectors import FrameConnector, FrameDataSource, PushdownConnector

DATA_SOURCE = FrameDataSource(domain="numbers", name="shop")
FIVE = pd.DataFrame({"n": [1, 2, 3, 4, 5]})


def page(offset, limit):
    return PageRequest(offset=offset, limit=limit)


@pytest.mark.parametrize(
    ("offset", "limit", "expected"),
    [
        pytest.param(
            0, 2, PaginationInfo(
                parameters=page(0, 2), total_rows=5, is_last_page=False,
                next_page=page(2, 2), previous_page=None,
            ),
            id="first-page",
        ),
        pytest.param(
            2, 2, PaginationInfo(
                parameters=page(2, 2), total_rows=5, is_last_page=False,
                next_page=page(4, 2), previous_page=page(0, 2),
            ),
            id="middle-page",
        ),
        pytest.param(
            4, 2, PaginationInfo(
                parameters=page(4, 2), total_rows=5, is_last_page=True,
                next_page=None, previous_page=page(2, 2),
            ),
            id="short-last-page",
        ),
        pytest.param(
            0, None, PaginationInfo(
                parameters=page(0, None), total_rows=5, is_last_page=True,
                next_page=None, previous_page=None,
            ),
            id="no-limit",
        ),
    ],
)  # fmt: skip
def test_slice_pagination_info(offset, limit, expected):
    connector = FrameConnector(name="shop", frame=FIVE)

    assert connector.get_slice(DATA_SOURCE, offset=offset, limit=limit).pagination_info == expected


def test_slice_returns_requested_rows():
    connector = FrameConnector(name="shop", frame=FIVE)

    data_slice = connector.get_slice(DATA_SOURCE, offset=1, limit=3)

    assert_frame_equal(data_slice.df, pd.DataFrame({"n": [2, 3, 4]}))


@pytest.mark.parametrize("counts_rows", [True, False], ids=["counted", "uncounted"])
def test_exactly_full_last_page_is_last(counts_rows):
    connector = PushdownConnector(name="shop", frame=FIVE.iloc[:4], counts_rows=counts_rows)

    info = connector.get_slice(DATA_SOURCE, offset=2, limit=2).pagination_info

    assert (info.is_last_page, info.total_rows, info.next_page) == (True, 4, None)


def test_uncounted_page_with_more_rows_is_not_last():
    connector = PushdownConnector(name="shop", frame=FIVE, counts_rows=False)

    info = connector.get_slice(DATA_SOURCE, offset=0, limit=2).pagination_info

    assert (info.is_last_page, info.total_rows, info.next_page) == (False, None, page(2, 2))


def test_pushdown_hook_receives_limit_plus_one():
    connector = PushdownConnector(name="shop", frame=FIVE)

    data_slice = connector.get_slice(DATA_SOURCE, offset=1, limit=2, get_row_count=True)

    assert connector._pages == [(1, 3, True)]
    assert_frame_equal(data_slice.df, pd.DataFrame({"n": [2, 3]}))


def test_offset_past_the_end_gives_an_empty_last_page():
    connector = FrameConnector(name="shop", frame=FIVE)

    data_slice = connector.get_slice(DATA_SOURCE, offset=10, limit=2)

    assert_frame_equal(data_slice.df, pd.DataFrame({"n": pd.Series([], dtype="int64")}))
    assert data_slice.pagination_info == PaginationInfo(
        parameters=page(10, 2),
        total_rows=5,
        is_last_page=True,
        next_page=None,
        previous_page=page(3, 2),
    )


def test_zero_limit_has_no_next_page():
    info = build_pagination_info(offset=0, limit=0, fetched_rows=1, total_rows=None)

    assert (info.is_last_page, info.next_page) == (True, None)


def test_uncounted_offset_past_the_end_leaves_total_unknown():
    info = build_pagination_info(offset=10, limit=2, fetched_rows=0, total_rows=None)

    assert (info.is_last_page, info.total_rows) == (True, None)


@pytest.mark.parametrize(
    ("offset", "limit"),
    [
        pytest.param(-1, 2, id="negative-offset"),
        pytest.param(0, -2, id="negative-limit"),
        pytest.param("1", 2, id="text-offset"),
        pytest.param(1.5, 2, id="fractional-offset"),
        pytest.param(True, 2, id="boolean-offset"),
        pytest.param(2**63, 1, id="huge-offset"),
        pytest.param(0, 2.0, id="float-limit"),
    ],
)
def test_slice_refuses_negative_bounds(offset, limit):
    connector = FrameConnector(name="shop", frame=FIVE)

    with pytest.raises(
        InvalidConfigurationError, match="offset >= 0 and limit >= 0 as whole numbers"
    ):
        connector.get_slice(DATA_SOURCE, offset=offset, limit=limit)


def test_slice_stats_hold_frame_size_and_timings():
    connector = PushdownConnector(name="shop", frame=FIVE)

    stats = connector.get_slice(DATA_SOURCE, limit=2).stats

    expected_size = int(pd.DataFrame({"n": [1, 2]}).memory_usage(deep=True).sum())
    assert stats.df_memory_size == expected_size
    assert stats.permission_filtering_time == 0.25
    assert stats.query_generation_time >= 0 and stats.data_conversion_time >= 0


def test_slice_query_metadata_from_the_frame():
    connector = FrameConnector(name="shop", frame=pd.DataFrame({"n": [1], "s": ["x"]}))

    metadata = connector.get_slice(DATA_SOURCE).query_metadata

    assert metadata == {"n": "int64", "s": "str"}


def test_slice_query_metadata_from_the_provider():
    connector = PushdownConnector(name="shop", frame=pd.DataFrame({"n": [1]}))

    assert connector.get_slice(DATA_SOURCE).query_metadata == {"n": "SQL_int64"}


def test_slice_applies_permissions_before_slicing():
    raw = pd.DataFrame({"n": [1, 2, 3, 4, 5, 6]})
    connector = FrameConnector(name="shop", frame=raw)
    permissions = {"column": "n", "operator": "gt", "value": 2}

    data_slice = connector.get_slice(DATA_SOURCE, permissions, offset=1, limit=2)

    assert_frame_equal(data_slice.df, pd.DataFrame({"n": [4, 5]}))
    assert data_slice.pagination_info.total_rows == 4


def test_describe_returns_column_types():
    connector = FrameConnector(name="shop", frame=pd.DataFrame({"n": [1], 2: [0.5]}))

    assert connector.describe(DATA_SOURCE) == {"n": "int64", "2": "float64"}


def test_describe_prefers_provider_types():
    connector = PushdownConnector(name="shop", frame=pd.DataFrame({"n": [1]}))

    assert connector.describe(DATA_SOURCE) == {"n": "SQL_int64"}
