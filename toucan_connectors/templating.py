"""Sandboxed rendering of `{{ expression }}` and `%(name)s` templates.

Two entry points:

* `render` fills templates inside any JSON-like value. A string that is one single expression
  keeps the type of its value (an int stays an int, a list a list, a string a string).
* `render_sql` never splices a value into SQL text: each value becomes a bound parameter in the
  driver's parameter style, and a list becomes a parenthesised list of bound values.

Parameter values are data, never templates: a value that contains `{{ 7*7 }}` stays that text.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from typing import Any, Literal

from jinja2 import StrictUndefined, Template, Undefined, meta
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from toucan_connectors.errors import TemplateError
from toucan_connectors.sql_lexer import LEXICONS, MARKER, Place, marker_places

ParamStyle = Literal["named", "pyformat", "qmark", "numeric", "format"]
SqlDialect = Literal["postgres", "mysql", "sqlite"]

_PYFORMAT = re.compile(r"%\((\w+)\)s")
_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{[-+]?((?:(?!\{\{|\}\}).)*?)[-+]?\}\}\s*$", re.DOTALL)
_IDENTIFIER_BEFORE = re.compile(
    r"(?:\b(?:FROM|JOIN|INTO|UPDATE|TABLE|ORDER\s+BY|GROUP\s+BY)\s*|[.\"`])$", re.IGNORECASE
)
_NOT_IN_BEFORE = re.compile(r"\bNOT\s+IN\s*\(?\s*$", re.IGNORECASE)
_IDENTIFIER_AFTER = re.compile(r"^[.\"`]")

_MAX_SIZE = 1_000_000


def _check_value(value: Any) -> Any:
    """Fail on an undefined value or a Jinja object anywhere inside `value`; return `value`.

    Raises:
        UndefinedError: a variable, item or attribute inside the value is undefined.
        SecurityError: the value holds one of Jinja's own objects (`self`, a namespace).
    """
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, Undefined):
            item._fail_with_undefined_error()
        if type(item).__module__.split(".")[0] == "jinja2":
            raise SecurityError(f"{type(item).__name__} is one of Jinja's own objects")
        if isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            pending.extend(item)
    return value


# A width or precision of seven digits or more in a %-format or a str.format spec.
_HUGE_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\d{7,}|\d*\.\d{7,})")
_HUGE_BRACE_SPEC = re.compile(r"\{[^{}]*:[^{}]*\d{7,}[^{}]*\}")
_WIDENING_METHODS = frozenset({"ljust", "rjust", "center", "zfill"})


def _refuse_huge_text(
    text: str, args: tuple[Any, ...], kwargs: Mapping[str, Any], name: str
) -> None:
    """Refuse a string method or filter call whose result would be over `_MAX_SIZE` characters."""
    numbers = [v for v in (*args, *kwargs.values()) if isinstance(v, int)]
    if name in _WIDENING_METHODS and any(n > _MAX_SIZE for n in numbers):
        raise OverflowError(f"the {name} width is too large")
    if name == "expandtabs" and numbers and len(text) * max(numbers) > _MAX_SIZE:
        raise OverflowError("the tab size is too large")
    if name in ("format", "format_map") and _HUGE_BRACE_SPEC.search(text):
        raise OverflowError("a format width or precision is too large")
    if name == "replace" and len(args) >= 2 and isinstance(args[0], str):
        new = args[1] if isinstance(args[1], str) else ""
        growth = max(len(new) - len(args[0]), 0)
        count = (len(text) + 1) if not args[0] else text.count(args[0])
        if len(text) + count * growth > _MAX_SIZE:
            raise OverflowError("the replaced text would be too large")


def _refuse_huge_percent(left: str, right: Any) -> None:
    values = right if isinstance(right, tuple) else (right,)
    if _HUGE_PERCENT_SPEC.search(left) or (
        "*" in left and any(isinstance(v, int) and v > _MAX_SIZE for v in values)
    ):
        raise OverflowError("a format width or precision is too large")


class _LimitedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, refusing operations whose result would be huge."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """Refuse a power, repetition or %-format whose result would be huge, then compute it."""
        if operator == "**" and isinstance(right, int) and abs(right) > 1000:
            raise OverflowError(f"the power {right} is too large")
        if operator == "*":
            sizes = [len(v) for v in (left, right) if isinstance(v, str | list | tuple)]
            counts = [v for v in (left, right) if isinstance(v, int)]
            if sizes and counts and sizes[0] * max(counts[0], 0) > _MAX_SIZE:
                raise OverflowError("the repeated value would be too large")
        if operator == "%" and isinstance(left, str):
            _refuse_huge_percent(left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        """Refuse a string method whose result would be huge (`ljust`, widths), then call it."""
        # The sandbox hands `str.format` over wrapped; the bound method is its `__wrapped__`.
        method = getattr(__obj, "__wrapped__", __obj)
        owner = getattr(method, "__self__", None)
        if isinstance(owner, str):
            _refuse_huge_text(owner, args, kwargs, getattr(method, "__name__", ""))
        return super().call(__context, __obj, *args, **kwargs)


def _limited_filter(name: str, text_position: int) -> Callable[..., Any]:
    original = _FILTERS[name]

    @functools.wraps(original)
    def limited(*args: Any, **kwargs: Any) -> Any:
        text = args[text_position] if len(args) > text_position else ""
        rest = args[text_position + 1 :]
        if isinstance(text, str):
            if name == "format":
                _refuse_huge_percent(text, rest)
            elif name == "indent":
                width = rest[0] if rest else kwargs.get("width", 4)
                if isinstance(width, int) and width * (text.count("\n") + 1) > _MAX_SIZE:
                    raise OverflowError("the indent width is too large")
            else:
                _refuse_huge_text(text, rest, kwargs, name)
        return original(*args, **kwargs)

    return limited


_ENVIRONMENT = _LimitedSandbox(undefined=StrictUndefined, autoescape=False, finalize=_check_value)
_MAX_OUTPUT = 10 * _MAX_SIZE


def _limited_concat(pieces: Iterable[str]) -> str:
    """Join a template's output, refusing it once it passes `_MAX_OUTPUT` characters."""
    kept: list[str] = []
    size = 0
    for piece in pieces:
        size += len(piece)
        if size > _MAX_OUTPUT:
            raise OverflowError(f"the result would pass {_MAX_OUTPUT} characters")
        kept.append(piece)
    return "".join(kept)


_ENVIRONMENT.concat = _limited_concat  # type: ignore[method-assign]
_FILTERS = dict(_ENVIRONMENT.filters)
for _name, _position in (("center", 0), ("indent", 0), ("format", 0), ("replace", 1)):
    _ENVIRONMENT.filters[_name] = _limited_filter(_name, _position)
# A data source's templates need its parameters, not Jinja's text and loop helpers.
for _helper in ("lipsum", "cycler", "joiner"):
    _ENVIRONMENT.globals.pop(_helper, None)
# The SQL text and the values bound so far, for the template being rendered in this context.
_BOUND_VALUES: ContextVar[tuple[str, list[Any]]] = ContextVar("toucan_bound_values")
_BINDABLE = (
    str,
    int,
    float,
    decimal.Decimal,
    datetime.date,
    datetime.time,
    datetime.timedelta,
    uuid.UUID,
    bytes,
)


def has_template(text: str) -> bool:
    """Tell whether `text` holds a `{{ }}`, `{% %}` or `%(name)s` template."""
    return "{{" in text or "{%" in text or _PYFORMAT.search(text) is not None


def template_variables(text: str) -> set[str]:
    """Return the names of the variables a template string refers to."""
    source = _to_jinja(text)
    try:
        return set(meta.find_undeclared_variables(_ENVIRONMENT.parse(source)))
    except TemplateSyntaxError as exc:
        raise _syntax_error(text, exc) from exc


def render(value: Any, parameters: Mapping[str, Any] | None) -> Any:
    """Fill every template inside `value` (strings, lists, dicts) with `parameters`.

    Raises:
        TemplateError: a variable is undefined, the template is malformed or unsafe.
    """
    context = dict(parameters or {})
    if isinstance(value, str):
        return _render_string(value, context)
    if isinstance(value, Mapping):
        return {render(key, context): render(item, context) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [render(item, context) for item in value]
    return value


def render_sql(
    sql: str,
    parameters: Mapping[str, Any] | None,
    paramstyle: ParamStyle = "named",
    dialect: SqlDialect | None = None,
) -> tuple[str, dict[str, Any] | list[Any]]:
    """Turn a templated SQL query into query text with placeholders plus bound values.

    A value quoted in the template (`'{{ name }}'`) is bound as text. A list is bound as
    `(v1, v2)`, or inside parentheses the template already has (`IN ({{ names }})`); an empty
    list becomes `(NULL)`, which matches no row. A literal `%` in the text is doubled for the
    `pyformat` and `format` styles, which is what their drivers expect.

    A template inside a string literal (other than alone between quotes), a quoted name or a
    comment is refused: `dialect` ("postgres", "mysql" or "sqlite") tells how the query spells
    them; without it, a template must be safe under the rules of all three.

    Raises:
        TemplateError: a template stands where a table or column name goes, inside a string,
            quoted name or comment, is undefined, malformed or unsafe.
    """
    if "\x00" in sql:
        raise TemplateError(
            f"The query {_excerpt(sql)} holds a NUL character: remove it from the SQL text."
        )
    if not has_template(sql):
        return _escape_text(sql, paramstyle), {} if paramstyle in ("named", "pyformat") else []

    values: list[Any] = []
    token = _BOUND_VALUES.set((sql, values))
    try:
        marked = _render_template(_to_jinja(sql), dict(parameters or {}), for_sql=True)
    finally:
        _BOUND_VALUES.reset(token)
    return _bind_markers(sql, marked, values, paramstyle, dialect)


def _check_bindable(value: Any, sql: str) -> None:
    items = value if isinstance(value, list | tuple | set | frozenset) else [value]
    for item in items:
        if item is not None and not isinstance(item, _BINDABLE):
            raise TemplateError(
                f"A template in {_excerpt(sql)} gives a {type(item).__name__}, which SQL cannot "
                "bind: pass a number, a string, a date or a list of them."
            )


def _to_jinja(text: str) -> str:
    return _PYFORMAT.sub(r"{{ \1 }}", text)


def _render_string(text: str, context: dict[str, Any]) -> Any:
    if not has_template(text):
        return text

    source = _to_jinja(text)
    single = _SINGLE_EXPRESSION.match(source)
    if single is None:
        return _render_template(source, context)

    try:
        result = _ENVIRONMENT.compile_expression(single.group(1), undefined_to_none=False)(
            **context
        )
        # An unsafe attribute comes back as an undefined value carrying a SecurityError.
        _check_value(result)
    except (UndefinedError, SecurityError, TemplateSyntaxError, OverflowError, ValueError) as exc:
        raise _template_error(text, exc) from exc
    if callable(result):
        raise TemplateError(
            f"The template {_excerpt(text)} gives a function, not a value: call it or "
            "name a parameter instead."
        )
    return result


def _render_template(source: str, context: dict[str, Any], for_sql: bool = False) -> str:
    try:
        return _compile(source, for_sql).render(**context)
    except TemplateError:
        raise
    except (UndefinedError, SecurityError, TemplateSyntaxError, OverflowError, ValueError) as exc:
        raise _template_error(source, exc) from exc


@functools.lru_cache(maxsize=512)
def _compile(source: str, for_sql: bool) -> Template:
    # Compiling is most of a small query's templating cost, and a data source's text repeats.
    return (_SQL_ENVIRONMENT if for_sql else _ENVIRONMENT).from_string(source)


def _collect_bound_value(value: Any) -> str:
    """Finalize hook of SQL templates: record each value and print a marker in its place."""
    sql, values = _BOUND_VALUES.get()
    # The finalize hook sees undefined values before they are printed: fail them here.
    _check_value(value)
    if isinstance(value, str) and "\x00" in value:
        raise TemplateError(
            f"A template in {_excerpt(sql)} prints the output of a macro or a {{% set %}} block "
            "(or text holding a NUL character), which cannot be bound as one value: print the "
            "parameter itself, {{ name }}."
        )
    _check_bindable(value, sql)
    values.append(value)
    return f"\x00{len(values) - 1}\x00"


_SQL_ENVIRONMENT = _ENVIRONMENT.overlay(finalize=_collect_bound_value)


def _refuse_place(kind: str, original: str) -> TemplateError:
    where = _excerpt(original)
    if kind == "comment":
        return TemplateError(
            f"A template stands inside an SQL comment in {where}: a value could end the comment "
            "and add SQL. Remove the template from the comment, or use "
            "{% if ... %}...{% endif %} to leave a clause out."
        )
    if kind == "name":
        return TemplateError(
            f"A template stands inside a quoted name in {where} (double quotes, backquotes or "
            "brackets; in MySQL double quotes make a text). Templates are bound as values: "
            "write '{{ v }}' in single quotes for a text, or write the name itself."
        )
    return TemplateError(
        f"A template stands inside an SQL string literal in {where}, where the driver could "
        "splice its value into the text. Keep the template outside the quotes and join the "
        "pieces in SQL: '%' || {{ v }} || '%' (PostgreSQL, SQLite) or CONCAT('%', {{ v }}, '%') "
        "(MySQL). A template alone between quotes ('{{ v }}') is fine."
    )


def _classify_markers(marked: str, original: str, dialect: str | None) -> list[tuple[int, Place]]:
    """Return each marker's place, the same under every dialect that may read the query."""
    lexicons = [LEXICONS[dialect]] if dialect else list(LEXICONS.values())
    readings = [marker_places(marked, lexicon) for lexicon in lexicons]
    places: list[tuple[int, Place]] = []
    for match in MARKER.finditer(marked):
        seen = {reading.get(match.start(), Place("string")) for reading in readings}
        refused = [place.kind for place in seen if place.kind not in ("code", "text")]
        if refused:
            raise _refuse_place(min(refused), original)
        if len(seen) != 1:
            raise _refuse_place("string", original)
        places.append((match.start(), seen.pop()))
    return places


def _bind_markers(
    original: str,
    marked: str,
    values: list[Any],
    paramstyle: ParamStyle,
    dialect: str | None = None,
) -> tuple[str, dict[str, Any] | list[Any]]:
    named: dict[str, Any] = {}
    positional: list[Any] = []
    pieces: list[str] = []
    position = 0

    def _placeholder(value: Any) -> str:
        index = len(named) + len(positional)
        if paramstyle in ("named", "pyformat"):
            name = f"param_{index}"
            named[name] = value
            return f":{name}" if paramstyle == "named" else f"%({name})s"
        positional.append(value)
        return {"qmark": "?", "numeric": f":{index + 1}", "format": "%s"}[paramstyle]

    for start, place in _classify_markers(marked, original, dialect):
        match = MARKER.match(marked, start)
        assert match is not None  # the classifier found a marker here
        value = values[int(match.group(1))]
        quoted = place.kind == "text"
        before_end, after_start = place.span if quoted else (match.start(), match.end())
        before = marked[position:before_end]
        after = marked[after_start:]
        if quoted:
            value = _as_text(value)
        if not quoted and (
            _IDENTIFIER_BEFORE.search(before.rstrip()) or _IDENTIFIER_AFTER.match(after)
        ):
            raise TemplateError(
                f"A template stands where a table or column name goes in: {_excerpt(original)}. "
                "Templates are bound as values, never pasted into SQL: write the name itself "
                "in the query."
            )

        pieces.append(_escape_text(before, paramstyle))
        if isinstance(value, list | tuple | set | frozenset):
            if not value and _NOT_IN_BEFORE.search(before):
                raise TemplateError(
                    f"An empty list follows NOT IN in: {_excerpt(original)}. SQL has no portable "
                    "empty list, so this would drop every row: guard the clause with "
                    "{% if names %}...{% endif %}."
                )
            items = [_placeholder(item) for item in value] or ["NULL"]
            inner = ", ".join(items)
            parenthesised = before.rstrip().endswith("(") and after.lstrip().startswith(")")
            pieces.append(inner if parenthesised else f"({inner})")
        else:
            pieces.append(_placeholder(value))
        position = after_start

    pieces.append(_escape_text(marked[position:], paramstyle))
    params: dict[str, Any] | list[Any] = (
        named if paramstyle in ("named", "pyformat") else positional
    )
    return "".join(pieces), params


def _escape_text(text: str, paramstyle: ParamStyle) -> str:
    return text.replace("%", "%%") if paramstyle in ("pyformat", "format") else text


def _as_text(value: Any) -> Any:
    if isinstance(value, list | tuple | set | frozenset):
        return [str(item) for item in value]
    return str(value)


def _excerpt(text: str, size: int = 80) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= size else flat[: size - 3] + "...")


def _template_error(text: str, exc: Exception) -> TemplateError:
    if isinstance(exc, OverflowError | ValueError):
        return TemplateError(f"Template {_excerpt(text)} was refused ({exc}): use smaller values.")
    if isinstance(exc, SecurityError):
        return TemplateError(
            f"Template {_excerpt(text)} was refused: it reaches for Python internals, "
            "which templates may not do. Use plain variables and filters."
        )
    if isinstance(exc, UndefinedError):
        name = _undefined_name(exc)
        return _undefined_error(text, name)
    return _syntax_error(text, exc)


def _undefined_name(exc: UndefinedError) -> str:
    message = str(exc)
    found = re.search(r"'([^']+)' is undefined", message) or re.search(
        r"has no attribute '([^']+)'", message
    )
    return found.group(1) if found else message


def _undefined_error(text: str, name: str | None) -> TemplateError:
    return TemplateError(
        f'Template {_excerpt(text)} uses "{name}", which is not defined: '
        f'add "{name}" to the data source\'s "parameters".'
    )


def _syntax_error(text: str, exc: Exception) -> TemplateError:
    return TemplateError(
        f"Template {_excerpt(text)} is malformed ({exc}): fix its syntax. To write {{{{, {{% "
        "or {# as plain text, wrap it in {% raw %}...{% endraw %}."
    )
