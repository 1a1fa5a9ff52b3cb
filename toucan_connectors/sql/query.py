"""SQL text of the SQL connectors: bound templates and the rewrites that push pages down.

A data source's query is rendered by the core's `render_sql`, so every value is a bound
parameter. The text is then handed to SQLAlchemy's `text()`, where `:word` means a bind: our own
placeholders are kept and every other such colon is escaped, so `'10:30'` stays literal text.

Pages are pushed into the database by rewriting the user's statement with sqlglot rather than
wrapping it: LIMIT and OFFSET go on the outermost query, so its ORDER BY is kept by every
dialect. When a filter must wrap the query, its ORDER BY moves to the wrapping query.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
import sqlglot
from sqlglot import TokenType, exp
from sqlglot.dialects.mysql import MySQL
from sqlglot.errors import SqlglotError

from toucan_connectors.errors import InvalidDataSourceError
from toucan_connectors.frames import unique_column_names
from toucan_connectors.templating import SqlDialect, render_sql

logger = logging.getLogger(__name__)

# SQLAlchemy's own pattern for binds in text(): what it matches must be ours or escaped.
_TEXT_BIND = re.compile(r"(?<![:\w\x5c]):(\w+)(?![:\w])")
# A placeholder made by render_sql, also when a `::type` cast follows it.
_RENDERED_BIND = re.compile(r"(?<![:\w\x5c]):(param_\d+)(?!\w)")
_HIDDEN_ORDER_PREFIX = "_toucan_order_"
SUBQUERY_ALIAS = "_toucan_q"


@dataclass(frozen=True)
class BoundQuery:
    """SQL text with `:name` placeholders and the values bound to them."""

    sql: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_text(self) -> sa.TextClause:
        """Return the query as a SQLAlchemy text clause, literal colons escaped."""
        return sa.text(_escape_colons(self.sql, self.params)).bindparams(**self.params)

    def with_sql(self, sql: str) -> BoundQuery:
        """Return the same bound values with another text (a rewrite of this one)."""
        return BoundQuery(sql, self.params)


@dataclass(frozen=True)
class OrderedQuery:
    """A query split for wrapping: the text without its ORDER BY and the keys to order by."""

    inner: BoundQuery
    order_by: list[str]
    hidden_columns: int = 0


def bind_query(
    template: str, parameters: Mapping[str, Any] | None, dialect: SqlDialect | None = None
) -> BoundQuery:
    """Render a templated query; values become `:tc_N` placeholders, never SQL text.

    `dialect` tells the templating how the query spells strings, quoted names and comments
    (PostgreSQL's `tags[{{ i }}]` and `data #>> {{ path }}` are values there, say); without
    it, a template must be safe under the rules of every dialect.
    """
    sql, values = render_sql(template, parameters, "named", dialect=dialect)
    assert isinstance(values, dict)  # the named style always gives a mapping

    renamed: dict[str, Any] = {}

    def _rename(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        renamed[f"tc_{name}"] = values[name]
        # SQLAlchemy's text() takes no `:name` right before a `::type` cast: parenthesise it.
        if match.string.startswith("::", match.end()):
            return f"(:tc_{name})"
        return f":tc_{name}"

    return BoundQuery(_RENDERED_BIND.sub(_rename, sql), renamed)


def table_query(table: str, dialect: sa.Dialect) -> BoundQuery:
    """Return `SELECT * FROM table`, the name (`table` or `schema.table`) quoted by the dialect."""
    schema, _, name = table.rpartition(".")
    selectable = sa.table(name, schema=schema or None)
    compiled = sa.select(sa.literal_column("*")).select_from(selectable).compile(dialect=dialect)
    return BoundQuery(str(compiled))


_READ_STATEMENT_STARTS = frozenset(
    {
        TokenType.SELECT,
        TokenType.WITH,
        TokenType.VALUES,
        TokenType.TABLE,
        TokenType.L_PAREN,
        TokenType.SHOW,
    }
)


def check_single_statement(sql: str, dialect: str | Sequence[str], data_source: str) -> None:
    """Refuse anything but one read statement: a second one could end the read-only transaction.

    `dialect` may name several sqlglot dialects (Redshift's and PostgreSQL's, say): the text is
    read with each, and refused when they do not see the same statements, since the server may
    read it either way. MySQL's executable comments (`/*! ... */`, `/*M! ... */`) are refused:
    the server runs their text, which the check would otherwise take for a comment.

    Raises:
        InvalidDataSourceError: a second statement follows the first, the statement is not a
            read query (COPY, SET, ATTACH, PRAGMA, SELECT ... INTO, ...), or the dialects read
            the text differently.
    """
    dialects = [dialect] if isinstance(dialect, str) else list(dialect)
    readings = [_statement_tokens(sql, name, data_source) for name in dialects]
    shapes = {tuple((token.start, token.end) for token in tokens) for tokens in readings}
    if len(shapes) > 1:
        raise InvalidDataSourceError(
            f'The query of data source "{data_source}" reads differently in the SQL dialects '
            f"{', '.join(dialects)} (a backslash inside a string, most likely): write the "
            "backslash as chr(92), or the string as an E'...' literal."
        )
    for name, tokens in zip(dialects, readings, strict=True):
        _check_tokens(tokens, name, data_source)


def _statement_tokens(sql: str, dialect: str, data_source: str) -> list[Any]:
    try:
        return list(sqlglot.tokenize(sql, read=dialect))
    except SqlglotError as exc:
        # Refused rather than trusted: unread text could hide a second statement.
        raise InvalidDataSourceError(
            f'The query of data source "{data_source}" could not be read as SQL ({exc}): '
            "check its quotes and comments."
        ) from exc


def _check_tokens(tokens: Sequence[Any], dialect: str, data_source: str) -> None:
    if dialect == "mysql" and any(
        comment.startswith("!") or comment[:2].upper() == "M!"
        for token in tokens
        for comment in token.comments
    ):
        raise InvalidDataSourceError(
            f'The query of data source "{data_source}" holds an executable comment (/*! ... */ '
            "or /*M! ... */), whose text the server runs: write that SQL plainly, or remove the "
            "comment."
        )

    statements = 0
    pending = False
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            statements += pending
            pending = False
        else:
            pending = True
    statements += pending
    if statements > 1:
        raise InvalidDataSourceError(
            f'Data source "{data_source}" holds {statements} SQL statements: '
            "write a single SELECT (a data source is read-only and returns one result)."
        )

    # Refused before it runs: COPY ... TO PROGRAM, SELECT ... INTO OUTFILE, ATTACH, SET or PRAGMA
    # act on the server or the session whatever the transaction's read-only mode.
    first = tokens[0].token_type if tokens else None
    writes_into = any(token.token_type == TokenType.INTO for token in tokens)
    if first not in _READ_STATEMENT_STARTS or writes_into:
        raise InvalidDataSourceError(
            f'Data source "{data_source}" is not a read query: write a single SELECT '
            "(or WITH ... SELECT) with no INTO clause."
        )


def strip_trailing(sql: str, dialect: str) -> str:
    """Return `sql` without the semicolons and comments after its last token.

    A query wrapped as a subquery (for a count, a permission filter) must not end with either:
    `SELECT ... ;) AS q` and `SELECT ... -- note) AS q` are syntax errors.
    """
    try:
        tokens = sqlglot.tokenize(sql, read=dialect)
    except SqlglotError:
        return sql
    kept = [token for token in tokens if token.token_type != TokenType.SEMICOLON]
    if not kept:
        return sql
    return sql[: kept[-1].end + 1]


def page_query(
    query: BoundQuery, dialect: str, offset: int, limit: int | None
) -> BoundQuery | None:
    """Return the query limited to rows offset..offset+limit-1; None if it cannot be rewritten.

    An existing LIMIT/OFFSET is combined with the requested one, so the page is taken from the
    rows the user's query returns.
    """
    tree = _parse_query(query.sql, dialect)
    if tree is None:
        return None
    bounds = _literal_bounds(tree)
    if bounds is None:
        return None

    old_offset, old_limit = bounds
    new_offset = old_offset + offset
    new_limit = limit
    if old_limit is not None:
        remaining = max(old_limit - offset, 0)
        new_limit = remaining if limit is None else min(limit, remaining)

    tree.set("limit", None)
    tree.set("offset", None)
    if new_limit is not None:
        tree = tree.limit(new_limit, copy=False)
    if new_offset:
        tree = tree.offset(new_offset, copy=False)
    return query.with_sql(_generate(tree, dialect))


def count_query(query: BoundQuery, dialect: str) -> BoundQuery | None:
    """Return the query with `1` as its only output, for counting its rows; None if unsafe.

    Counting `SELECT 1 FROM ...` needs none of the output columns, so a `SELECT *` over a join
    with repeated names (which MySQL cannot wrap) is counted too. Only a plain SELECT is
    rewritten, whose outputs are names or constants: DISTINCT, GROUP BY, HAVING, aggregates,
    windows, set-returning functions and LIMIT decide how many rows there are.
    """
    tree = _parse_query(query.sql, dialect)
    if not isinstance(tree, exp.Select):
        return None
    shaping = ("distinct", "group", "having", "limit", "offset", "qualify", "windows", "into")
    if any(tree.args.get(name) for name in shaping):
        return None
    # Only names: an aggregate makes one row, a set-returning function (PostgreSQL's unnest,
    # generate_series) makes several, whatever the FROM clause.
    plain = (exp.Star, exp.Column, exp.Literal)
    if not all(isinstance(node.unalias(), plain) for node in tree.expressions):
        return None
    order = tree.args.get("order")
    if order is not None and order.find(exp.AggFunc, exp.Window):
        return None

    tree.set("expressions", [exp.Literal.number(1)])
    tree.set("order", None)
    sql = _generate(tree, dialect)
    used = {name: value for name, value in query.params.items() if _mentions(sql, name)}
    return BoundQuery(sql, used)


def _mentions(sql: str, name: str) -> bool:
    return re.search(rf"(?<![:\w]):{re.escape(name)}(?!\w)", sql) is not None


def with_unique_names(query: BoundQuery, dialect: str) -> BoundQuery:
    """Alias repeated output names (`a, a` -> `a, a_1`), which a wrapping query cannot select.

    The names are those the frame gets anyway; a query that cannot be parsed, or selects `*`,
    is returned as it is.
    """
    tree = _parse_query(query.sql, dialect)
    if tree is None:
        return query
    first = tree
    while isinstance(first, exp.SetOperation | exp.Subquery):
        first = first.this
    if not isinstance(first, exp.Select) or any(
        isinstance(projection, exp.Star) or projection.is_star for projection in first.expressions
    ):
        return query

    names = [projection.alias_or_name for projection in first.expressions]
    unique = unique_column_names(names)
    if unique == names:
        return query
    # An unnamed expression keeps the name the server gives it, as it does in get_df.
    first.set(
        "expressions",
        [
            projection
            if name == new or not name
            else exp.alias_(projection.unalias(), new, quoted=True)
            for projection, name, new in zip(first.expressions, names, unique, strict=True)
        ],
    )
    return query.with_sql(_generate(tree, dialect))


def split_order(
    query: BoundQuery, dialect: str, output_names: Sequence[str]
) -> OrderedQuery | None:
    """Move the outermost ORDER BY out of the query, for a wrapping query to apply it.

    Order keys that are not output columns become hidden trailing columns of a plain SELECT.
    Returns None when the order cannot be moved (the query is then wrapped as it is).
    """
    tree = _parse_query(query.sql, dialect)
    if tree is None:
        return None
    order = tree.args.get("order")
    if order is None:
        return OrderedQuery(query.with_sql(_generate(tree, dialect)), [])
    if tree.args.get("limit") is not None or tree.args.get("offset") is not None:
        # The inner LIMIT needs its ORDER BY: keep it, and order the outside the same way.
        keep = tree
    else:
        keep = None

    keys: list[str] = []
    hidden: list[Any] = []
    for ordered in order.expressions:
        name = _output_name(tree, ordered.this, output_names)
        if name is None:
            if not isinstance(tree, exp.Select) or tree.args.get("distinct"):
                return None
            name = f"{_HIDDEN_ORDER_PREFIX}{len(hidden)}"
            hidden.append(exp.alias_(ordered.this.copy(), name))
        key = ordered.copy()
        key.set("this", exp.column(name, table=SUBQUERY_ALIAS, quoted=True))
        keys.append(key.sql(dialect=dialect))

    if keep is None:
        tree.set("order", None)
    if hidden:
        assert isinstance(tree, exp.Select)
        tree = tree.select(*hidden, copy=False)
    return OrderedQuery(query.with_sql(_generate(tree, dialect)), keys, len(hidden))


def _output_name(tree: exp.Query, key: exp.Expression, output_names: Sequence[str]) -> str | None:
    if isinstance(key, exp.Literal) and not key.is_string:
        position = int(key.this) - 1
        return output_names[position] if 0 <= position < len(output_names) else None
    bare_name = key.name if isinstance(key, exp.Column) and not key.table else None

    if not isinstance(tree, exp.Select):
        return bare_name if bare_name in output_names else None

    projections = tree.expressions
    if any(projection.is_star for projection in projections):
        # Positions are unknown behind a star: trust a bare name no alias reuses.
        aliases = {projection.alias for projection in projections}
        usable = bare_name in output_names and bare_name not in aliases
        return bare_name if usable else None
    if len(projections) != len(output_names):
        return None

    # A bare name means an output column first, as the servers read ORDER BY: in
    # `SELECT id AS g, g AS id ... ORDER BY g` the key is the output `g`, that is `id`.
    for position, projection in enumerate(projections):
        if bare_name is not None and projection.alias_or_name == bare_name:
            return output_names[position]
    for position, projection in enumerate(projections):
        if projection.unalias() == key:
            return output_names[position]
    return None


def _parse_query(sql: str, dialect: str) -> exp.Query | None:
    try:
        tree = sqlglot.parse_one(sql.strip().rstrip(";"), read=dialect)
    except SqlglotError as exc:
        logger.debug("sqlglot could not parse the query (%s); it runs unchanged", exc)
        return None
    # `(SELECT ... LIMIT 5)` is one query in parentheses: page the query, not the parentheses.
    while isinstance(tree, exp.Subquery) and not tree.alias:
        tree = tree.this
    if not isinstance(tree, exp.Query):
        return None
    transformed: exp.Query = cast(exp.Query, tree.transform(_keep_placeholder))
    return transformed


def _keep_placeholder(node: exp.Expression) -> exp.Expression:
    # Some dialects would print `:name` as `%(name)s`; ours must stay `:name` for text().
    if isinstance(node, exp.Placeholder) and node.name:
        return exp.var(f":{node.name}")
    return node


def _literal_bounds(tree: exp.Query) -> tuple[int, int | None] | None:
    limit_node = tree.args.get("limit")
    offset_node = tree.args.get("offset")
    limit = _literal_int(limit_node.expression) if limit_node is not None else None
    offset = _literal_int(offset_node.expression) if offset_node is not None else 0
    if (limit_node is not None and limit is None) or offset is None:
        return None
    if limit_node is not None and not isinstance(limit_node, exp.Limit):
        return None
    if limit_node is not None and limit_node.args.get("offset") is not None:
        extra = _literal_int(limit_node.args["offset"])
        if extra is None:
            return None
        offset += extra
    return offset, limit


def _literal_int(node: exp.Expression | None) -> int | None:
    if isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit():
        return int(node.this)
    return None


def _generate(tree: Any, dialect: str) -> str:
    if dialect == "mysql":
        return str(tree.sql(dialect=_MySQLAndMariaDB))
    return str(tree.sql(dialect=dialect))


def _regexp_operator(generator: Any, node: exp.RegexpLike) -> str:
    # MariaDB has no REGEXP_LIKE(), which sqlglot writes for `a REGEXP b` and `a RLIKE b`.
    if node.args.get("flag") is not None:
        return str(generator.function_fallback_sql(node))
    return f"({generator.binary(node, 'REGEXP')})"


class _MySQLAndMariaDB(MySQL):
    """sqlglot's MySQL dialect, writing SQL that MariaDB reads too."""

    class Generator(MySQL.Generator):  # type: ignore[misc, valid-type]
        """MySQL's generator with `a REGEXP b` for regular-expression matches."""

        TRANSFORMS = {**MySQL.Generator.TRANSFORMS, exp.RegexpLike: _regexp_operator}


def _escape_colons(sql: str, params: Mapping[str, Any]) -> str:
    def _escape(match: re.Match[str]) -> str:
        return match.group(0) if match.group(1) in params else "\\" + match.group(0)

    return _TEXT_BIND.sub(_escape, sql)
