"""Translate a permission tree into a SQLAlchemy predicate with bound values."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from toucan_connectors.errors import InvalidDataSourceError
from toucan_connectors.permissions.model import (
    Condition,
    PermissionNode,
    parse_permissions,
    to_number,
)


def build_sql_predicate(
    permissions: Mapping[str, Any],
    parameters: Mapping[str, Any] | None = None,
    *,
    numeric_columns: Collection[str] = (),
    columns: Collection[str] | None = None,
    text_columns: Collection[str] = (),
) -> ColumnElement[bool]:
    """Return a predicate over ``sa.column(name)`` references; every value is a bound parameter.

    Values of `numeric_columns` that arrive as strings spelling numbers are bound as numbers.
    When `columns` is given, a condition on any other column is refused. Numbers compared with
    `text_columns` are bound as their text, which every database compares with text.
    """
    tree = parse_permissions(permissions, parameters)
    if columns is not None:
        _check_columns(tree, list(columns))
    return _translate(tree, set(numeric_columns), set(text_columns))


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


def _translate(node: PermissionNode, numeric: set[str], text: set[str]) -> ColumnElement[bool]:
    if isinstance(node, Condition):
        return _condition(node, numeric, text)
    clauses = [_translate(item, numeric, text) for item in node.items]
    if node.kind == "and":
        return sa.and_(sa.true(), *clauses)
    return sa.or_(sa.false(), *clauses)


def _condition(condition: Condition, numeric: set[str], text: set[str]) -> ColumnElement[bool]:
    column: sa.ColumnClause[Any] = sa.column(condition.column)
    value = condition.value
    if condition.column in text:
        value = [_as_str(v) for v in value] if isinstance(value, list) else _as_str(value)
    if condition.column in numeric and condition.operator not in ("matches", "notmatches"):
        value = (
            [_as_number(condition, v) for v in value]
            if isinstance(value, list)
            else (_as_number(condition, value))
        )

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


def _as_number(condition: Condition, value: Any) -> Any:
    # Some databases (MySQL) would cast a word to 0 and let rows through: refuse it instead.
    number = to_number(value)
    if number is None or isinstance(number, int | float | Decimal) and not isinstance(number, bool):
        return number
    raise InvalidDataSourceError(
        f'Permission on number column "{condition.column}" compares it with {value!r}, '
        "which is not a number: fix the permission's value or the parameter it comes from."
    )


def _as_text(column: sa.ColumnClause[Any]) -> ColumnElement[Any]:
    # PostgreSQL has no `~` for numbers or dates: match their text, as MySQL and SQLite do.
    return sa.cast(column, sa.String())


def _as_str(value: Any) -> Any:
    # PostgreSQL has no `text = integer`: a number compared with text is compared as text.
    is_number = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
    return str(value) if is_number else value
