"""The SQL connectors' models load without their extra; data and status name the pip command."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from toucan_connectors.mysql import MySQLConnector
from toucan_connectors.postgres import PostgresConnector
from toucan_connectors.redshift import RedshiftConnector
from toucan_connectors.sqlite import SQLiteConnector
from toucan_connectors.toucan_connector import ToucanConnector

ROOT = Path(__file__).parents[2]

BLOCKED = ("sqlalchemy", "sqlglot", "psycopg2", "pymysql", "boto3")
"""Modules made unimportable in the subprocess, as if no SQL extra were installed."""

CONFIGS: dict[str, dict[str, Any]] = {
    "Postgres": {"name": "pg", "host": "db.example.com", "user": "reader", "password": "s3cret"},
    "MySQL": {"name": "my", "host": "db.example.com", "user": "reader", "password": "s3cret"},
    "SQLite": {"name": "lite", "path": ":memory:"},
    "Redshift": {"name": "rs", "host": "rs.example.com", "user": "reader", "password": "s3cret"},
}
CLASSES: dict[str, type[ToucanConnector]] = {
    "Postgres": PostgresConnector,
    "MySQL": MySQLConnector,
    "SQLite": SQLiteConnector,
    "Redshift": RedshiftConnector,
}
MODULES = {
    "Postgres": "toucan_connectors.postgres.postgresql_connector",
    "MySQL": "toucan_connectors.mysql.mysql_connector",
    "SQLite": "toucan_connectors.sqlite.sqlite_connector",
    "Redshift": "toucan_connectors.redshift.redshift_database_connector",
}
INSTALL_ERRORS = {
    key: f'The "{key}" connector needs the "sqlalchemy" package; install it with '
    f'`pip install "toucan-connectors[{extra}]"`.'
    for key, extra in [
        ("Postgres", "postgres"),
        ("MySQL", "mysql"),
        ("SQLite", "sqlite"),
        ("Redshift", "redshift"),
    ]
}

SCRIPT = """
import importlib, json, sys

for blocked in {blocked!r}:
    sys.modules[blocked] = None

from toucan_connectors.errors import MissingDependencyError
from toucan_connectors.registry import get_connector_class


def error_of(call):
    try:
        call()
    except MissingDependencyError as exc:
        return [type(exc).__name__, str(exc)]
    return None


results = {{}}
for key, (module_name, config) in {connectors!r}.items():
    module = importlib.import_module(module_name)
    cls = getattr(module, {class_names!r}[key])
    connector = cls(type=key, **config)
    data_source = cls.data_source_model(domain="sales", name=config["name"], query="SELECT 1")
    results[key] = {{
        "registry": get_connector_class(key).__name__,
        "schema": cls.model_json_schema(),
        "data_source_schema": cls.data_source_model.model_json_schema(),
        "dump": connector.model_dump(mode="json"),
        "get_df": error_of(lambda: connector.get_df(data_source)),
        "get_status": error_of(connector.get_status),
        "loaded": sorted(name for name in {blocked!r} if sys.modules.get(name) is not None),
    }}
print(json.dumps(results))
"""


@cache
def results_without_extras() -> dict[str, Any]:
    """Run every check in one subprocess where the SQL extras' modules cannot be imported."""
    script = SCRIPT.format(
        blocked=BLOCKED,
        connectors={key: (MODULES[key], CONFIGS[key]) for key in CLASSES},
        class_names={key: cls.__name__ for key, cls in CLASSES.items()},
    )
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    results: dict[str, Any] = json.loads(result.stdout)
    return results


CONNECTOR_KEYS = pytest.mark.parametrize("key", list(CLASSES))


@CONNECTOR_KEYS
def test_model_imports_without_extra(key: str) -> None:
    assert results_without_extras()[key]["loaded"] == []


@CONNECTOR_KEYS
def test_registry_returns_class_without_extra(key: str) -> None:
    assert results_without_extras()[key]["registry"] == CLASSES[key].__name__


@CONNECTOR_KEYS
def test_json_schema_without_extra_equals_schema_with_it(key: str) -> None:
    assert results_without_extras()[key]["schema"] == CLASSES[key].model_json_schema()


@CONNECTOR_KEYS
def test_data_source_schema_without_extra_equals_schema_with_it(key: str) -> None:
    expected = CLASSES[key].data_source_model.model_json_schema()

    assert results_without_extras()[key]["data_source_schema"] == expected


@CONNECTOR_KEYS
def test_instantiation_without_extra_keeps_config(key: str) -> None:
    expected = CLASSES[key](type=key, **CONFIGS[key]).model_dump(mode="json")

    assert results_without_extras()[key]["dump"] == expected


@CONNECTOR_KEYS
def test_get_df_without_extra_names_pip_command(key: str) -> None:
    expected = ["MissingDependencyError", INSTALL_ERRORS[key]]

    assert results_without_extras()[key]["get_df"] == expected


@CONNECTOR_KEYS
def test_get_status_without_extra_names_pip_command(key: str) -> None:
    expected = ["MissingDependencyError", INSTALL_ERRORS[key]]

    assert results_without_extras()[key]["get_status"] == expected


DRIVER_SCRIPT = """
import json, sys

for blocked in {blocked!r}:
    sys.modules[blocked] = None

from toucan_connectors.errors import MissingDependencyError
from toucan_connectors.registry import get_connector_class

results = {{}}
for key, config in {configs!r}.items():
    connector = get_connector_class(key)(type=key, **config)
    try:
        connector.get_status()
    except MissingDependencyError as exc:
        results[key] = str(exc)
print(json.dumps(results))
"""

DRIVER_CONFIGS = {
    "Postgres": {"name": "pg", "host": "127.0.0.1", "port": 1, "user": "reader"},
    "MySQL": {"name": "my", "host": "127.0.0.1", "port": 1, "user": "reader"},
    "Redshift": {"name": "rs", "host": "127.0.0.1", "port": 1, "user": "reader"},
}


def test_get_status_without_the_driver_names_pip_command() -> None:
    script = DRIVER_SCRIPT.format(blocked=("psycopg2", "pymysql"), configs=DRIVER_CONFIGS)

    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )

    assert json.loads(result.stdout) == {
        "Postgres": 'The "Postgres" connector needs the "psycopg2-binary" package; install it '
        'with `pip install "toucan-connectors[postgres]"`.',
        "MySQL": 'The "MySQL" connector needs the "PyMySQL" package; install it with '
        '`pip install "toucan-connectors[mysql]"`.',
        "Redshift": 'The "Redshift" connector needs the "psycopg2-binary" package; install it '
        'with `pip install "toucan-connectors[redshift]"`.',
    }
