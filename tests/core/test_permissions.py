from __future__ import annotations

import re
import sqlite3

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from sqlalchemy.dialects import sqlite

from toucan_connectors.errors import InvalidDataSourceError, TemplateError
from toucan_connectors.permissions import parse_permissions, to_number
from toucan_connectors.permissions.mongo_filter import build_mongo_match
from toucan_connectors.permissions.pandas_filter import apply_permissions
from toucan_connectors.permissions.sql_filter import build_sql_predicate

ROWS = [("FR", 2019, 10), ("FR", 2021, 12), ("BE", 2022, 5), (None, 2020, None)]

# operator, value -> the row indexes of ROWS it keeps, the same on a frame and in SQL
OPERATOR_CASES = [
    pytest.param("country", "eq", "FR", [0, 1], id="eq"),
    pytest.param("country", "ne", "FR", [2], id="ne"),
    pytest.param("year", "lt", 2021, [0, 3], id="lt"),
    pytest.param("year", "le", 2021, [0, 1, 3], id="le"),
    pytest.param("year", "gt", 2021, [2], id="gt"),
    pytest.param("year", "ge", 2021, [1, 2], id="ge"),
    pytest.param("country", "in", ["BE", "DE"], [2], id="in"),
    pytest.param("country", "nin", ["BE", "DE"], [0, 1], id="nin"),
    pytest.param("country", "matches", "^F", [0, 1], id="matches"),
    pytest.param("country", "notmatches", "^F", [2], id="notmatches"),
    pytest.param("pop", "isnull", None, [3], id="isnull"),
    pytest.param("pop", "notnull", None, [0, 1, 2], id="notnull"),
]

C13 = {
    "and": [
        {"column": "country", "operator": "eq", "value": "{{ user.attributes.country }}"},
        {"column": "year", "operator": "ge", "value": "{{ user.attributes.min_year }}"},
    ]
}
C13_ROWS = [("FR", 2019, 10), ("FR", 2021, 12), ("BE", 2022, 5)]


def c13_parameters(min_year):
    return {"user": {"attributes": {"country": "FR", "min_year": min_year}}}


def frame(rows):
    df = pd.DataFrame(rows, columns=["country", "year", "pop"])
    return df.astype({"country": "str", "year": "int64", "pop": "Int64"})


@pytest.fixture
def db():
    conn = sqlite3.connect(":memory:")
    conn.create_function(
        "regexp", 2, lambda pattern, text: text is not None and bool(re.search(pattern, text))
    )
    conn.execute("CREATE TABLE t (country text, year int, pop int)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?)", ROWS)
    yield conn
    conn.close()


def select(conn, permissions, parameters=None, numeric_columns=()):
    predicate = build_sql_predicate(permissions, parameters, numeric_columns=numeric_columns)
    compiled = predicate.compile(
        dialect=sqlite.dialect(), compile_kwargs={"render_postcompile": True}
    )
    params = [compiled.params[name] for name in compiled.positiontup]
    return conn.execute(f"SELECT * FROM t WHERE {compiled} ORDER BY rowid", params).fetchall()


@pytest.mark.parametrize(("column", "operator", "value", "kept"), OPERATOR_CASES)
def test_operator_on_a_frame(column, operator, value, kept):
    permissions = {"column": column, "operator": operator, "value": value}

    df = apply_permissions(frame(ROWS), permissions)

    assert_frame_equal(df, frame([ROWS[i] for i in kept]))


@pytest.mark.parametrize(("column", "operator", "value", "kept"), OPERATOR_CASES)
def test_operator_in_sql(db, column, operator, value, kept):
    permissions = {"column": column, "operator": operator, "value": value}

    assert select(db, permissions) == [ROWS[i] for i in kept]


MATCHES_F = {
    "$or": [
        {"country": {"$regex": "^F"}},
        {
            "$expr": {
                "$cond": [
                    {"$isNumber": "$country"},
                    {"$regexMatch": {"input": {"$toString": "$country"}, "regex": "^F"}},
                    False,
                ]
            }
        },
    ]
}


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        pytest.param("eq", "FR", {"country": {"$in": ["FR"]}}, id="eq"),
        pytest.param("eq", "12", {"country": {"$in": ["12", 12]}}, id="eq-number-spelling"),
        pytest.param("ne", "FR", {"country": {"$nin": ["FR", None]}}, id="ne"),
        pytest.param("lt", "2021", {"$or": [{"country": {"$lt": 2021, "$type": "number"}},
                                {"country": {"$lt": "2021", "$type": "string"}}]}, id="lt"),
        pytest.param("le", 2021, {"$or": [{"country": {"$lte": 2021, "$type": "number"}},
                                {"country": {"$lte": "2021", "$type": "string"}}]}, id="le"),
        pytest.param("gt", 2021, {"$or": [{"country": {"$gt": 2021, "$type": "number"}},
                                {"country": {"$gt": "2021", "$type": "string"}}]}, id="gt"),
        pytest.param("ge", 2021, {"$or": [{"country": {"$gte": 2021, "$type": "number"}},
                                {"country": {"$gte": "2021", "$type": "string"}}]}, id="ge"),
        pytest.param("in", ["BE", "7"], {"country": {"$in": ["BE", "7", 7]}}, id="in"),
        pytest.param("nin", ["BE"], {"country": {"$nin": ["BE", None]}}, id="nin"),
        pytest.param("matches", "^F", MATCHES_F, id="matches"),
        pytest.param("notmatches", "^F", {"country": {"$ne": None}, "$nor": [MATCHES_F]},
                     id="notmatches"),
        pytest.param("isnull", None, {"country": {"$eq": None}}, id="isnull"),
        pytest.param("notnull", None, {"country": {"$ne": None}}, id="notnull"),
    ],
)  # fmt: skip
def test_operator_as_mongo_match(operator, value, expected):
    permissions = {"column": "country", "operator": operator, "value": value}

    assert build_mongo_match(permissions) == expected


@pytest.mark.parametrize(
    "min_year", [pytest.param("2020", id="string"), pytest.param('"2020"', id="json-quoted")]
)
def test_c13_on_a_frame(min_year):
    df = apply_permissions(frame(C13_ROWS), C13, c13_parameters(min_year))

    assert_frame_equal(df, frame([("FR", 2021, 12)]))


@pytest.mark.parametrize(
    "min_year", [pytest.param("2020", id="string"), pytest.param('"2020"', id="json-quoted")]
)
def test_c13_in_sql(db, min_year):
    rows = select(db, C13, c13_parameters(min_year), numeric_columns=["year"])

    assert rows == [("FR", 2021, 12)]


@pytest.mark.parametrize(
    "min_year", [pytest.param("2020", id="string"), pytest.param('"2020"', id="json-quoted")]
)
def test_c13_sql_binds_a_number_for_numeric_columns(min_year):
    predicate = build_sql_predicate(C13, c13_parameters(min_year), numeric_columns=["year"])

    compiled = predicate.compile(dialect=sqlite.dialect())
    assert (str(compiled), list(compiled.params.values())) == (
        "country = ? AND year >= ?",
        ["FR", 2020],
    )


@pytest.mark.parametrize(
    "min_year", [pytest.param("2020", id="string"), pytest.param('"2020"', id="json-quoted")]
)
def test_c13_as_mongo_match(min_year):
    year_bounds = [
        {"year": {"$gte": 2020, "$type": "number"}},
        {"year": {"$gte": "2020", "$type": "string"}},
    ]
    assert build_mongo_match(C13, c13_parameters(min_year)) == {
        "$and": [{"country": {"$in": ["FR"]}}, {"$or": year_bounds}]
    }


@pytest.mark.parametrize(
    ("values", "kept"),
    [pytest.param(["FR", "BE"], [0, 1, 2], id="both"), pytest.param([], [], id="empty")],
)
def test_c13_in_list_on_a_frame(values, kept):
    permissions = {"column": "country", "operator": "in", "value": values}

    df = apply_permissions(frame(C13_ROWS), permissions)

    assert_frame_equal(df, frame([C13_ROWS[i] for i in kept]))


@pytest.mark.parametrize(
    ("values", "kept"),
    [pytest.param(["FR", "BE"], [0, 1, 2], id="both"), pytest.param([], [], id="empty")],
)
def test_c13_in_list_in_sql(db, values, kept):
    permissions = {"column": "country", "operator": "in", "value": values}

    assert select(db, permissions) == [ROWS[i] for i in kept]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param(["FR", "BE"], {"country": {"$in": ["FR", "BE"]}}, id="both"),
        pytest.param([], {"country": {"$in": []}}, id="empty"),
    ],
)
def test_c13_in_list_as_mongo_match(values, expected):
    permissions = {"column": "country", "operator": "in", "value": values}

    assert build_mongo_match(permissions) == expected


def test_or_group_on_a_frame_and_in_sql(db):
    permissions = {
        "or": [
            {"column": "country", "operator": "eq", "value": "BE"},
            {"column": "year", "operator": "lt", "value": 2020},
        ]
    }

    assert_frame_equal(apply_permissions(frame(ROWS), permissions), frame([ROWS[0], ROWS[2]]))
    assert select(db, permissions) == [ROWS[0], ROWS[2]]


@pytest.mark.parametrize(
    ("kind", "kept"), [pytest.param("and", [0, 1, 2, 3], id="and"), pytest.param("or", [], id="or")]
)
def test_empty_group(db, kind, kept):
    assert_frame_equal(apply_permissions(frame(ROWS), {kind: []}), frame([ROWS[i] for i in kept]))
    assert select(db, {kind: []}) == [ROWS[i] for i in kept]


def test_numeric_string_compares_as_number_on_a_frame():
    permissions = {"column": "year", "operator": "gt", "value": "2021"}

    assert_frame_equal(apply_permissions(frame(ROWS), permissions), frame([ROWS[2]]))


def test_datetime_column_compares_with_a_string():
    df = pd.DataFrame({"at": pd.to_datetime(["2024-01-01", "2024-02-01"])})
    permissions = {"column": "at", "operator": "ge", "value": "2024-01-15"}

    expected = pd.DataFrame({"at": pd.to_datetime(["2024-02-01"])})
    assert_frame_equal(apply_permissions(df, permissions), expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2020", 2020, id="int"),
        pytest.param("-1.5", -1.5, id="float"),
        pytest.param("+2020", 2020, id="plus-sign"),
        pytest.param("1e3", 1000.0, id="exponent"),
        pytest.param("007", 7, id="leading-zero"),
        pytest.param("FR", "FR", id="text"),
        pytest.param(2020, 2020, id="already-number"),
    ],
)
def test_to_number(text, expected):
    assert (to_number(text), type(to_number(text))) == (expected, type(expected))


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        pytest.param(["eq"], "a permission must be a dict", id="not-a-dict"),
        pytest.param({"column": "a", "operator": "like", "value": 1}, 'operator "like" is not one',
                     id="unknown-operator"),
        pytest.param({"column": "a", "value": 1}, 'exactly "column", "operator" and "value"',
                     id="no-operator"),
        pytest.param({"and": [], "or": []}, '"and" must be the only key', id="two-groups"),
        pytest.param({"column": "a", "operator": "in", "value": "x"}, '"in" needs a list value',
                     id="in-without-list"),
        pytest.param({"column": "a", "operator": "matches", "value": 1},
                     '"matches" needs a regular expression string', id="matches-without-text"),
    ],
)  # fmt: skip
def test_malformed_permission_says_which_part(tree, message):
    with pytest.raises(InvalidDataSourceError, match=re.escape(message)):
        parse_permissions(tree)


def test_unknown_permission_column_lists_the_columns():
    permissions = {"column": "contry", "operator": "eq", "value": "FR"}

    with pytest.raises(InvalidDataSourceError, match="use one of country, year, pop"):
        apply_permissions(frame(ROWS), permissions)


def test_undefined_permission_variable_is_named():
    with pytest.raises(TemplateError, match='uses "country"'):
        parse_permissions({"column": "a", "operator": "eq", "value": "{{ country }}"}, {})


def test_sql_predicate_refuses_a_word_for_a_number_column():
    permission = {"column": "id", "operator": "gt", "value": "abc"}

    with pytest.raises(InvalidDataSourceError, match="number column \"id\" compares it with 'abc'"):
        build_sql_predicate(permission, numeric_columns={"id"})


@pytest.mark.parametrize(
    ("permission", "message"),
    [
        pytest.param(
            {"column": "country", "operator": "eq", "value": None},
            '"eq" needs a value: use "isnull" or "notnull" for nulls',
            id="eq-none",
        ),
        pytest.param(
            {"column": "pop", "operator": "gt", "value": True},
            '"gt" cannot order a boolean',
            id="gt-boolean",
        ),
    ],
)
def test_values_no_backend_agrees_on_are_refused(permission, message):
    with pytest.raises(InvalidDataSourceError, match=re.escape(message)):
        parse_permissions(permission)


@pytest.mark.parametrize(
    "permission",
    [
        pytest.param({"column": "year", "operator": "eq", "value": [2019, 2021, 2022, 2020]},
                     id="eq-list"),
        pytest.param({"column": "country", "operator": "ne", "value": ["FR"]}, id="ne-list"),
        pytest.param({"column": "year", "operator": "ge", "value": {"a": 1}}, id="ge-dict"),
        pytest.param({"column": "year", "operator": "eq", "value": "{{ years }}"}, id="templated"),
    ],
)  # fmt: skip
def test_scalar_operator_with_a_list_is_refused_everywhere(db, permission):
    parameters = {"years": [2019, 2021]}
    message = 'compares with one value, not a .*: use "in" or "nin" for a list'

    with pytest.raises(InvalidDataSourceError, match=message):
        apply_permissions(frame(ROWS), permission, parameters)
    with pytest.raises(InvalidDataSourceError, match=message):
        select(db, permission, parameters, numeric_columns=["year"])
    with pytest.raises(InvalidDataSourceError, match=message):
        build_mongo_match(permission, parameters)


def test_nested_list_for_in_is_refused():
    with pytest.raises(InvalidDataSourceError, match='"in" needs a flat list of values'):
        parse_permissions({"column": "year", "operator": "in", "value": [[2019, 2021]]})


@pytest.mark.parametrize(
    "permission",
    [
        pytest.param({"column": "year", "operator": "gt", "value": "abc"}, id="gt-word"),
        pytest.param({"column": "year", "operator": "eq", "value": "abc"}, id="eq-word"),
        pytest.param({"column": "year", "operator": "in", "value": ["2021", "x"]}, id="in-word"),
    ],
)
def test_word_for_a_number_column_is_refused_on_a_frame_and_in_sql(db, permission):
    message = "number column \"year\" compares it with '(abc|x)', which is not a number: fix"

    with pytest.raises(InvalidDataSourceError, match=message):
        apply_permissions(frame(ROWS), permission)
    with pytest.raises(InvalidDataSourceError, match=message):
        select(db, permission, numeric_columns=["year"])


@pytest.mark.parametrize(
    ("permission", "kept"),
    [
        pytest.param({"column": "year", "operator": "ge", "value": "+2021"}, [1, 2], id="plus"),
        pytest.param({"column": "year", "operator": "eq", "value": "2021.0"}, [1], id="float"),
        pytest.param({"column": "country", "operator": "lt", "value": 5}, [], id="text-lt-int"),
        pytest.param({"column": "country", "operator": "ge", "value": "C"}, [0, 1], id="text-ge"),
    ],
)  # fmt: skip
def test_coercion_is_the_same_on_a_frame_and_in_sql(db, permission, kept):
    df = apply_permissions(frame(ROWS), permission)
    rows = select(db, permission, numeric_columns=["year"])

    assert_frame_equal(df, frame([ROWS[i] for i in kept]))
    assert rows == [ROWS[i] for i in kept]


def _zips() -> pd.DataFrame:
    return pd.DataFrame(
        {"zip": ["69001", "75001", "1000", None], "ok": [True, False, True, None]}
    ).astype({"zip": "str", "ok": "boolean"})


@pytest.mark.parametrize(
    ("permission", "kept"),
    [
        pytest.param({"column": "zip", "operator": "eq", "value": 75001}, [1], id="text-eq-int"),
        pytest.param({"column": "zip", "operator": "in", "value": [75001, 1000]}, [1, 2],
                     id="text-in-ints"),
        pytest.param({"column": "ok", "operator": "eq", "value": "true"}, [0, 2], id="bool-word"),
        pytest.param({"column": "ok", "operator": "ne", "value": "FALSE"}, [0, 2],
                     id="bool-word-any-case"),
        pytest.param({"column": "ok", "operator": "eq", "value": True}, [0, 2], id="bool"),
    ],
)  # fmt: skip
def test_text_and_boolean_columns_on_a_frame_and_in_sql(permission, kept):
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (zip text, ok boolean)")
    rows = [("69001", True), ("75001", False), ("1000", True), (None, None)]
    conn.executemany("INSERT INTO t VALUES (?, ?)", rows)
    predicate = build_sql_predicate(permission, text_columns=["zip"], boolean_columns=["ok"])
    compiled = predicate.compile(
        dialect=sqlite.dialect(), compile_kwargs={"render_postcompile": True}
    )
    params = [compiled.params[name] for name in compiled.positiontup]
    found = conn.execute(f"SELECT rowid - 1 FROM t WHERE {compiled} ORDER BY rowid", params)

    expected = _zips().iloc[kept].reset_index(drop=True)
    assert_frame_equal(apply_permissions(_zips(), permission), expected)
    assert [row[0] for row in found] == kept


@pytest.mark.parametrize(
    ("permission", "message"),
    [
        pytest.param({"column": "ok", "operator": "eq", "value": "yes"},
                     'boolean column "ok" compares it with \'yes\': use true or false',
                     id="bool-other-word"),
        pytest.param({"column": "ok", "operator": "lt", "value": "true"},
                     'uses "lt", which cannot order booleans: use "eq" or "ne"',
                     id="bool-range-word"),
    ],
)  # fmt: skip
def test_boolean_column_refuses_other_values(permission, message):
    with pytest.raises(InvalidDataSourceError, match=message):
        apply_permissions(_zips(), permission)
    with pytest.raises(InvalidDataSourceError, match=message):
        build_sql_predicate(permission, boolean_columns=["ok"])


def test_date_column_refuses_a_word():
    df = pd.DataFrame({"at": pd.to_datetime(["2024-01-02"])})
    permission = {"column": "at", "operator": "ge", "value": "soon"}

    with pytest.raises(InvalidDataSourceError, match="write an ISO 8601 date such as 2024-01-31"):
        apply_permissions(df, permission)


def test_mixed_object_column_comparison_is_an_input_error():
    df = pd.DataFrame({"v": pd.Series([1, "a"], dtype="object")})
    permission = {"column": "v", "operator": "gt", "value": "b"}

    with pytest.raises(InvalidDataSourceError, match=r"a value of another type .*: fix the"):
        apply_permissions(df, permission)
