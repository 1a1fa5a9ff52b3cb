"""Building pipelines: optional filters, rendering, `$sort` order, permissions and paging."""

from __future__ import annotations

import datetime

import pytest
from bson import ObjectId

from toucan_connectors.errors import InvalidDataSourceError, TemplateError, UnsupportedFeatureError
from toucan_connectors.mongo.pipeline import (
    build_pipeline,
    drop_unset_clauses,
    merge_permissions,
    page_stages,
    render_query,
)


@pytest.mark.parametrize(
    ("match", "given", "expected"),
    [
        pytest.param({"a": "{{ x }}", "b": 1}, set(), {"b": 1}, id="field-removed"),
        pytest.param({"a": "{{ x }}"}, {"x"}, {"a": "{{ x }}"}, id="field-kept-when-given"),
        pytest.param(
            {"a": {"$gte": "{{ lo }}", "$lte": "{{ hi }}"}},
            {"lo"},
            {"a": {"$gte": "{{ lo }}"}},
            id="one-operator-removed",
        ),
        pytest.param({"a": {"$gte": "{{ lo }}"}}, set(), {}, id="field-without-operators-removed"),
        pytest.param({"$or": [{"a": "{{ x }}"}, {"b": 1}]}, set(), {}, id="or-item-lifts-the-or"),
        pytest.param(
            {"$or": [{"a": "{{ x }}"}, {"b": 1}], "c": 2}, set(), {"c": 2}, id="or-lifted-alone"
        ),
        pytest.param(
            {"$or": [{"a": "{{ x }}", "c": 1}, {"b": 1}]},
            set(),
            {"$or": [{"c": 1}, {"b": 1}]},
            id="or-item-partly-lifted",
        ),
        pytest.param(
            {"arr": {"$elemMatch": {"k": "{{ x }}", "v": 9}}},
            set(),
            {"arr": {"$elemMatch": {"v": 9}}},
            id="elem-match-lifted-clause-by-clause",
        ),
        pytest.param(
            {"a": {"$in": ["x", "{{ y }}"]}, "b": 1}, set(), {"b": 1}, id="in-list-removed-whole"
        ),
        pytest.param(
            {"$nor": [{"a": "{{ x }}"}, {"b": 1}]},
            {"x"},
            {"$nor": [{"a": "{{ x }}"}, {"b": 1}]},
            id="nor-kept-when-given",
        ),
        pytest.param({"$or": [{"a": "{{ x }}"}], "b": 1}, set(), {"b": 1}, id="emptied-or-removed"),
        pytest.param(
            {"$and": [{"a": "{{ x }}"}, {"b": "{{ y }}"}]}, set(), {}, id="emptied-and-removed"
        ),
        pytest.param(
            {"$or": [{"a": "{{ x }}", "c": "{{ z }}"}, {"b": 1}], "d": 1},
            set(),
            {"d": 1},
            id="or-with-an-emptied-item-is-lifted",
        ),
        pytest.param(
            {"$and": [{"$or": [{"a": "{{ x }}"}]}, {"b": 1}]},
            set(),
            {"$and": [{"b": 1}]},
            id="nested-groups",
        ),
        pytest.param(
            {"$or": [{}, {"b": 1}]}, set(), {"$or": [{}, {"b": 1}]}, id="written-empty-kept"
        ),
        pytest.param({"a": None, "b": "{{ x }}"}, set(), {"a": None}, id="literal-null-kept"),
        pytest.param({"{{ field }}": 1}, set(), {}, id="templated-key-removed"),
        pytest.param(
            {"a": "{{ user.country }}"}, {"user"}, {"a": "{{ user.country }}"}, id="dotted-variable"
        ),
        pytest.param(
            {"a": {"$in": "{{ range(3) | list }}"}},
            set(),
            {"a": {"$in": "{{ range(3) | list }}"}},
            id="jinja-global-needs-no-parameter",
        ),
    ],
)
def test_drop_unset_clauses(match, given, expected):
    assert drop_unset_clauses(match, given) == expected


@pytest.mark.parametrize(
    ("match", "fix"),
    [
        pytest.param(
            {"$nor": [{"a": "{{ x }}"}, {"b": 1}]},
            "uses x, which is not given: lifting it would exclude every document. Give the "
            "parameter, or move the clause out of \\$nor",
            id="nor",
        ),
        pytest.param(
            {"a": {"$not": {"$eq": "{{ x }}"}}},
            'The \\$not on "a" uses a variable that is not given: .* move the clause out of \\$not',
            id="not",
        ),
        pytest.param(
            {"$and": []}, "empty \\$and list, which MongoDB refuses: remove it", id="empty-and"
        ),
    ],
)
def test_unliftable_clauses_are_refused(match, fix):
    with pytest.raises(InvalidDataSourceError, match=fix):
        drop_unset_clauses(match, set())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("{{ x | default('y') }}", [{"$match": {"a": "y"}}], id="default-filter"),
        pytest.param(
            "{% if x is defined %}{{ x }}{% else %}y{% endif %}",
            [{"$match": {"a": "y"}}],
            id="is-defined-test",
        ),
        pytest.param("{% if x %}{{ x }}{% endif %}", [], id="needs-the-variable"),
    ],
)
def test_template_that_renders_without_its_variable_is_kept(value, expected):
    assert render_query({"a": value}, {}) == expected


def test_unsafe_template_with_a_missing_variable_is_refused_not_lifted():
    with pytest.raises(TemplateError, match="reaches for Python internals"):
        render_query({"a": "{{ x.__class__ }}"}, {})


def test_clause_asking_for_null_is_kept():
    pipeline = render_query({"email": "{{ email }}"}, {"email": None})
    assert pipeline == [{"$match": {"email": None}}]


def test_match_emptied_by_removal_leaves_no_stage():
    assert render_query({"a": "{{ x }}"}, {}) == []


def test_dict_query_becomes_a_match_stage():
    assert render_query({"a": 1}, None) == [{"$match": {"a": 1}}]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("abc", "abc", id="str"),
        pytest.param(3, 3, id="int"),
        pytest.param(2.5, 2.5, id="float"),
        pytest.param(True, True, id="bool"),
        pytest.param(None, None, id="none"),
        pytest.param([1, "a"], [1, "a"], id="list"),
        pytest.param({"k": [1]}, {"k": [1]}, id="dict"),
        pytest.param(datetime.datetime(2024, 1, 1), datetime.datetime(2024, 1, 1), id="datetime"),
        pytest.param("{{ 7*7 }}", "{{ 7*7 }}", id="template-text-stays-text"),
    ],
)
def test_rendering_keeps_the_parameter_type(value, expected):
    assert render_query({"a": "{{ v }}"}, {"v": value}) == [{"$match": {"a": expected}}]


def test_other_stages_need_every_variable():
    with pytest.raises(TemplateError, match='add "n" to the data source'):
        render_query([{"$limit": "{{ n }}"}], {})


@pytest.mark.parametrize(
    ("sort", "expected_keys"),
    [
        pytest.param([{"b": 1}, {"a": -1}], ["b", "a"], id="b-then-a"),
        pytest.param([{"a": -1}, {"b": 1}], ["a", "b"], id="a-then-b"),
    ],
)
def test_sort_list_keeps_its_order(sort, expected_keys):
    (stage,) = render_query([{"$sort": sort}], None)
    assert list(stage["$sort"]) == expected_keys


def test_sort_list_item_with_two_keys_is_refused():
    with pytest.raises(InvalidDataSourceError, match="one single-key document per field"):
        render_query([{"$sort": [{"a": 1, "b": 1}]}], None)


def test_sort_list_naming_a_field_twice_is_refused():
    with pytest.raises(InvalidDataSourceError, match='names "a" twice: keep only the one'):
        render_query([{"$sort": [{"a": 1}, {"b": 1}, {"a": -1}]}], None)


def test_empty_sort_list_is_refused():
    with pytest.raises(
        InvalidDataSourceError, match="name at least one field.*or remove the stage"
    ):
        render_query([{"$sort": []}], None)


def test_stage_with_two_keys_is_refused():
    with pytest.raises(InvalidDataSourceError, match="exactly one key"):
        render_query([{"$match": {}, "$limit": 1}], None)


@pytest.mark.parametrize(
    ("pipeline", "expected"),
    [
        pytest.param([], [{"$match": {"p": 1}}], id="empty-pipeline"),
        pytest.param(
            [{"$sort": {"a": 1}}], [{"$match": {"p": 1}}, {"$sort": {"a": 1}}], id="prepended"
        ),
        pytest.param(
            [{"$match": {"a": 1}}, {"$limit": 2}],
            [{"$match": {"$and": [{"a": 1}, {"p": 1}]}}, {"$limit": 2}],
            id="merged-into-leading-match",
        ),
        pytest.param(
            [{"$geoNear": {"near": [0, 0], "distanceField": "d"}}, {"$limit": 2}],
            [
                {"$geoNear": {"near": [0, 0], "distanceField": "d"}},
                {"$match": {"p": 1}},
                {"$limit": 2},
            ],
            id="after-geo-near",
        ),
        pytest.param(
            [{"$search": {"text": {"query": "x", "path": "a"}}}, {"$match": {"a": 1}}],
            [
                {"$search": {"text": {"query": "x", "path": "a"}}},
                {"$match": {"$and": [{"a": 1}, {"p": 1}]}},
            ],
            id="after-search-merged-into-its-match",
        ),
        pytest.param(
            [{"$vectorSearch": {"index": "v", "path": "e", "queryVector": [1.0], "limit": 3}}],
            [
                {"$vectorSearch": {"index": "v", "path": "e", "queryVector": [1.0], "limit": 3}},
                {"$match": {"p": 1}},
            ],
            id="after-vector-search",
        ),
        pytest.param(
            [{"$sort": {"a": 1}}, {"$geoNear": {"near": [0, 0], "distanceField": "d"}}],
            [
                {"$match": {"p": 1}},
                {"$sort": {"a": 1}},
                {"$geoNear": {"near": [0, 0], "distanceField": "d"}},
            ],
            id="geo-near-not-first-is-left-to-the-server",
        ),
        pytest.param(
            [{"$lookup": {"from": "b", "localField": "k", "foreignField": "k", "as": "bs"}}],
            [
                {"$match": {"p": 1}},
                {"$lookup": {"from": "b", "localField": "k", "foreignField": "k", "as": "bs"}},
            ],
            id="lookup-only-adds-fields",
        ),
    ],
)  # fmt: skip
def test_merge_permissions(pipeline, expected):
    assert merge_permissions(pipeline, {"p": 1}) == expected


@pytest.mark.parametrize(
    "pipeline",
    [
        pytest.param([{"$unionWith": "secret"}], id="first"),
        pytest.param(
            [{"$match": {"a": 1}}, {"$unionWith": {"coll": "secret", "pipeline": []}}], id="later"
        ),
    ],
)
def test_union_with_is_refused_with_permissions(pipeline):
    with pytest.raises(UnsupportedFeatureError, match="read that collection in a data source"):
        merge_permissions(pipeline, {"p": 1})


def test_union_with_is_kept_without_permissions():
    assert build_pipeline([{"$unionWith": "secret"}], None, None) == [{"$unionWith": "secret"}]


@pytest.mark.parametrize(
    "stage",
    [
        {"$searchMeta": {"count": {"type": "total"}}},
        {"$collStats": {"count": {}}},
        {"$indexStats": {}},
        {"$documents": [{"a": 1}]},
        {"$changeStream": {}},
        {"$planCacheStats": {}},
    ],
    ids=lambda stage: next(iter(stage)),
)
def test_stage_reading_no_documents_is_refused_with_permissions(stage):
    with pytest.raises(UnsupportedFeatureError, match="run it without permissions"):
        merge_permissions([stage], {"p": 1})


@pytest.mark.parametrize(
    ("permissions", "expected"),
    [
        pytest.param({"or": []}, [{"$match": {"_id": {"$in": []}}}], id="empty-or-denies-all"),
        pytest.param({"and": []}, [], id="empty-and-permits-all"),
    ],
)
def test_empty_permission_groups(permissions, expected):
    assert build_pipeline([], None, permissions) == expected


@pytest.mark.parametrize(
    ("offset", "limit", "expected"),
    [
        pytest.param(0, None, [], id="whole-result"),
        pytest.param(5, None, [{"$skip": 5}], id="offset-only"),
        pytest.param(5, 4, [{"$skip": 5}, {"$limit": 4}], id="offset-and-limit"),
        pytest.param(0, 3, [{"$limit": 3}], id="limit-only"),
    ],
)
def test_page_stages(offset, limit, expected):
    assert page_stages(offset, limit) == expected


def test_permission_bound_arriving_as_string_is_pushed_as_a_number():
    permissions = {
        "and": [
            {"column": "country", "operator": "eq", "value": "{{ user.attributes.country }}"},
            {"column": "year", "operator": "ge", "value": "{{ user.attributes.min_year }}"},
        ]
    }
    parameters = {"user": {"attributes": {"country": "FR", "min_year": "2020"}}}
    pipeline = build_pipeline({}, parameters, permissions)
    # The number 2020 is the first spelling of the bound: the one a number field meets.
    year_bounds = [
        {"year": {"$gte": 2020, "$type": "number"}},
        {"year": {"$gte": "2020", "$type": "string"}},
    ]
    assert pipeline == [{"$match": {"$and": [{"country": {"$in": ["FR"]}}, {"$or": year_bounds}]}}]


JAN_5 = datetime.datetime(2020, 1, 5, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("permission", "expected"),
    [
        pytest.param({"column": "d", "operator": "gt", "value": "2020-01-05T10:00:00Z"},
                     {"$or": [{"d": {"$gt": datetime.datetime(2020, 1, 5, 10, tzinfo=datetime.UTC),
                                     "$type": "date"}},
                              {"d": {"$gt": "2020-01-05T10:00:00Z", "$type": "string"}}]},
                     id="range-date"),
        pytest.param({"column": "d", "operator": "gt", "value": datetime.date(2020, 1, 5)},
                     {"d": {"$gt": JAN_5}}, id="range-date-value"),
        pytest.param({"column": "zip", "operator": "ge", "value": 70000},
                     {"$or": [{"zip": {"$gte": 70000, "$type": "number"}},
                              {"zip": {"$gte": "70000", "$type": "string"}}]},
                     id="range-number-value"),
        pytest.param({"column": "zip", "operator": "lt", "value": "abc"},
                     {"zip": {"$lt": "abc"}}, id="range-word"),
        pytest.param({"column": "zip", "operator": "in", "value": [75001, 1000]},
                     {"zip": {"$in": [75001, "75001", 1000, "1000"]}}, id="in-numbers"),
        pytest.param({"column": "ok", "operator": "ne", "value": "True"},
                     {"ok": {"$nin": ["True", True, None]}}, id="ne-boolean-word"),
        pytest.param({"column": "year", "operator": "matches", "value": "^202"},
                     {"$or": [{"year": {"$regex": "^202"}},
                              {"$expr": {"$cond": [
                                  {"$isNumber": "$year"},
                                  {"$regexMatch": {"input": {"$toString": "$year"},
                                                   "regex": "^202"}},
                                  False]}}]},
                     id="matches-number-text"),
        pytest.param({"column": "d", "operator": "eq", "value": "2020-01-05"},
                     {"d": {"$in": ["2020-01-05", JAN_5]}},
                     id="eq-date"),
        pytest.param({"column": "d", "operator": "eq", "value": "20200105"},
                     {"d": {"$in": ["20200105", 20200105]}}, id="basic-format-is-a-number"),
        pytest.param({"column": "_id", "operator": "ne", "value": "0123456789abcdef01234567"},
                     {"_id": {"$nin": ["0123456789abcdef01234567",
                                       ObjectId("0123456789abcdef01234567"), None]}},
                     id="ne-object-id"),
    ],
)  # fmt: skip
def test_permission_spellings_in_the_match(permission, expected):
    assert build_pipeline({}, None, permission) == [{"$match": expected}]
