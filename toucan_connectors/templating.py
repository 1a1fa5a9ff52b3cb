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
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, Literal

from jinja2 import StrictUndefined, Template, Undefined, meta
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from toucan_connectors.errors import TemplateError

ParamStyle = Literal["named", "pyformat", "qmark", "numeric", "format"]

_PYFORMAT = re.compile(r"%\((\w+)\)s")
_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{((?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)
_MARKER = re.compile(r"\x00(\d+)\x00")
_IDENTIFIER_BEFORE = re.compile(
    r"(?:\b(?:FROM|JOIN|INTO|UPDATE|TABLE|ORDER\s+BY|GROUP\s+BY)\s*|[.\"`\[])$", re.IGNORECASE
)
_NOT_IN_BEFORE = re.compile(r"\bNOT\s+IN\s*\(?\s*$", re.IGNORECASE)
_IDENTIFIER_AFTER = re.compile(r"^[.\"`\]]")

_MAX_SIZE = 1_000_000


class _LimitedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, refusing `*` and `**` whose result would be huge."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """Refuse a power or a repetition whose result would be huge, then compute it."""
        if operator == "**" and isinstance(right, int) and abs(right) > 1000:
            raise OverflowError(f"the power {right} is too large")
        if operator == "*":
            sizes = [len(v) for v in (left, right) if isinstance(v, str | list | tuple)]
            counts = [v for v in (left, right) if isinstance(v, int)]
            if sizes and counts and sizes[0] * max(counts[0], 0) > _MAX_SIZE:
                raise OverflowError("the repeated value would be too large")
        return super().call_binop(context, operator, left, right)


_ENVIRONMENT = _LimitedSandbox(undefined=StrictUndefined, autoescape=False)
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
    sql: str, parameters: Mapping[str, Any] | None, paramstyle: ParamStyle = "named"
) -> tuple[str, dict[str, Any] | list[Any]]:
    """Turn a templated SQL query into query text with placeholders plus bound values.

    A value quoted in the template (`'{{ name }}'`) is bound as text. A list is bound as
    `(v1, v2)`, or inside parentheses the template already has (`IN ({{ names }})`); an empty
    list becomes `(NULL)`, which matches no row. A literal `%` in the text is doubled for the
    `pyformat` and `format` styles, which is what their drivers expect.

    Raises:
        TemplateError: a template stands where a table or column name goes, is undefined,
            malformed or unsafe.
    """
    values: list[Any] = []
    token = _BOUND_VALUES.set((sql, values))
    try:
        marked = _render_template(_to_jinja(sql), dict(parameters or {}), for_sql=True)
    finally:
        _BOUND_VALUES.reset(token)
    return _bind_markers(sql, marked, values, paramstyle)


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
    except (UndefinedError, SecurityError, TemplateSyntaxError, OverflowError, ValueError) as exc:
        raise _template_error(text, exc) from exc
    if isinstance(result, Undefined):
        # An unsafe attribute comes back as an undefined value carrying a SecurityError.
        try:
            result._fail_with_undefined_error()
        except (UndefinedError, SecurityError) as exc:
            raise _template_error(text, exc) from exc
        raise _undefined_error(text, result._undefined_name)
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
    if isinstance(value, Undefined):
        # The finalize hook sees undefined values before they are printed: fail them here.
        value._fail_with_undefined_error()
    _check_bindable(value, sql)
    values.append(value)
    return f"\x00{len(values) - 1}\x00"


_SQL_ENVIRONMENT = _ENVIRONMENT.overlay(finalize=_collect_bound_value)


def _bind_markers(
    original: str, marked: str, values: list[Any], paramstyle: ParamStyle
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

    for match in _MARKER.finditer(marked):
        before = marked[position : match.start()]
        after = marked[match.end() :]
        value = values[int(match.group(1))]

        quoted = before.endswith("'") and after.startswith("'")
        if quoted:
            before, after, after_offset, value = before[:-1], after[1:], 1, _as_text(value)
        else:
            after_offset = 0
        if _IDENTIFIER_BEFORE.search(before.rstrip() if not quoted else before) or (
            not quoted and _IDENTIFIER_AFTER.match(after)
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
        position = match.end() + after_offset

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
    return TemplateError(f"Template {_excerpt(text)} is malformed ({exc}): fix its syntax.")
