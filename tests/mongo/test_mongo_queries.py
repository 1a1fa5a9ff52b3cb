"""Templated queries, optional filters and permissions, run against the server."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from bson import Decimal128, ObjectId
from pandas.testing import assert_frame_equal

from toucan_connectors.errors import InvalidDataSourceError, TemplateError, UnsupportedFeatureError
from toucan_connectors.permissions.model import OPERATORS
from toucan_connectors.permissions.mongo_filter import build_mongo_match
from toucan_connectors.permissions.pandas_filter import apply_permissions

from .test_mongo_connector import source

UNSAFE = "{{ ''.__class__.__mro__[1].__subclasses__() }}"


def no_id(query: dict) -> list[dict]:
    return [{"$match": query}, {"$project": {"_id": 0}}]


# --- C07: templating ------------------------------------------------------------------------


@pytest.fixture
def products(test_db):
    test_db.products.insert_many(
        [
            {"_id": 1, "sku": "123", "qty": 5},
            {"_id": 2, "sku": 123, "qty": 7},
            {"_id": 3, "sku": "007", "qty": 1},
            {"_id": 4, "sku": "9", "qty": 2, "created": datetime.datetime(2024, 1, 2)},
        ]
    )


def products_query(connector, query, parameters) -> pd.DataFrame:
    pipeline = [{"$match": query}, {"$sort": {"_id": 1}}, {"$project": {"_id": 1}}]
    return connector.get_df(source("products", pipeline, parameters=parameters))


def ids(*values: int) -> pd.DataFrame:
    return pd.DataFrame({"_id": list(values)}, index=pd.RangeIndex(len(values)))


def id_frame(values: list[int]) -> pd.DataFrame:
    """The frame of an `_id` projection: no columns at all when no document matched."""
    return ids(*values) if values else pd.DataFrame(index=pd.RangeIndex(0))


def test_string_parameter_matches_only_the_string(connector, products):
    df = connector.get_df(
        source("products", no_id({"sku": "{{ code }}"}), parameters={"code": "123"})
    )

    assert_frame_equal(df, pd.DataFrame({"sku": ["123"], "qty": [5]}))


def test_expression_keeps_its_number_type(connector, products):
    df = products_query(connector, {"qty": {"$gte": "{{ lo + 1 }}"}}, {"lo": 4})

    assert_frame_equal(df, ids(1, 2))


def test_datetime_parameter_compares_as_a_date(connector, products):
    since = datetime.datetime(2024, 1, 1)

    df = products_query(connector, {"created": {"$gte": "{{ since }}"}}, {"since": since})

    assert_frame_equal(df, ids(4))


def test_clause_of_a_missing_parameter_is_removed(connector, products):
    df = products_query(connector, {"sku": "{{ region }}"}, {})

    assert_frame_equal(df, ids(1, 2, 3, 4))


def test_unsafe_template_in_the_query_is_refused(connector, products):
    with pytest.raises(TemplateError, match="was refused"):
        products_query(connector, {"sku": UNSAFE}, {})


@pytest.mark.parametrize(
    "value",
    [pytest.param(UNSAFE, id="unsafe-template"), pytest.param("{{ 7*7 }}", id="arithmetic")],
)
def test_template_in_a_parameter_is_literal_text(connector, test_db, value):
    test_db.products.insert_many(
        [{"_id": 1, "sku": 49}, {"_id": 2, "sku": value}, {"_id": 3, "sku": "[]"}]
    )

    df = products_query(connector, {"sku": "{{ code }}"}, {"code": value})

    assert_frame_equal(df, ids(2))


# --- Parameters of every type and optional filters --------------------------------------------


PLUS_2 = datetime.timezone(datetime.timedelta(hours=2))


@pytest.fixture
def items(test_db):
    test_db.items.insert_many(
        [
            {
                "_id": 1,
                "s": "a",
                "i": 1,
                "f": 1.5,
                "b": True,
                "d": datetime.datetime(2024, 1, 1),
                "m": Decimal128("1.5"),
            },
            {"_id": 2, "s": "b", "i": 2, "f": 2.5, "b": False, "d": datetime.datetime(2024, 6, 1)},
            {"_id": 3, "s": None, "i": 3},
        ]
    )


@pytest.mark.parametrize(
    ("query", "parameters", "expected"),
    [
        pytest.param({"s": "{{ v }}"}, {"v": "b"}, [2], id="str"),
        pytest.param({"i": "{{ v }}"}, {"v": 3}, [3], id="int"),
        pytest.param({"f": {"$gt": "{{ v }}"}}, {"v": 2.0}, [2], id="float"),
        pytest.param({"b": "{{ v }}"}, {"v": True}, [1], id="bool"),
        pytest.param({"s": "{{ v }}"}, {"v": None}, [3], id="none-matches-null"),
        pytest.param({"f": "{{ v }}"}, {"v": None}, [3], id="none-matches-missing"),
        pytest.param({"i": {"$in": "{{ v }}"}}, {"v": [1, 3]}, [1, 3], id="list"),
        pytest.param({"i": {"$in": "{{ v }}"}}, {"v": []}, [], id="empty-list"),
        pytest.param(
            {"d": {"$lt": "{{ v }}"}}, {"v": datetime.datetime(2024, 3, 1)}, [1], id="datetime"
        ),
        pytest.param({"i": "{{ v.k }}"}, {"v": {"k": 2}}, [2], id="dict-attribute"),
        pytest.param({"s": "x-{{ v }}"}, {"v": "a"}, [], id="text-around"),
        pytest.param(
            {"d": {"$gte": "{{ v }}"}}, {"v": datetime.date(2024, 6, 1)}, [2], id="date-midnight"
        ),
        pytest.param(
            {"d": {"$lt": "{{ v }}"}}, {"v": pd.Timestamp("2024-03-01")}, [1], id="timestamp"
        ),
        pytest.param(
            {"d": {"$gte": "{{ v }}"}},
            {"v": datetime.datetime(2024, 6, 1, 2, tzinfo=PLUS_2)},
            [2],
            id="aware-datetime",
        ),
        pytest.param({"m": "{{ v }}"}, {"v": Decimal("1.5")}, [1], id="decimal"),
        pytest.param({"i": "{{ v }}"}, {"v": np.int64(2)}, [2], id="numpy-int"),
        pytest.param({"f": {"$gt": "{{ v }}"}}, {"v": np.float64(2.0)}, [2], id="numpy-float"),
        pytest.param({"b": "{{ v }}"}, {"v": np.bool_(False)}, [2], id="numpy-bool"),
        pytest.param({"i": {"$in": "{{ v }}"}}, {"v": (1, 3)}, [1, 3], id="tuple"),
        pytest.param(
            {"i": {"$in": "{{ v }}"}}, {"v": [np.int64(1), np.int64(2)]}, [1, 2], id="numpy-list"
        ),
    ],
)  # fmt: skip
def test_parameter_types(connector, items, query, parameters, expected):
    pipeline = [{"$match": query}, {"$sort": {"_id": 1}}, {"$project": {"_id": 1}}]

    df = connector.get_df(source("items", pipeline, parameters=parameters))

    assert_frame_equal(df, id_frame(expected))


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param({1}, "a set ({1})", id="set"),
        pytest.param(frozenset(), "a frozenset (frozenset())", id="frozenset"),
        pytest.param(
            uuid.UUID(int=1), "a UUID (UUID('00000000-0000-0000-0000-000000000001'))", id="uuid"
        ),
    ],
)
def test_parameter_mongodb_cannot_store_is_refused(connector, items, value, shown):
    data_source = source("items", {"i": {"$in": "{{ v }}"}}, parameters={"v": value})

    with pytest.raises(InvalidDataSourceError) as caught:
        connector.get_df(data_source)

    assert str(caught.value) == (
        'Data source "items" of connector "mongo" (MongoConnector): '
        f'Parameter "v" is {shown}, which MongoDB cannot store: give a string, a number, a '
        "boolean, a date, a list or a document instead."
    )


def test_decimal_parameter_beyond_decimal128_is_refused(connector, items):
    data_source = source("items", {"m": "{{ v }}"}, parameters={"v": Decimal("1." + "1" * 40)})

    with pytest.raises(InvalidDataSourceError, match="Decimal128 keeps \\(34\\): round it first"):
        connector.get_df(data_source)


@pytest.mark.parametrize(
    ("permission", "expected"),
    [
        pytest.param(
            {"column": "d", "operator": "ge", "value": datetime.date(2024, 6, 1)}, [2], id="date"
        ),
        pytest.param({"column": "m", "operator": "eq", "value": Decimal("1.5")}, [1], id="decimal"),
        pytest.param({"column": "i", "operator": "in", "value": [np.int64(3)]}, [3], id="numpy"),
    ],
)
def test_permission_value_types(connector, items, permission, expected):
    pipeline = [{"$sort": {"_id": 1}}, {"$project": {"_id": 1}}]

    df = connector.get_df(source("items", pipeline), permission)

    assert_frame_equal(df, id_frame(expected))


def test_permission_value_mongodb_cannot_store_is_refused(connector, items):
    permission = {"column": "i", "operator": "eq", "value": uuid.UUID(int=1)}

    with pytest.raises(InvalidDataSourceError, match='permission on "i" is a UUID .*give a string'):
        connector.get_df(source("items"), permission)


@pytest.mark.parametrize(
    ("query", "parameters", "expected"),
    [
        pytest.param(
            {"i": {"$gte": "{{ lo }}", "$lte": "{{ hi }}"}}, {"lo": 2}, [2, 3], id="one-bound"
        ),
        pytest.param(
            {"$or": [{"s": "{{ s }}"}, {"i": "{{ i }}"}]}, {"i": 1}, [1, 2, 3], id="or-item-lifts"
        ),
        pytest.param(
            {"$or": [{"s": "{{ s }}"}, {"i": "{{ i }}"}]}, {"i": 1, "s": "b"}, [1, 2], id="or-set"
        ),
        pytest.param({"$nor": [{"s": "{{ s }}"}]}, {"s": "a"}, [2, 3], id="nor-given"),
        pytest.param({"$or": [{"s": "{{ s }}"}], "i": 2}, {}, [2], id="or-emptied"),
        pytest.param(
            {"$and": [{"s": "{{ s }}"}, {"i": "{{ i }}"}]}, {}, [1, 2, 3], id="and-emptied"
        ),
    ],
)
def test_optional_filters(connector, items, query, parameters, expected):
    pipeline = [{"$match": query}, {"$sort": {"_id": 1}}, {"$project": {"_id": 1}}]

    df = connector.get_df(source("items", pipeline, parameters=parameters))

    assert_frame_equal(df, id_frame(expected))


def test_optional_filter_inside_nor_is_refused(connector, items):
    data_source = source("items", {"$nor": [{"s": "{{ s }}"}]})

    with pytest.raises(InvalidDataSourceError, match="Give the parameter, or move the clause"):
        connector.get_df(data_source)


# --- Permissions ----------------------------------------------------------------------------

ROWS = [("FR", 2019, 10), ("FR", 2021, 12), ("BE", 2022, 5), (None, 2023, 1)]


@pytest.fixture
def population(test_db):
    test_db.population.insert_many(
        [
            {"_id": n, "country": country, "year": year, "pop": pop}
            for n, (country, year, pop) in enumerate(ROWS)
        ]
    )


def permitted(connector, permissions, parameters=None) -> pd.DataFrame:
    pipeline = [{"$sort": {"_id": 1}}, {"$project": {"_id": 0}}]
    data_source = source("population", pipeline, parameters=parameters)
    return connector.get_df(data_source, permissions)


def rows(*selected: tuple) -> pd.DataFrame:
    return pd.DataFrame(list(selected), columns=["country", "year", "pop"])


@pytest.mark.parametrize(
    ("permission", "kept"),
    [
        pytest.param({"column": "country", "operator": "eq", "value": "FR"}, [0, 1], id="eq"),
        pytest.param({"column": "country", "operator": "ne", "value": "FR"}, [2], id="ne"),
        pytest.param({"column": "year", "operator": "lt", "value": 2021}, [0], id="lt"),
        pytest.param({"column": "year", "operator": "le", "value": 2021}, [0, 1], id="le"),
        pytest.param({"column": "year", "operator": "gt", "value": "2021"}, [2, 3], id="gt"),
        pytest.param({"column": "year", "operator": "ge", "value": "2022"}, [2, 3], id="ge"),
        pytest.param(
            {"column": "country", "operator": "in", "value": ["FR", "BE"]}, [0, 1, 2], id="in"
        ),
        pytest.param({"column": "country", "operator": "nin", "value": ["FR"]}, [2], id="nin"),
        pytest.param(
            {"column": "country", "operator": "matches", "value": "^F"}, [0, 1], id="matches"
        ),
        pytest.param(
            {"column": "country", "operator": "notmatches", "value": "^F"}, [2], id="notmatches"
        ),
        pytest.param({"column": "country", "operator": "isnull"}, [3], id="isnull"),
        pytest.param({"column": "country", "operator": "notnull"}, [0, 1, 2], id="notnull"),
    ],
)
def test_permission_operator(connector, population, permission, kept):
    df = permitted(connector, permission)

    assert_frame_equal(df, rows(*(ROWS[n] for n in kept)))


@pytest.mark.parametrize(
    "operator", ["eq", "ne", "lt", "le", "gt", "ge", "in", "nin", "matches", "notmatches"]
)
def test_permission_answers_as_on_a_frame(connector, population, operator):
    column, value = ("year", "2021") if operator in ("lt", "le", "gt", "ge") else ("country", "FR")
    if operator in ("in", "nin"):
        value = [value]
    permission = {"column": column, "operator": operator, "value": value}
    whole = permitted(connector, None)

    df = permitted(connector, permission)

    assert_frame_equal(df, apply_permissions(whole, permission))


# --- C13: permission values that arrive as strings ---------------------------------------------

C13_PERMISSION = {
    "and": [
        {"column": "country", "operator": "eq", "value": "{{ user.attributes.country }}"},
        {"column": "year", "operator": "ge", "value": "{{ user.attributes.min_year }}"},
    ]
}


@pytest.fixture
def c13(test_db):
    test_db.population.insert_many(
        [
            {"_id": 0, "country": "FR", "year": 2019, "pop": 10},
            {"_id": 1, "country": "FR", "year": 2021, "pop": 12},
            {"_id": 2, "country": "BE", "year": 2022, "pop": 5},
        ]
    )


@pytest.mark.parametrize("min_year", ["2020", '"2020"'], ids=["string", "json-quoted"])
def test_string_bound_compares_as_a_number(connector, c13, min_year):
    parameters = {"user": {"attributes": {"country": "FR", "min_year": min_year}}}

    df = permitted(connector, C13_PERMISSION, parameters)

    assert_frame_equal(df, rows(("FR", 2021, 12)))


def test_in_list_permits_every_listed_row(connector, c13):
    permission = {"column": "country", "operator": "in", "value": ["FR", "BE"]}

    df = permitted(connector, permission)

    assert_frame_equal(df, rows(("FR", 2019, 10), ("FR", 2021, 12), ("BE", 2022, 5)))


@pytest.mark.parametrize(
    "permission",
    [
        pytest.param({"column": "country", "operator": "in", "value": []}, id="in-empty"),
        pytest.param({"or": []}, id="empty-or"),
    ],
)
def test_empty_in_list_permits_nothing(connector, c13, permission):
    df = permitted(connector, permission)

    # Documented: MongoDB has no schema, so a result without documents has no columns.
    assert_frame_equal(df, pd.DataFrame(index=pd.RangeIndex(0)))


def test_deny_all_matches_documents_without_an_id(connector, c13):
    # As on a view that projects `_id` out: the permissions' match must still match nothing.
    pipeline = [{"$project": {"_id": 0}}, {"$match": build_mongo_match({"or": []})}]

    df = connector.get_df(source("population", pipeline))

    assert_frame_equal(df, pd.DataFrame(index=pd.RangeIndex(0)))


def test_union_with_is_refused_with_permissions(connector, c13):
    permission = {"column": "country", "operator": "eq", "value": "FR"}

    with pytest.raises(UnsupportedFeatureError, match="read that collection in a data source"):
        connector.get_df(source("population", [{"$unionWith": "secret"}]), permission)


def test_permissions_apply_to_stored_fields_before_the_pipeline(connector, c13):
    # Documented limitation: `pop` is renamed by the pipeline, yet the permission still
    # filters the stored `pop` field.
    pipeline = [{"$project": {"_id": 0, "people": "$pop"}}, {"$sort": {"people": 1}}]
    permission = {"column": "pop", "operator": "gt", "value": 6}

    df = connector.get_df(source("population", pipeline), permission)

    assert_frame_equal(df, pd.DataFrame({"people": [10, 12]}))


# --- Permission values spelling dates, ObjectIds and huge integers -----------------------------


@pytest.fixture
def days(test_db):
    test_db.days.insert_many([{"_id": n, "d": datetime.datetime(2020, 1, n)} for n in range(1, 11)])


def permitted_days(connector, permission) -> pd.DataFrame:
    return connector.get_df(source("days", [{"$sort": {"_id": 1}}]), permission)


def day_rows(*numbers: int) -> pd.DataFrame:
    dates = [datetime.datetime(2020, 1, n, tzinfo=datetime.timezone.utc) for n in numbers]
    return pd.DataFrame({"_id": list(numbers), "d": pd.Series(dates, dtype="datetime64[us, UTC]")})


@pytest.mark.parametrize(
    ("permission", "kept"),
    [
        pytest.param({"operator": "ge", "value": "2020-01-05"}, [5, 6, 7, 8, 9, 10], id="ge-date"),
        pytest.param({"operator": "lt", "value": "2020-01-03T00:00:00Z"}, [1, 2], id="lt-utc"),
        pytest.param({"operator": "le", "value": "2020-01-02T01:00:00+02:00"}, [1], id="le-offset"),
        pytest.param({"operator": "eq", "value": "2020-01-04"}, [4], id="eq-date"),
        pytest.param({"operator": "nin", "value": ["2020-01-04", "2020-01-09"]},
                     [1, 2, 3, 5, 6, 7, 8, 10], id="nin-dates"),
    ],
)  # fmt: skip
def test_date_string_permission_compares_as_a_date(connector, days, permission, kept):
    df = permitted_days(connector, {"column": "d", **permission})

    assert_frame_equal(df, day_rows(*kept))


@pytest.mark.parametrize("operator", ["eq", "in"])
def test_hex_string_permission_matches_the_object_id(connector, test_db, operator):
    test_db.things.insert_many(
        [{"_id": ObjectId(f"{n:024x}"), "n": n} for n in (1, 2)] + [{"_id": "x", "n": 3}]
    )
    value = f"{2:024x}" if operator == "eq" else [f"{2:024x}", "x"]
    permission = {"column": "_id", "operator": operator, "value": value}

    df = connector.get_df(source("things", [{"$sort": {"n": 1}}]), permission)

    expected = [f"{2:024x}", "x"] if operator == "in" else [f"{2:024x}"]
    assert df["_id"].tolist() == expected


def test_hex_string_permission_excludes_the_object_id(connector, test_db):
    test_db.things.insert_many([{"_id": ObjectId(f"{n:024x}"), "n": n} for n in (1, 2)])
    permission = {"column": "_id", "operator": "ne", "value": f"{2:024x}"}

    df = connector.get_df(source("things", [{"$project": {"_id": 0}}]), permission)

    assert_frame_equal(df, pd.DataFrame({"n": [1]}))


@pytest.mark.parametrize(
    "value",
    [pytest.param("123456789012345678901234567890", id="string"), pytest.param(2**63, id="int")],
)
def test_integer_outside_64_bits_is_refused(connector, population, value):
    permission = {"column": "i", "operator": "lt", "value": value}

    with pytest.raises(InvalidDataSourceError, match=f'on "i" compares with {value}, an integer'):
        permitted(connector, permission)


def test_string_spelling_a_huge_integer_still_matches_as_text(connector, test_db):
    test_db.codes.insert_many([{"_id": 1, "c": "123456789012345678901234567890"}, {"_id": 2}])
    permission = {"column": "c", "operator": "eq", "value": "123456789012345678901234567890"}

    df = connector.get_df(source("codes"), permission)

    assert_frame_equal(df, pd.DataFrame({"_id": [1], "c": ["123456789012345678901234567890"]}))


# --- Permission values of another type than the field: the frame's answers --------------------

PLACES = [
    {"_id": 0, "zip": "75001", "year": 2021, "flag": True},
    {"_id": 1, "zip": "1000", "year": 2019, "flag": False},
    {"_id": 2, "zip": "69000", "year": 2022, "flag": True},
    {"_id": 3, "zip": "80100", "year": 2020, "flag": False},
    {"_id": 4, "year": 2023},
]


@pytest.fixture
def places(test_db):
    test_db.places.insert_many(PLACES)


def permitted_places(connector, permission) -> pd.DataFrame:
    return connector.get_df(source("places", [{"$sort": {"_id": 1}}]), permission)


ODD_VALUES = [
    ("zip", "eq", 75001, [0]),
    ("year", "eq", "2021", [0]),
    ("flag", "eq", "true", [0, 2]),
    ("flag", "eq", " FALSE", [1, 3]),
    ("zip", "ne", 75001, [1, 2, 3]),
    ("year", "ne", "+2019", [0, 2, 3, 4]),
    ("flag", "ne", "false", [0, 2]),
    ("zip", "lt", 70000, [1, 2]),
    ("year", "lt", "2021", [1, 3]),
    ("zip", "le", "69000", [1, 2]),
    ("year", "le", "2021.0", [0, 1, 3]),
    ("zip", "gt", "70000", [0, 3]),
    ("year", "gt", "+2021", [2, 4]),
    ("zip", "ge", "70000", [0, 3]),
    ("zip", "ge", 70000, [0, 3]),
    ("year", "ge", "2020", [0, 2, 3, 4]),
    ("zip", "in", [75001, 1000], [0, 1]),
    ("year", "in", ["2019", "2022"], [1, 2]),
    ("flag", "in", ["true"], [0, 2]),
    ("zip", "nin", [75001], [1, 2, 3]),
    ("year", "nin", ["2019", 2020], [0, 2, 4]),
    ("flag", "nin", ["false"], [0, 2]),
    ("year", "matches", "^202", [0, 2, 3, 4]),
    ("year", "matches", "1$", [0]),
    ("zip", "matches", "^7", [0]),
    ("year", "notmatches", "^202", [1]),
    ("year", "notmatches", "[13]$", [1, 2, 3]),
    ("zip", "notmatches", "00$", [0]),
    ("zip", "isnull", None, [4]),
    ("flag", "notnull", None, [0, 1, 2, 3]),
]


@pytest.mark.parametrize(
    ("column", "operator", "value", "kept"),
    [pytest.param(*case, id=f"{case[0]}-{case[1]}-{case[2]!r}") for case in ODD_VALUES],
)
def test_odd_permission_values_keep_the_rows_a_frame_keeps(
    connector, places, column, operator, value, kept
):
    permission = {"column": column, "operator": operator, "value": value}
    whole = permitted_places(connector, None)

    on_frame = apply_permissions(whole, permission)["_id"].tolist()
    in_mongo = permitted_places(connector, permission)["_id"].tolist()

    assert (in_mongo, on_frame) == (kept, kept)


def test_every_operator_has_an_odd_value_case():
    assert {operator for _, operator, _, _ in ODD_VALUES} == set(OPERATORS)


@pytest.mark.parametrize("operator", ["eq", "ge", "in"])
def test_word_compared_with_a_number_field_matches_nothing(connector, places, operator):
    # Documented limitation: a frame refuses the word; MongoDB cannot tell the field's type.
    value = ["abc"] if operator == "in" else "abc"
    permission = {"column": "year", "operator": operator, "value": value}

    df = permitted_places(connector, permission)

    assert_frame_equal(df, pd.DataFrame(index=pd.RangeIndex(0)))
    with pytest.raises(InvalidDataSourceError, match='number column "year" compares it with'):
        apply_permissions(permitted_places(connector, None), permission)
