"""Config files of the command line: loading, `${VAR}` substitution and building the models.

A config file is YAML or JSON with two lists, in the shape the host platform stores::

    connectors:
      - name: sample          # referred to by data sources
        type: SQLite          # registry type key
        path: ${CONFIG_DIR}/data/sample.sqlite
    data_sources:
      - domain: rainy_days    # the data source's own name, used on the command line
        name: sample          # the connector it reads from
        query: SELECT ...

`${VAR}` is replaced by the environment variable VAR, only in the connector and data source a
command uses; `${VAR:-default}` gives the default when VAR is unset or empty (the default may hold
references too). `${CONFIG_DIR}` is the directory holding the config file and `$${` is a literal
`${`. A substituted value is data: in a data source it is never read as a Jinja template.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from toucan_connectors.errors import InvalidConfigurationError
from toucan_connectors.registry import get_connector_class
from toucan_connectors.toucan_connector import ToucanConnector, ToucanDataSource

__all__ = ["Config", "ConfigError", "load_config", "describe_validation_error"]

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-)?")
_JINJA_OPENERS = ("{{", "{%", "{#")


class ConfigError(InvalidConfigurationError):
    """A config file cannot be read or does not hold what a command needs."""


@dataclass(frozen=True)
class Config:
    """The parsed content of a config file."""

    path: Path
    connectors: list[dict[str, Any]]
    data_sources: list[dict[str, Any]]
    variables: Mapping[str, str] = field(default_factory=dict)

    def connector_fields(self, name: str) -> dict[str, Any]:
        """Return the fields of the connector called `name`, its `${VAR}` substituted."""
        config = _find(self.connectors, "name", name, "connector named", self.path)
        where = f"connectors[{self.connectors.index(config)}]"
        how = _Substitution(self.variables, self.path, escape=False)
        return {key: _substitute(item, how, f"{where}.{key}") for key, item in config.items()}

    def data_source_fields(self, domain: str) -> dict[str, Any]:
        """Return the fields of the data source `domain`, its `${VAR}` substituted as data."""
        config = _find(self.data_sources, "domain", domain, "data source with domain", self.path)
        where = f"data_sources[{self.data_sources.index(config)}]"
        # Only the connector's own fields are rendered as templates: escape the values there.
        as_text = _Substitution(self.variables, self.path, escape=False)
        as_data = _Substitution(self.variables, self.path, escape=True)
        return {
            key: _substitute(
                item, as_text if key in ToucanDataSource.model_fields else as_data, f"{where}.{key}"
            )
            for key, item in config.items()
        }

    def connector(self, name: str) -> ToucanConnector:
        """Validate and return the connector called `name`."""
        config = self.connector_fields(name)
        type_key = config.get("type")
        if not isinstance(type_key, str):
            raise ConfigError(
                f'Connector "{name}" in {self.path} has no "type": '
                "set it to a type key listed by `toucan-connectors list`."
            )
        connector_class = get_connector_class(type_key)
        try:
            return connector_class.model_validate(config)
        except ValidationError as exc:
            raise ConfigError(
                f'Connector "{name}" ({type_key}) in {self.path} is invalid: '
                f"{describe_validation_error(exc)}."
            ) from exc

    def data_source(self, domain: str) -> tuple[ToucanConnector, ToucanDataSource]:
        """Validate and return the data source whose `domain` is `domain`, with its connector."""
        config = self.data_source_fields(domain)
        connector_name = config.get("name")
        if not isinstance(connector_name, str):
            raise ConfigError(
                f'Data source "{domain}" in {self.path} has no "name": '
                "set it to the name of the connector it reads from."
            )
        connector = self.connector(connector_name)
        if config.get("type") not in (None, connector.type):
            raise ConfigError(
                f'Data source "{domain}" has type "{config["type"]}" but its connector '
                f'"{connector_name}" has type "{connector.type}": make them match or drop it.'
            )

        try:
            data_source = type(connector).data_source_model.model_validate(config)
        except ValidationError as exc:
            raise ConfigError(
                f'Data source "{domain}" in {self.path} is invalid: '
                f"{describe_validation_error(exc)}."
            ) from exc
        return connector, data_source


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read a YAML or JSON config file and substitute its `${VAR}` references."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f'Config file "{path}" does not exist.') from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f'Config file "{path}" cannot be read: {exc}.') from exc

    content = _parse(path, text)
    if not isinstance(content, dict):
        raise ConfigError(
            f'Config file "{path}" must hold a mapping with "connectors" and "data_sources" lists.'
        )
    variables = dict(os.environ if environ is None else environ)
    variables["CONFIG_DIR"] = str(path.resolve().parent)

    lists: dict[str, list[dict[str, Any]]] = {}
    for key in ("connectors", "data_sources"):
        items = content.get(key)
        if items is None:
            items = []
        elif not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise ConfigError(f'Config file "{path}": "{key}" must be a list of mappings.')
        lists[key] = items
    _check_names(lists["connectors"], "connectors", "name", path)
    _check_names(lists["data_sources"], "data_sources", "domain", path)
    _refuse_duplicates(lists["connectors"], "name", "connectors named", path)
    _refuse_duplicates(lists["data_sources"], "domain", "data sources with domain", path)
    return Config(path, lists["connectors"], lists["data_sources"], variables)


def describe_validation_error(exc: ValidationError) -> str:
    """Summarise a pydantic validation error on one line: `field: problem; ...`."""
    problems = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"])
        # A validator's own message already says what to do; drop pydantic's prefix and period.
        message = error["msg"].removeprefix("Value error, ").rstrip(".")
        problems.append(f"{location}: {message}" if location else message)
    return "; ".join(problems)


def _parse(path: Path, text: str) -> Any:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f'Config file "{path}" is not valid JSON (line {exc.lineno}, column {exc.colno}): '
                f"{exc.msg}."
            ) from exc
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f'Config file "{path}" is not valid YAML{where}: {problem}.') from exc


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe YAML loader, refusing a mapping that gives the same key twice."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Build the mapping after checking that no key comes twice."""
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f'the key "{key}" is given twice; keep one',
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


@dataclass(frozen=True)
class _Substitution:
    variables: Mapping[str, str]
    path: Path
    escape: bool  # wrap values holding Jinja syntax in `{% raw %}`, for data source fields


def _substitute(value: Any, how: _Substitution, where: str) -> Any:
    if isinstance(value, str):
        return _expand(value, how, where)
    if isinstance(value, dict):
        return {key: _substitute(item, how, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, how, f"{where}[{index}]") for index, item in enumerate(value)]
    return value


def _expand(text: str, how: _Substitution, where: str) -> str:
    """Replace the references in `text`, following the shell's `${VAR}`, `${VAR:-default}`."""
    parts: list[str] = []
    position = 0
    while position < len(text):
        if text.startswith("$${", position):
            parts.append("${")
            position += 3
            continue
        match = _REFERENCE.match(text, position)
        end = None if match is None else _reference_end(text, match)
        if match is None or end is None:
            parts.append(text[position])
            position += 1
            continue
        name, has_default = match.groups()
        value = how.variables.get(name)
        if has_default and not value:
            # The default is the config author's text: only the values in it are data.
            parts.append(_expand(text[match.end() : end], how, where))
        elif value is None:
            raise ConfigError(
                f'Config file "{how.path}" uses the environment variable "{name}" (at {where}), '
                f"which is not set: export {name} or write ${{{name}:-default}}."
            )
        else:
            parts.append(_as_data(value) if how.escape else value)
        position = end + 1
    return "".join(parts)


def _reference_end(text: str, match: re.Match[str]) -> int | None:
    """Return the index of the `}` closing the reference `match` opens, or None."""
    if not match.group(2):
        return match.end() if text.startswith("}", match.end()) else None
    depth = 0
    for index in range(match.end(), len(text)):
        if text.startswith("${", index):
            depth += 1
        elif text[index] == "}":
            if depth == 0:
                return index
            depth -= 1
    return None


def _as_data(value: str) -> str:
    if not any(opener in value for opener in _JINJA_OPENERS):
        return value
    # `{% endraw %}` inside the value would end the raw block: print that piece as a string.
    pieces = value.split("{% endraw %}")
    return "{{ '{% endraw %}' }}".join(f"{{% raw %}}{piece}{{% endraw %}}" for piece in pieces)


def _check_names(items: list[dict[str, Any]], section: str, key: str, path: Path) -> None:
    for index, item in enumerate(items):
        value = item.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(
                f'Config file "{path}": {section}[{index}].{key} must be a string, '
                f"not {type(value).__name__} {json.dumps(value, default=str)}."
            )


def _find(
    items: list[dict[str, Any]], key: str, wanted: str, label: str, path: Path
) -> dict[str, Any]:
    for item in items:
        if item.get(key) == wanted:
            return item
    if not items:
        section = "connectors" if key == "name" else "data_sources"
        raise ConfigError(f'No {label} "{wanted}" in {path}: its "{section}" list is empty.')
    known = ", ".join(str(item.get(key)) for item in items)
    raise ConfigError(f'No {label} "{wanted}" in {path}: use one of {known}.')


def _refuse_duplicates(items: list[dict[str, Any]], key: str, label: str, path: Path) -> None:
    seen: set[Any] = set()
    for item in items:
        value = item.get(key)
        if value in seen:
            raise ConfigError(
                f'Config file "{path}" is ambiguous: two {label} "{value}"; rename one.'
            )
        if value is not None:
            seen.add(value)
