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
        pytest.param("SELECT {{ table }}.name FROM city", id="qualified-column"),
        pytest.param("SELECT name FROM city ORDER BY {{ column }}", id="order-by"),
        pytest.param("SELECT name FROM city GROUP BY {{ column }}", id="group-by"),
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


PARAMSTYLES = ["named", "pyformat", "qmark", "numeric", "format"]


@pytest.mark.parametrize("paramstyle", PARAMSTYLES)
@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("SELECT name FROM city WHERE name LIKE '%{{ v }}%'", id="like-pattern"),
        pytest.param("SELECT '{{ a }}-{{ b }}' AS code", id="two-in-one-literal"),
        pytest.param("SELECT name FROM city WHERE name = 'x{{ v }}'", id="prefix-in-literal"),
        pytest.param("SELECT name FROM city WHERE name = '%(v)s%'", id="pyformat-in-literal"),
        pytest.param("SELECT $$ {{ v }} $$", id="dollar-quoted"),
        pytest.param("SELECT $tag$ it's {{ v }} $tag$", id="tagged-dollar-quoted"),
        pytest.param("SELECT E'{{ v }}'", id="escape-string"),
        pytest.param("SELECT 'a\\' || {{ v }} || '", id="backslash-quote-mysql"),
    ],
)
def test_template_inside_a_string_literal_is_refused(sql, paramstyle):
    with pytest.raises(TemplateError, match=r"join the pieces in SQL: '%' \|\| \{\{ v \}\} \|\|"):
        render_sql(sql, {"v": "' OR 1=1 --", "a": "x", "b": "y"}, paramstyle)


@pytest.mark.parametrize("paramstyle", PARAMSTYLES)
@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("SELECT name FROM city WHERE pop > 0\n-- AND name = {{ v }}\n", id="dashes"),
        pytest.param("SELECT name FROM city /* WHERE name = {{ v }} */", id="block"),
        pytest.param("SELECT name FROM city /* a /* b */ {{ v }} */", id="nested-block"),
        pytest.param("SELECT name FROM city # WHERE name = {{ v }}", id="mysql-hash"),
    ],
)
def test_template_inside_a_comment_is_refused(sql, paramstyle):
    with pytest.raises(TemplateError, match=r"Remove the template from the comment, or use \{%"):
        render_sql(sql, {"v": "x\nOR 1=1 --"}, paramstyle)


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param('SELECT "{{ v }}" FROM city', id="double-quoted"),
        pytest.param("SELECT `{{ v }}` FROM city", id="backquoted"),
        pytest.param("SELECT [{{ v }}] FROM city", id="bracketed-sqlite"),
    ],
)
def test_template_inside_a_quoted_name_is_refused(sql):
    with pytest.raises(TemplateError, match=r"write '\{\{ v \}\}' in single quotes for a text"):
        render_sql(sql, {"v": "name"})


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        pytest.param("SELECT tags[{{ i }}] FROM t", "postgres", "SELECT tags[:param_0] FROM t",
                     id="postgres-array-subscript"),
        pytest.param("SELECT doc #>> {{ i }} FROM t", "postgres", "SELECT doc #>> :param_0 FROM t",
                     id="postgres-hash-operator"),
        pytest.param("SELECT 'a\\' || {{ i }} || 'b'", "postgres",
                     "SELECT 'a\\' || :param_0 || 'b'", id="postgres-backslash-is-text"),
        pytest.param("SELECT 'it''s' || {{ i }}", None, "SELECT 'it''s' || :param_0",
                     id="doubled-quote"),
        pytest.param("SELECT 'a--b', '/*', {{ i }}", None, "SELECT 'a--b', '/*', :param_0",
                     id="comment-marks-in-literals"),
        pytest.param("SELECT 1 -- a comment\nWHERE x = {{ i }}", None,
                     "SELECT 1 -- a comment\nWHERE x = :param_0", id="after-a-comment"),
        pytest.param("SELECT \"a'b\", {{ i }}", None, "SELECT \"a'b\", :param_0",
                     id="quote-inside-a-name"),
    ],
)  # fmt: skip
def test_template_outside_literals_and_comments_is_bound(sql, dialect, expected):
    assert render_sql(sql, {"i": 2}, "named", dialect) == (expected, {"param_0": 2})


def test_dialect_specific_text_is_refused_without_the_dialect():
    with pytest.raises(TemplateError, match="inside a quoted name"):
        render_sql("SELECT tags[{{ i }}] FROM t", {"i": 2})
    with pytest.raises(TemplateError, match="inside an SQL comment"):
        render_sql("SELECT doc #>> {{ i }} FROM t", {"i": 2})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("ar", ["Paris", "Parma"], id="pattern"),
        pytest.param("' OR 1=1 --", [], id="injection"),
        pytest.param("%", ["50% off", "L'Haÿ", "Lyon", "Lyon (2e)", "Paris", "Parma"],
                     id="wildcard-value"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("paramstyle", ["named", "qmark", "numeric"])
def test_like_pattern_joined_in_sql_is_bound(city, value, expected, paramstyle):
    sql = "SELECT name FROM city WHERE name LIKE '%' || {{ v }} || '%' ORDER BY name"

    assert names(city, sql, {"v": value}, paramstyle) == expected


def test_sql_without_template_is_not_rendered():
    assert render_sql("SELECT '{#' AS x, 'Par%' AS y", None, "pyformat") == (
        "SELECT '{#' AS x, 'Par%%' AS y",
        {},
    )
    assert render_sql("SELECT '{#' AS x", None, "qmark") == ("SELECT '{#' AS x", [])


def test_literal_jinja_marks_next_to_a_template_point_to_raw():
    with pytest.raises(TemplateError, match=r"wrap it in \{% raw %\}"):
        render_sql("SELECT 1 WHERE a LIKE '{%' AND b = {{ v }}", {"v": 1})

    sql = "SELECT 1 WHERE a LIKE '{% raw %}{%{% endraw %}' AND b = {{ v }}"
    expected = ("SELECT 1 WHERE a LIKE '{%' AND b = :param_0", {"param_0": 1})
    assert render_sql(sql, {"v": 1}) == expected


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("{% macro m(x) %}{{ x }}{% endmacro %}SELECT {{ m(v) }}", id="macro"),
        pytest.param("{% set y %}{{ v }}{% endset %}SELECT {{ y }}", id="set-block"),
    ],
)
def test_macro_or_set_block_output_is_refused(sql):
    with pytest.raises(TemplateError, match=r"print the parameter itself, \{\{ name \}\}"):
        render_sql(sql, {"v": "abc"})


def test_nul_character_in_sql_is_refused():
    with pytest.raises(TemplateError, match="remove it from the SQL text"):
        render_sql("SELECT \x000\x00", {"v": 1})
