"""Build the aggregation pipeline of a MongoDB data source: templates, permissions, paging."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jinja2.defaults import DEFAULT_NAMESPACE
from jinja2.exceptions import SecurityError

from toucan_connectors.errors import (
    InvalidDataSourceError,
    TemplateError,
    UnsupportedFeatureError,
)
from toucan_connectors.permissions.mongo_filter import build_mongo_match, to_bson_value
from toucan_connectors.templating import has_template, render, template_variables

logger = logging.getLogger(__name__)

__all__ = [
    "build_pipeline",
    "drop_unset_clauses",
    "merge_permissions",
    "page_stages",
    "render_query",
]

_LOGICAL = ("$and", "$or", "$nor")
# Stages that must open a pipeline and pass documents on: permissions go right after them.
_OPENING_STAGES = frozenset({"$search", "$vectorSearch", "$geoNear"})
# Stages that must open a pipeline and yield something else than stored documents.
_STATS_STAGES = frozenset(
    {
        "$searchMeta",
        "$collStats",
        "$indexStats",
        "$planCacheStats",
        "$documents",
        "$changeStream",
        "$currentOp",
        "$listSessions",
        "$listLocalSessions",
        "$listSearchIndexes",
        "$listSampledQueries",
        "$shardedDataDistribution",
        "$querySettings",
        "$queryStats",
    }
)
# Stages adding documents that a match at the start of the pipeline never sees.
_UNFILTERED_STAGES = frozenset({"$unionWith"})
# Names Jinja provides itself: a template using them needs no parameter.
_JINJA_GLOBALS = frozenset(DEFAULT_NAMESPACE)

Query = Mapping[str, Any] | Sequence[Mapping[str, Any]]


def build_pipeline(
    query: Query,
    parameters: Mapping[str, Any] | None,
    permissions: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Return the rendered pipeline of `query` with the permissions' `$match` merged in front."""
    pipeline = render_query(query, parameters)
    if permissions:
        pipeline = merge_permissions(pipeline, build_mongo_match(permissions, parameters))
    return pipeline


def render_query(query: Query, parameters: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Turn a `$match` document or a pipeline into a rendered pipeline.

    In every `$match`, clauses whose templates use a variable missing from `parameters` are
    removed first (see `drop_unset_clauses`); other stages must have all their variables.
    """
    stages = [{"$match": query}] if isinstance(query, Mapping) else list(query)
    given = set(parameters or {})

    pipeline: list[dict[str, Any]] = []
    for position, stage in enumerate(stages):
        if not isinstance(stage, Mapping) or len(stage) != 1:
            raise InvalidDataSourceError(
                f"Stage {position} of the pipeline is {stage!r}: each stage must be a "
                'document with exactly one key, such as {"$match": {...}}.'
            )
        name, body = next(iter(stage.items()))
        if name == "$match" and isinstance(body, Mapping):
            body = drop_unset_clauses(body, given, parameters or {})
            if not body:
                continue
        body = to_bson_value(render(body, parameters), _subject(position, parameters))
        if name == "$sort" and isinstance(body, list):
            body = _ordered_sort(body)
        pipeline.append({name: body})
    return pipeline


def drop_unset_clauses(
    match: Mapping[str, Any], given: set[str], parameters: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Lift the clauses of a `$match` whose templates use variables not in `given`.

    A lifted clause restricts nothing: a field clause is removed, an operator
    (`{"$gte": "{{ lo }}"}`) is removed alone when its siblings are set, an `$and` item is
    dropped, and an `$or` with a lifted item is removed whole (one of its items is always
    true). An `$elemMatch` document is lifted clause by clause. A missing variable inside `$nor`
    or `$not` is refused, since lifting it would turn that clause into "match nothing". A
    template that renders without the variable (`{{ x | default(1) }}`) is kept when
    `parameters` are given. A clause whose variable is given as None is kept: it asks for null,
    which also matches documents missing the field.

    Raises:
        InvalidDataSourceError: `$nor` or `$not` uses a missing variable, or a group is empty.
    """
    kept: dict[str, Any] = {}
    for key, value in match.items():
        if _needs_missing(key, given, parameters):
            continue
        if key in _LOGICAL and isinstance(value, list):
            items = _lift_group(key, value, given, parameters)
            if items is not None:
                kept[key] = items
        elif _is_operator_document(value):
            operators = _lift_operators(key, value, given, parameters)
            if operators:
                kept[key] = operators
        elif not _needs_missing(value, given, parameters):
            kept[key] = value
    return kept


def _lift_group(
    kind: str, items: list[Any], given: set[str], parameters: Mapping[str, Any] | None
) -> list[Any] | None:
    """Return the items of `$and`/`$or`/`$nor` left after lifting, or None to remove the group."""
    if not items:
        raise InvalidDataSourceError(
            f"The $match holds an empty {kind} list, which MongoDB refuses: remove it or give "
            "it at least one clause."
        )
    kept: list[Any] = []
    for item in items:
        if not isinstance(item, Mapping) or not item:
            kept.append(item)
            continue
        remaining = drop_unset_clauses(item, given, parameters)
        if remaining != item and kind == "$nor":
            missing = sorted(_variables(item) - given - _JINJA_GLOBALS)
            raise InvalidDataSourceError(
                f"A $nor clause uses {', '.join(missing)}, which is not given: lifting it "
                "would exclude every document. Give the parameter, or move the clause out of "
                "$nor."
            )
        if not remaining:
            if kind == "$or":
                return None
            continue
        kept.append(remaining)
    return kept or None


def _lift_operators(
    field: str, operators: Mapping[str, Any], given: set[str], parameters: Mapping[str, Any] | None
) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for operator, argument in operators.items():
        if operator == "$elemMatch" and isinstance(argument, Mapping) and argument:
            inner = drop_unset_clauses(argument, given, parameters)
            if inner:
                kept[operator] = inner
        elif not _needs_missing(argument, given, parameters):
            kept[operator] = argument
        elif operator == "$not":
            raise InvalidDataSourceError(
                f'The $not on "{field}" uses a variable that is not given: lifting it would '
                "exclude every document. Give the parameter, or move the clause out of $not."
            )
    return kept


def merge_permissions(
    pipeline: list[dict[str, Any]], permission_match: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Merge a permission `$match` into the pipeline's leading `$match`, or insert it.

    The match goes first, or right after a stage that must open the pipeline (`$search`,
    `$vectorSearch`, `$geoNear`).

    Raises:
        UnsupportedFeatureError: the pipeline brings documents the match would not filter
            (`$unionWith`), or opens with a stage that reads no documents (`$collStats`...).
    """
    if not permission_match:
        return pipeline
    _check_permitted_stages(pipeline)

    position = 1 if pipeline and _stage_name(pipeline[0]) in _OPENING_STAGES else 0
    head, rest = pipeline[:position], pipeline[position:]
    if rest and "$match" in rest[0]:
        first = rest[0]["$match"]
        merged = {"$and": [first, dict(permission_match)]} if first else dict(permission_match)
        return [*head, {"$match": merged}, *rest[1:]]
    return [*head, {"$match": dict(permission_match)}, *rest]


def _check_permitted_stages(pipeline: list[dict[str, Any]]) -> None:
    for position, stage in enumerate(pipeline):
        name = _stage_name(stage)
        if name in _UNFILTERED_STAGES:
            raise UnsupportedFeatureError(
                f"Stage {position} of the pipeline is {name}, which adds documents of another "
                "collection that permissions would not filter: remove it, or read that "
                "collection in a data source of its own."
            )
        if position == 0 and name in _STATS_STAGES:
            raise UnsupportedFeatureError(
                f"The pipeline opens with {name}, which reads no stored documents, so "
                "permissions cannot filter it: run it without permissions."
            )


def _subject(position: int, parameters: Mapping[str, Any] | None) -> Callable[[Any], str]:
    """Return a function naming the parameter (or stage) a rendered value came from."""

    def subject(value: Any) -> str:
        for name, given in (parameters or {}).items():
            if given is value:
                return f'Parameter "{name}"'
        return f"A value in stage {position} of the pipeline"

    return subject


def _stage_name(stage: Mapping[str, Any]) -> str:
    return str(next(iter(stage), ""))


def page_stages(offset: int, limit: int | None) -> list[dict[str, Any]]:
    """Return the `$skip` and `$limit` stages of a page (none for the whole result)."""
    stages: list[dict[str, Any]] = []
    if offset:
        stages.append({"$skip": offset})
    if limit is not None:
        # `$limit` must be positive; a page of 0 rows is asked as 1 row and trimmed by the core.
        stages.append({"$limit": max(limit, 1)})
    return stages


def _is_operator_document(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(isinstance(key, str) and key.startswith("$") for key in value)
    )


def _needs_missing(value: Any, given: set[str], parameters: Mapping[str, Any] | None) -> bool:
    """Tell whether `value` uses a variable that is not given and cannot do without it."""
    if not _variables(value) - given - _JINJA_GLOBALS:
        return False
    if parameters is None:
        return True
    try:
        render(value, parameters)
    except TemplateError as exc:
        if isinstance(exc.__cause__, SecurityError):
            raise
        return True
    return False


def _variables(value: Any) -> set[str]:
    if isinstance(value, str):
        return template_variables(value) if has_template(value) else set()
    if isinstance(value, Mapping):
        found: set[str] = set()
        for key, item in value.items():
            found |= _variables(key) | _variables(item)
        return found
    if isinstance(value, list | tuple):
        return set().union(*(_variables(item) for item in value)) if value else set()
    return set()


def _ordered_sort(keys: list[Any]) -> dict[str, Any]:
    if not keys:
        raise InvalidDataSourceError(
            'A $sort is an empty list: name at least one field, such as [{"year": -1}], or '
            "remove the stage."
        )
    ordered: dict[str, Any] = {}
    for item in keys:
        if not isinstance(item, Mapping) or len(item) != 1:
            raise InvalidDataSourceError(
                f"A $sort given as a list holds {item!r}: write one single-key document per "
                'field, such as [{"year": -1}, {"name": 1}].'
            )
        field = next(iter(item))
        if field in ordered:
            raise InvalidDataSourceError(
                f'A $sort given as a list names "{field}" twice: keep only the one you mean.'
            )
        ordered.update(item)
    return ordered
