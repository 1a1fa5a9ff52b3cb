from __future__ import annotations

import sqlite3

import pytest

from toucan_connectors.errors import TemplateError
from toucan_connectors.templating import render_sql

CITIES = [("Paris", 2), ("Parma", 1), ("Lyon", 3), ("Lyon (2e)", 4), ("50% off", 0)]


@pytest.fixture
def city():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE city (name text, pop int)")
    conn.executemany("INSERT INTO city VALUES (?, ?)", [*CITIES, ("L'Haÿ", 4)])
    yield conn
    conn.close()


def names(conn, sql, parameters, paramstyle="qmark"):
    text, params = render_sql(sql, parameters, paramstyle)
    return [row[0] for row in conn.execute(text, params)]


QUERY = "SELECT name FROM city WHERE name IN {{ names }} AND pop > %(lo)s AND name LIKE 'P%'"


@pytest.mark.parametrize(
    ("paramstyle", "sql", "params"),
    [
        pytest.param(
            "named",
            "SELECT name FROM city WHERE name IN (:param_0, :param_1) AND pop > :param_2 "
            "AND name LIKE 'P%'",
            {"param_0": "Paris", "param_1": "Lyon", "param_2": 0},
            id="named",
        ),
        pytest.param(
            "pyformat",
            "SELECT name FROM city WHERE name IN (%(param_0)s, %(param_1)s) "
            "AND pop > %(param_2)s AND name LIKE 'P%%'",
            {"param_0": "Paris", "param_1": "Lyon", "param_2": 0},
            id="pyformat",
        ),
        pytest.param(
            "qmark",
            "SELECT name FROM city WHERE name IN (?, ?) AND pop > ? AND name LIKE 'P%'",
            ["Paris", "Lyon", 0],
            id="qmark",
        ),
        pytest.param(
            "numeric",
            "SELECT name FROM city WHERE name IN (:1, :2) AND pop > :3 AND name LIKE 'P%'",
            ["Paris", "Lyon", 0],
            id="numeric",
        ),
        pytest.param(
            "format",
            "SELECT name FROM city WHERE name IN (%s, %s) AND pop > %s AND name LIKE 'P%%'",
            ["Paris", "Lyon", 0],
            id="format",
        ),
    ],
)
def test_render_sql_in_each_paramstyle(paramstyle, sql, params):
    assert render_sql(QUERY, {"names": ["Paris", "Lyon"], "lo": 0}, paramstyle) == (sql, params)


@pytest.mark.parametrize("paramstyle", ["named", "qmark"])
@pytest.mark.parametrize(
    ("sql", "parameters", "expected"),
    [
        pytest.param("SELECT name FROM city WHERE name LIKE 'Par%' ORDER BY name", None,
                     ["Paris", "Parma"], id="c01-no-parameters"),
        pytest.param("SELECT name FROM city WHERE name LIKE 'Par%' AND pop > {{ min_pop }} "
                     "ORDER BY name", {"min_pop": 0}, ["Paris", "Parma"], id="c01-jinja"),
        pytest.param("SELECT name FROM city WHERE name LIKE 'Par%' AND pop > %(min_pop)s "
                     "ORDER BY name", {"min_pop": 0}, ["Paris", "Parma"], id="c01-pyformat"),
        pytest.param("SELECT name FROM city WHERE name LIKE '%(%'", None, ["Lyon (2e)"],
                     id="c01-open-paren"),
        pytest.param("SELECT name FROM city WHERE name LIKE '% off'", None, ["50% off"],
                     id="c01-percent-space"),
    ],
)  # fmt: skip
def test_c01_literal_percent(city, sql, parameters, expected, paramstyle):
    assert names(city, sql, parameters, paramstyle) == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param("SELECT * FROM t WHERE name LIKE 'Par%'", "name LIKE 'Par%%'", id="plain"),
        pytest.param("SELECT * FROM t WHERE name LIKE '%(%'", "name LIKE '%%(%%'", id="paren"),
    ],
)
def test_literal_percent_is_doubled_for_pyformat(sql, expected):
    assert render_sql(sql, None, "pyformat") == (f"SELECT * FROM t WHERE {expected}", {})


@pytest.mark.parametrize(
    ("sql", "values", "expected"),
    [
        pytest.param("SELECT name FROM city WHERE name IN {{ names }} ORDER BY name",
                     ["Paris", "Lyon"], ["Lyon", "Paris"], id="c06-two"),
        pytest.param("SELECT name FROM city WHERE name IN ({{ names }}) ORDER BY name",
                     ["Paris", "Lyon"], ["Lyon", "Paris"], id="c06-own-parentheses"),
        pytest.param("SELECT name FROM city WHERE name IN {{ names }}", [], [], id="c06-empty"),
        pytest.param("SELECT name FROM city WHERE name IN ({{ names }})", [], [],
                     id="c06-empty-own-parentheses"),
        pytest.param("SELECT name FROM city WHERE name IN {{ names }}", ["L'Haÿ"], ["L'Haÿ"],
                     id="c06-quote"),
        pytest.param("SELECT name FROM city WHERE name IN {{ names }}", ["x') OR 1=1 --"], [],
                     id="c06-injection"),
    ],
)  # fmt: skip
def test_c06_list_parameters(city, sql, values, expected):
    assert names(city, sql, {"names": values}) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("x' OR '1'='1", id="quote-or"),
        pytest.param("x; DROP TABLE city; --", id="drop-table"),
        pytest.param("Paris' --", id="comment"),
    ],
)
def test_injection_through_a_parameter_returns_no_row(city, value):
    assert names(city, "SELECT name FROM city WHERE name = {{ v }}", {"v": value}) == []
    assert names(city, "SELECT count(*) FROM city", None) == [6]


def test_quoted_template_is_bound_as_text(city):
    sql = "SELECT name FROM city WHERE name = '{{ v }}'"

    assert render_sql(sql, {"v": 12}) == (
        "SELECT name FROM city WHERE name = :param_0",
        {"param_0": "12"},
    )


def test_quoted_list_template_is_bound_as_texts():
    sql = "SELECT name FROM city WHERE pop IN ('{{ v }}')"

    assert render_sql(sql, {"v": [1, 2]}) == (
        "SELECT name FROM city WHERE pop IN (:param_0, :param_1)",
        {"param_0": "1", "param_1": "2"},
    )


def test_empty_list_in_not_in_is_refused():
    with pytest.raises(TemplateError, match=r"guard the clause with \{% if names %\}"):
        render_sql("SELECT * FROM city WHERE name NOT IN {{ names }}", {"names": []})


def test_optional_clause_can_be_dropped_with_if():
    sql = "SELECT * FROM city{% if lo %} WHERE pop > {{ lo }}{% endif %}"

    assert render_sql(sql, {"lo": None}) == ("SELECT * FROM city", {})


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("SELECT * FROM {{ table }}", id="from"),
        pytest.param("SELECT * FROM city JOIN {{ table }} ON 1 = 1", id="join"),
        pytest.param('SELECT "{{ column }}" FROM city', id="quoted-column"),
        pytest.param("SELECT {{ table }}.name FROM city", id="qualified-column"),
        pytest.param("SELECT name FROM city ORDER BY {{ column }}", id="order-by"),
        pytest.param("SELECT name FROM city GROUP BY {{ column }}", id="group-by"),
        pytest.param("SELECT `{{ column }}` FROM city", id="backquoted-column"),
    ],
)
def test_templated_table_or_column_is_refused(sql):
    with pytest.raises(TemplateError, match="stands where a table or column name goes"):
        render_sql(sql, {"table": "city", "column": "name"})


def test_undefined_variable_in_sql_is_named():
    with pytest.raises(TemplateError, match='uses "region", which is not defined'):
        render_sql("SELECT * FROM city WHERE name = {{ region }}", {})


def test_sandbox_escape_in_sql_is_refused():
    with pytest.raises(TemplateError, match="was refused"):
        render_sql("SELECT {{ ''.__class__.__mro__[1].__subclasses__() }}", {})


def test_parameter_value_in_sql_is_not_rendered():
    assert render_sql("SELECT * FROM city WHERE name = {{ v }}", {"v": "{{ 7*7 }}"}) == (
        "SELECT * FROM city WHERE name = :param_0",
        {"param_0": "{{ 7*7 }}"},
    )
