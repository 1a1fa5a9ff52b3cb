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

`${VAR}` in any string is replaced by the environment variable VAR (`${VAR:-default}` when it may
be unset); `${CONFIG_DIR}` is the directory holding the config file and `$${` is a literal `${`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from toucan_connectors.errors import InvalidConfigurationError
from toucan_connectors.registry import get_connector_class
from toucan_connectors.toucan_connector import ToucanConnector, ToucanDataSource

__all__ = ["Config", "ConfigError", "load_config", "describe_validation_error"]

_VARIABLE = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(InvalidConfigurationError):
    """A config file cannot be read or does not hold what a command needs."""


@dataclass(frozen=True)
class Config:
    """The parsed content of a config file."""

    path: Path
    connectors: list[dict[str, Any]]
    data_sources: list[dict[str, Any]]

    def connector(self, name: str) -> ToucanConnector:
        """Validate and return the connector called `name`."""
        config = _find(self.connectors, "name", name, "connector named", self.path)
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
        config = _find(self.data_sources, "domain", domain, "data source with domain", self.path)
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
    content = _substitute(content, variables, path, "")

    lists = {key: content.get(key) or [] for key in ("connectors", "data_sources")}
    for key, items in lists.items():
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise ConfigError(f'Config file "{path}": "{key}" must be a list of mappings.')
    _refuse_duplicates(lists["connectors"], "name", "connectors named", path)
    _refuse_duplicates(lists["data_sources"], "domain", "data sources with domain", path)
    return Config(path, lists["connectors"], lists["data_sources"])


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
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f'Config file "{path}" is not valid YAML{where}: {problem}.') from exc


def _substitute(value: Any, variables: Mapping[str, str], path: Path, where: str) -> Any:
    if isinstance(value, str):
        return _VARIABLE.sub(lambda match: _lookup(match, variables, path, where), value)
    if isinstance(value, dict):
        return {
            key: _substitute(item, variables, path, f"{where}.{key}" if where else str(key))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            _substitute(item, variables, path, f"{where}[{index}]")
            for index, item in enumerate(value)
        ]
    return value


def _lookup(match: re.Match[str], variables: Mapping[str, str], path: Path, where: str) -> str:
    escaped, name, default = match.groups()
    if escaped:
        return match.group(0)[1:]
    if name in variables:
        return variables[name]
    if default is not None:
        return default
    raise ConfigError(
        f'Config file "{path}" uses the environment variable "{name}" (at {where}), '
        f"which is not set: export {name} or write ${{{name}:-default}}."
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
