"""Streaming a MongoDB result in batches with `iter_batches` (C10)."""

from __future__ import annotations

import logging

import pandas as pd
import pyarrow as pa
import pytest
from pandas.testing import assert_frame_equal

from toucan_connectors.errors import InvalidDataSourceError, UnsupportedFeatureError

from .test_mongo_connector import OPEN_SORTED, oid, open_orders, orders, source

__all__ = ["orders"]

OPEN_NUMBERS = list(range(1, 26, 2))


def test_batches_concatenated_equal_the_plain_read(connector, orders):
    batches = list(connector.iter_batches(source("orders", OPEN_SORTED), batch_size=5))

    df = pd.concat(batches, ignore_index=True)
    assert_frame_equal(df, connector.get_df(source("orders", OPEN_SORTED)))


def test_batches_hold_at_most_batch_size_rows(connector, orders):
    batches = connector.iter_batches(source("orders", OPEN_SORTED), batch_size=5)

    assert [len(batch) for batch in batches] == [5, 5, 3]


def test_batch_index_continues_the_previous_one(connector, orders):
    batches = list(connector.iter_batches(source("orders", OPEN_SORTED), batch_size=5))

    assert_frame_equal(batches[2], open_orders([21, 23, 25]).set_axis(pd.RangeIndex(10, 13)))


def test_batches_come_from_the_cursor_batches(connector, orders, stand_in):
    list(connector.iter_batches(source("orders", OPEN_SORTED), batch_size=5))

    assert stand_in.commands.count("getMore") == 2


def test_permissions_filter_the_batches(connector, orders):
    permissions = {"column": "n", "operator": "le", "value": 5}

    batches = connector.iter_batches(source("orders", OPEN_SORTED), permissions, batch_size=2)

    assert_frame_equal(pd.concat(batches), open_orders([1, 3, 5]))


def test_no_match_yields_one_empty_batch(connector, orders):
    query = [{"$match": {"status": "missing"}}]

    batches = list(connector.iter_batches(source("orders", query), batch_size=5))

    assert_frame_equal(batches[0], pd.DataFrame(index=pd.RangeIndex(0)))
    assert len(batches) == 1


def test_field_absent_from_a_batch_is_null_there(connector, test_db):
    test_db.mixed.insert_many(
        [{"_id": 1, "a": "x", "b": 1}, {"_id": 2, "a": "y"}, {"_id": 3, "b": 3}]
    )

    batches = list(connector.iter_batches(source("mixed", [{"$sort": {"_id": 1}}]), batch_size=1))

    expected = pd.DataFrame({"_id": [2], "a": ["y"], "b": [None]}, index=pd.RangeIndex(1, 2))
    assert_frame_equal(batches[1], expected)


def test_arrow_batches_hold_converted_values(connector, orders):
    query = [*OPEN_SORTED, {"$limit": 2}]

    batches = list(connector.iter_batches(source("orders", query), batch_size=5, as_arrow=True))

    expected = {"_id": [str(oid(1)), str(oid(3))], "n": [1, 3], "status": ["open", "open"]}
    assert batches[0].to_pydict() == expected
    assert isinstance(batches[0], pa.RecordBatch)


def test_arrow_batch_of_mixed_types_is_a_clear_error(connector, test_db):
    test_db.mixed.insert_many([{"_id": 1, "v": "123"}, {"_id": 2, "v": 123}])

    with pytest.raises(UnsupportedFeatureError, match="use as_arrow=False; see doc/fast_path.md"):
        list(connector.iter_batches(source("mixed"), as_arrow=True))


def test_batch_size_below_one_is_refused(connector, orders):
    with pytest.raises(InvalidDataSourceError, match="batch_size must be at least 1"):
        next(connector.iter_batches(source("orders", OPEN_SORTED), batch_size=0))


def test_streamed_read_logs_one_info_line(connector, orders, caplog):
    caplog.set_level(logging.INFO, logger="toucan_connectors.mongo")

    list(connector.iter_batches(source("orders", OPEN_SORTED), batch_size=5))

    messages = [record.getMessage() for record in caplog.records if record.levelno == logging.INFO]
    assert [message.split(" in ")[0] for message in messages] == [
        "Data source 'orders' streamed 13 rows"
    ]


def test_field_first_seen_in_a_later_batch_is_absent_before(connector, test_db):
    test_db.late.insert_many([{"_id": 1, "a": "x"}, {"_id": 2, "a": "y", "b": 2}])

    batches = list(connector.iter_batches(source("late", [{"$sort": {"_id": 1}}]), batch_size=1))

    assert [list(batch.columns) for batch in batches] == [["_id", "a"], ["_id", "a", "b"]]
