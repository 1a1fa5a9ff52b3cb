"""The MongoDB connector against a server: frames, pipelines, slices, status, model, explain."""

from __future__ import annotations

import copy
import datetime
import logging
import pickle
import socket
import threading
from collections.abc import Iterator
from decimal import Decimal

import pandas as pd
import pytest
from bson import DBRef, Decimal128, ObjectId
from pandas.testing import assert_frame_equal
from pydantic import ValidationError
from pymongo.errors import ConfigurationError, OperationFailure, ServerSelectionTimeoutError
from pymongo.uri_parser import parse_uri

from toucan_connectors.errors import (
    ConnectionFailedError,
    InvalidConfigurationError,
    InvalidDataSourceError,
    ProviderError,
)
from toucan_connectors.mongo import MongoConnector, MongoDataSource
from toucan_connectors.mongo.mongo_connector import is_refused_login, is_transient_failure
from toucan_connectors.registry import get_connector_class
from toucan_connectors.retry import RetryPolicy

from .conftest import TEST_DATABASE

UTC = datetime.timezone.utc


def source(collection: str, query=None, **fields) -> MongoDataSource:
    """A data source reading `collection` of the test database."""
    return MongoDataSource(
        domain=collection,
        name="mongo",
        database=TEST_DATABASE,
        collection=collection,
        query={} if query is None else query,
        **fields,
    )


def oid(number: int) -> ObjectId:
    return ObjectId(f"{number:024x}")


def utc_column(*values: datetime.datetime | None) -> pd.Series:
    return pd.Series(values, dtype="datetime64[us, UTC]")


# --- Documents to frames ---------------------------------------------------------------------


@pytest.fixture
def people(test_db):
    test_db.people.insert_many(
        [
            {
                "name": "Ann",
                "email": None,
                "address": {"city": "Lyon", "zip": "69001"},
                "manager": oid(7),
                "created": datetime.datetime(2024, 3, 31, 1, 30),
                "tags": ["a", "b"],
            },
            {
                "name": "Bob",
                "email": None,
                "address": {"city": "Nice"},
                "created": datetime.datetime(2024, 4, 1),
            },
            {"name": "Cy", "email": None},
        ]
    )


def test_flattened_documents_become_dotted_columns(connector, people):
    df = connector.get_df(source("people", [{"$project": {"_id": 0}}], flatten=True))

    expected = pd.DataFrame(
        {
            "name": ["Ann", "Bob", "Cy"],
            "email": pd.Series([None, None, None], dtype=object),
            "address.city": ["Lyon", "Nice", None],
            "address.zip": ["69001", None, None],
            "manager": ["000000000000000000000007", None, None],
            "created": utc_column(
                datetime.datetime(2024, 3, 31, 1, 30, tzinfo=UTC),
                datetime.datetime(2024, 4, 1, tzinfo=UTC),
                None,
            ),
            "tags": pd.Series([["a", "b"], None, None], dtype=object),
        }
    )
    assert_frame_equal(df, expected)


def test_unflattened_nested_document_is_a_dict_column(connector, people):
    df = connector.get_df(source("people", [{"$project": {"_id": 0, "name": 1, "address": 1}}]))

    expected = pd.DataFrame(
        {
            "name": ["Ann", "Bob", "Cy"],
            "address": pd.Series([{"city": "Lyon", "zip": "69001"}, {"city": "Nice"}, None]),
        }
    )
    assert_frame_equal(df, expected)


def test_flattening_refuses_a_nested_field_colliding_with_a_dotted_one(connector, test_db):
    test_db.clash.insert_one({"_id": 1, "address": {"city": "Lyon"}, "address.city": "dup"})

    with pytest.raises(InvalidDataSourceError, match='both named "address.city".*\\$project'):
        connector.get_df(source("clash", flatten=True))


def test_db_ref_becomes_a_document_with_its_id_as_a_string(connector, test_db):
    test_db.links.insert_many(
        [
            {"_id": 1, "to": DBRef("people", oid(2))},
            {"_id": 2, "to": DBRef("people", oid(3), "hr")},
        ]
    )

    df = connector.get_df(source("links", [{"$sort": {"_id": 1}}]))

    expected = pd.DataFrame(
        {
            "_id": [1, 2],
            "to": [
                {"$ref": "people", "$id": "000000000000000000000002"},
                {"$ref": "people", "$id": "000000000000000000000003", "$db": "hr"},
            ],
        }
    )
    assert_frame_equal(df, expected)


def test_object_ids_become_strings_nested_ones_too(connector, test_db):
    test_db.refs.insert_one({"_id": oid(1), "ref": {"id": oid(2)}, "refs": [oid(3)]})

    df = connector.get_df(source("refs"))

    expected = pd.DataFrame(
        {
            "_id": ["000000000000000000000001"],
            "ref": [{"id": "000000000000000000000002"}],
            "refs": pd.Series([["000000000000000000000003"]], dtype=object),
        }
    )
    assert_frame_equal(df, expected)


def test_decimal128_becomes_exact_decimals(connector, test_db):
    test_db.acc.insert_many(
        [
            {"_id": 1, "amount": Decimal128("1.10")},
            {"_id": 2, "amount": Decimal128("305184080441754059")},
        ]
    )

    df = connector.get_df(source("acc"))

    expected = pd.DataFrame(
        {"_id": [1, 2], "amount": [Decimal("1.10"), Decimal("305184080441754059")]}
    )
    assert_frame_equal(df, expected)


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        pytest.param([9007199254740993, None], "Int64", id="int-with-gap-stays-exact"),
        pytest.param([True, None], "boolean", id="bool-with-gap"),
        pytest.param([1.5, None], "float64", id="float-with-gap"),
        pytest.param(["123", 123], "object", id="mixed-types"),
    ],
)
def test_column_dtype(connector, test_db, values, dtype):
    test_db.typed.insert_many([{"_id": n, "v": value} for n, value in enumerate(values)])

    df = connector.get_df(source("typed", [{"$project": {"_id": 0, "v": 1}}]))

    assert_frame_equal(df, pd.DataFrame({"v": pd.array(values, dtype=dtype)}))


def test_empty_result_is_an_empty_frame(connector, test_db):
    df = connector.get_df(source("nothing"))

    assert_frame_equal(df, pd.DataFrame(index=pd.RangeIndex(0)))


# --- Pipelines ----------------------------------------------------------------------------------


@pytest.fixture
def sales(test_db):
    test_db.sales.insert_many(
        [
            {"_id": 1, "shop": "A", "day": datetime.datetime(2024, 1, 15), "amount": 10},
            {"_id": 2, "shop": "A", "day": datetime.datetime(2024, 2, 1), "amount": 5},
            {"_id": 3, "shop": "B", "day": datetime.datetime(2024, 2, 10), "amount": 7},
        ]
    )
    test_db.shops.insert_many([{"_id": "A", "city": "Lyon"}, {"_id": "B", "city": "Nice"}])


def test_group_by_month(connector, sales):
    pipeline = [
        {"$group": {"_id": {"$month": "$day"}, "total": {"$sum": "$amount"}}},
        {"$sort": {"_id": 1}},
    ]

    df = connector.get_df(source("sales", pipeline))

    # Servers differ in where `$group` puts `_id`; the values are what matter.
    assert_frame_equal(df, pd.DataFrame({"_id": [1, 2], "total": [10, 12]}), check_like=True)


def test_lookup_and_unwind(connector, sales):
    pipeline = [
        {"$lookup": {"from": "shops", "localField": "shop", "foreignField": "_id", "as": "s"}},
        {"$unwind": "$s"},
        {"$project": {"city": "$s.city"}},
        {"$sort": {"_id": 1}},
    ]

    df = connector.get_df(source("sales", pipeline))

    assert_frame_equal(df, pd.DataFrame({"_id": [1, 2, 3], "city": ["Lyon", "Lyon", "Nice"]}))


def test_date_operators(connector, sales):
    pipeline = [
        {
            "$project": {
                "year": {"$year": "$day"},
                "month": {"$dateToString": {"format": "%Y-%m", "date": "$day"}},
                "weekday": {"$dayOfWeek": "$day"},
            }
        },
        {"$sort": {"_id": 1}},
    ]

    df = connector.get_df(source("sales", pipeline))

    expected = pd.DataFrame(
        {
            "_id": [1, 2, 3],
            "year": [2024, 2024, 2024],
            "month": ["2024-01", "2024-02", "2024-02"],
            "weekday": [2, 5, 7],
        }
    )
    assert_frame_equal(df, expected, check_like=True)


def test_datetimes_stay_utc_datetimes(connector, sales):
    df = connector.get_df(source("sales", [{"$project": {"_id": 0, "day": 1}}, {"$limit": 1}]))

    expected = pd.DataFrame({"day": utc_column(datetime.datetime(2024, 1, 15, tzinfo=UTC))})
    assert_frame_equal(df, expected)


@pytest.mark.parametrize(
    ("sort", "amounts"),
    [
        pytest.param([{"shop": -1}, {"amount": 1}], [7, 5, 10], id="shop-then-amount"),
        pytest.param([{"amount": 1}, {"shop": -1}], [5, 7, 10], id="amount-then-shop"),
    ],
)
def test_sort_list_keeps_its_order(connector, sales, sort, amounts):
    pipeline = [{"$sort": sort}, {"$project": {"_id": 0, "amount": 1}}]

    df = connector.get_df(source("sales", pipeline))

    assert_frame_equal(df, pd.DataFrame({"amount": amounts}))


def test_server_error_names_the_data_source(connector, sales):
    with pytest.raises(ProviderError, match='MongoDB refused the request for data source "sales"'):
        connector.get_df(source("sales", [{"$project": {"a": {"$nosuchoperator": 1}}}]))


def test_unreachable_server_is_a_connection_error(closed_port):
    mongo = MongoConnector(
        name="mongo", host="127.0.0.1", port=closed_port, server_selection_timeout_ms=200
    )
    with mongo, pytest.raises(ConnectionFailedError, match="check the host, the port"):
        mongo.get_df(source("sales"))


# --- Slices and batches (C10) -------------------------------------------------------------------

OPEN_SORTED = [{"$match": {"status": "open"}}, {"$sort": {"n": 1}}]


@pytest.fixture
def orders(test_db):
    test_db.orders.insert_many(
        [{"_id": oid(n), "n": n, "status": "open" if n % 2 else "closed"} for n in range(1, 26)]
    )


def open_orders(numbers: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "_id": [f"{n:024x}" for n in numbers],
            "n": numbers,
            "status": ["open"] * len(numbers),
        }
    )


def test_slice_returns_the_requested_page(connector, orders):
    page = connector.get_slice(source("orders", OPEN_SORTED), offset=5, limit=4)

    assert_frame_equal(page.df, open_orders([11, 13, 15, 17]))


def test_counted_slice_returns_the_same_page(connector, orders):
    page = connector.get_slice(source("orders", OPEN_SORTED), offset=5, limit=4, get_row_count=True)

    assert_frame_equal(page.df, open_orders([11, 13, 15, 17]))


def test_counted_slice_reports_total_and_more_pages(connector, orders):
    page = connector.get_slice(source("orders", OPEN_SORTED), offset=5, limit=4, get_row_count=True)

    info = page.pagination_info
    assert (info.total_rows, info.is_last_page) == (13, False)


@pytest.mark.parametrize("count", [True, False], ids=["counted", "uncounted"])
def test_exactly_full_last_page_is_the_last(connector, orders, count):
    page = connector.get_slice(
        source("orders", OPEN_SORTED), offset=9, limit=4, get_row_count=count
    )

    info = page.pagination_info
    assert (len(page.df), info.total_rows, info.is_last_page) == (4, 13, True)


@pytest.mark.parametrize("count", [True, False], ids=["counted", "uncounted"])
def test_slice_of_no_match_is_empty(connector, orders, count):
    query = [{"$match": {"status": "missing"}}, {"$sort": {"n": 1}}]

    page = connector.get_slice(source("orders", query), limit=10, get_row_count=count)

    assert_frame_equal(page.df, pd.DataFrame(index=pd.RangeIndex(0)))
    info = page.pagination_info
    assert (info.total_rows, info.is_last_page) == (0, True)


@pytest.mark.parametrize("batch_size", [5, 1000], ids=["batch-5", "batch-1000"])
def test_batched_read_equals_plain_read(connector, orders, batch_size):
    df = connector.get_df(source("orders", OPEN_SORTED, batch_size=batch_size))

    assert_frame_equal(df, open_orders(list(range(1, 26, 2))))


def test_batched_read_fetches_batch_after_batch(connector, orders, stand_in):
    connector.get_df(source("orders", OPEN_SORTED, batch_size=5))

    assert stand_in.commands.count("getMore") == 2


def test_counted_slice_takes_one_round_trip(connector, orders, stand_in):
    connector.get_slice(source("orders", OPEN_SORTED), offset=5, limit=4, get_row_count=True)

    assert stand_in.commands == ["aggregate"]


# --- Status ---------------------------------------------------------------------------------


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mongo_at(mongo_uri: str, **fields) -> MongoConnector:
    return MongoConnector(name="mongo", host=mongo_uri, **fields)


def test_status_all_steps_pass(mongo_uri, orders):
    with mongo_at(mongo_uri, database=TEST_DATABASE) as mongo:
        status = mongo.get_status()

    assert status.details == [(step, True) for step in MongoConnector.status_steps]


def test_status_fails_on_a_missing_database(mongo_uri):
    with mongo_at(mongo_uri, database="no_such_db") as mongo:
        status = mongo.get_status()

    assert (status.details[-1], status.error) == (
        ("Database exists", False),
        f'Database "no_such_db" does not exist on {display_host(mongo_uri)}: check its spelling.',
    )


def test_status_fails_on_a_closed_port(closed_port):
    mongo = MongoConnector(name="mongo", host="127.0.0.1", port=closed_port)

    status = mongo.get_status()

    assert status.details == [
        ("Host resolved", True),
        ("Port opened", False),
        ("Server answered", None),
        ("Authenticated", None),
    ]


def test_status_fails_on_an_unresolvable_host(monkeypatch):
    def refuse(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    mongo = MongoConnector(name="mongo", host="nowhere.invalid")

    status = mongo.get_status()

    assert status.details == [
        ("Host resolved", False),
        ("Port opened", None),
        ("Server answered", None),
        ("Authenticated", None),
    ]


def test_status_fails_on_refused_credentials(mongo_uri):
    # The stand-in refuses every login; a real server refuses this unknown user.
    with mongo_at(mongo_uri, username="nobody", password="s3cret-pw") as mongo:
        status = mongo.get_status()

    assert [ok for _, ok in status.details] == [True, True, True, False]


def test_refused_credentials_message_has_no_secret(mongo_uri):
    with mongo_at(mongo_uri, username="nobody", password="s3cret-pw") as mongo:
        status = mongo.get_status()

    assert status.error.startswith('User "nobody" was refused (Authentication failed.)')
    assert "s3cret-pw" not in status.error


@pytest.fixture
def not_tls_port() -> Iterator[int]:
    """A port whose listener answers a TLS greeting with plain text, as a non-TLS server does."""
    listener = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with client:
                client.recv(1024)
                client.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    threading.Thread(target=answer, daemon=True).start()
    yield int(listener.getsockname()[1])
    listener.close()


def counting_attempts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the calls of `_retrieve_page`, one per attempt of a retry policy."""
    calls: list[int] = []
    original = MongoConnector._retrieve_page

    def counted(self: MongoConnector, *args: object) -> object:
        calls.append(1)
        return original(self, *args)

    monkeypatch.setattr(MongoConnector, "_retrieve_page", counted)
    return calls


NO_WAIT = RetryPolicy(max_attempts=3, wait_time=0, jitter=0)


def test_refused_credentials_are_tried_once(monkeypatch, mongo_uri):
    calls = counting_attempts(monkeypatch)
    mongo = mongo_at(mongo_uri, username="nobody", password="s3cret-pw", retry_policy=NO_WAIT)

    with (
        mongo,
        pytest.raises(ConnectionFailedError, match="Check the user name, the password") as error,
    ):
        mongo.get_df(source("sales"))

    assert (error.value.transient, len(calls)) == (False, 1)
    assert "s3cret-pw" not in str(error.value)


def test_tls_to_a_server_without_tls_is_tried_once(monkeypatch, not_tls_port):
    calls = counting_attempts(monkeypatch)
    mongo = MongoConnector(
        name="mongo",
        host="127.0.0.1",
        port=not_tls_port,
        ssl=True,
        server_selection_timeout_ms=300,
        retry_policy=NO_WAIT,
    )

    with mongo, pytest.raises(ConnectionFailedError, match="check `ssl`") as error:
        mongo.get_df(source("sales"))

    assert (error.value.transient, len(calls)) == (False, 1)


def test_unreachable_server_is_retried(monkeypatch, closed_port):
    calls = counting_attempts(monkeypatch)
    mongo = MongoConnector(
        name="mongo",
        host="127.0.0.1",
        port=closed_port,
        server_selection_timeout_ms=100,
        retry_policy=NO_WAIT,
    )

    with mongo, pytest.raises(ConnectionFailedError, match="check the host, the port") as error:
        mongo.get_df(source("sales"))

    assert (error.value.transient, len(calls)) == (True, 3)


@pytest.mark.parametrize(
    ("error", "refused_login", "transient"),
    [
        pytest.param(OperationFailure("Authentication failed.", 18), True, True, id="auth"),
        pytest.param(OperationFailure("Could not find user", 11), True, True, id="no-user"),
        pytest.param(OperationFailure("not authorized on db", 13), False, True, id="rights"),
        pytest.param(
            ServerSelectionTimeoutError(
                "db:27017: [SSL: CERTIFICATE_VERIFY_FAILED] certificate "
                "verify failed: self-signed certificate"
            ),
            False,
            False,
            id="certificate",
        ),
        pytest.param(
            ServerSelectionTimeoutError("db:27017: [Errno 111] Connection refused"),
            False,
            True,
            id="refused-port",
        ),
    ],
)
def test_error_classification(error, refused_login, transient):
    assert (is_refused_login(error), is_transient_failure(error)) == (refused_login, transient)


def display_host(mongo_uri: str) -> str:
    host, port = parse_uri(mongo_uri)["nodelist"][0]
    return f"{host}:{port}"


# --- Model and plan -------------------------------------------------------------------------


def test_get_model_samples_field_types(connector, test_db):
    test_db.b.insert_many([{"_id": 1, "x": "s", "when": datetime.datetime(2024, 1, 1)}])
    test_db.a.insert_many([{"_id": oid(1), "v": 1}, {"_id": oid(2), "v": "one", "o": None}])

    model = connector.get_model(db_name=TEST_DATABASE)

    assert model == [
        {
            "database": TEST_DATABASE,
            "schema": None,
            "type": "collection",
            "name": "a",
            "columns": [
                {"name": "_id", "type": "objectId"},
                {"name": "v", "type": "int|string"},
                {"name": "o", "type": "null"},
            ],
        },
        {
            "database": TEST_DATABASE,
            "schema": None,
            "type": "collection",
            "name": "b",
            "columns": [
                {"name": "_id", "type": "int"},
                {"name": "x", "type": "string"},
                {"name": "when", "type": "date"},
            ],
        },
    ]


def test_describe_reports_every_field_of_the_first_100_documents(connector, test_db):
    test_db.mixed.insert_many(
        [{"_id": 1, "a": 1.5}, {"_id": 2, "b": "x", "when": datetime.datetime(2024, 1, 1)}]
        + [{"_id": n, "n": n} for n in range(3, 101)]
        + [{"_id": 101, "late": True}]
    )

    described = connector.describe(source("mixed", [{"$sort": {"_id": 1}}]))

    assert described == {
        "_id": "int64",
        "a": "float64",
        "b": "str",
        "when": "datetime64[us, UTC]",
        "n": "Int64",
    }


def test_get_model_lists_databases(connector, orders):
    model = connector.get_model(exclude_columns=True)

    assert [(t["database"], t["name"]) for t in model if t["database"] == TEST_DATABASE] == [
        (TEST_DATABASE, "orders")
    ]


def test_explain_summarises_the_plan(connector, orders, stand_in):
    permissions = {"column": "n", "operator": "lt", "value": 5}

    plan = connector.explain(source("orders", OPEN_SORTED), permissions)

    assert plan == {
        "namespace": f"{TEST_DATABASE}.orders",
        "winning_plan": "COLLSCAN",
        "stages": ["$cursor", "$sort"],
        "pipeline": [
            {
                "$match": {
                    "$and": [
                        {"status": "open"},
                        {
                            "$or": [
                                {"n": {"$lt": 5, "$type": "number"}},
                                {"n": {"$lt": "5", "$type": "string"}},
                            ]
                        },
                    ]
                }
            },
            {"$sort": {"n": 1}},
        ],
    }


# --- Client lifecycle, configuration, logs ----------------------------------------------------


def test_client_is_reused_across_calls(mongo_uri, orders):
    with mongo_at(mongo_uri) as mongo:
        mongo.get_df(source("orders"))
        first = mongo._client_slot._client
        mongo.get_df(source("orders"))

        assert mongo._client_slot._client is first


def test_context_manager_closes_the_client(mongo_uri, orders):
    with mongo_at(mongo_uri) as mongo:
        mongo.get_df(source("orders"))

    assert mongo._client_slot._client is None


ALL_OPEN = open_orders(list(range(1, 26, 2)))


def refused_at(port: int) -> str:
    """The start of the error a connector pointed at a closed local port raises."""
    return f"MongoDB at 127.0.0.1:{port} could not be reached"


def test_copy_with_another_host_reads_that_host(mongo_uri, orders, closed_port):
    with mongo_at(mongo_uri) as mongo:
        mongo.get_df(source("orders"))
        moved = {"host": f"mongodb://127.0.0.1:{closed_port}", "server_selection_timeout_ms": 200}
        other = mongo.model_copy(update=moved)

        with other, pytest.raises(ConnectionFailedError, match=refused_at(closed_port)):
            other.get_df(source("orders"))


def test_changed_host_opens_a_new_client(mongo_uri, orders, closed_port):
    with mongo_at(mongo_uri, server_selection_timeout_ms=200) as mongo:
        mongo.get_df(source("orders"))
        first = mongo._client_slot._client
        mongo.host = f"mongodb://127.0.0.1:{closed_port}"

        with pytest.raises(ConnectionFailedError, match=refused_at(closed_port)):
            mongo.get_df(source("orders"))
        assert mongo._client_slot._client is not first


def test_copy_outlives_the_closed_original(mongo_uri, orders):
    mongo = mongo_at(mongo_uri)
    mongo.get_df(source("orders"))
    copied = mongo.model_copy()
    mongo.close()

    with copied:
        assert_frame_equal(copied.get_df(source("orders", OPEN_SORTED)), ALL_OPEN)


@pytest.mark.parametrize(
    "duplicate",
    [
        pytest.param(copy.deepcopy, id="deepcopy"),
        pytest.param(lambda mongo: mongo.model_copy(deep=True), id="model_copy-deep"),
        pytest.param(lambda mongo: pickle.loads(pickle.dumps(mongo)), id="pickle"),
    ],
)
def test_deep_copies_and_pickles_start_without_a_client(mongo_uri, orders, duplicate):
    with mongo_at(mongo_uri) as mongo:
        mongo.get_df(source("orders"))
        duplicated = duplicate(mongo)

    assert duplicated == mongo and duplicated._client_slot._client is None
    with duplicated:
        assert_frame_equal(duplicated.get_df(source("orders", OPEN_SORTED)), ALL_OPEN)


def test_password_needs_a_username():
    with pytest.raises(ValidationError, match="a password needs a username"):
        MongoConnector(name="mongo", host="127.0.0.1", password="pw")


@pytest.mark.parametrize("type_key", ["MongoDB", "AWSDocumentDB"])
def test_registry_entries(type_key):
    assert get_connector_class(type_key) is MongoConnector


def test_retrieval_logs(mongo_uri, orders, caplog):
    caplog.set_level(logging.DEBUG, logger="toucan_connectors")

    with mongo_at(mongo_uri) as mongo:
        mongo.get_df(source("orders", OPEN_SORTED))

    host = display_host(mongo_uri)
    assert [
        (r.name, r.levelname, r.getMessage())
        for r in caplog.records
        if r.name.startswith("toucan_connectors.mongo")
    ] == [
        (
            "toucan_connectors.mongo.mongo_connector",
            "DEBUG",
            f"Running a 2-stage pipeline on {host}/{TEST_DATABASE}.orders for 'orders'",
        ),
        (
            "toucan_connectors.mongo.mongo_connector",
            "DEBUG",
            f"Opening a MongoDB client for {host}",
        ),
    ]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        pytest.param("mongodb://u@db1:27018,db2/app?tls=true", "db1:27018", id="user"),
        pytest.param("mongodb://db1", "db1:27017", id="default-port"),
        pytest.param("mongodb://[::1]:27019/", "::1:27019", id="ipv6"),
        pytest.param("mongodb+srv://u@cluster.example.com/app", "cluster.example.com", id="srv"),
        pytest.param("db.example.com", "db.example.com:27017", id="plain-host"),
    ],
)
def test_logged_host_never_shows_the_connection_string(host, expected):
    assert MongoConnector(name="mongo", host=host)._display_host() == expected


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("mongodb://u:p%40w@db1:27018,db2/app", id="standard"),
        pytest.param("mongodb+srv://u:hunter2@cluster.example.com/app", id="srv"),
    ],
)
def test_a_password_inside_the_connection_string_is_refused(host):
    with pytest.raises(ValidationError, match="move it to `password`") as caught:
        MongoConnector(name="mongo", host=host)

    assert "hunter2" not in str(caught.value) and "p%40w" not in str(caught.value)


def test_equal_configurations_are_equal_connectors():
    first = MongoConnector(name="mongo", host="127.0.0.1", username="u", password="pw")

    assert MongoConnector.model_validate(first.dump_with_secrets()) == first


def test_srv_status_starts_at_the_server():
    mongo = MongoConnector(name="mongo", host="mongodb+srv://cluster.example.com")

    assert [check.name for check in mongo._status_checks()] == [
        "Server answered",
        "Authenticated",
    ]


@pytest.mark.parametrize(
    ("host", "fix"),
    [
        pytest.param(
            "mongodb://db1/?tlsCertificateKeyFilePassword=s3cr3t-value",
            "set `tls_key_password` \\(a secret\\) instead",
            id="tls-key-password",
        ),
        pytest.param(
            "mongodb://db1/?tls=true&sslPEMKeyPassword=s3cr3t-value",
            "set `tls_key_password` \\(a secret\\) instead",
            id="legacy-pem-password",
        ),
        pytest.param(
            "mongodb://db1/?authMechanism=MONGODB-AWS"
            "&authMechanismProperties=AWS_SESSION_TOKEN:s3cr3t-value",
            "set the AWS_SESSION_TOKEN environment variable",
            id="aws-session-token",
        ),
    ],
)
def test_secret_connection_string_options_are_refused(host, fix):
    with pytest.raises(ValidationError, match=fix) as caught:
        MongoConnector(name="mongo", host=host)

    assert "s3cr3t-value" not in str(caught.value)


def test_tls_key_password_is_a_secret_given_to_the_client():
    mongo = MongoConnector(name="mongo", host="mongodb://db1/?tls=true", tls_key_password="k3y")

    assert "k3y" not in repr(mongo) and "k3y" not in str(mongo.model_dump())
    assert mongo._client_options()["tlsCertificateKeyFilePassword"] == "k3y"


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        pytest.param("mongodb://127.0.0.1:notaport", "Port contains non-digit", id="port"),
        pytest.param("mongodb://", "at least one hostname", id="no-host"),
        pytest.param("mongodb://db1/?connectTimeoutMS=abc", "connecttimeoutms must be", id="opt"),
        pytest.param(
            "mongodb+srv://cluster.example.com:27017", "must not include a port", id="srv"
        ),
        pytest.param("mongodb+srv://a.example.com,b.example.com", "only one, hostname", id="srv2"),
    ],
)
def test_malformed_connection_string_is_refused(host, problem, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)

    with pytest.raises(ValidationError, match=f"malformed \\(.*{problem}.*\\): fix it, see"):
        MongoConnector(name="mongo", host=host)


def test_connection_string_with_another_scheme_is_refused():
    with pytest.raises(ValidationError, match="must start with mongodb:// or mongodb\\+srv://"):
        MongoConnector(name="mongo", host="http://db1:27017")


def no_dns(*args, **kwargs):
    """Stands for the resolver: a test that calls it would send a DNS query."""
    raise AssertionError("no DNS query may leave the test")


def test_srv_connection_string_is_checked_without_dns(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    dns_resolver = pytest.importorskip("dns.resolver")
    monkeypatch.setattr(dns_resolver, "resolve", no_dns)

    mongo = MongoConnector(name="mongo", host="mongodb+srv://cluster.example.com/app?w=majority")

    assert mongo.host == "mongodb+srv://cluster.example.com/app?w=majority"


def test_user_name_in_the_connection_string_goes_with_the_password_field():
    mongo = MongoConnector(name="mongo", host="mongodb://reader@db1:27018/app", password="pw")

    options = mongo._client_options()
    assert (options["host"], options["password"], "username" in options) == (
        "mongodb://reader@db1:27018/app",
        "pw",
        False,
    )
    assert mongo._client_options(with_credentials=False)["host"] == "mongodb://db1:27018/app"


@pytest.mark.parametrize("call", ["get_df", "get_model"])
def test_client_configuration_error_is_a_clear_error(monkeypatch, call):
    def refuse(self, options):
        raise ConfigurationError("The DNS query name does not exist: _mongodb._tcp.x.example.com.")

    monkeypatch.setattr(MongoConnector, "_open_client", refuse)
    mongo = MongoConnector(name="mongo", host="mongodb+srv://x.example.com")

    with pytest.raises(InvalidConfigurationError, match="check the host name \\(for mongodb\\+srv"):
        mongo.get_df(source("orders")) if call == "get_df" else mongo.get_model()
