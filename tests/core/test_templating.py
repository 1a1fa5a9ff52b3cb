from __future__ import annotations

import datetime

import pytest

from toucan_connectors.errors import TemplateError
from toucan_connectors.templating import has_template, render, render_sql, template_variables

ESCAPE = "{{ ''.__class__.__mro__[1].__subclasses__() }}"


@pytest.mark.parametrize(
    ("template", "parameters", "expected"),
    [
        pytest.param("{{ n }}", {"n": 3}, 3, id="int"),
        pytest.param("{{ n }}", {"n": 1.5}, 1.5, id="float"),
        pytest.param("{{ n }}", {"n": "123"}, "123", id="numeric-string-stays-string"),
        pytest.param("{{ n }}", {"n": "007"}, "007", id="leading-zero-string"),
        pytest.param("{{ n }}", {"n": [1, "a"]}, [1, "a"], id="list"),
        pytest.param("{{ n }}", {"n": {"k": 1}}, {"k": 1}, id="dict"),
        pytest.param("{{ n }}", {"n": None}, None, id="none"),
        pytest.param("{{ n }}", {"n": True}, True, id="bool"),
        pytest.param("%(n)s", {"n": 3}, 3, id="pyformat-int"),
        pytest.param(" {{ n }} ", {"n": 3}, 3, id="surrounding-spaces"),
        pytest.param("{{- n -}}", {"n": 3}, 3, id="whitespace-control"),
        pytest.param("{{ -n }}", {"n": 3}, -3, id="negation-is-not-whitespace-control"),
        pytest.param("{{ lo + 1 }}", {"lo": 4}, 5, id="expression"),
        pytest.param("{{ u.attributes.year }}", {"u": {"attributes": {"year": 2020}}}, 2020,
                     id="nested"),
        pytest.param("n = {{ n }}", {"n": 3}, "n = 3", id="text-around"),
        pytest.param("{{ a }}{{ b }}", {"a": 1, "b": 2}, "12", id="two-expressions"),
        pytest.param("n = %(n)s", {"n": 3}, "n = 3", id="pyformat-in-text"),
        pytest.param("50% off", {}, "50% off", id="literal-percent"),
        pytest.param("plain", None, "plain", id="no-template"),
    ],
)  # fmt: skip
def test_render_string(template, parameters, expected):
    result = render(template, parameters)

    assert (result, type(result)) == (expected, type(expected))


def test_render_keeps_datetimes():
    since = datetime.datetime(2024, 1, 1)

    assert render("{{ since }}", {"since": since}) == since


def test_render_walks_dicts_and_lists():
    value = {"$match": {"qty": {"$gte": "{{ lo + 1 }}"}, "sku": ["{{ code }}", 7]}}

    assert render(value, {"lo": 4, "code": "123"}) == {
        "$match": {"qty": {"$gte": 5}, "sku": ["123", 7]}
    }


@pytest.mark.parametrize(
    "template",
    [
        pytest.param("{{ value }}", id="single-expression"),
        pytest.param("code: {{ value }}", id="text-around"),
        pytest.param("%(value)s", id="pyformat"),
    ],
)
def test_parameter_values_are_never_rendered_again(template):
    rendered = render(template, {"value": "{{ 7*7 }}"})

    assert rendered == template.replace("%(value)s", "{{ value }}").replace(
        "{{ value }}", "{{ 7*7 }}"
    )


@pytest.mark.parametrize(
    ("template", "parameters"),
    [
        pytest.param(ESCAPE, {}, id="c07-subclasses"),
        pytest.param("x {{ ''.__class__ }}", {}, id="in-text"),
        pytest.param("{{ n.__class__ }}", {"n": 1}, id="attribute-of-parameter"),
        pytest.param("{{ f.__globals__ }}", {"f": render}, id="function-globals"),
        pytest.param("{{ d.clear() }}", {"d": {"a": 1}}, id="mutating-method"),
    ],
)
def test_sandbox_escapes_are_refused(template, parameters):
    with pytest.raises(TemplateError, match="was refused: it reaches for Python internals"):
        render(template, parameters)


def test_escape_in_a_parameter_value_stays_text():
    assert render("{{ p }}", {"p": ESCAPE}) == ESCAPE


def test_mutating_method_leaves_the_parameter_alone():
    parameters = {"d": {"a": 1}}

    with pytest.raises(TemplateError):
        render("{{ d.clear() }}", parameters)

    assert parameters == {"d": {"a": 1}}


@pytest.mark.parametrize(
    ("template", "parameters", "name"),
    [
        pytest.param("{{ region }}", {}, "region", id="single-expression"),
        pytest.param("region = {{ region }}", None, "region", id="text-around"),
        pytest.param("%(region)s", {}, "region", id="pyformat"),
        pytest.param("{{ user.attributes.region }}", {"user": {"attributes": {}}}, "region",
                     id="missing-key"),
        pytest.param("{{ [region] }}", {}, "region", id="inside-a-list"),
        pytest.param("{{ {'k': region} }}", {}, "region", id="inside-a-dict"),
        pytest.param("{{ (1, region) }}", {}, "region", id="inside-a-tuple"),
        pytest.param("{{ l|map(attribute='zz')|list }}", {"l": [{"a": 1}]}, "zz",
                     id="missing-attribute-of-each"),
        pytest.param("x {{ [region] }}", {}, "region", id="list-in-text"),
    ],
)  # fmt: skip
def test_undefined_variable_is_named(template, parameters, name):
    with pytest.raises(TemplateError) as raised:
        render(template, parameters)

    assert f'uses "{name}", which is not defined: add "{name}"' in str(raised.value)


def test_undefined_variable_never_matches_empty_text():
    with pytest.raises(TemplateError):
        render({"region": "{{ region }}"}, {})


def test_malformed_template_says_to_fix_its_syntax():
    with pytest.raises(TemplateError, match="is malformed .*: fix its syntax"):
        render("{{ a + }}", {"a": 1})


def test_template_variables():
    assert template_variables("{{ a }} %(b)s {{ c.d }} {% if e %}x{% endif %}") == {
        "a",
        "b",
        "c",
        "e",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("{{ a }}", True, id="expression"),
        pytest.param("{% if a %}{% endif %}", True, id="statement"),
        pytest.param("%(a)s", True, id="pyformat"),
        pytest.param("LIKE 'Par%'", False, id="literal-percent"),
    ],
)
def test_has_template(text, expected):
    assert has_template(text) is expected


@pytest.mark.parametrize(
    ("template", "parameters", "message"),
    [
        pytest.param("{{ 'a' * 10**9 }}", {}, "the repeated value would be too large", id="repeat"),
        pytest.param("{{ 2 ** 100000 }}", {}, "the power 100000 is too large", id="power"),
        pytest.param("{{ range(10**9)|list|length }}", {}, "Range too big", id="range"),
        pytest.param("{{ s.ljust(10**8) }}", {"s": "a"}, r"\(the ljust width is too large\)",
                     id="ljust"),
        pytest.param("{{ s|center(10**8) }}", {"s": "a"}, "the center width is too large",
                     id="center-filter"),
        pytest.param("{{ s|indent(10**8) }}", {"s": "a"}, "the indent width is too large",
                     id="indent-filter"),
        pytest.param("{{ '%100000000d' % 1 }}", {}, "a format width or precision is too large",
                     id="percent-width"),
        pytest.param("{{ '%.100000000f' % 1 }}", {}, "a format width or precision is too large",
                     id="percent-precision"),
        pytest.param("{{ '%*d' % (10**8, 1) }}", {}, "a format width or precision is too large",
                     id="percent-star"),
        pytest.param("{{ '%100000000d'|format(1) }}", {},
                     "a format width or precision is too large", id="format-filter"),
        pytest.param("{{ '{:100000000}'.format(1) }}", {},
                     "a format width or precision is too large", id="brace-width"),
        pytest.param("{{ ('a' * 100000).replace('a', 'b' * 100) }}", {},
                     "the replaced text would be too large", id="replace-method"),
        pytest.param("{{ ('a' * 100000)|replace('a', 'b' * 100) }}", {},
                     "the replaced text would be too large", id="replace-filter"),
        pytest.param("{% for i in range(4000) %}{% for j in range(3000) %}x{% endfor %}"
                     "{% endfor %}", {}, "the result would pass 10000000 characters",
                     id="long-output"),
    ],
)  # fmt: skip
def test_huge_template_results_are_refused(template, parameters, message):
    with pytest.raises(TemplateError, match=message):
        render(template, parameters)


@pytest.mark.parametrize(
    ("parameters", "kind"),
    [
        pytest.param({"n": {"a": 1}}, "dict", id="dict"),
        pytest.param({"n": object()}, "object", id="object"),
    ],
)
def test_values_sql_cannot_bind_are_refused(parameters, kind):
    with pytest.raises(TemplateError, match=f"gives a {kind}, which SQL cannot bind"):
        render_sql("SELECT {{ n }}", parameters)


@pytest.mark.parametrize("helper", ["lipsum", "cycler", "joiner"])
def test_jinja_text_helpers_are_not_available(helper):
    with pytest.raises(TemplateError, match=f'uses "{helper}", which is not defined'):
        render("{{ " + helper + " }}", {})


def test_a_function_is_not_a_template_value():
    with pytest.raises(TemplateError, match="gives a function, not a value"):
        render("{{ range }}", {})


@pytest.mark.parametrize(
    ("template", "parameters", "name"),
    [
        pytest.param("SELECT 1 WHERE a IN {{ [region] }}", {}, "region", id="inside-a-list"),
        pytest.param("SELECT 1 WHERE a IN {{ l|map(attribute='zz')|list }}", {"l": [{"a": 1}]},
                     "zz", id="missing-attribute-of-each"),
    ],
)  # fmt: skip
def test_undefined_variable_inside_an_sql_value_is_named(template, parameters, name):
    with pytest.raises(TemplateError, match=f'uses "{name}", which is not defined: add "{name}"'):
        render_sql(template, parameters)


@pytest.mark.parametrize("template", ["{{ self }}", "x {{ self }}", "{{ [self] }}"])
def test_jinja_objects_are_not_template_values(template):
    with pytest.raises(TemplateError, match="was refused: it reaches for Python internals"):
        render(template, {})


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("{{ s.ljust(5) }}|", "ab   |", id="ljust"),
        pytest.param("{{ '%5d' % n }}", "    7", id="percent-width"),
        pytest.param("{{ 'order 1234567: %s' % n }}", "order 1234567: 7", id="long-literal"),
        pytest.param("{{ '{:>4}'.format(n) }}", "   7", id="brace-width"),
        pytest.param("{{ n % 4 }}", 3, id="modulo"),
        pytest.param("{{ s|replace('a', 'xy') }}", "xyb", id="replace"),
    ],
)
def test_small_widths_and_formats_still_work(template, expected):
    assert render(template, {"s": "ab", "n": 7}) == expected
