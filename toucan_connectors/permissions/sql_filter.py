"""Translate a permission tree into a SQLAlchemy predicate with bound values."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from toucan_connectors.errors import InvalidDataSourceError
from toucan_connectors.permissions.model import (
    ColumnKind,
    Condition,
    PermissionNode,
    coerce_for_column,
    parse_permissions,
)


def build_sql_predicate(
    permissions: Mapping[str, Any],
    parameters: Mapping[str, Any] | None = None,
    *,
    numeric_columns: Collection[str] = (),
    columns: Collection[str] | None = None,
    text_columns: Collection[str] = (),
    boolean_columns: Collection[str] = (),
) -> ColumnElement[bool]:
    """Return a predicate over ``sa.column(name)`` references; every value is a bound parameter.

    Values are coerced by the column's kind with the rule every backend shares
    (`coerce_for_column`): strings spelling numbers are bound as numbers for `numeric_columns`,
    numbers as their text for `text_columns`, "true"/"false" as booleans for
    `boolean_columns`. When `columns` is given, a condition on any other column is refused.
    """
    tree = parse_permissions(permissions, parameters)
    if columns is not None:
        _check_columns(tree, list(columns))
    kinds: dict[str, ColumnKind] = {name: "text" for name in text_columns}
    kinds.update({name: "bool" for name in boolean_columns})
    kinds.update({name: "number" for name in numeric_columns})
    return _translate(tree, kinds)


def _check_columns(node: PermissionNode, columns: list[str]) -> None:
    if isinstance(node, Condition):
        if node.column not in columns:
            raise InvalidDataSourceError(
                f'Permission column "{node.column}" is not in the result: '
                f"use one of {', '.join(columns)}."
            )
        return
    for item in node.items:
        _check_columns(item, columns)


def _translate(node: PermissionNode, kinds: dict[str, ColumnKind]) -> ColumnElement[bool]:
    if isinstance(node, Condition):
        return _condition(node, kinds.get(node.column, "other"))
    clauses = [_translate(item, kinds) for item in node.items]
    if node.kind == "and":
        return sa.and_(sa.true(), *clauses)
    return sa.or_(sa.false(), *clauses)


def _condition(condition: Condition, kind: ColumnKind) -> ColumnElement[bool]:
    column: sa.ColumnClause[Any] = sa.column(condition.column)
    value = coerce_for_column(condition, kind)
    match condition.operator:
        case "eq":
            return column == sa.bindparam(None, value)
        case "ne":
            return column != sa.bindparam(None, value)
        case "lt":
            return column < sa.bindparam(None, value)
        case "le":
            return column <= sa.bindparam(None, value)
        case "gt":
            return column > sa.bindparam(None, value)
        case "ge":
            return column >= sa.bindparam(None, value)
        case "in":
            return column.in_(value) if value else sa.false()
        case "nin":
            return (
                sa.and_(column.is_not(None), column.not_in(value)) if value else column.is_not(None)
            )
        case "matches":
            return _as_text(column).regexp_match(value)
        case "notmatches":
            return sa.and_(column.is_not(None), sa.not_(_as_text(column).regexp_match(value)))
        case "isnull":
            return column.is_(None)
        case _:
            return column.is_not(None)


def _as_text(column: sa.ColumnClause[Any]) -> ColumnElement[Any]:
    # PostgreSQL has no `~` for numbers or dates: match their text, as MySQL and SQLite do.
    return sa.cast(column, sa.String())
