"""Where the bound-value markers of rendered SQL stand: code, a quoted text, a string, a comment.

`render_sql` puts a marker (NUL, the value's index, NUL) where each template's value goes, then
reads the text with one dialect's rules for strings, quoted names and comments. A marker in code
is bound; one inside a literal or a comment would let a value rewrite the query, so the caller
refuses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["LEXICONS", "MARKER", "Lexicon", "Place", "marker_places"]

MARKER = re.compile(r"\x00(\d+)\x00")
"""A bound-value marker in rendered SQL: its number is the value's index."""


@dataclass(frozen=True)
class Lexicon:
    """How one SQL dialect spells strings, quoted names and comments."""

    name: str
    backslash_escapes: bool
    hash_comments: bool
    nested_comments: bool
    dollar_quotes: bool
    bracket_names: bool


LEXICONS: dict[str, Lexicon] = {
    "postgres": Lexicon("postgres", False, False, True, True, False),
    "mysql": Lexicon("mysql", True, True, False, False, False),
    "sqlite": Lexicon("sqlite", False, False, False, False, True),
}
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")


@dataclass(frozen=True)
class Place:
    """Where a marker stands: `code`, `text`, `string`, `comment` or `name`.

    `text` is a marker alone between single quotes; `span` then covers the quotes.
    """

    kind: str
    span: tuple[int, int] = (0, 0)


def _is_word(char: str) -> bool:
    return char.isalnum() or char in "_$"


def _markers_between(text: str, start: int, end: int, kind: str, places: dict[int, Place]) -> None:
    for match in MARKER.finditer(text, start, end):
        places[match.start()] = Place(kind)


def _quoted_end(text: str, start: int, quote: str, backslash: bool) -> int:
    """Return the index of the closing quote of a literal opened before `start` (or len)."""
    index = start
    while index < len(text):
        char = text[index]
        if backslash and char == "\\":
            index += 2
            continue
        if char == quote:
            if text.startswith(quote, index + 1):
                index += 2
                continue
            return index
        index += 1
    return len(text)


def _comment_end(text: str, start: int, nested: bool) -> int:
    """Return the index just past the `*/` closing a comment opened at `start`."""
    depth = 1
    index = start + 2
    while index < len(text):
        if nested and text.startswith("/*", index):
            depth += 1
            index += 2
        elif text.startswith("*/", index):
            depth -= 1
            index += 2
            if depth == 0:
                return index
        else:
            index += 1
    return len(text)


def marker_places(text: str, lexicon: Lexicon) -> dict[int, Place]:
    """Tell, for each marker of the rendered text, where it stands under `lexicon`'s rules."""
    places: dict[int, Place] = {}
    index = 0
    while index < len(text):
        char = text[index]
        previous = text[index - 1] if index else ""
        if char == "\x00":
            match = MARKER.match(text, index)
            if match is None:
                index += 1
                continue
            places[index] = Place("code")
            index = match.end()
        elif char == "'":
            prefixed = previous in "eE" and (index < 2 or not _is_word(text[index - 2]))
            end = _quoted_end(text, index + 1, "'", lexicon.backslash_escapes or prefixed)
            whole = MARKER.fullmatch(text, index + 1, end)
            if whole is not None and end < len(text) and not _is_word(previous):
                places[whole.start()] = Place("text", (index, end + 1))
            else:
                _markers_between(text, index + 1, end, "string", places)
            index = end + 1
        elif char in '"`' or (char == "[" and lexicon.bracket_names):
            closing = "]" if char == "[" else char
            backslash = char == '"' and lexicon.backslash_escapes
            end = _quoted_end(text, index + 1, closing, backslash)
            _markers_between(text, index + 1, end, "name", places)
            index = end + 1
        elif text.startswith("--", index) or (char == "#" and lexicon.hash_comments):
            end = text.find("\n", index)
            end = len(text) if end < 0 else end
            _markers_between(text, index, end, "comment", places)
            index = end
        elif text.startswith("/*", index):
            end = _comment_end(text, index, lexicon.nested_comments)
            _markers_between(text, index, end, "comment", places)
            index = end
        elif char == "$" and lexicon.dollar_quotes and not _is_word(previous):
            tag = _DOLLAR_TAG.match(text, index)
            if tag is None:
                index += 1
                continue
            end = text.find(tag.group(0), tag.end())
            end = len(text) if end < 0 else end
            _markers_between(text, tag.end(), end, "string", places)
            index = end + len(tag.group(0))
        else:
            index += 1
    return places
