"""Scaffold a new connector: `python scripts/new_connector.py MyType` (or `make new_connector`).

Creates toucan_connectors/mytype/{__init__.py,mytype_connector.py} and
tests/mytype/test_mytype_connector.py, registers the type in toucan_connectors/registry.py, adds
an empty `mytype` extra to setup.py and generates doc/connectors/mytype.md. The suite passes
right after. A name that is taken, a keyword, a standard-library module or starts with "Test" is
refused before anything is written; if a step fails, every file is put back as it was.
"""

from __future__ import annotations

import argparse
import keyword
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TYPE_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_DICT_KEY = re.compile(r'^\s*"([A-Za-z0-9_.-]+)"\s*:', re.MULTILINE)

INIT = '''\
"""The {type_name} connector."""

from __future__ import annotations

from toucan_connectors.{module}.{module}_connector import (
    {type_name}Connector,
    {type_name}DataSource,
)

__all__ = ["{type_name}Connector", "{type_name}DataSource"]
'''

CONNECTOR = '''\
"""The {type_name} connector: its two models and the retrieval code."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from pydantic import Field, SecretStr

from toucan_connectors.slicing import RetrievedPage
from toucan_connectors.status import StatusCheck, host_and_port_checks
from toucan_connectors.toucan_connector import ToucanConnector, ToucanDataSource

logger = logging.getLogger(__name__)

__all__ = ["{type_name}Connector", "{type_name}DataSource"]


class {type_name}DataSource(ToucanDataSource):
    """A query run on a {type_name} server."""

    query: str = Field(
        description="The query to run; `{{{{ name }}}}` templates are filled from `parameters`."
    )


class {type_name}Connector(ToucanConnector, data_source_model={type_name}DataSource):
    """Reads data from a {type_name} server."""

    status_steps = ("Host resolved", "Port opened")
    limitations = ()

    host: str = Field(description="Host name or IP address of the server.")
    port: int = Field(description="Port the server listens on.")
    user: str | None = Field(None, description="User name to log in with.")
    password: SecretStr | None = Field(None, description="Password of the user.")

    def _retrieve_data(self, data_source: {type_name}DataSource) -> pd.DataFrame:
        """Run the data source's query and return every row."""
        logger.debug("Querying %s:%s for %r", self.host, self.port, data_source.name)
        # Import the driver here with toucan_connectors.dependencies.import_optional, so the
        # models load without the `{module}` extra.
        raise NotImplementedError("{type_name}Connector._retrieve_data is not written yet.")

    def _retrieve_page(
        self,
        data_source: {type_name}DataSource,
        permissions: Any,
        offset: int,
        limit: int | None,
        count_rows: bool,
    ) -> RetrievedPage:
        """Return one page of the permitted rows; push offset, limit and permissions down here."""
        return super()._retrieve_page(data_source, permissions, offset, limit, count_rows)

    def _status_checks(self) -> list[StatusCheck]:
        """The host resolves, then its port opens; add a login check once a driver is used."""
        return host_and_port_checks(self.host, self.port)
'''

TEST = """\
from __future__ import annotations

import socket

{imports}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_registry_returns_the_connector() -> None:
    assert get_connector_class("{type_name}") is {type_name}Connector


def test_status_stops_at_a_closed_port() -> None:
    connector = {type_name}Connector(name="c", host="127.0.0.1", port=closed_port())

    assert connector.get_status().details == [("Host resolved", True), ("Port opened", False)]
"""


class ScaffoldError(Exception):
    """The connector cannot be created as asked; nothing was written."""


def create_connector(type_name: str, root: Path = ROOT) -> list[Path]:
    """Create, register and document a new connector; return the code files written or changed."""
    module = type_name.lower()
    if not TYPE_NAME.match(type_name):
        raise ScaffoldError(
            f'"{type_name}" is not a connector type name: use CamelCase letters and digits, '
            "e.g. MyType."
        )
    _refuse_reserved(type_name, module, root)
    package = root / "toucan_connectors" / module
    tests = root / "tests" / module
    registry = root / "toucan_connectors" / "registry.py"
    setup = root / "setup.py"
    registry_text = registry.read_text(encoding="utf-8")
    setup_text = setup.read_text(encoding="utf-8")
    _refuse_existing(type_name, module, package, tests, registry_text, setup_text)

    imports = [
        "from toucan_connectors.registry import get_connector_class",
        f"from toucan_connectors.{module} import {type_name}Connector",
    ]
    values = {"type_name": type_name, "module": module, "imports": "\n".join(sorted(imports))}
    files = {
        package / "__init__.py": INIT.format(**values),
        package / f"{module}_connector.py": CONNECTOR.format(**values),
        tests / f"test_{module}_connector.py": TEST.format(**values),
    }
    changed = {
        registry: _register(registry_text, type_name, module),
        setup: _add_extra(setup_text, module),
    }
    doc_page = root / "doc" / "connectors" / f"{module}.md"
    doc_index = root / "doc" / "connectors.md"
    saved = {path: _read_or_none(path) for path in [*changed, doc_page, doc_index]}
    try:
        for path, text in {**files, **changed}.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        subprocess.run([sys.executable, str(root / "doc" / "generate.py"), module], check=True)
    except BaseException:
        _roll_back(saved, [package, tests])
        raise
    return [*files, registry, setup]


def _read_or_none(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None


def _roll_back(saved: dict[Path, str | None], folders: list[Path]) -> None:
    """Put the changed files back as they were and remove the new folders."""
    for path, text in saved.items():
        if text is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(text, encoding="utf-8")
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and scaffold the connector."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("type_name", help="the registry type key, in CamelCase (MyType)")
    args = parser.parse_args(argv)
    try:
        written = create_connector(args.type_name)
    except ScaffoldError as exc:
        sys.stderr.write(f"Error: {exc}\n")
        raise SystemExit(2) from None
    except (OSError, subprocess.CalledProcessError) as exc:
        sys.stderr.write(f"Error: {exc}; nothing was left behind.\n")
        raise SystemExit(1) from None
    for path in written:
        sys.stdout.write(f"wrote {path.relative_to(ROOT)}\n")


def _refuse_reserved(type_name: str, module: str, root: Path) -> None:
    """Refuse names Python or pytest would read as something else; nothing is written yet."""
    if keyword.iskeyword(module):
        problem = f'its module name "{module}" is a Python keyword'
    elif type_name.startswith("Test"):
        problem = f'pytest would collect the class "{type_name}Connector" as tests'
    elif module in sys.stdlib_module_names:
        problem = f'its module name "{module}" is a standard-library module'
    elif (root / "toucan_connectors" / f"{module}.py").exists():
        problem = f'its module name "{module}" is taken by toucan_connectors/{module}.py'
    else:
        return
    raise ScaffoldError(
        f'"{type_name}" cannot be a connector type name: {problem}; choose another.'
    )


def _refuse_existing(
    type_name: str, module: str, package: Path, tests: Path, registry: str, setup: str
) -> None:
    """Refuse a name that a type key, subpackage, test folder or extra has, in any letter case."""
    taken = [
        f'type key "{key}" in toucan_connectors/registry.py'
        for key in _DICT_KEY.findall(registry)
        if key.lower() == module
    ]
    taken += [
        f"{item.parent.name}/{item.name}/"
        for folder in (package, tests)
        for item in _entries(folder.parent)
        if item.name.lower() == module
    ]
    taken += [
        f'extra "{extra}" in setup.py'
        for extra in _DICT_KEY.findall(setup)
        if extra.lower() == module
    ]
    if taken:
        raise ScaffoldError(
            f'"{type_name}" already exists ({", ".join(taken)}): choose another name.'
        )


def _entries(folder: Path) -> list[Path]:
    return list(folder.iterdir()) if folder.is_dir() else []


def _register(text: str, type_name: str, module: str) -> str:
    path = f"{module}.{module}_connector.{type_name}Connector"
    line = f'    "{type_name}": RegistryEntry("{path}", "{type_name}", "{module}"),\n'
    if len(line) > 101:
        line = (
            f'    "{type_name}": RegistryEntry(\n'
            f'        "{path}", "{type_name}", "{module}"\n'
            "    ),\n"
        )
    return _insert_into_dict(text, "_ENTRIES: dict[str, RegistryEntry] = {", line)


def _add_extra(text: str, module: str) -> str:
    return _insert_into_dict(text, "EXTRAS: dict[str, list[str]] = {", f'    "{module}": [],\n')


def _insert_into_dict(text: str, opening: str, line: str) -> str:
    """Insert `line` before the closing brace of the dict literal that starts with `opening`."""
    start = text.find(opening)
    if start < 0:
        raise ScaffoldError(f"Cannot find `{opening}`: add the line {line.strip()!r} by hand.")
    after = start + len(opening)
    if text.startswith("}", after):
        return text[:after] + "\n" + line + text[after:]
    closing = text.find("\n}", after)
    if closing < 0:
        raise ScaffoldError(f"Cannot find the end of `{opening}`: add {line.strip()!r} by hand.")
    return text[: closing + 1] + line + text[closing + 1 :]


if __name__ == "__main__":
    main()
