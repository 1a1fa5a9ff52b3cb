from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from pydantic import ValidationError

from toucan_connectors.errors import ConnectionFailedError
from toucan_connectors.retry import RetryPolicy, is_transient

from .connectors import FrameConnector as _FrameConnector
from .connectors import FrameDataSource

FAST = {"wait_time": 0, "jitter": 0, "max_wait": 0}


class FlakyError(Exception):
    pass


class FlakyConnector(_FrameConnector):
    transient_errors = (FlakyError,)
    failures: list[type[Exception]] = []

    def _retrieve_data(self, data_source):
        self._calls.append(data_source)
        if len(self._calls) <= len(self.failures):
            raise self.failures[len(self._calls) - 1]("boom")
        return pd.DataFrame({"a": [1]})


DATA_SOURCE = FrameDataSource(domain="sales", name="shop")


def test_transient_error_is_retried():
    connector = FlakyConnector(
        name="shop", retry_policy=RetryPolicy(**FAST), failures=[FlakyError, FlakyError]
    )

    df = connector.get_df(DATA_SOURCE)

    assert len(connector._calls) == 3
    assert_frame_equal(df, pd.DataFrame({"a": [1]}))


def test_permanent_error_is_not_retried():
    connector = FlakyConnector(name="shop", retry_policy=RetryPolicy(**FAST), failures=[ValueError])

    with pytest.raises(ValueError, match="boom"):
        connector.get_df(DATA_SOURCE)
    assert len(connector._calls) == 1


def test_max_attempts_is_respected():
    connector = FlakyConnector(
        name="shop",
        retry_policy=RetryPolicy(max_attempts=2, **FAST),
        failures=[FlakyError, FlakyError, FlakyError],
    )

    with pytest.raises(FlakyError):
        connector.get_df(DATA_SOURCE)
    assert len(connector._calls) == 2


def test_without_policy_nothing_is_retried():
    connector = FlakyConnector(name="shop", failures=[FlakyError])

    with pytest.raises(FlakyError):
        connector.get_df(DATA_SOURCE)
    assert len(connector._calls) == 1


def test_retry_logs_a_warning_per_retry(caplog):
    connector = FlakyConnector(name="shop", retry_policy=RetryPolicy(**FAST), failures=[FlakyError])

    with caplog.at_level("WARNING", logger="toucan_connectors.retry"):
        connector.get_df(DATA_SOURCE)

    assert [r.getMessage() for r in caplog.records] == [
        "Attempt 1 failed with FlakyError; retrying"
    ]


def test_policy_call_returns_the_value():
    assert RetryPolicy(**FAST).call(lambda: 42, (FlakyError,)) == 42


def test_policy_defaults():
    assert RetryPolicy().model_dump() == {
        "max_attempts": 3,
        "max_delay": 30.0,
        "wait_time": 0.5,
        "max_wait": 10.0,
        "jitter": 0.5,
    }


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"max_attempts": 0}, id="zero-attempts"),
        pytest.param({"wait_time": -1}, id="negative-wait"),
        pytest.param({"attempts": 3}, id="unknown-field"),
    ],
)
def test_policy_rejects_bad_values(fields):
    with pytest.raises(ValidationError):
        RetryPolicy(**fields)


class ConnectingConnector(_FrameConnector):
    """Fails to connect `failures` times, transiently or not, then returns one row."""

    transient_errors = (ConnectionFailedError,)
    failures: int = 0
    failure_is_transient: bool = True

    def _retrieve_data(self, data_source):
        self._calls.append(data_source)
        if len(self._calls) <= self.failures:
            raise ConnectionFailedError(
                'The "shop" connector could not log in: check the password.',
                transient=self.failure_is_transient,
            )
        return pd.DataFrame({"a": [1]})


def test_connection_failure_marked_permanent_is_not_retried():
    connector = ConnectingConnector(
        name="shop", retry_policy=RetryPolicy(**FAST), failures=3, failure_is_transient=False
    )

    with pytest.raises(ConnectionFailedError, match="check the password") as raised:
        connector.get_df(DATA_SOURCE)
    assert len(connector._calls) == 1
    assert raised.value.transient is False


def test_connection_failure_is_transient_by_default():
    connector = ConnectingConnector(name="shop", retry_policy=RetryPolicy(**FAST), failures=2)

    df = connector.get_df(DATA_SOURCE)

    assert len(connector._calls) == 3
    assert_frame_equal(df, pd.DataFrame({"a": [1]}))
    assert ConnectionFailedError("x").transient is True


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(ConnectionFailedError("x"), True, id="connection-failure"),
        pytest.param(ConnectionFailedError("x", transient=False), False, id="marked-permanent"),
        pytest.param(ValueError("x"), False, id="not-a-transient-class"),
    ],
)
def test_is_transient(error, expected):
    assert is_transient(error, (ConnectionFailedError,)) is expected
