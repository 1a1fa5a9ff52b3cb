from __future__ import annotations

import datetime

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from toucan_connectors.frames import normalize_frame, unique_column_names

from .connectors import FrameConnector, FrameDataSource

PARIS = datetime.timezone(datetime.timedelta(hours=2))


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        pytest.param(["a", "b"], ["a", "b"], id="already-unique"),
        pytest.param(["a", "a", "a"], ["a", "a_1", "a_2"], id="triple"),
        pytest.param(["a", "a_1", "a"], ["a", "a_1", "a_2"], id="suffix-taken"),
        pytest.param([0, 1.5, ("x", "y")], ["0", "1.5", "('x', 'y')"], id="non-strings"),
        pytest.param(["a", None, ""], ["a", "column_1", "column_2"], id="missing-labels"),
        pytest.param([float("nan"), "b"], ["column_0", "b"], id="nan-label"),
    ],
)
def test_unique_column_names(names, expected):
    assert unique_column_names(names) == expected


def test_normalize_frame_makes_labels_unique_strings():
    df = pd.DataFrame([[1, 2, 3]], columns=["a", "a", 7])

    expected = pd.DataFrame([[1, 2, 3]], columns=["a", "a_1", "7"])
    assert_frame_equal(normalize_frame(df), expected)


def test_normalize_frame_converts_aware_datetimes_to_utc():
    times = pd.to_datetime(["2024-01-01 10:00"]).tz_localize("Europe/Paris")
    df = pd.DataFrame({"at": times})

    expected = pd.DataFrame({"at": pd.to_datetime(["2024-01-01 09:00"]).tz_localize("UTC")})
    assert_frame_equal(normalize_frame(df), expected)


def test_normalize_frame_converts_mixed_offsets_objects_to_utc():
    values = [
        datetime.datetime(2024, 1, 1, 12, tzinfo=PARIS),
        datetime.datetime(2024, 1, 1, 12, tzinfo=datetime.timezone.utc),
        None,
    ]
    df = pd.DataFrame({"at": pd.Series(values, dtype=object)})

    stamps = ["2024-01-01 10:00", "2024-01-01 12:00", None]
    expected = pd.DataFrame({"at": pd.to_datetime(stamps).tz_localize("UTC")})
    assert_frame_equal(normalize_frame(df), expected)


def test_normalize_frame_keeps_naive_datetimes():
    df = pd.DataFrame({"at": pd.to_datetime(["2024-01-01 10:00"])})

    assert_frame_equal(normalize_frame(df), df.copy())


def test_normalize_frame_leaves_the_given_frame_unchanged():
    times = pd.to_datetime(["2024-01-01 10:00"]).tz_localize("Europe/Paris")
    df = pd.DataFrame({"at": times})

    normalize_frame(df)

    assert str(df["at"].dtype) == "datetime64[us, Europe/Paris]"


def test_normalize_frame_resets_the_index():
    df = pd.DataFrame({"a": [1, 2]}, index=[5, 6])

    assert_frame_equal(normalize_frame(df), pd.DataFrame({"a": [1, 2]}))


def test_get_df_returns_the_normalised_frame():
    raw = pd.DataFrame([[1, "x", 3]], columns=["a", "a", 0], index=[9])
    connector = FrameConnector(name="shop", frame=raw)

    df = connector.get_df(FrameDataSource(domain="sales", name="shop"))

    expected = pd.DataFrame({"a": [1], "a_1": ["x"], "0": [3]})
    assert_frame_equal(df, expected)


def test_get_df_renders_the_data_source_first():
    connector = FrameConnector(name="shop", frame=pd.DataFrame({"a": [1]}))
    data_source = FrameDataSource(
        domain="sales", name="shop", query="a == {{ a }}", parameters={"a": 1}
    )

    connector.get_df(data_source)

    assert connector._calls[0].query == "a == 1"


def test_get_df_applies_permissions():
    raw = pd.DataFrame({"country": ["FR", "BE"], "pop": [1, 2]})
    connector = FrameConnector(name="shop", frame=raw)
    permissions = {"column": "country", "operator": "eq", "value": "{{ c }}"}

    df = connector.get_df(
        FrameDataSource(domain="sales", name="shop", parameters={"c": "BE"}), permissions
    )

    assert_frame_equal(df, pd.DataFrame({"country": ["BE"], "pop": [2]}))


def test_get_df_logs_one_info_line(caplog):
    connector = FrameConnector(name="shop", frame=pd.DataFrame({"a": [1, 2]}))

    with caplog.at_level("INFO", logger="toucan_connectors"):
        connector.get_df(FrameDataSource(domain="sales", name="shop"))

    assert [(r.name, r.levelname, r.args[:2]) for r in caplog.records] == [
        ("toucan_connectors.toucan_connector", "INFO", ("sales", 2))
    ]


def test_get_slice_logs_the_rows_of_the_page_not_its_lookahead_row(caplog):
    connector = FrameConnector(name="shop", frame=pd.DataFrame({"a": [1, 2, 3]}))

    with caplog.at_level("INFO", logger="toucan_connectors"):
        page = connector.get_slice(FrameDataSource(domain="sales", name="shop"), limit=1)

    assert [(r.name, r.levelname, r.args[:2]) for r in caplog.records] == [
        ("toucan_connectors.toucan_connector", "INFO", ("sales", 1))
    ]
    assert_frame_equal(page.df, pd.DataFrame({"a": [1]}))
