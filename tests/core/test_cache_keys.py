from __future__ import annotations

import datetime
import hashlib
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from toucan_connectors.errors import TemplateError

from .connectors import FrameConnector, FrameDataSource

SECRET = "hunter2-s3cret"
ROOT = Path(__file__).parents[2]


def make_connector(**changes):
    fields = {"name": "shop", "password": SECRET, "type": "Frame"}
    return FrameConnector(**{**fields, **changes})


def make_data_source(**changes):
    fields = {"domain": "sales", "name": "shop", "query": "a > {{ x }}", "parameters": {"x": 1}}
    return FrameDataSource(**{**fields, **changes})


PERMISSIONS = {"column": "country", "operator": "eq", "value": "FR"}


def cache_key(connector=None, data_source=None, permissions=PERMISSIONS, offset=0, limit=10):
    connector = connector or make_connector()
    data_source = data_source or make_data_source()
    return connector.get_cache_key(data_source, permissions, offset, limit)


def test_cache_key_is_stable_across_processes():
    script = "from core.test_cache_keys import cache_key; print(cache_key())"
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}", "PYTHONHASHSEED": "12345"},
    )

    assert result.stdout.strip() == cache_key()


def test_cache_key_ignores_key_order():
    reordered = make_data_source(parameters={"y": 2, "x": 1})
    ordered = make_data_source(parameters={"x": 1, "y": 2})
    permissions = {"value": "FR", "operator": "eq", "column": "country"}

    assert cache_key(data_source=reordered, permissions=permissions) == cache_key(
        data_source=ordered
    )


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param({"connector": make_connector(type="Other")}, id="connector-type"),
        pytest.param({"data_source": make_data_source(query="a < {{ x }}")}, id="query"),
        pytest.param({"data_source": make_data_source(parameters={"x": 2})}, id="parameter"),
        pytest.param({"permissions": {**PERMISSIONS, "value": "BE"}}, id="permission"),
        pytest.param({"permissions": None}, id="no-permission"),
        pytest.param({"offset": 10}, id="offset"),
        pytest.param({"limit": 20}, id="limit"),
        pytest.param({"limit": None}, id="no-limit"),
    ],
)
def test_cache_key_changes_with(changed):
    assert cache_key(**changed) != cache_key()


@pytest.mark.parametrize(
    "same",
    [
        pytest.param({"connector": make_connector(name="renamed")}, id="connector-name"),
        pytest.param({"connector": make_connector(cache_ttl=60)}, id="connector-ttl"),
        pytest.param({"data_source": make_data_source(domain="other")}, id="domain"),
        pytest.param({"data_source": make_data_source(load=False)}, id="load"),
    ],
)
def test_cache_key_ignores_what_does_not_change_the_result(same):
    assert cache_key(**same) == cache_key()


def test_cache_key_never_contains_the_secret():
    connector = make_connector()

    payload = json.dumps(connector._identity_payload())

    assert SECRET not in payload and SECRET not in cache_key()


def test_unique_identifier_is_the_given_identifier():
    assert make_connector(identifier="conn-42").get_unique_identifier() == "conn-42"


def test_keys_differ_with_the_secret():
    # Two tenants with two tokens read different data: one must never get the other's result.
    first, other = make_connector(), make_connector(password="other")

    assert first.get_unique_identifier() != other.get_unique_identifier()
    assert first.get_cache_key() != other.get_cache_key()
    assert first.get_cache_key() == make_connector().get_cache_key()


def test_keys_hold_no_cheap_hash_of_the_secret():
    payload = json.dumps(make_connector()._identity_payload())
    plain_hashes = [
        hashlib.sha256(SECRET.encode()).hexdigest(),
        hashlib.md5(SECRET.encode()).hexdigest(),  # noqa: S324 - what must not appear
    ]

    assert SECRET not in payload
    assert not any(digest[:16] in payload for digest in plain_hashes)
    assert payload == (
        '{"type": "Frame", "secrets_storage_version": "1", '
        f'"password": "<secret {_scrypt(SECRET)}>", "frame": null}}'
    )


def _scrypt(secret: str) -> str:
    salt = b"toucan-connectors/secret-fingerprint/v1"
    return hashlib.scrypt(secret.encode(), salt=salt, n=2**14, r=8, p=1, dklen=16).hex()


def test_bearer_tokens_of_two_tenants_give_two_keys():
    from toucan_connectors.http_api.http_api_connector import HttpAPIConnector, HttpAPIDataSource

    def connector(token: str) -> HttpAPIConnector:
        auth = {"type": "bearer", "token": token}
        return HttpAPIConnector(name="api", baseroute="https://api.example.com", auth=auth)

    data_source = HttpAPIDataSource(domain="orders", name="api", url="/orders")

    assert connector("tenant-A").get_cache_key(data_source) != connector("tenant-B").get_cache_key(
        data_source
    )
    assert connector("tenant-A").get_unique_identifier() != (
        connector("tenant-B").get_unique_identifier()
    )


@pytest.mark.parametrize("seed", ["1", "2", "3"])
def test_set_parameter_key_is_stable_across_hash_seeds(seed):
    script = (
        "from core.test_cache_keys import cache_key, make_data_source; "
        "parameters = {'x': {'Paris', 'Lyon', 'Nice'}}; "
        "print(cache_key(data_source=make_data_source(parameters=parameters)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}", "PYTHONHASHSEED": seed},
    )

    in_this_process = cache_key(
        data_source=make_data_source(parameters={"x": {"Nice", "Lyon", "Paris"}})
    )
    assert result.stdout.strip() == in_this_process


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param((1, 2), [1, 2], id="tuple-vs-list"),
        pytest.param(1, "1", id="int-vs-text"),
        pytest.param(1, True, id="int-vs-bool"),
        pytest.param(1, 1.0, id="int-vs-float"),
        pytest.param({1: "a"}, {"1": "a"}, id="int-key-vs-text-key"),
        pytest.param(["a", "b"], ["a,b"], id="list-vs-joined"),
    ],
)
def test_cache_key_tells_values_apart(first, second):
    assert cache_key(data_source=make_data_source(parameters={"x": first})) != cache_key(
        data_source=make_data_source(parameters={"x": second})
    )


def test_cache_key_accepts_mixed_key_types():
    data_source = make_data_source(parameters={"x": {1: "x", "b": 2}})
    reordered = make_data_source(parameters={"x": {"b": 2, 1: "x"}})

    assert cache_key(data_source=data_source) == cache_key(data_source=reordered)


def test_cache_key_sees_every_cell_of_a_frame():
    import pandas as pd

    first = make_connector(frame=pd.DataFrame({"a": range(100)}))
    other = make_connector(frame=pd.DataFrame({"a": [*range(50), 999, *range(51, 100)]}))

    assert first.get_cache_key() != other.get_cache_key()
    assert (
        first.get_cache_key()
        == make_connector(frame=pd.DataFrame({"a": range(100)})).get_cache_key()
    )


def test_cache_key_tells_a_date_from_its_spelling():
    as_date = make_data_source(parameters={"x": datetime.datetime(2024, 1, 1)})
    as_text = make_data_source(parameters={"x": "2024-01-01 00:00:00"})

    assert cache_key(data_source=as_date) != cache_key(data_source=as_text)


@pytest.mark.parametrize(
    "show",
    [
        pytest.param(repr, id="repr"),
        pytest.param(str, id="str"),
        pytest.param(lambda c: c.model_dump_json(), id="json"),
        pytest.param(lambda c: str(c.model_dump()), id="dump"),
    ],
)
def test_secret_is_hidden(show):
    assert SECRET not in show(make_connector())


def test_dump_with_secrets_reveals_them_for_storage():
    dumped = make_connector().dump_with_secrets()

    assert dumped == {
        "name": "shop",
        "type": "Frame",
        "retry_policy": None,
        "cache_ttl": None,
        "identifier": None,
        "secrets_storage_version": "1",
        "password": SECRET,
        "frame": None,
    }


def test_dump_with_secrets_round_trips():
    connector = make_connector()

    assert FrameConnector(**connector.dump_with_secrets()) == connector


def test_secret_stays_out_of_logs_and_errors(caplog):
    import pandas as pd

    connector = make_connector(frame=pd.DataFrame({"a": [1]}))
    data_source = make_data_source(parameters={})

    with caplog.at_level(logging.DEBUG), pytest.raises(TemplateError) as raised:
        connector.get_df(data_source)

    assert SECRET not in caplog.text and SECRET not in str(raised.value)
